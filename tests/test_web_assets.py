"""The explorer's static files: vendored, hash-checked, self-contained (no CDN), XSS-safe.

Fast checks on the files themselves; the browser test (``test_web_explorer.py``) drives them.
"""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from graph_risk.api import STATIC_DIR

VENDOR = STATIC_DIR / "vendor"
OUR_SCRIPTS = ("app.js", "graph.js")


class _Refs(HTMLParser):
    """Collects every ``src``/``href`` of a page, and inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[tuple[str, str]] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name) is not None:
                self.refs.append((tag, str(found[name])))
        self._in_script = tag == "script" and "src" not in found

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1


def _leaves_the_page_folder(ref: str) -> bool:
    """An absolute URL (other than ``data:``), protocol-relative or origin-absolute path."""
    if ref.startswith("data:"):
        return False
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", ref, re.I)) or ref.startswith("/")


def _page_refs() -> _Refs:
    parser = _Refs()
    parser.feed((STATIC_DIR / "index.html").read_text(encoding="utf-8"))
    return parser


def test_the_page_and_its_assets_are_all_present() -> None:
    # Prepare
    names = [
        "index.html",
        "app.js",
        "graph.js",
        "style.css",
        "vendor/cytoscape.min.js",
        "vendor/LICENSE",
        "vendor/VENDORED.md",
    ]
    # Execute
    sizes = {name: (STATIC_DIR / name).stat().st_size for name in names}
    # Assert
    assert all(size > 0 for size in sizes.values()), sizes


def test_vendored_cytoscape_matches_the_hash_recorded_in_vendored_md() -> None:
    # Prepare
    record = (VENDOR / "VENDORED.md").read_text(encoding="utf-8")
    row = next(line for line in record.splitlines() if line.startswith("| `cytoscape.min.js`"))
    recorded = re.findall(r"`([0-9a-f]{64})`", row)
    version = re.search(r"\| (\d+\.\d+\.\d+) \|", row)
    # Execute
    actual = hashlib.sha256((VENDOR / "cytoscape.min.js").read_bytes()).hexdigest()
    bundle = (VENDOR / "cytoscape.min.js").read_text(encoding="utf-8")
    # Assert
    assert recorded == [actual]
    assert version is not None and f'.version="{version.group(1)}"' in bundle
    assert "The Cytoscape Consortium" in (VENDOR / "LICENSE").read_text(encoding="utf-8")


def test_the_page_references_only_its_own_files() -> None:
    # Prepare
    parser = _page_refs()
    # Execute
    outside = [ref for _tag, ref in parser.refs if _leaves_the_page_folder(ref)]
    local = [ref for tag, ref in parser.refs if tag in ("script", "link") and ":" not in ref]
    # Assert
    assert outside == []
    assert parser.inline_scripts == 0
    for ref in local:
        assert (STATIC_DIR / ref).is_file(), f"index.html refers to missing {ref}"
    assert {"vendor/cytoscape.min.js", "graph.js", "app.js", "style.css"} <= set(local)


@pytest.mark.parametrize(
    "pattern",
    [
        r"\.innerHTML\b",
        r"\.outerHTML\b",
        r"insertAdjacentHTML",
        r"\beval\(",
        r"document\.write",
        r"https?://",
    ],
)
def test_our_scripts_write_no_markup_from_data_and_load_nothing_remote(pattern: str) -> None:
    # Prepare
    sources = {name: (STATIC_DIR / name).read_text(encoding="utf-8") for name in OUR_SCRIPTS}
    # Execute
    hits = {name: re.findall(pattern, text) for name, text in sources.items()}
    # Assert
    assert hits == {name: [] for name in OUR_SCRIPTS}, f"{pattern!r} used"


def test_the_api_key_lives_in_session_storage_only() -> None:
    # Prepare
    source = (STATIC_DIR / "app.js").read_text(encoding="utf-8")
    # Execute
    persistent = re.findall(r"localStorage|document\.cookie", source)
    # Assert
    assert persistent == []
    assert "sessionStorage.setItem(KEY_STORAGE" in source
    assert '"Bearer " + key' in source


def test_every_form_control_has_a_label() -> None:
    # Prepare
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    # Execute
    ids = re.findall(r"<(?:input|select)[^>]*\bid=\"([^\"]+)\"", html)
    labelled = set(re.findall(r"<label for=\"([^\"]+)\"", html))
    # Assert
    assert ids and set(ids) <= labelled, set(ids) - labelled
    assert re.search(r'id="error"[^>]*role="alert"', html)


def test_static_dir_is_inside_the_package() -> None:
    # Prepare / Execute
    package = Path(__file__).resolve().parents[1] / "graph_risk" / "api" / "static"
    # Assert
    assert STATIC_DIR.resolve() == package
