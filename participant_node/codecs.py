"""Choose the member's codec for a run (fail closed: no silent plaintext fallback)."""

from __future__ import annotations

from participant_node.config import MemberConfig
from privacy import InsecurePlaintextCodec, UpdateCodec


class EncryptionUnavailable(RuntimeError):
    """The configured encryption cannot be set up; the member refuses to send plaintext."""


def member_codec(cfg: MemberConfig) -> UpdateCodec:
    """The codec a member encodes and decodes with."""
    if cfg.encryption == "none":
        return InsecurePlaintextCodec()
    raise EncryptionUnavailable(
        f"encryption {cfg.encryption!r} is not available in this build; refusing to send "
        "plaintext (set encryption='none' and insecure-plaintext=true to opt out explicitly)"
    )
