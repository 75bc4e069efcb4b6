"""Error types of the privacy package, one per rule, so callers can catch precisely.

Every codec error subclasses :class:`privacy.codec.CodecError` (itself a ``ValueError``): a
payload that would be mis-aggregated is refused, never silently summed.
"""

from __future__ import annotations

from privacy.codec import CodecError


class KeyFileError(ValueError):
    """A key file that is missing, malformed, tampered with, or readable by others."""


class InsecureKeyError(ValueError):
    """A key shorter than the secure minimum, used without the explicit insecure opt-in."""


class KeyMismatchError(CodecError):
    """A payload encrypted under another key (its fingerprint differs from ours)."""


class ConfigMismatchError(CodecError):
    """A payload packed with another packing configuration (bits, clip range, limits)."""


class CiphertextCountError(CodecError):
    """A payload with the wrong number (or byte width) of ciphertexts for its length."""


class CiphertextRangeError(CodecError):
    """A ciphertext outside ``[1, n^2)`` or not coprime to ``n``: not a Paillier ciphertext."""


class MemberLimitError(CodecError):
    """An aggregate of more members than the guard bits were sized for (it could carry)."""


class WeightRangeError(CodecError):
    """A weight that is not an integer in ``[0, max_weight]``."""


class MissingPrivateKeyError(CodecError):
    """Decryption requested from an object that holds the public key only (the coordinator)."""


class CorruptAggregateError(CodecError):
    """A decrypted aggregate whose slots cannot be a sum of valid updates (tampering, wrong key)."""


class BudgetExhausted(RuntimeError):
    """A privacy charge that would take a dataset past its (epsilon, delta) budget.

    Parameters
    ----------
    dataset
        Fingerprint of the dataset whose budget is exhausted.
    spent
        Epsilon already spent (before the refused charge).
    would_be
        Epsilon after the refused charge.
    budget
        The dataset's epsilon budget.
    delta
        The delta at which epsilon is reported.
    """

    def __init__(
        self, dataset: str, spent: float, would_be: float, budget: float, delta: float
    ) -> None:
        self.dataset = dataset
        self.spent = spent
        self.would_be = would_be
        self.budget = budget
        self.delta = delta
        super().__init__(
            f"privacy budget exhausted for dataset {dataset}: spent epsilon {spent:.4f}, "
            f"this charge would make it {would_be:.4f} > budget {budget:.4f} "
            f"(delta {delta:g}); the update was not released"
        )


__all__ = [
    "BudgetExhausted",
    "CiphertextCountError",
    "CiphertextRangeError",
    "CodecError",
    "ConfigMismatchError",
    "CorruptAggregateError",
    "InsecureKeyError",
    "KeyFileError",
    "KeyMismatchError",
    "MemberLimitError",
    "MissingPrivateKeyError",
    "WeightRangeError",
]
