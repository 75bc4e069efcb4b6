"""Raw Paillier operations (privacy.paillier), checked against phe's own encryption/decryption."""

from __future__ import annotations

import math
from functools import cache

import gmpy2
import numpy as np
import pytest
from phe import paillier

from privacy.errors import CiphertextCountError, CiphertextRangeError
from privacy.keys import generate_keypair
from privacy.paillier import (
    ObfuscatorPool,
    ObfuscatorSource,
    add_ciphertexts,
    ciphertext_width,
    decrypt_ciphertexts,
    encrypt_plaintexts,
    from_bytes_array,
    to_bytes_array,
)


@cache
def keys() -> tuple[paillier.PaillierPublicKey, paillier.PaillierPrivateKey]:
    """One small key per test session (explicitly insecure, for speed)."""
    return generate_keypair(768, insecure_small_key=True)


@pytest.mark.parametrize("crt", [True, False])
def test_obfuscators_are_encryptions_of_zero_per_phe(crt: bool) -> None:
    # Prepare
    pub, priv = keys()
    source = ObfuscatorSource(pub.n, priv.p, priv.q) if crt else ObfuscatorSource(pub.n)
    # Execute
    values = source.many(5)
    # Assert: each is an n-th residue, i.e. Enc(0) with g = n + 1; phe decrypts it to 0, and
    # it lies in the order-(p-1) subgroup mod p^2 like r^n does.
    p2 = priv.p * priv.p
    for s in values:
        assert priv.raw_decrypt(int(s)) == 0
        assert pow(int(s) % p2, priv.p - 1, p2) == 1
    assert len({int(s) for s in values}) == 5


def test_crt_and_public_encryptions_decrypt_with_phe() -> None:
    pub, priv = keys()
    msgs = [0, 1, 12345, pub.n - 1]
    for source in (ObfuscatorSource(pub.n, priv.p, priv.q), ObfuscatorSource(pub.n)):
        cts = encrypt_plaintexts(msgs, pub, source.many(len(msgs)))
        assert [priv.raw_decrypt(int(c)) for c in cts] == msgs


def test_own_crt_decryption_matches_phe_on_phe_ciphertexts() -> None:
    pub, priv = keys()
    msgs = [0, 7, 2**300 + 11, pub.n - 2]
    cts = [pub.raw_encrypt(m) for m in msgs]
    assert decrypt_ciphertexts(cts, priv) == msgs


def test_threads_give_the_same_results_as_one_thread() -> None:
    # Prepare: enough items to cross the parallel threshold
    pub, priv = keys()
    msgs = list(range(40))
    source = ObfuscatorSource(pub.n, priv.p, priv.q)
    # Execute
    cts = encrypt_plaintexts(msgs, pub, source.many(40, workers=2))
    # Assert
    assert decrypt_ciphertexts(cts, priv, workers=2) == msgs
    assert decrypt_ciphertexts(cts, priv, workers=1) == msgs


def test_pool_hands_out_each_value_once_and_never_again() -> None:
    # Prepare
    pub, priv = keys()
    pool = ObfuscatorPool.for_key(pub, priv)
    pool.fill(6)
    # Execute: take more than was precomputed, then more again
    first = pool.take(4)
    second = pool.take(5)  # 2 precomputed + 3 fresh
    third = pool.take(3)  # all fresh
    # Assert
    seen = [int(v) for v in first + second + third]
    assert len(seen) == len(set(seen)) == 12
    assert len(pool) == 0
    assert pool.issued == 12 and pool.generated == 12
    assert pool.modulus == pub.n


def test_pool_refuses_negative_counts() -> None:
    pub, priv = keys()
    pool = ObfuscatorPool.for_key(pub, priv)
    with pytest.raises(ValueError, match="count"):
        pool.take(-1)
    with pytest.raises(ValueError, match="count"):
        pool.fill(-1)


def test_homomorphic_addition_and_byte_round_trip() -> None:
    # Prepare
    pub, priv = keys()
    source = ObfuscatorSource(pub.n, priv.p, priv.q)
    a = encrypt_plaintexts([3, 10], pub, source.many(2))
    b = encrypt_plaintexts([4, 20], pub, source.many(2))
    width = ciphertext_width(pub)
    # Execute
    total = add_ciphertexts([a, b], pub)
    arr = to_bytes_array(total, width)
    parsed = from_bytes_array(arr, pub, "sum")
    # Assert
    assert arr.dtype == np.uint8 and arr.shape == (2, width)
    assert width == math.ceil(pub.nsquare.bit_length() / 8)
    assert decrypt_ciphertexts(parsed, priv) == [7, 30]


@pytest.mark.parametrize(
    ("value", "rule"),
    [("zero", "outside"), ("n2", "outside"), ("multiple_of_n", "coprime")],
)
def test_from_bytes_array_refuses_non_ciphertexts(value: str, rule: str) -> None:
    pub, _ = keys()
    bad = {"zero": 0, "n2": pub.nsquare, "multiple_of_n": 3 * pub.n}[value]
    width = ciphertext_width(pub)
    arr = np.frombuffer(int(bad).to_bytes(width, "big"), dtype=np.uint8).reshape(1, width)
    with pytest.raises(CiphertextRangeError, match=rule):
        from_bytes_array(arr, pub, "payload 0")


def test_from_bytes_array_refuses_wrong_width_and_dtype() -> None:
    pub, _ = keys()
    width = ciphertext_width(pub)
    with pytest.raises(CiphertextCountError, match="rows"):
        from_bytes_array(np.ones((2, width + 1), dtype=np.uint8), pub, "p")
    with pytest.raises(CiphertextCountError, match="uint8"):
        from_bytes_array(np.ones((2, width), dtype=np.int64), pub, "p")


def test_encrypt_refuses_out_of_range_plaintext_and_missing_randomness() -> None:
    pub, priv = keys()
    source = ObfuscatorSource(pub.n, priv.p, priv.q)
    with pytest.raises(ValueError, match=r"\[0, n\)"):
        encrypt_plaintexts([pub.n], pub, source.many(1))
    with pytest.raises(ValueError, match="one obfuscator per plaintext"):
        encrypt_plaintexts([1, 2], pub, source.many(1))


def test_crt_source_refuses_wrong_factors() -> None:
    pub, priv = keys()
    with pytest.raises(ValueError, match="p \\* q"):
        ObfuscatorSource(pub.n, priv.p, priv.q + 2)
    assert gmpy2.is_prime(priv.p)
