"""Unit level of the deployment: reply admission, TLS material, node keys, homes, CLI init."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from typer.testing import CliRunner

from coordinator.admission import Expected, Rejected, admit
from coordinator.deploy.certs import issue_tls
from coordinator.deploy.home import CoordinatorHome
from coordinator.store_sql import redact
from participant_node.deploy import init_node, node_config_string, stratified_mask
from privacy import InsecurePlaintextCodec
from privacy.keys import generate_keypair, write_keypair
from privacy.layouts import run_layouts
from privacy.paillier_codec import PackedPaillierCodec, PaillierAggregator
from simulations.cli import app as cli

ECHO = {"run-id": "r1", "server-round": 3, "round-nonce": "n3"}
WANT = Expected("r1", 3, "n3", max_reply_bytes=4096)


@pytest.fixture(scope="module")
def paillier() -> tuple[PackedPaillierCodec, PaillierAggregator]:
    pub, priv = generate_keypair(2048)
    layout, _ = run_layouts(param_clip=8.0, value_bits=16, max_members=8, max_weight=255)
    return PackedPaillierCodec(priv, layout, workers=1), PaillierAggregator(pub, layout)


def test_admits_an_honest_reply_of_this_round(paillier) -> None:  # type: ignore[no-untyped-def]
    member, agg = paillier
    p = member.encode(np.array([0.5, -1.0, 2.0]), weight=3)
    admit(p, ECHO, p.nbytes(), agg, WANT)  # no exception


@pytest.mark.parametrize(
    ("echo", "nbytes", "needle"),
    [
        ({**ECHO, "server-round": 2}, 100, "replayed or stale reply"),
        ({**ECHO, "round-nonce": "n2"}, 100, "nonce mismatch"),
        ({**ECHO, "run-id": "other"}, 100, "replayed or stale reply"),
        ({}, 100, "replayed or stale reply"),
        (ECHO, 4097, "oversized reply: 4097 bytes > max-reply-bytes=4096"),
    ],
)
def test_rejects_stale_replayed_and_oversized(
    paillier,
    echo: dict[str, object],
    nbytes: int,
    needle: str,  # type: ignore[no-untyped-def]
) -> None:
    member, agg = paillier
    p = member.encode(np.array([0.5, -1.0, 2.0]), weight=3)
    with pytest.raises(Rejected, match=needle.replace("[", r"\[")):
        admit(p, echo, nbytes, agg, WANT)


def test_rejects_wrong_key_count_and_range(paillier) -> None:  # type: ignore[no-untyped-def]
    member, agg = paillier
    p = member.encode(np.array([0.5, -1.0, 2.0]), weight=3)
    wrong_key = type(p)(arrays=p.arrays, meta={**p.meta, "fingerprint": "sha256:" + "0" * 64})
    with pytest.raises(Rejected, match="encrypted under key"):
        admit(wrong_key, ECHO, 100, agg, WANT)
    cts = p.arrays["ciphertexts"]
    short = type(p)(arrays={"ciphertexts": cts[:0]}, meta=p.meta)
    with pytest.raises(Rejected, match="ciphertexts"):
        admit(short, ECHO, 100, agg, WANT)
    big = cts.copy()
    big[0] = 0xFF
    out_of_range = type(p)(arrays={"ciphertexts": big}, meta=p.meta)
    with pytest.raises(Rejected, match=r"outside \[1, n\^2\)"):
        admit(out_of_range, ECHO, 100, agg, WANT)
    plain = InsecurePlaintextCodec().encode(np.array([1.0, 2.0, 3.0]), weight=1)
    with pytest.raises(Rejected, match="scheme"):
        admit(plain, ECHO, 100, agg, WANT)


def test_tls_material_is_a_ca_signed_server_cert_with_private_keys_0600(tmp_path: Path) -> None:
    paths = issue_tls(tmp_path / "tls", ["127.0.0.1", "assoc.example"])
    ca = x509.load_pem_x509_certificate(paths["ca"].read_bytes())
    cert = x509.load_pem_x509_certificate(paths["cert"].read_bytes())
    cert.verify_directly_issued_by(ca)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(v) for v in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1"}
    assert sans.get_values_for_type(x509.DNSName) == ["assoc.example"]
    for key in ("ca_key", "key"):
        assert stat.S_IMODE(os.stat(paths[key]).st_mode) == 0o600
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        issue_tls(tmp_path / "tls", ["127.0.0.1"])
    with pytest.raises(ValueError, match="at least one host"):
        issue_tls(tmp_path / "other", [])


def test_node_init_makes_a_p384_key_pair_and_never_overwrites(tmp_path: Path) -> None:
    keys = init_node(tmp_path / "node", "m01")
    assert stat.S_IMODE(os.stat(keys.private_key).st_mode) == 0o600
    assert keys.public_key.read_text().startswith("ecdsa-sha2-nistp384 ")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        init_node(tmp_path / "node", "m01")
    with pytest.raises(ValueError, match="member id must match"):
        init_node(tmp_path / "x", "m 01")


def test_allow_list_accepts_only_ec_keys_once(tmp_path: Path) -> None:
    home = CoordinatorHome(tmp_path / "assoc")
    keys = init_node(tmp_path / "node", "m01")
    home.allow("m01", keys.public_key)
    assert home.members()["m01"]["node_id"] is None
    with pytest.raises(ValueError, match="already on the allow-list"):
        home.allow("m01", keys.public_key)
    junk = tmp_path / "junk.pub"
    junk.write_text("ssh-nothing AAAA\n")
    with pytest.raises(ValueError, match="not an OpenSSH public key"):
        home.allow("m02", junk)


def test_helpers_redact_quote_and_stratify() -> None:
    assert redact("postgresql://a:pw@h:5432/d") == "postgresql://a:***@h:5432/d"
    assert node_config_string({"a": "x y", "n": 3}) == 'a="x y" n=3'
    with pytest.raises(ValueError, match="quotes"):
        node_config_string({"a": 'x"y'})
    y = np.array([0] * 10 + [1] * 5)
    mask = stratified_mask(y, 0.2, seed=1)
    assert int(mask[y == 0].sum()) == 2 and int(mask[y == 1].sum()) == 1


def test_cli_coordinator_init_writes_home_and_refuses_twice(tmp_path: Path) -> None:
    pub, priv = generate_keypair(2048)
    write_keypair(tmp_path / "keys", pub, priv)
    node = init_node(tmp_path / "node", "m01")
    args = ["coordinator", "init", "--home", str(tmp_path / "assoc"), "--public-key",
            str(tmp_path / "keys" / "public_key.json"), "--member", f"m01={node.public_key}",
            "--port", "19999"]  # fmt: skip
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    assert "allow-list: m01" in first.output
    assert (tmp_path / "assoc" / "tls" / "ca.pem").is_file()
    assert not (tmp_path / "assoc" / "private_key.json").exists()
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 1 and "already initialised" in again.output
