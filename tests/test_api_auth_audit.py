"""API keys (hashed at rest, roles, revoke), the append-only hash-chained audit log, and the
`fedcredit auth` commands."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from typer.testing import CliRunner

from simulations.cli import app as cli
from simulations.serve import AuditEntry, AuditLog, KeyStore, ServeSettings, create_app
from simulations.serve.auth import token_digest
from simulations.serve.live import live_server


def entry(i: int, key: str = "k") -> AuditEntry:
    return AuditEntry(
        ts=1000.0 + i,
        key_name=key,
        role="risk_analyst",
        member_id=None,
        method="GET",
        path=f"/v1/graph/companies/C{i}",
        query="",
        subjects="",
        status=200,
        client="127.0.0.1:1",
    )


def test_keys_are_stored_as_sha256_only(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    token = store.add("alice", "risk_analyst")
    raw = (tmp_path / "keys.sqlite").read_bytes()
    assert token.encode() not in raw
    with sqlite3.connect(tmp_path / "keys.sqlite") as conn:
        assert conn.execute("SELECT token_sha256 FROM api_keys").fetchone()[0] == token_digest(
            token
        )
    principal = store.lookup(token)
    assert principal is not None
    assert (principal.name, principal.role, principal.member_id) == ("alice", "risk_analyst", None)
    assert store.lookup(token + "x") is None


@pytest.mark.parametrize(
    ("name", "role", "member", "rule"),
    [
        ("a", "root", None, "role must be one of"),
        ("a", "member", None, "needs --member-id"),
        ("a", "risk_analyst", "m01", "applies to role member only"),
        ("bad name", "risk_analyst", None, "key name must be"),
    ],
)
def test_key_rules_are_named(
    tmp_path: Path, name: str, role: str, member: str | None, rule: str
) -> None:
    with pytest.raises(ValueError, match=rule):
        KeyStore(tmp_path / "keys.sqlite").add(name, role, member)


def test_names_are_unique_and_revoke_is_final(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite")
    token = store.add("bob", "member", "m02")
    with pytest.raises(ValueError, match="already exists"):
        store.add("bob", "member", "m02")
    store.revoke("bob")
    assert store.lookup(token) is None
    with pytest.raises(KeyError, match="no active key"):
        store.revoke("bob")


def test_chain_verifies_and_detects_an_edit(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite")
    for i in range(5):
        log.record(entry(i))
    assert log.verify().ok and log.verify().rows == 5
    with (
        sqlite3.connect(tmp_path / "audit.sqlite") as conn,
        pytest.raises(sqlite3.IntegrityError, match="append-only"),
    ):
        conn.execute("UPDATE audit SET key_name='mallory' WHERE seq=3")
    with sqlite3.connect(tmp_path / "audit.sqlite") as conn:
        conn.execute("DROP TRIGGER audit_no_update")  # someone with file access
        conn.execute("UPDATE audit SET key_name='mallory' WHERE seq=3")
    check = log.verify()
    assert (check.ok, check.first_bad) == (False, 3)
    log.close()


def test_background_writer_loses_nothing_on_close(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite", flush_seconds=5.0, batch=64)
    log.start()

    def write(t: int) -> None:
        for i in range(250):
            log.record(entry(i, f"k{t}"))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    reread = AuditLog(tmp_path / "audit.sqlite")
    assert reread.verify().rows == 1000 and reread.verify().ok
    assert {e["key_name"] for e in reread.entries(limit=2000)} == {"k0", "k1", "k2", "k3"}
    reread.close()


def test_every_request_is_audited_with_who_what_when(tmp_path: Path) -> None:
    from graph_risk.api import GraphIndex
    from graph_risk.frames import GraphFrames

    empty = GraphFrames.empty()
    frames = GraphFrames(
        companies=pd.DataFrame(
            [
                {
                    "company_id": "X1",
                    "name": "X One",
                    "industry": "a",
                    "region": "b",
                    "registered_capital": 1.0,
                    "total_assets": 1.0,
                    "net_assets": 1.0,
                    "founded_year": 2000,
                }
            ]
        ),
        persons=empty.persons,
        shareholdings=empty.shareholdings,
        guarantees=empty.guarantees,
        defaults=empty.defaults,
    )
    settings = ServeSettings(
        role="risk",
        keys=tmp_path / "keys.sqlite",
        audit=tmp_path / "audit.sqlite",
        audit_flush_seconds=10.0,
    )
    token = KeyStore(settings.keys_path).add("carol", "risk_analyst")
    before = time.time()
    app = create_app("risk", settings, graph_index=GraphIndex(frames))
    with live_server(app) as base:
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{base}/v1/graph/companies/X1", headers=auth).status_code == 200
        assert httpx.get(f"{base}/v1/graph/companies/NO", headers=auth).status_code == 404
        assert httpx.get(f"{base}/v1/graph/companies/X1").status_code == 401
        assert httpx.get(f"{base}/healthz").status_code == 200
    log = AuditLog(settings.audit_path)  # the server drained its queue on shutdown
    rows = log.entries()
    assert [(r["key_name"], r["path"], r["status"]) for r in rows] == [
        ("carol", "/v1/graph/companies/X1", 200),
        ("carol", "/v1/graph/companies/NO", 404),
        (None, "/v1/graph/companies/X1", 401),
    ]
    assert all(before <= r["ts"] <= time.time() for r in rows)
    assert log.verify().ok
    log.close()


def test_cli_add_revoke_list_and_audit(tmp_path: Path) -> None:
    runner = CliRunner()
    keys = str(tmp_path / "keys.sqlite")
    added = runner.invoke(
        cli,
        [
            "auth",
            "add-key",
            "--role",
            "member",
            "--name",
            "m01-app",
            "--member-id",
            "m01",
            "--keys",
            keys,
        ],
    )
    assert added.exit_code == 0, added.output
    token = added.stdout.strip().splitlines()[-1]
    assert token.startswith("fck_") and len(token) > 40
    assert KeyStore(keys).lookup(token) is not None
    listed = runner.invoke(cli, ["auth", "list", "--keys", keys])
    assert "m01-app" in listed.stdout and token not in listed.stdout
    bad = runner.invoke(cli, ["auth", "add-key", "--role", "member", "--name", "x", "--keys", keys])
    assert bad.exit_code == 1 and "needs --member-id" in bad.output
    assert runner.invoke(cli, ["auth", "revoke", "m01-app", "--keys", keys]).exit_code == 0
    assert KeyStore(keys).lookup(token) is None
    audit = tmp_path / "audit.sqlite"
    log = AuditLog(audit)
    log.record(entry(1))
    log.close()
    shown = runner.invoke(cli, ["auth", "audit", "--audit", str(audit), "--verify"])
    assert shown.exit_code == 0, shown.output
    assert "OK audit chain of 1 entries verifies" in shown.stdout


def test_settings_come_from_one_toml_with_flags_on_top(tmp_path: Path) -> None:
    from simulations.serve import load_settings

    config = tmp_path / "serve.toml"
    config.write_text(
        '[serve]\nrole = "member"\nmember_id = "m01"\nport = 9001\nmodel = "m.json"\n'
    )
    settings = load_settings(config, port=9002)
    assert (settings.role, settings.member_id, settings.port, settings.model) == (
        "member",
        "m01",
        9002,
        tmp_path / "m.json",
    )
    config.write_text('[serve]\nrole = "risk"\nprot = 1\n')
    with pytest.raises(ValueError, match=r"unknown key\(s\) in \[serve\]: prot"):
        load_settings(config)
    with pytest.raises(ValueError, match=r"port must be in \[0, 65535\]; got 70000"):
        load_settings(None, port=70000)
    with pytest.raises(ValueError, match="role must be one of member, risk, association"):
        load_settings(None, role="admin")


def test_verified_keys_are_cached_for_a_bounded_time(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite", cache_seconds=0.3)
    token = store.add("dave", "risk_analyst")
    assert store.lookup(token) is not None  # verified, now cached
    with sqlite3.connect(tmp_path / "keys.sqlite") as conn:  # a revoke by another process
        conn.execute("UPDATE api_keys SET revoked_at=1 WHERE name='dave'")
    assert store.lookup(token) is not None  # served from the cache: no query
    time.sleep(0.35)
    assert store.lookup(token) is None  # expired: the revoke is seen
    assert KeyStore(tmp_path / "other.sqlite", cache_seconds=0).cache_seconds == 0
    with pytest.raises(ValueError, match=r"cache_seconds must be in \[0, 60\]"):
        KeyStore(tmp_path / "keys.sqlite", cache_seconds=61)


def test_the_cache_is_bounded(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.sqlite", cache_seconds=30, cache_size=2)
    tokens = [store.add(f"k{i}", "risk_analyst") for i in range(3)]
    for token in tokens:
        store.lookup(token)
    assert len(store._cache) == 2  # the oldest was dropped
    assert store.lookup(tokens[0]) is not None  # looked up again from the database


def test_revoke_takes_effect_over_http_despite_the_cache(tmp_path: Path) -> None:
    from graph_risk.api import GraphIndex
    from graph_risk.frames import GraphFrames

    settings = ServeSettings(
        role="risk",
        keys=tmp_path / "keys.sqlite",
        audit=tmp_path / "audit.sqlite",
        auth_cache_seconds=0.5,
    )
    setup = KeyStore(settings.keys_path)
    cli_revoked, app_revoked = setup.add("erin", "risk_analyst"), setup.add("fay", "risk_analyst")
    app = create_app("risk", settings, graph_index=GraphIndex(GraphFrames.empty()))
    runner = CliRunner()
    with live_server(app) as base:

        def status(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return httpx.get(f"{base}/v1/graph/guarantee-circles", headers=headers).status_code

        assert status(cli_revoked) == 200 and status(app_revoked) == 200  # both cached now
        # `fedcredit auth revoke` runs in another process: seen once the cache entry expires
        done = runner.invoke(cli, ["auth", "revoke", "erin", "--keys", str(settings.keys_path)])
        assert done.exit_code == 0, done.output
        time.sleep(0.55)
        assert status(cli_revoked) == 401
        # a revoke through the server's own key store drops the cached entry at once
        app.state.keys.revoke("fay")
        assert status(app_revoked) == 401


def test_writer_flushes_on_its_timer_and_when_a_batch_is_full(tmp_path: Path) -> None:
    timed = AuditLog(tmp_path / "timed.sqlite", flush_seconds=0.1, batch=1000)
    timed.start()
    for i in range(5):
        timed.record(entry(i))
    deadline = time.monotonic() + 10
    while timed.verify().rows < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert timed.verify().rows == 5  # written without close()
    timed.close()
    full = AuditLog(tmp_path / "full.sqlite", flush_seconds=30.0, batch=4)
    full.start()
    for i in range(4):
        full.record(entry(i))  # the 4th fills the batch and wakes the writer
    deadline = time.monotonic() + 10
    while full.verify().rows < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert full.verify().rows == 4  # long before the 30 s timer
    full.record(entry(4))
    full.close()
    assert (full.verify().rows, full.verify().ok) == (5, True)
