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

Who holds what. One consortium Paillier key pair is made in a key ceremony
(``fedcredit keys init``). Every member holds the private key (file mode 0600); the coordinator
holds the public key and its fingerprint only, and its aggregator object
(:class:`PaillierAggregator`) refuses a private key.

What each party sees.

- Coordinator: per member, ciphertexts (indistinguishable from random under the decisional
  composite residuosity assumption, key >= 2048 bits, 3072 by default) plus plaintext meta:
  scheme, key fingerprint, packing layout, vector length, member count, and the number of
  coordinates the codec clipped. It never sees a weight, a value or a histogram in the clear.
  The clipped count is post-processing of a DP-SGD output, so it costs no record-level privacy,
  but it does hint at the size of a member's update.
- Members: the decrypted *aggregate* of each round (sum of weighted updates, summed weight, i.e.
  the round's total row count, aggregate evaluation histograms) and the global model. With m
  members in a round a member learns the sum of the other m - 1 updates; with m = 2 that is the
  other member's update exactly, so rounds should require at least 3 members. Differencing two
  rounds with different member sets (drop-outs) isolates the updates that differ.
- Everyone who sees the global model or any aggregate: protected at record level by DP-SGD
  (each member clips per-example gradients and adds Gaussian noise locally, so every single
  update is already DP) and, for histograms, by :func:`noise_counts` if the run enables it.
  Un-noised histograms reveal exact counts (see :mod:`privacy.dp`).

Named weaknesses.

- A coordinator that colludes with any one key holder (or obtains a member's key file) can read
  every update; a member that obtains another member's individual ciphertext can decrypt it.
  Transport (TLS) and the coordinator's discipline of forwarding only aggregates are required.
- Robust aggregation (Krum, trimmed mean, norm checks) cannot run on ciphertexts: a malicious
  member can poison the model within the clip range; the codec only bounds each coordinate.
- Honest-but-curious only: no proofs that ciphertexts encode in-range values, and the
  ``members`` meta of a payload is trusted.
- The DP budget is per dataset fingerprint in each member's own ledger; a member that changes its
  data (new fingerprint) starts a new budget, and the ledger can be edited by its owner.
- Metadata (timing, payload size, who took part) is visible to the coordinator.

This package imports no other fedcredit package, no Flower and no FastAPI (and no torch: Opacus
is imported lazily, only for the PRV accountant).
"""

from privacy.accountant import (
    Mechanism,
    PrivacyAccountant,
    compute_epsilon,
    noise_for_target,
    rdp_sampled_gaussian,
)
from privacy.codec import (
    PLAINTEXT_SCHEME,
    CodecError,
    Decoded,
    InsecurePlaintextCodec,
    Payload,
    UpdateCodec,
)
from privacy.dp import DPSettings, histogram_mechanism, noise_counts
from privacy.errors import (
    BudgetExhausted,
    CiphertextCountError,
    CiphertextRangeError,
    ConfigMismatchError,
    CorruptAggregateError,
    InsecureKeyError,
    KeyFileError,
    KeyMismatchError,
    MemberLimitError,
    MissingPrivateKeyError,
    WeightRangeError,
)
from privacy.keys import (
    DEFAULT_KEY_BITS,
    fingerprint,
    generate_keypair,
    load_private_key,
    load_public_key,
    write_keypair,
)
from privacy.ledger import Budget, BudgetLedger, BudgetStatus, Charge, dataset_fingerprint
from privacy.packing import PackingConfig
from privacy.paillier import ObfuscatorPool
from privacy.paillier_codec import (
    PAILLIER_SCHEME,
    PackedPaillierCodec,
    PaillierAggregator,
    SlotSums,
)

__all__ = [
    "DEFAULT_KEY_BITS",
    "PAILLIER_SCHEME",
    "PLAINTEXT_SCHEME",
    "Budget",
    "BudgetExhausted",
    "BudgetLedger",
    "BudgetStatus",
    "Charge",
    "CiphertextCountError",
    "CiphertextRangeError",
    "CodecError",
    "ConfigMismatchError",
    "CorruptAggregateError",
    "DPSettings",
    "Decoded",
    "InsecureKeyError",
    "InsecurePlaintextCodec",
    "KeyFileError",
    "KeyMismatchError",
    "Mechanism",
    "MemberLimitError",
    "MissingPrivateKeyError",
    "ObfuscatorPool",
    "PackedPaillierCodec",
    "PackingConfig",
    "PaillierAggregator",
    "Payload",
    "PrivacyAccountant",
    "SlotSums",
    "UpdateCodec",
    "WeightRangeError",
    "compute_epsilon",
    "dataset_fingerprint",
    "fingerprint",
    "generate_keypair",
    "histogram_mechanism",
    "load_private_key",
    "load_public_key",
    "noise_counts",
    "noise_for_target",
    "rdp_sampled_gaussian",
    "write_keypair",
]
