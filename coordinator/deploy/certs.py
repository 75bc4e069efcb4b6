"""TLS for the SuperLink: a private CA and a server certificate, made with ``cryptography``.

The association is its own certificate authority: members get ``ca.pem`` (public) and check the
SuperLink's certificate against it; the CA key never leaves the association's home. Keys are
ECDSA P-384, written with mode 0600; certificates are valid for ``days`` (default 825, the
CA/B forum limit for server certificates) and name every host/IP in ``hosts`` as a SAN.

Example
-------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> paths = issue_tls(d, ["127.0.0.1", "localhost"])
>>> sorted(p.name for p in paths.values())
['ca.key', 'ca.pem', 'server.key', 'server.pem']
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)


def issue_tls(directory: Path, hosts: Sequence[str], *, days: int = 825) -> dict[str, Path]:
    """Create ``ca.pem``/``ca.key`` and ``server.pem``/``server.key`` in ``directory``.

    Raises ``FileExistsError`` rather than overwrite existing keys, and ``ValueError`` when no
    host is named.
    """
    if not hosts:
        raise ValueError("name at least one host or IP address for the server certificate")
    if not 1 <= days <= 3650:
        raise ValueError(f"days must be in [1, 3650]; got {days}")
    directory.mkdir(parents=True, exist_ok=True)
    names = {"ca": "ca.pem", "ca_key": "ca.key", "cert": "server.pem", "key": "server.key"}
    paths = {n: directory / f for n, f in names.items()}
    for p in paths.values():
        if p.exists():
            raise FileExistsError(f"{p}: TLS material already exists; refusing to overwrite")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fedcredit association CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA384())
    )
    key = ec.generate_private_key(ec.SECP384R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA384())
    )
    _write_key(paths["ca_key"], ca_key)
    _write_key(paths["key"], key)
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return paths
