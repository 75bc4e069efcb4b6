"""Choose the aggregation codec for a run (fail closed: no silent plaintext fallback)."""

from __future__ import annotations

from coordinator.config import CoordinatorConfig
from privacy import InsecurePlaintextCodec, UpdateCodec


class EncryptionUnavailable(RuntimeError):
    """The configured encryption cannot be set up; the run must not start in plaintext."""


def aggregation_codec(cfg: CoordinatorConfig) -> UpdateCodec:
    """The codec whose ``aggregate`` the coordinator runs for ``cfg``.

    ``encryption = "none"`` is only reachable with ``insecure-plaintext = true`` (enforced by
    :class:`CoordinatorConfig`); anything else must be encrypted or the run refuses to start.
    """
    if cfg.encryption == "none":
        return InsecurePlaintextCodec()
    raise EncryptionUnavailable(
        f"encryption {cfg.encryption!r} is not available in this build; refusing to fall back "
        "to plaintext (pass encryption='none' with insecure-plaintext=true to opt out explicitly)"
    )
