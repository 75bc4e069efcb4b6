"""Key ceremony: generate the consortium Paillier key pair, fingerprint it, write and load it.

The coordinator receives ``public_key.json`` only. Every member receives ``private_key.json``
(file mode 0600) over a channel the coordinator cannot read. A key is identified everywhere
(payload meta, attestations) by :func:`fingerprint`, the SHA-256 of its canonical form::

    {"n":"<decimal modulus>","scheme":"paillier"}   (sorted keys, no spaces, UTF-8)

Example
-------
>>> pub, priv = generate_keypair(512, insecure_small_key=True)
>>> fingerprint(pub) == fingerprint(priv.public_key)
True

Complexity: key generation is dominated by two ``bits/2``-bit prime searches (seconds at 3072).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, TypeAlias

import gmpy2
from phe import paillier

from privacy.errors import InsecureKeyError, KeyFileError

DEFAULT_KEY_BITS = 3072  # ~128-bit security (NIST SP 800-57 for factoring moduli)
MIN_SECURE_BITS = 2048
MIN_INSECURE_BITS = 256
PUBLIC_FORMAT = "fedcredit-paillier-public-key"
PRIVATE_FORMAT = "fedcredit-paillier-private-key"
PUBLIC_KEY_FILE = "public_key.json"
PRIVATE_KEY_FILE = "private_key.json"

PublicKey: TypeAlias = paillier.PaillierPublicKey
PrivateKey: TypeAlias = paillier.PaillierPrivateKey


def check_key_bits(bits: int, *, insecure_small_key: bool = False) -> None:
    """Refuse keys below 2048 bits unless ``insecure_small_key`` (tests only)."""
    if isinstance(bits, bool) or not isinstance(bits, int) or bits % 2:
        raise ValueError(f"key bits must be an even integer; got {bits!r}")
    if bits < MIN_INSECURE_BITS:
        raise ValueError(f"key bits must be >= {MIN_INSECURE_BITS}; got {bits}")
    if bits < MIN_SECURE_BITS and not insecure_small_key:
        raise InsecureKeyError(
            f"a {bits}-bit Paillier key is breakable; use >= {MIN_SECURE_BITS} bits "
            f"(default {DEFAULT_KEY_BITS}) or pass --insecure-small-key for tests"
        )


def generate_keypair(
    bits: int = DEFAULT_KEY_BITS, *, insecure_small_key: bool = False
) -> tuple[PublicKey, PrivateKey]:
    """Generate a Paillier key pair with an exactly ``bits``-bit modulus (phe + gmpy2)."""
    check_key_bits(bits, insecure_small_key=insecure_small_key)
    pub, priv = paillier.generate_paillier_keypair(n_length=bits)
    return pub, priv


def fingerprint(public_key: PublicKey) -> str:
    """``sha256:<hex>`` of the canonical public key (see module docstring)."""
    canonical = json.dumps(
        {"n": str(int(public_key.n)), "scheme": "paillier"}, sort_keys=True, separators=(",", ":")
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def public_key_document(public_key: PublicKey) -> dict[str, Any]:
    """The JSON document written to ``public_key.json``."""
    return {
        "format": PUBLIC_FORMAT,
        "version": 1,
        "scheme": "paillier",
        "bits": int(public_key.n).bit_length(),
        "n": str(int(public_key.n)),
        "fingerprint": fingerprint(public_key),
    }


def save_public_key(path: Path, public_key: PublicKey) -> None:
    """Write the public key (mode 0644); refuses to overwrite an existing file."""
    _write_new(path, public_key_document(public_key), mode=0o644)


def save_private_key(path: Path, private_key: PrivateKey) -> None:
    """Write the private key (mode 0600); refuses to overwrite an existing file."""
    doc = public_key_document(private_key.public_key)
    doc.update(format=PRIVATE_FORMAT, p=str(int(private_key.p)), q=str(int(private_key.q)))
    _write_new(path, doc, mode=0o600)


def write_keypair(
    out_dir: Path, public_key: PublicKey, private_key: PrivateKey
) -> tuple[Path, Path]:
    """Write ``public_key.json`` and ``private_key.json`` into ``out_dir`` (never overwrites).

    Returns the two paths. Both targets are checked before anything is written.
    """
    out_dir = Path(out_dir)
    pub_path, priv_path = out_dir / PUBLIC_KEY_FILE, out_dir / PRIVATE_KEY_FILE
    for p in (pub_path, priv_path):
        if p.exists():
            raise FileExistsError(f"{p} already exists; refusing to overwrite a key file")
    if fingerprint(public_key) != fingerprint(private_key.public_key):
        raise ValueError("the public and private key do not belong together")
    out_dir.mkdir(parents=True, exist_ok=True)
    save_private_key(priv_path, private_key)
    try:
        save_public_key(pub_path, public_key)
    except BaseException:
        priv_path.unlink()  # leave nothing half-written behind
        raise
    return pub_path, priv_path


def load_public_key(
    path: Path, *, expected_fingerprint: str | None = None, allow_insecure: bool = False
) -> PublicKey:
    """Read ``public_key.json``; checks the format, recorded fingerprint and key size."""
    doc = _read_json(Path(path), PUBLIC_FORMAT)
    n = _int_field(doc, "n", path)
    key = paillier.PaillierPublicKey(n)
    _check_identity(doc, key, path, expected_fingerprint, allow_insecure)
    return key


def load_private_key(
    path: Path, *, expected_fingerprint: str | None = None, allow_insecure: bool = False
) -> PrivateKey:
    """Read ``private_key.json``; refuses a file readable by group/others or not matching.

    Checks: mode has no group/other bits, ``p * q == n`` with ``p, q`` prime, the recorded
    fingerprint equals the recomputed one and ``expected_fingerprint`` when given.
    """
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path}: private key file not found") from exc
    if mode & 0o077:
        raise KeyFileError(
            f"{path}: private key file has mode {mode:04o}; it must not be readable by group "
            f"or others (chmod 600 {path})"
        )
    doc = _read_json(path, PRIVATE_FORMAT)
    n, p, q = (_int_field(doc, k, path) for k in ("n", "p", "q"))
    if p * q != n or p == q or not (gmpy2.is_prime(p) and gmpy2.is_prime(q)):
        raise KeyFileError(f"{path}: fields p and q are not the prime factors of n")
    pub = paillier.PaillierPublicKey(n)
    _check_identity(doc, pub, path, expected_fingerprint, allow_insecure)
    return paillier.PaillierPrivateKey(pub, p, q)


def _check_identity(
    doc: dict[str, Any],
    key: PublicKey,
    path: Path,
    expected: str | None,
    allow_insecure: bool,
) -> None:
    actual = fingerprint(key)
    if doc.get("fingerprint") != actual:
        raise KeyFileError(
            f"{path}: recorded fingerprint {doc.get('fingerprint')!r} does not match the key "
            f"({actual}); the file was altered"
        )
    if expected is not None and expected != actual:
        raise KeyFileError(f"{path}: key fingerprint {actual} is not the expected {expected}")
    bits = int(key.n).bit_length()
    if bits < MIN_SECURE_BITS and not allow_insecure:
        raise KeyFileError(
            f"{path}: a {bits}-bit key is below the secure minimum of {MIN_SECURE_BITS} bits; "
            f"load it only with allow_insecure=True (tests)"
        )


def _read_json(path: Path, expected_format: str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path}: key file not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: not a JSON key file ({exc})") from exc
    if not isinstance(doc, dict) or doc.get("format") != expected_format:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise KeyFileError(f"{path}: field 'format' must be {expected_format!r}; got {found!r}")
    return doc


def _int_field(doc: dict[str, Any], name: str, path: Path) -> int:
    value = doc.get(name)
    if not isinstance(value, str) or not value.isdigit():
        raise KeyFileError(f"{path}: field {name!r} must be a decimal integer string")
    return int(value)


def _write_new(path: Path, doc: dict[str, Any], *, mode: int) -> None:
    """Atomically create ``path`` with ``doc``: temp file + fsync + hard link (no overwrite)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            raise FileExistsError(f"{path} already exists; refusing to overwrite") from exc
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
