"""A member's codecs fail closed: no key, a foreign key, or a bad config never means plaintext."""

from pathlib import Path

import numpy as np
import pytest

from participant_node.codecs import EncryptionUnavailable, member_codecs
from participant_node.config import PrivacySettings
from privacy.keys import generate_keypair, save_private_key, save_public_key


def _keys(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    pub, priv = generate_keypair(2048)
    save_public_key(directory / "public_key.json", pub)
    save_private_key(directory / "private_key.json", priv)
    return directory / "public_key.json", directory / "private_key.json"


def test_missing_private_key_refuses(tmp_path: Path) -> None:
    pub, _ = _keys(tmp_path)
    with pytest.raises(EncryptionUnavailable, match="no consortium private key"):
        member_codecs(PrivacySettings(public_key=str(pub)), None)


def test_private_key_of_another_consortium_refuses(tmp_path: Path) -> None:
    pub, _ = _keys(tmp_path / "a")
    _, foreign = _keys(tmp_path / "b")
    with pytest.raises(EncryptionUnavailable, match="cannot load the consortium keys"):
        member_codecs(PrivacySettings(public_key=str(pub)), foreign)


def test_plaintext_needs_the_explicit_opt_out() -> None:
    with pytest.raises(ValueError, match="insecure-plaintext"):
        PrivacySettings(encryption="none")
    codecs = member_codecs(PrivacySettings(encryption="none", insecure_plaintext=True), None)
    assert codecs.update.scheme == "insecure-plaintext"


def test_replaced_key_files_are_reloaded(tmp_path: Path) -> None:
    pub, priv = _keys(tmp_path / "k")
    first = member_codecs(PrivacySettings(public_key=str(pub)), priv)
    payload = first.update.encode(np.array([0.5, -0.25]), weight=2)
    for p in (pub, priv):
        p.unlink()
    _keys(tmp_path / "k")  # a new ceremony at the same paths
    second = member_codecs(PrivacySettings(public_key=str(pub)), priv)
    assert second is not first
    assert second.update.encode(np.zeros(2), 1).meta["fingerprint"] != payload.meta["fingerprint"]
