"""The member's codecs for a run (fail closed: no silent plaintext fallback).

A run has two payload layouts (``privacy.layouts``): model updates and evaluation histograms.
With ``encryption = "paillier"`` both are packed Paillier under the consortium key; the member
must hold the private key whose fingerprint matches the run's public key, or it refuses to
take part. Codecs are cached per process (Flower reuses ClientApp workers across rounds), so
keys are loaded and checked once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from participant_node.config import PrivacySettings
from privacy import InsecurePlaintextCodec, UpdateCodec
from privacy.keys import fingerprint, load_private_key, load_public_key
from privacy.layouts import run_layouts
from privacy.paillier_codec import PackedPaillierCodec


class EncryptionUnavailable(RuntimeError):
    """The configured encryption cannot be set up; the member refuses to send plaintext."""


@dataclass(frozen=True)
class MemberCodecs:
    """The codec for model updates and the codec for evaluation histograms."""

    update: UpdateCodec
    histogram: UpdateCodec


def member_codecs(settings: PrivacySettings, private_key: Path | None) -> MemberCodecs:
    """Codecs for ``settings``; raises :class:`EncryptionUnavailable` rather than fall back."""
    if settings.encryption == "none":
        plain = InsecurePlaintextCodec()
        return MemberCodecs(update=plain, histogram=plain)
    if private_key is None:
        raise EncryptionUnavailable(
            "encryption is paillier but this member has no consortium private key "
            "(node config 'private-key'); refusing to send plaintext"
        )
    try:
        stamp = hashlib.sha256(
            Path(settings.public_key).read_bytes() + private_key.read_bytes()
        ).hexdigest()
    except OSError as exc:
        raise EncryptionUnavailable(f"cannot read the consortium keys: {exc}") from exc
    return _paillier_codecs(
        stamp,
        settings.public_key,
        str(private_key),
        settings.param_clip,
        settings.value_bits,
        settings.max_members,
        settings.max_weight,
    )


@lru_cache(maxsize=4)
def _paillier_codecs(
    stamp: str,  # digest of both key files: a replaced key file is loaded again
    public_key: str,
    private_key: str,
    param_clip: float,
    value_bits: int,
    max_members: int,
    max_weight: int,
) -> MemberCodecs:
    try:
        pub = load_public_key(Path(public_key))
        priv = load_private_key(Path(private_key), expected_fingerprint=fingerprint(pub))
    except (OSError, ValueError) as exc:
        raise EncryptionUnavailable(f"cannot load the consortium keys: {exc}") from exc
    update_layout, hist_layout = run_layouts(
        param_clip=param_clip,
        value_bits=value_bits,
        max_members=max_members,
        max_weight=max_weight,
    )
    return MemberCodecs(
        update=PackedPaillierCodec(priv, update_layout, workers=1),
        histogram=PackedPaillierCodec(priv, hist_layout, workers=1),
    )
