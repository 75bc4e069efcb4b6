"""The coordinator's aggregation codecs for a run (fail closed: no silent plaintext fallback).

The coordinator loads the consortium *public* key only; its Paillier aggregator cannot hold a
private key, and :class:`~coordinator.config.CoordinatorConfig` has no field that could name
one.
"""

from __future__ import annotations

from pathlib import Path

from coordinator.config import CoordinatorConfig
from privacy import InsecurePlaintextCodec, UpdateCodec
from privacy.keys import load_public_key
from privacy.layouts import run_layouts
from privacy.paillier_codec import PaillierAggregator


class EncryptionUnavailable(RuntimeError):
    """The configured encryption cannot be set up; the run must not start in plaintext."""


def aggregation_codecs(cfg: CoordinatorConfig) -> dict[str, UpdateCodec]:
    """``{"train": ..., "evaluate": ...}``: what the coordinator adds in each phase."""
    if cfg.encryption == "none":
        plain = InsecurePlaintextCodec()
        return {"train": plain, "evaluate": plain}
    if not cfg.public_key:
        raise EncryptionUnavailable("encryption is paillier but no public-key is configured")
    try:
        pub = load_public_key(Path(cfg.public_key))
    except (OSError, ValueError) as exc:
        raise EncryptionUnavailable(f"cannot load the consortium public key: {exc}") from exc
    update_layout, hist_layout = run_layouts(
        param_clip=cfg.param_clip,
        value_bits=cfg.value_bits,
        max_members=cfg.max_members,
        max_weight=cfg.max_weight,
    )
    return {
        "train": PaillierAggregator(pub, update_layout),
        "evaluate": PaillierAggregator(pub, hist_layout),
    }
