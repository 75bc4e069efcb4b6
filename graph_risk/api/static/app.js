/* fedcredit relationship graph explorer: plain JS, no build step.
 *
 * Talks to the risk-team graph API on the same origin (/v1/graph/...) with the API key the user
 * types (kept in sessionStorage only, sent as "Authorization: Bearer <key>"). Every value coming
 * from the API is written with textContent (never innerHTML). The drawing is graph.js on
 * Cytoscape.js, vendored under vendor/ (no CDN). Tests read window.explorer.cy and
 * body[data-state].
 */
(function () {
  "use strict";

  var KEY_STORAGE = "fedcredit.apiKey";
  var API = "/v1/graph";
  var MAX_LISTED = 15;
  var state = { company: null, seq: 0, cy: null, data: {} };

  function $(id) { return document.getElementById(id); }

  /* ----------------------------------------------------------------- small DOM helpers */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else if (name === "className") node.className = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var child = arguments[i];
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function resetPanel(id, title) {
    var panel = $(id);
    panel.replaceChildren(el("h2", { id: id + "-title", text: title }));
    return panel;
  }

  var G = window.fedcreditGraph;
  var pct = G.pct;
  var num = G.num;

  function setBusy(value) { document.body.setAttribute("data-state", value); }

  /* ----------------------------------------------------------------------- API access */
  function ApiError(status, message, field) {
    this.status = status;
    this.message = message;
    this.field = field || null;
  }

  var STATUS_TEXT = {
    401: "401 Unauthorized: the API key was not accepted (missing, unknown, mistyped or revoked).",
    403: "403 Forbidden: this key's role may not read the relationship graph (it needs the risk_analyst role).",
    404: "404 Not found:",
    422: "422 Invalid request:",
    429: "429 Too many requests:",
  };

  function explain(err) {
    if (!(err instanceof ApiError)) return "Unexpected error: " + String(err);
    var head = STATUS_TEXT[err.status] || (err.status ? err.status + " error:" : "");
    var detail = err.message ? " " + err.message : "";
    if (err.field) detail += " (field: " + err.field + ")";
    return (head + detail).trim();
  }

  function serverMessage(body) {
    if (!body) return ["", null];
    if (body.error && typeof body.error === "object") return [body.error.message || body.error.code || "", body.error.field];
    if (typeof body.detail === "string") return [body.detail, null];
    if (Array.isArray(body.detail) && body.detail.length) {
      var d = body.detail[0];
      return [d.msg || "", Array.isArray(d.loc) ? d.loc.join(".") : null];
    }
    return ["", null];
  }

  function api(path) {
    var key = sessionStorage.getItem(KEY_STORAGE);
    if (!key) {
      return Promise.reject(new ApiError(0, "Enter an API key first (a risk_analyst key from `fedcredit auth add-key`)."));
    }
    return fetch(API + path, {
      headers: { Authorization: "Bearer " + key, Accept: "application/json" },
      credentials: "omit",
      cache: "no-store",
    }).then(function (resp) {
      return resp.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!resp.ok) {
          var m = serverMessage(body);
          throw new ApiError(resp.status, m[0], m[1]);
        }
        return body;
      });
    }, function () {
      throw new ApiError(0, "Could not reach the server; is `fedcredit serve --role risk` running?");
    });
  }

  function showError(message) {
    var box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  /* ---------------------------------------------------------------------------- key */
  function refreshKeyStatus() {
    var has = !!sessionStorage.getItem(KEY_STORAGE);
    $("key-status").textContent = has ? "key set for this tab" : "no key";
  }

  function saveKey(event) {
    event.preventDefault();
    var value = $("api-key").value.trim();
    if (!value) { showError("The API key field is empty."); return; }
    sessionStorage.setItem(KEY_STORAGE, value);
    $("api-key").value = "";
    showError("");
    refreshKeyStatus();
  }

  function forgetKey() {
    sessionStorage.removeItem(KEY_STORAGE);
    refreshKeyStatus();
  }

  /* ------------------------------------------------------------------------- search */
  function search(event) {
    if (event) event.preventDefault();
    var query = $("query").value.trim();
    if (!query) return Promise.resolve();
    setBusy("loading");
    showError("");
    return api("/companies?query=" + encodeURIComponent(query) + "&limit=20").then(function (body) {
      var items = (body && (body.items || body.companies || body.results)) || [];
      renderResults(items, query);
      var exact = items.filter(function (c) { return String(c.company_id).toLowerCase() === query.toLowerCase(); });
      var pick = exact.length ? exact[0] : (items.length === 1 ? items[0] : null);
      if (pick) return openCompany(pick.company_id);
      if (!items.length) showError("No company matches \u201c" + query + "\u201d.");
      setBusy("ready");
      return null;
    }).catch(function (err) {
      showError(explain(err));
      setBusy("error");
    });
  }

  function renderResults(items, query) {
    var list = $("results");
    list.replaceChildren();
    items.forEach(function (c) {
      var label = c.company_id + (c.name ? " · " + c.name : "") + (c.defaulted ? " (defaulted)" : "");
      var button = el("button", { type: "button", "data-company": c.company_id, text: label });
      button.addEventListener("click", function () { openCompany(c.company_id); });
      list.appendChild(el("li", {}, button));
    });
    list.setAttribute("aria-label", items.length + " companies match " + query);
  }

  function markCurrent(id) {
    Array.prototype.forEach.call($("results").querySelectorAll("button"), function (b) {
      b.setAttribute("aria-current", b.getAttribute("data-company") === id ? "true" : "false");
    });
  }

  /* ------------------------------------------------------------------- one company */
  function openCompany(id) {
    var hops = $("hops").value;
    var limit = $("limit").value || "200";
    var seq = ++state.seq;
    var base = "/companies/" + encodeURIComponent(id);
    state.company = id;
    markCurrent(id);
    setBusy("loading");
    showError("");
    history.replaceState(null, "", "#company=" + encodeURIComponent(id) + "&hops=" + hops);
    var calls = {
      neighbourhood: api(base + "/neighbourhood?hops=" + hops + "&limit=" + encodeURIComponent(limit)),
      circles: api(base + "/guarantee-circles"),
      controllers: api(base + "/controllers"),
      exposure: api(base + "/exposure?hops=" + hops),
      company: api(base),
      contagion: api(base + "/contagion"),
    };
    var names = Object.keys(calls);
    return Promise.allSettled(names.map(function (n) { return calls[n]; })).then(function (settled) {
      if (seq !== state.seq) return; // a newer request superseded this one
      var got = {};
      var firstError = null;
      names.forEach(function (n, i) {
        got[n] = settled[i].status === "fulfilled" ? { ok: settled[i].value } : { err: settled[i].reason };
        if (got[n].err && !firstError) firstError = got[n].err;
      });
      state.data = got;
      renderScorecard(id, got.company, got.contagion);
      renderGraph(id, got.neighbourhood, got.circles);
      renderCircles(id, got.circles);
      renderControllers(id, got.controllers);
      renderExposure(id, got.exposure, hops);
      if (firstError) { showError(explain(firstError)); setBusy("error"); } else { setBusy("ready"); }
    });
  }

  function panelError(panel, result) {
    panel.appendChild(el("p", { className: "error", text: explain(result.err) }));
  }

  function kvList(obj, prefix) {
    var dl = el("dl", { className: "kv" });
    Object.keys(obj || {}).forEach(function (k) {
      var v = obj[k];
      if (v !== null && typeof v === "object") return;
      dl.appendChild(el("dt", { text: k.replace(/_/g, " ") }));
      var text = /year$/.test(k) && v !== null ? String(v) : num(v);
      dl.appendChild(el("dd", { "data-key": prefix + k, text: text }));
    });
    return dl;
  }

  var PROFILE_HIDDEN = ["company_id", "name", "defaulted", "features"];

  function renderScorecard(id, result, contagionResult) {
    var panel = resetPanel("scorecard", "Score card");
    if (result.err) { panelError(panel, result); resetPanel("features", "Graph features"); return; }
    var body = result.ok || {};
    var profile = {};
    Object.keys(body).forEach(function (k) { if (PROFILE_HIDDEN.indexOf(k) < 0) profile[k] = body[k]; });
    panel.appendChild(el("p", {},
      el("strong", { "data-key": "company_id", text: body.company_id || id }), " ",
      el("span", { "data-key": "name", text: body.name || "" }), " ",
      el("span", { className: body.defaulted ? "badge bad" : "badge", "data-key": "defaulted",
        text: body.defaulted ? "defaulted" + (body.default_date ? " " + body.default_date : "") : "no default recorded" })));
    panel.appendChild(el("h3", { text: "Profile" }));
    panel.appendChild(kvList(profile, "profile."));
    panel.appendChild(el("h3", { text: "Contagion (DebtRank)" }));
    if (contagionResult.err) {
      panelError(panel, contagionResult);
    } else {
      var c = contagionResult.ok || {};
      panel.appendChild(kvList({
        contagion_score: c.contagion_score, system_loss_if_it_defaults: c.system_loss,
        relative_system_loss: c.relative_loss, companies_hit: c.affected_count,
      }, "contagion."));
    }
    var features = resetPanel("features", "Graph features");
    features.appendChild(el("p", { className: "muted", text: "The row members join to their customers (docs/graph-features.md)." }));
    features.appendChild(kvList(body.features || {}, "features."));
  }

  /* -------------------------------------------------------------------------- graph */
  function circleList(result) {
    if (!result || !result.ok) return [];
    return result.ok.circles || result.ok.items || [];
  }

  function renderGraph(id, result, circlesResult) {
    var caption = $("graph-caption");
    var tbody = $("edge-table").querySelector("tbody");
    tbody.replaceChildren();
    if (state.cy) { state.cy.destroy(); state.cy = null; }
    if (result.err) { caption.textContent = "(" + explain(result.err) + ")"; return; }
    var body = result.ok;
    var drawn = G.draw($("graph"), body, id, circleList(circlesResult));
    state.cy = drawn.cy;
    (body.edges || []).forEach(function (e) {
      if (state.cy.getElementById(e.source).empty() || state.cy.getElementById(e.target).empty()) return;
      tbody.appendChild(el("tr", {}, el("td", { text: e.source }),
        el("td", { text: G.edgeRelation(e) }), el("td", { text: e.target })));
    });
    state.cy.on("tap", "node.company", function (evt) {
      var target = evt.target.id();
      if (target !== state.company) { $("query").value = target; openCompany(target); }
    });
    var text = "(" + (body.nodes || []).length + " nodes, " + ((body.edges || []).length - drawn.omitted) + " edges";
    if (body.truncated) text += "; truncated at the node limit";
    if (drawn.omitted) text += "; " + drawn.omitted + " edges without both endpoints omitted";
    caption.textContent = text + ")";
  }

  /* ------------------------------------------------------------ circles, controllers */
  function chain(path, fmt) {
    // path: [{source, target, value}, ...] (or [from, to, value] triples) -> "A —60%→ B —51%→ C"
    var parts = [];
    (path || []).forEach(function (step, i) {
      var s = Array.isArray(step) ? { source: step[0], target: step[1], value: step[2] } : step;
      if (i === 0) parts.push(String(s.source));
      parts.push(" \u2014" + fmt(s.value) + "\u2192 " + String(s.target));
    });
    return el("li", { className: "chain" }, el("code", { text: parts.join("") }));
  }

  function renderCircles(id, result) {
    var panel = resetPanel("circles", "Guarantee circles");
    if (result.err) { panelError(panel, result); return; }
    var circles = circleList(result);
    if (!circles.length) { panel.appendChild(el("p", { "data-count": "0", text: id + " is on no guarantee circle." })); return; }
    panel.appendChild(el("p", { "data-count": String(circles.length) },
      el("span", { className: "badge warn", text: circles.length + (circles.length === 1 ? " circle" : " circles") }),
      " through " + id + ", highlighted in orange in the network."));
    var list = el("ol", { className: "paths" });
    circles.slice(0, MAX_LISTED).forEach(function (c) {
      var members = c.members || [];
      var amounts = c.amounts || [];
      var steps = members.map(function (m, i) { return [m, members[(i + 1) % members.length], amounts[i]]; });
      var item = chain(steps, function (a) { return typeof a === "number" ? " " + num(a) + " " : ""; });
      item.setAttribute("data-members", members.join(","));
      list.appendChild(item);
    });
    panel.appendChild(list);
    if (circles.length > MAX_LISTED) panel.appendChild(el("p", { className: "muted", text: "and " + (circles.length - MAX_LISTED) + " more" }));
  }

  function renderControllers(id, result) {
    var panel = resetPanel("controllers", "Ultimate controllers");
    if (result.err) { panelError(panel, result); return; }
    var body = result.ok || {};
    var share = function (s) { return " " + pct(s) + " "; };
    if (body.controller) {
      panel.appendChild(el("p", {}, "Controlled by ",
        el("strong", { "data-controller": body.controller, text: body.controller }),
        " (" + (body.controller_type || "holder") + ", integrated share ",
        el("span", { "data-share": String(body.integrated_share), text: pct(body.integrated_share) }), ")"));
      var paths = el("ol", { className: "paths", "aria-label": "control paths" });
      (body.paths || []).slice(0, MAX_LISTED).forEach(function (p) { paths.appendChild(chain(p, share)); });
      panel.appendChild(paths);
    } else {
      panel.appendChild(el("p", { "data-controller": "", text: "No holder controls " + id + " (none above 50%)." }));
    }
    if (body.control_cycle && body.control_cycle.length) {
      panel.appendChild(el("p", { className: "badge warn", text: "control cycle: " + body.control_cycle.join(" \u2192 ") }));
    }
    var owners = body.beneficial_owners || [];
    panel.appendChild(el("h3", { text: "Beneficial owners (\u2265 25%)" }));
    if (!owners.length) { panel.appendChild(el("p", { className: "muted", text: "none" })); return; }
    var list = el("ul", { className: "paths" });
    owners.forEach(function (o) {
      var item = el("li", { "data-owner": o.holder }, el("strong", { text: o.holder }),
        " (" + (o.holder_type || "holder") + ") " + pct(o.integrated_share));
      var sub = el("ol", { className: "paths" });
      (o.paths || []).slice(0, 5).forEach(function (p) { sub.appendChild(chain(p, share)); });
      item.appendChild(sub);
      list.appendChild(item);
    });
    panel.appendChild(list);
  }

  function renderExposure(id, result, hops) {
    var panel = resetPanel("exposure", "Exposure chain");
    if (result.err) { panelError(panel, result); return; }
    var body = result.ok || {};
    var exposed = body.exposed || 0;
    panel.appendChild(el("p", { "data-exposed": String(exposed) },
      "Exposed to a default of " + id + ": ", el("strong", { text: num(exposed) }),
      " guarantor" + (exposed === 1 ? "" : "s") + " within " + (body.hops || hops) +
      " hops (depth " + num(body.depth || 0) + "), guarantees worth ",
      el("strong", { "data-amount": String(body.amount || 0), text: num(body.amount || 0) }),
      " called."));
    var paths = body.paths || [];
    if (!paths.length) return;
    var list = el("ol", { className: "paths", "aria-label": "guarantee chains to " + id });
    paths.slice(0, MAX_LISTED).forEach(function (p) {
      list.appendChild(chain(p, function (a) { return " " + num(a) + " "; }));
    });
    panel.appendChild(list);
    if (paths.length > MAX_LISTED) panel.appendChild(el("p", { className: "muted", text: "and " + (paths.length - MAX_LISTED) + " more chains" }));
  }

  /* --------------------------------------------------------------------------- start */
  function openFromHash() {
    var match = /company=([^&]+)(?:&hops=([1-4]))?/.exec(location.hash);
    if (!match || !sessionStorage.getItem(KEY_STORAGE)) return;
    var id = decodeURIComponent(match[1]);
    if (match[2]) $("hops").value = match[2];
    $("query").value = id;
    openCompany(id);
  }

  $("key-form").addEventListener("submit", saveKey);
  $("forget-key").addEventListener("click", forgetKey);
  $("search-form").addEventListener("submit", search);
  refreshKeyStatus();
  window.explorer = {
    get cy() { return state.cy; },
    state: state,
    search: search,
    openCompany: openCompany,
  };
  openFromHash();
})();
