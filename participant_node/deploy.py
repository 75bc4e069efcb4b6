"""A member's side of a deployment: SuperNode keys, prepared rows, the SuperNode command.

``fedcredit node init`` makes the member's SuperNode authentication key pair (ECDSA P-384,
OpenSSH format, what Flower's SuperNode authentication expects); the public key goes to the
association, which puts it on its allow-list. ``fedcredit node start`` validates the member's
data file against the consortium contract *before connecting*, encodes it once into
``<home>/prepared.npz`` (training rows and a stratified 20% holdout; raw rows stay where they
are) and runs Flower's ``flower-supernode`` with TLS (the association's CA certificate) and
authentication on. The ClientApp reads the prepared rows, keys and ledger from the node config.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from participant_node.partition import MemberPartition

PREPARED_FILE = "prepared.npz"
AUTH_KEY_FILE = "supernode_auth_key"
HOLDOUT_FRACTION = 0.2
_SAFE_VALUE = re.compile(r'^[^"\\\n]*$')


@dataclass(frozen=True)
class NodeKeys:
    """Paths of a member's SuperNode authentication key pair."""

    private_key: Path
    public_key: Path


def init_node(home: Path, member_id: str) -> NodeKeys:
    """Create ``home`` with a new P-384 key pair; refuse to overwrite an existing key.

    The private key is written with mode 0600; ``<member_id>.pub`` (OpenSSH line) is what the
    association registers.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", member_id):
        raise ValueError(f"member id must match [A-Za-z0-9_.-]{{1,64}}; got {member_id!r}")
    home.mkdir(parents=True, exist_ok=True)
    private = home / AUTH_KEY_FILE
    public = home / f"{member_id}.pub"
    if private.exists() or public.exists():
        raise FileExistsError(f"{private}: a SuperNode key already exists; refusing to overwrite")
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    line = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    public.write_bytes(line + f" {member_id}\n".encode())
    return NodeKeys(private, public)


def stratified_mask(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Holdout mask taking ``fraction`` of each class (at least one row of a class of >= 2)."""
    mask = np.zeros(len(y), dtype=bool)
    rng = np.random.default_rng(seed)
    for cls in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == cls))
        take = round(len(rows) * fraction)
        if len(rows) >= 2:
            take = min(max(take, 1), len(rows) - 1)
        mask[rows[:take]] = True
    return mask


def prepare_partition(
    data: Path, contract_path: Path, home: Path, *, seed: int = 0, encoding: str | None = None
) -> Path:
    """Validate ``data`` against the contract, encode it, write ``home/prepared.npz``.

    Raises
    ------
    participant_node.data.DataValidationError
        Listing every broken rule (file, row, column, rule); nothing is written then.
    """
    from participant_node.data import (
        DataValidationError,
        Preprocessor,
        load_contract,
        read_table,
        validate_file,
    )

    contract = load_contract(contract_path)
    report = validate_file(data, contract, encoding=encoding)
    if not report.ok:
        raise DataValidationError(report)
    df = read_table(data, contract, encoding=encoding)
    pre = Preprocessor(contract)
    x = pre.transform(df)
    y = pre.labels(df)
    hold = stratified_mask(y, HOLDOUT_FRACTION, seed)
    home.mkdir(parents=True, exist_ok=True)
    path = home / PREPARED_FILE
    tmp = home / f".{PREPARED_FILE}.tmp.npz"
    np.savez(tmp, x_train=x[~hold], y_train=y[~hold], x_holdout=x[hold], y_holdout=y[hold])
    tmp.replace(path)
    return path


def load_prepared(node_config: Mapping[str, object]) -> MemberPartition | None:
    """The member's prepared rows named by the node config, or ``None`` (simulation layout)."""
    prepared = node_config.get("partition-file")
    if not prepared:
        return None
    member_id = str(node_config.get("member-id", "") or "")
    if not member_id:
        raise ValueError("node config has partition-file but no member-id")
    source = Path(str(node_config.get("dataset-file", "") or prepared))
    with np.load(str(prepared), allow_pickle=False) as z:
        return MemberPartition(
            member_id=member_id,
            x_train=z["x_train"],
            y_train=z["y_train"],
            x_holdout=z["x_holdout"],
            y_holdout=z["y_holdout"],
            source=source,
        )


def node_config_string(values: Mapping[str, str | int | float]) -> str:
    """Flower's ``--node-config`` text: ``key="value" key2=3`` (strings quoted)."""
    parts = []
    for key, value in values.items():
        if isinstance(value, str):
            if not _SAFE_VALUE.match(value):
                raise ValueError(f"node config {key}: quotes, backslashes and newlines not allowed")
            parts.append(f'{key}="{value}"')
        else:
            parts.append(f"{key}={value}")
    return " ".join(parts)


def flower_bin(name: str) -> str:
    """The path of a Flower executable installed next to this Python (``.venv/bin``)."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name}: Flower is not installed in this environment")
    return found


def supernode_command(
    *,
    coordinator: str,
    node_config: Mapping[str, str | int | float],
    auth_key: Path | None,
    root_cert: Path | None,
    runtime_port: int,
    insecure: bool = False,
) -> list[str]:
    """The ``flower-supernode`` command line (TLS and authentication unless ``insecure``)."""
    cmd = [
        flower_bin("flower-supernode"),
        "--superlink",
        coordinator,
        "--node-config",
        node_config_string(node_config),
        "--host",
        "127.0.0.1",
        "--port",
        str(runtime_port),
        "--max-retries",
        "1000000",
    ]
    if insecure:
        return [*cmd, "--insecure"]
    if root_cert is None or auth_key is None:
        raise ValueError("TLS needs --root-cert (the association's CA) and the SuperNode key")
    return [
        *cmd,
        "--root-certificates",
        str(root_cert),
        "--auth-supernode-private-key",
        str(auth_key),
    ]
