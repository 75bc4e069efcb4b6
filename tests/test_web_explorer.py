"""The risk team's web explorer in a real browser against a live server.

Prepare (once per module): a synthetic consortium from ``fedcredit sim generate``, ingested with
``fedcredit graph ingest`` into an embedded store; a ``risk_analyst`` and a ``member`` key from
``fedcredit auth add-key``; ``fedcredit serve --role risk`` as a separate process on a free
loopback port (the real app factory under uvicorn); Debian's headless Chromium driven by
Selenium through ``/usr/bin/chromedriver`` (no browser download; CI installs both packages from
``.ci/run``).

The tests type a key, search a company that sits on a planted guarantee circle, and compare what
the page drew (Cytoscape's own node/edge collections, read with JavaScript) and printed (the
panels) with what the API answers for the same company. The screenshot is a test artefact
(``out/test-artifacts/explorer.png``); ``FEDCREDIT_UPDATE_SCREENSHOT=1`` also copies it to
``docs/img/explorer.png`` for the README.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver import Chrome
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from typer.testing import CliRunner

from simulations.cli import app as cli

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACT = ROOT / "out" / "test-artifacts" / "explorer.png"
README_SHOT = ROOT / "docs" / "img" / "explorer.png"
UPDATE_ENV = "FEDCREDIT_UPDATE_SCREENSHOT"
EXPLORER = "/explorer/"
HOPS = 2
LIMIT = 200
WAIT_S = 45.0
CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1440,1300", "--force-device-scale-factor=1",
)  # fmt: skip
NETWORK_SCHEMES = ("http", "https", "ws", "wss", "ftp")  # chrome:, data:, blob: stay local
KEY_RULE = re.compile(r"fck_[A-Za-z0-9_-]{20,}")

pytestmark = pytest.mark.slow
runner = CliRunner()


@dataclass(frozen=True)
class Site:
    """The live risk server and what the tests know about its graph."""

    base: str
    key: str
    member_key: str
    company: str
    circle: tuple[str, ...]

    def api(self, path: str) -> Any:
        """GET ``path`` with the analyst key; the JSON answer (must be 200)."""
        response = httpx.get(
            self.base + path, headers={"Authorization": f"Bearer {self.key}"}, timeout=30.0
        )
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.json()


def _cli(line: str, *paths: Path | str) -> str:
    """Run ``fedcredit <line> <paths...>`` in process; its output (must succeed)."""
    args = [*line.split(), *map(str, paths)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, f"fedcredit {' '.join(args)} failed:\n{result.output}"
    return result.output


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_serving(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 120.0
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"fedcredit serve exited with {process.returncode}:\n"
                f"{log.read_text(errors='replace')[-3000:]}",
                pytrace=False,
            )
        try:
            if httpx.get(base + EXPLORER, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(
        f"fedcredit serve did not answer within 120 s:\n{log.read_text(errors='replace')[-3000:]}",
        pytrace=False,
    )


def _pick_company(base: str, key: str, circles: list[list[str]]) -> tuple[str, tuple[str, ...]]:
    """A company on a planted circle short enough to lie within ``HOPS`` of each member;
    among those, one with an ultimate controller (the controllers panel then has paths) and
    a defaulted company in its drawing (so the screenshot shows one), when there is one."""
    fits = [c for c in circles if 3 <= len(c) <= 2 * HOPS + 1]
    assert fits, f"no planted circle of length 3..{2 * HOPS + 1}: {circles}"
    headers = {"Authorization": f"Bearer {key}"}

    def merit(company: str) -> tuple[bool, bool]:
        url = f"{base}/v1/graph/companies/{company}"
        owner = httpx.get(f"{url}/controllers", headers=headers, timeout=30.0).json()
        ego = httpx.get(
            f"{url}/neighbourhood?hops={HOPS}&limit={LIMIT}", headers=headers, timeout=30.0
        ).json()
        return bool(owner["controller"]), any(n["defaulted"] for n in ego["nodes"])

    ranked = [(merit(company), company, tuple(circle)) for circle in fits for company in circle]
    best = max(ranked, key=lambda r: r[0])
    return best[1], best[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Consortium -> ingest -> keys -> ``fedcredit serve --role risk`` on a free port."""
    work = tmp_path_factory.mktemp("explorer")
    consortium, store = work / "consortium", work / "graph"
    keys, audit = work / "keys.sqlite", work / "audit.sqlite"
    _cli("sim generate --companies 400 --members 3 --seed 11 --out", consortium)
    _cli("graph ingest --dir", consortium, "--store", store)
    analyst = KEY_RULE.findall(_cli("auth add-key --role risk_analyst --name web --keys", keys))
    member = KEY_RULE.findall(_cli("auth add-key --role member --member-id m01 --name m01 --keys",
                                   keys))  # fmt: skip
    assert len(analyst) == 1 and len(member) == 1
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    env = {**os.environ, "FLWR_TELEMETRY_ENABLED": "0", "FEDCREDIT_HOME": str(work)}
    command = [sys.executable, "-c", "from simulations.cli import main; main()", "serve",
               *f"--role risk --port {port}".split(),
               "--store", str(store), "--keys", str(keys), "--audit", str(audit)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=work)
    try:
        _wait_until_serving(process, base, log)
        planted = json.loads((consortium / "consortium.json").read_text())["planted"]
        company, circle = _pick_company(base, analyst[0], planted["guarantee_circles"])
        yield Site(base, analyst[0], member[0], company, circle)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    """Debian's headless Chromium with a fresh profile, driven through chromedriver."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} missing: apt-get install chromium chromium-driver "
            "(.ci/run does this)",
            pytrace=False,
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield driver
    finally:
        driver.quit()


# ----------------------------------------------------------------------------- helpers
def _open_with_key(driver: Chrome, site: Site, key: str) -> None:
    driver.get(site.base + EXPLORER)
    driver.execute_script("sessionStorage.clear();")
    field = driver.find_element(By.ID, "api-key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.CSS_SELECTOR, "#key-form button[type=submit]").click()
    assert driver.find_element(By.ID, "key-status").text == "key set for this tab"


def _settled(driver: Chrome) -> str:
    """Wait until the page has finished its requests; its ``data-state``."""
    try:
        WebDriverWait(driver, WAIT_S).until(
            lambda d: (
                d.find_element(By.TAG_NAME, "body").get_attribute("data-state")
                in ("ready", "error")
            )
        )
    except TimeoutException:
        pytest.fail(f"page still loading after {WAIT_S} s", pytrace=False)
    return str(driver.find_element(By.TAG_NAME, "body").get_attribute("data-state"))


def _search(driver: Chrome, text: str) -> str:
    query = driver.find_element(By.ID, "query")
    query.clear()
    query.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    return _settled(driver)


def _drawn(driver: Chrome) -> dict[str, Any]:
    return dict(
        driver.execute_script("""
        const cy = window.explorer.cy;
        const ends = (c) => c.map((e) => [e.source().id(), e.target().id(), e.data('label')]);
        return {
          nodes: cy.nodes().map((n) => n.id()),
          edges: ends(cy.edges()),
          circleNodes: cy.nodes('.in-circle').map((n) => n.id()),
          circleEdges: ends(cy.edges('.circle-edge')),
          defaulted: cy.nodes('.defaulted').map((n) => n.id()),
          focus: cy.nodes('.focus').map((n) => n.id()),
        };
    """)
    )


def _pct(x: float) -> str:
    return f"{x * 100:.1f}".removesuffix(".0") + "%"


def _requested_urls(driver: Chrome) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(str(message["params"]["request"]["url"]))
    return urls


def _save_screenshot(driver: Chrome) -> Path:
    driver.execute_async_script(
        "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));"
    )
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACT)), "screenshot failed"
    print(f"explorer screenshot: {ARTIFACT}")
    if os.environ.get(UPDATE_ENV) == "1":
        README_SHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACT, README_SHOT)
        print(f"README screenshot updated: {README_SHOT}")
    return ARTIFACT


# ------------------------------------------------------------------------------- tests
def test_search_draws_the_ego_network_and_highlights_the_guarantee_circle(
    site: Site, browser: Chrome
) -> None:
    # Prepare
    _open_with_key(browser, site, site.key)  # the first page load of this browser
    # Execute
    state = _search(browser, site.company)
    drawn = _drawn(browser)
    urls = _requested_urls(browser)
    shot = _save_screenshot(browser)
    # Assert: the drawing is exactly the API's ego network
    assert state == "ready", browser.find_element(By.ID, "error").text
    ego = site.api(f"/v1/graph/companies/{site.company}/neighbourhood?hops={HOPS}&limit={LIMIT}")
    assert not ego["truncated"]
    assert sorted(drawn["nodes"]) == sorted(n["id"] for n in ego["nodes"])
    assert len(drawn["edges"]) == len(ego["edges"])
    assert sorted((s, t) for s, t, _ in drawn["edges"]) == sorted(
        (e["source"], e["target"]) for e in ego["edges"]
    )
    assert drawn["focus"] == [site.company]
    assert set(drawn["defaulted"]) == {n["id"] for n in ego["nodes"] if n["defaulted"]}
    shares = sorted(_pct(e["share"]) for e in ego["edges"] if e["kind"] == "shareholding")
    assert sorted(label for s, t, label in drawn["edges"] if label.endswith("%")) == shares
    # ... the company's circles are highlighted, the planted one among them, edge by edge
    circles = site.api(f"/v1/graph/companies/{site.company}/guarantee-circles")["circles"]
    on_circles = {m for c in circles for m in c["members"]}
    assert set(site.circle) <= on_circles
    assert set(drawn["circleNodes"]) == on_circles & set(drawn["nodes"])
    planted_edges = set(zip(site.circle, site.circle[1:] + site.circle[:1], strict=True))
    assert planted_edges <= {(s, t) for s, t, _ in drawn["circleEdges"]}
    # ... and nothing was requested outside the server's origin (no CDN)
    origin = urlsplit(site.base)
    network = [u for u in urls if urlsplit(u).scheme in NETWORK_SCHEMES]
    outside = [
        u
        for u in network
        if (urlsplit(u).scheme, urlsplit(u).netloc) != (origin.scheme, origin.netloc)
    ]
    assert outside == []
    assert any(u.endswith("/neighbourhood?hops=2&limit=200") for u in network)
    assert any(u.endswith(f"{EXPLORER}vendor/cytoscape.min.js") for u in network)
    assert shot.stat().st_size > 10_000


def test_panels_show_the_controllers_exposure_and_score_card(site: Site, browser: Chrome) -> None:
    # Prepare
    _open_with_key(browser, site, site.key)
    base = f"/v1/graph/companies/{site.company}"
    controllers = site.api(f"{base}/controllers")
    profile = site.api(base)
    contagion = site.api(f"{base}/contagion")
    exposure = site.api(f"{base}/exposure?hops={HOPS}")
    # Execute
    state = _search(browser, site.company)
    panel = browser.find_element(By.ID, "controllers")
    card = browser.find_element(By.ID, "scorecard")

    def value(key: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, f'dd[data-key="{key}"]').text

    # Assert
    assert state == "ready"
    if controllers["controller"]:
        shown = panel.find_element(By.CSS_SELECTOR, "[data-controller]")
        assert shown.text == controllers["controller"]
        assert f"integrated share {_pct(controllers['integrated_share'])}" in panel.text
        first = controllers["paths"][0]
        chain = first[0]["source"] + "".join(
            f" — {_pct(step['value'])} → {step['target']}" for step in first
        )
        assert chain in panel.text
    else:
        assert f"No holder controls {site.company}" in panel.text
    for owner in controllers["beneficial_owners"]:
        assert owner["holder"] in panel.text
    assert card.find_element(By.CSS_SELECTOR, '[data-key="company_id"]').text == site.company
    assert card.find_element(By.CSS_SELECTOR, '[data-key="name"]').text == profile["name"]
    assert value("profile.industry") == profile["industry"]
    assert value("profile.region") == profile["region"]
    assert float(value("contagion.contagion_score")) == pytest.approx(
        contagion["contagion_score"], abs=5e-5
    )
    assert value("contagion.companies_hit") == f"{contagion['affected_count']:,}"
    assert value("features.in_guarantee_circle") == "yes"
    assert (
        int(value("features.guarantee_circle_count"))
        == profile["features"]["guarantee_circle_count"]
    )
    shown = browser.find_element(By.CSS_SELECTOR, "#exposure [data-exposed]")
    assert shown.get_attribute("data-exposed") == str(exposure["exposed"])
    circles = browser.find_elements(By.CSS_SELECTOR, "#circles li[data-members]")
    assert any(
        set((li.get_attribute("data-members") or "").split(",")) == set(site.circle)
        for li in circles
    )


def test_a_name_prefix_lists_the_matches_and_a_click_opens_one(site: Site, browser: Chrome) -> None:
    # Prepare
    prefix = site.api(f"/v1/graph/companies/{site.company}")["name"][:10].lower()
    expected = site.api(f"/v1/graph/companies?query={prefix}&limit=20")["results"]
    _open_with_key(browser, site, site.key)
    # Execute
    listed_state = _search(browser, prefix)
    buttons = browser.find_elements(By.CSS_SELECTOR, "#results button")
    listed = [b.get_attribute("data-company") for b in buttons]
    buttons[-1].click()
    opened_state = _settled(browser)
    # Assert
    assert listed_state == "ready"
    assert listed == [r["company_id"] for r in expected]
    assert opened_state == "ready"
    assert _drawn(browser)["focus"] == [listed[-1]]
    assert buttons[-1].get_attribute("aria-current") == "true"


def test_a_wrong_key_shows_the_401_message_and_draws_nothing(site: Site, browser: Chrome) -> None:
    # Prepare
    _open_with_key(browser, site, "fck_" + "x" * 43)
    # Execute
    state = _search(browser, site.company)
    # Assert
    error = browser.find_element(By.ID, "error")
    assert state == "error"
    assert error.is_displayed()
    assert error.text.startswith("401 Unauthorized: the API key was not accepted")
    assert browser.execute_script("return window.explorer.cy === null;")
    assert browser.find_elements(By.CSS_SELECTOR, "#results li") == []


def test_a_member_key_is_refused_with_the_403_message(site: Site, browser: Chrome) -> None:
    # Prepare
    _open_with_key(browser, site, site.member_key)
    # Execute
    state = _search(browser, site.company)
    # Assert
    assert state == "error"
    assert browser.find_element(By.ID, "error").text.startswith(
        "403 Forbidden: this key's role may not read the relationship graph"
    )


def test_an_unknown_company_link_shows_the_404_message(site: Site, browser: Chrome) -> None:
    # Prepare
    _open_with_key(browser, site, site.key)
    browser.get(f"{site.base}{EXPLORER}#company=NO-SUCH-COMPANY&hops=2")
    # Execute
    browser.refresh()
    state = _settled(browser)
    # Assert
    assert state == "error"
    text = browser.find_element(By.ID, "error").text
    assert text.startswith("404 Not found:")
    assert "NO-SUCH-COMPANY" in text
    assert browser.execute_script("return window.explorer.cy === null;")
