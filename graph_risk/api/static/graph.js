/* fedcredit explorer: drawing an ego network with Cytoscape.js (vendor/cytoscape.min.js).
 *
 * window.fedcreditGraph.draw(container, neighbourhood, focusId, circles) turns the API's
 * {nodes, edges} into Cytoscape elements (classes: company/person, defaulted, focus; edges:
 * guarantee/shareholding/control), marks the company's guarantee circles (nodes "in-circle",
 * edges "circle-edge"), lays it out deterministically and returns {cy, omitted}.
 */
(function () {
  "use strict";

  function pct(x) {
    if (typeof x !== "number" || !isFinite(x)) return String(x);
    return (x * 100).toFixed(1).replace(/\.0$/, "") + "%";
  }

  function num(x) {
    if (typeof x === "number") {
      return x.toLocaleString("en-US", { maximumFractionDigits: Math.abs(x) >= 100 ? 0 : 4 });
    }
    if (typeof x === "boolean") return x ? "yes" : "no";
    if (x === null || x === undefined || x === "") return "–";
    return String(x);
  }

  var GRAPH_STYLE = [
    { selector: "node", style: {
      label: "data(label)", "font-size": 10, "text-wrap": "wrap", "text-valign": "bottom",
      "text-margin-y": 3, "min-zoomed-font-size": 5, "background-color": "#93c5fd",
      "border-width": 1.5, "border-color": "#334155", width: 22, height: 22, color: "#1b2330" } },
    { selector: "node.person", style: { shape: "round-rectangle", "background-color": "#e5e7eb", width: 18, height: 18 } },
    { selector: "node.focus", style: { "border-width": 4, "border-color": "#1f5fbf", "background-color": "#3b82f6", width: 32, height: 32, "font-size": 11, "font-weight": "bold" } },
    { selector: "node.defaulted", style: { shape: "octagon", "background-color": "#b3261e", color: "#b3261e", "font-weight": "bold" } },
    { selector: "node.in-circle", style: { "border-width": 5, "border-color": "#d97706" } },
    { selector: "edge", style: {
      width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle", "arrow-scale": 0.8,
      "line-color": "#0f766e", "target-arrow-color": "#0f766e", label: "data(label)",
      "font-size": 9, "text-rotation": "autorotate", "text-background-color": "#fff",
      "text-background-opacity": 0.85, "text-background-padding": 1, "min-zoomed-font-size": 6 } },
    { selector: "edge.shareholding", style: { "line-style": "dashed", "line-color": "#4b5563", "target-arrow-color": "#4b5563" } },
    { selector: "edge.control", style: { "line-style": "solid", "line-color": "#6d28d9", "target-arrow-color": "#6d28d9", width: 2 } },
    { selector: "edge.circle-edge", style: { "line-color": "#d97706", "target-arrow-color": "#d97706", width: 5, "z-index": 10 } },
  ];

  function edgeLabel(e) {
    if (e.kind === "shareholding" && typeof e.share === "number") return pct(e.share);
    if (e.kind === "guarantee" && typeof e.amount === "number") return num(e.amount);
    return "";
  }

  function edgeRelation(e) {
    var label = edgeLabel(e);
    var what = e.kind === "guarantee" ? "guarantees" : e.kind === "shareholding" ? "holds" : e.kind;
    return what + (label ? " " + label : "") + (e.control ? " (control)" : "");
  }

  function nodeLabel(n) {
    var name = n.name || n.label || "";
    if (name.length > 18) name = name.slice(0, 17) + "…";
    return name ? n.id + "\n" + name : n.id;
  }

  function highlightCircles(cy, circles) {
    circles.forEach(function (circle) {
      var members = circle.members || [];
      members.forEach(function (m, i) {
        cy.getElementById(m).addClass("in-circle");
        var next = members[(i + 1) % members.length];
        cy.edges("[kind = 'guarantee']").filter(function (e) {
          return e.source().id() === m && e.target().id() === next;
        }).addClass("circle-edge");
      });
    });
  }

  function layout(cy, id) {
    // Deterministic: rings by hop distance from the company (concentric), then a short
    // force-directed pass (cose, not randomised) that untangles each ring.
    var depth = {};
    var max = 0;
    var root = cy.getElementById(id);
    if (root.nonempty()) {
      cy.elements().bfs({ roots: root, directed: false, visit: function (v, e, u, i, d) { depth[v.id()] = d; if (d > max) max = d; } });
    }
    cy.layout({
      name: "concentric", animate: false, avoidOverlap: true, minNodeSpacing: 40, padding: 20,
      concentric: function (node) { var d = depth[node.id()]; return d === undefined ? 0 : max + 1 - d; },
      levelWidth: function () { return 1; },
    }).run();
    if (cy.nodes().length > 2) {
      cy.layout({
        name: "cose", randomize: false, animate: false, fit: false, numIter: 400,
        idealEdgeLength: function () { return 70; }, nodeRepulsion: function () { return 60000; },
        nodeOverlap: 20, gravity: 0.4, componentSpacing: 60,
      }).run();
    }
    cy.fit(undefined, 24);
  }

  function draw(container, body, focusId, circles) {
    var known = {};
    var elements = [];
    (body.nodes || []).forEach(function (n) {
      known[n.id] = true;
      var classes = [n.kind || "company"];
      if (n.defaulted) classes.push("defaulted");
      if (n.id === focusId) classes.push("focus");
      elements.push({ group: "nodes", data: { id: n.id, label: nodeLabel(n), kind: n.kind }, classes: classes.join(" ") });
    });
    var omitted = 0;
    (body.edges || []).forEach(function (e, i) {
      if (!known[e.source] || !known[e.target]) { omitted++; return; }
      elements.push({
        group: "edges",
        data: { id: "edge:" + i, source: e.source, target: e.target, kind: e.kind, label: edgeLabel(e), apiId: e.id || null },
        classes: e.kind + (e.control ? " control" : ""),
      });
    });
    var cy = cytoscape({
      container: container, elements: elements, style: GRAPH_STYLE, layout: { name: "preset" },
      minZoom: 0.1, maxZoom: 4,
    });
    highlightCircles(cy, circles || []);
    layout(cy, focusId);
    return { cy: cy, omitted: omitted };
  }

  window.fedcreditGraph = { draw: draw, edgeRelation: edgeRelation, pct: pct, num: num };
})();
