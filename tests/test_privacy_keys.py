"""Key ceremony (privacy.keys) and its CLI (`fedcredit keys init`)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from functools import cache
from pathlib import Path

import pytest
import typer
from phe import paillier
from typer.testing import CliRunner

from privacy.cli import app
from privacy.errors import InsecureKeyError, KeyFileError
from privacy.keys import (
    check_key_bits,
    fingerprint,
    generate_keypair,
    load_private_key,
    load_public_key,
    write_keypair,
)


@cache
def keys() -> tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]:
    return generate_keypair(512, insecure_small_key=True)


def cli() -> typer.Typer:
    """Mount the group the way the lead's `fedcredit` app does."""
    root = typer.Typer()
    root.add_typer(app, name="keys")
    return root


def test_small_keys_are_refused_without_the_explicit_flag() -> None:
    with pytest.raises(InsecureKeyError, match="--insecure-small-key"):
        check_key_bits(1024)
    with pytest.raises(ValueError, match="even"):
        check_key_bits(2049)
    with pytest.raises(ValueError, match=">= 256"):
        check_key_bits(128, insecure_small_key=True)
    check_key_bits(2048)
    check_key_bits(3072)


def test_generated_key_has_the_requested_size() -> None:
    pub, priv = keys()
    assert pub.n.bit_length() == 512
    assert priv.p * priv.q == pub.n


def test_fingerprint_is_sha256_of_the_canonical_public_key() -> None:
    pub, priv = keys()
    canonical = '{"n":"' + str(pub.n) + '","scheme":"paillier"}'
    assert fingerprint(pub) == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert fingerprint(priv.public_key) == fingerprint(pub)
    other, _ = generate_keypair(512, insecure_small_key=True)
    assert fingerprint(other) != fingerprint(pub)


def test_write_then_load_round_trip_with_modes(tmp_path: Path) -> None:
    # Prepare
    pub, priv = keys()
    # Execute
    pub_path, priv_path = write_keypair(tmp_path / "k", pub, priv)
    loaded_pub = load_public_key(
        pub_path, allow_insecure=True, expected_fingerprint=fingerprint(pub)
    )
    loaded_priv = load_private_key(priv_path, allow_insecure=True)
    # Assert
    assert stat.S_IMODE(priv_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pub_path.stat().st_mode) == 0o644
    assert loaded_pub.n == pub.n
    assert (loaded_priv.p, loaded_priv.q) == (priv.p, priv.q)
    assert "p" not in json.loads(pub_path.read_text())
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == [
        "private_key.json",
        "public_key.json",
    ]  # no temp files left


def test_refuses_to_overwrite_and_leaves_the_original(tmp_path: Path) -> None:
    pub, priv = keys()
    pub_path, _ = write_keypair(tmp_path, pub, priv)
    before = pub_path.read_bytes()
    other_pub, other_priv = generate_keypair(512, insecure_small_key=True)
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        write_keypair(tmp_path, other_pub, other_priv)
    assert pub_path.read_bytes() == before


def test_private_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    _, priv_path = write_keypair(tmp_path, *keys())
    os.chmod(priv_path, 0o644)
    with pytest.raises(KeyFileError, match="mode 0644"):
        load_private_key(priv_path, allow_insecure=True)


def test_tampered_or_mismatched_keys_are_refused(tmp_path: Path) -> None:
    # Prepare
    pub, priv = keys()
    pub_path, priv_path = write_keypair(tmp_path, pub, priv)
    doc = json.loads(pub_path.read_text())
    # Execute / Assert: altered modulus
    doc["n"] = str(pub.n + 2)
    bad = tmp_path / "bad_pub.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(KeyFileError, match="altered"):
        load_public_key(bad, allow_insecure=True)
    # a private key that is not the expected consortium key
    with pytest.raises(KeyFileError, match="not the expected"):
        load_private_key(priv_path, allow_insecure=True, expected_fingerprint="sha256:00")
    # p, q that do not factor n
    pdoc = json.loads(priv_path.read_text())
    pdoc["p"] = str(priv.p + 2)
    bad_priv = tmp_path / "bad_priv.json"
    bad_priv.write_text(json.dumps(pdoc))
    os.chmod(bad_priv, 0o600)
    with pytest.raises(KeyFileError, match="prime factors"):
        load_private_key(bad_priv, allow_insecure=True)


def test_malformed_files_and_small_keys_are_refused(tmp_path: Path) -> None:
    pub_path, _ = write_keypair(tmp_path, *keys())
    with pytest.raises(KeyFileError, match="below the secure minimum"):
        load_public_key(pub_path)
    junk = tmp_path / "junk.json"
    junk.write_text("{not json")
    with pytest.raises(KeyFileError, match="not a JSON key file"):
        load_public_key(junk)
    junk.write_text('{"format": "something-else"}')
    with pytest.raises(KeyFileError, match="'format'"):
        load_public_key(junk)
    with pytest.raises(KeyFileError, match="not found"):
        load_private_key(tmp_path / "missing.json")


def test_cli_init_writes_keys_and_prints_the_fingerprint(tmp_path: Path) -> None:
    # Execute
    res = CliRunner().invoke(cli(), ["keys", "init", "--bits", "2048", "--out", str(tmp_path)])
    # Assert
    assert res.exit_code == 0, res.output
    pub = load_public_key(tmp_path / "public_key.json")
    priv = load_private_key(tmp_path / "private_key.json", expected_fingerprint=fingerprint(pub))
    assert pub.n.bit_length() == 2048 and priv.public_key.n == pub.n
    assert fingerprint(pub) in res.output


def test_cli_refuses_small_keys_and_overwrites_with_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli(), ["keys", "init", "--bits", "1024", "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert "--insecure-small-key" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "private_key.json").exists()
    ok = runner.invoke(
        cli(), ["keys", "init", "--bits", "512", "--insecure-small-key", "--out", str(tmp_path)]
    )
    assert ok.exit_code == 0 and "INSECURE" in ok.output
    again = runner.invoke(
        cli(), ["keys", "init", "--bits", "512", "--insecure-small-key", "--out", str(tmp_path)]
    )
    assert again.exit_code == 1 and "refusing to overwrite" in again.output
