"""Privacy machinery for fedcredit: update codecs, key ceremony, DP-SGD budget ledger.

Trust model
-----------
(The full statement is completed by the privacy issue; see ``docs/`` and the README.)

- Members are honest-but-curious toward each other; the coordinator is honest-but-curious and
  does not collude with a member. The coordinator holds the public key only.
- Paillier hides each member's update from the coordinator; DP-SGD gives record-level
  (epsilon, delta)-DP against everyone who sees the global model.
- Everything the coordinator stores is either ciphertext or an aggregate.
- Named weaknesses: a coordinator colluding with one key holder can read updates; robust
  aggregation (Krum, trimmed mean) cannot run on ciphertexts.

This package imports no other fedcredit package, no Flower and no FastAPI.
"""

from privacy.codec import (
    PLAINTEXT_SCHEME,
    CodecError,
    Decoded,
    InsecurePlaintextCodec,
    Payload,
    UpdateCodec,
)

__all__ = [
    "PLAINTEXT_SCHEME",
    "CodecError",
    "Decoded",
    "InsecurePlaintextCodec",
    "Payload",
    "UpdateCodec",
]
