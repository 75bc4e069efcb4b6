"""A member's prepared rows: the design matrices its ClientApp trains and evaluates on.

In a simulation the harness writes one ``<member_id>.npz`` per member (already encoded with the
consortium contract) plus ``members.json`` listing them in partition order; Flower's
``partition-id`` picks the file. Loaded arrays are cached per process (Ray actors are reused
across rounds), keyed by path and modification time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MANIFEST = "members.json"


@dataclass(frozen=True)
class MemberPartition:
    """One member's encoded training and holdout rows."""

    member_id: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_holdout: np.ndarray
    y_holdout: np.ndarray
    source: Path = Path()

    def __post_init__(self) -> None:
        if len(self.x_train) != len(self.y_train) or len(self.x_holdout) != len(self.y_holdout):
            raise ValueError(f"member {self.member_id}: feature and label row counts differ")
        if self.x_train.shape[1] != self.x_holdout.shape[1]:
            raise ValueError(f"member {self.member_id}: train and holdout widths differ")

    @property
    def n_features(self) -> int:
        """Width of the design matrix."""
        return int(self.x_train.shape[1])


def save_partition(part: MemberPartition, directory: Path) -> Path:
    """Write ``<member_id>.npz`` into ``directory``; return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{part.member_id}.npz"
    tmp = path.with_suffix(".tmp.npz")
    np.savez(
        tmp,
        x_train=part.x_train,
        y_train=part.y_train,
        x_holdout=part.x_holdout,
        y_holdout=part.y_holdout,
    )
    tmp.replace(path)
    return path


def write_manifest(directory: Path, member_ids: list[str]) -> None:
    """Record the partition order (partition-id i is ``member_ids[i]``)."""
    (directory / MANIFEST).write_text(json.dumps({"members": member_ids}, indent=1))


def member_ids(directory: Path) -> list[str]:
    """Member ids in partition order."""
    path = directory / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no partition manifest; run the simulation harness first")
    ids = json.loads(path.read_text())["members"]
    return [str(i) for i in ids]


@lru_cache(maxsize=8)
def _load(path: str, mtime: float) -> MemberPartition:
    with np.load(path, allow_pickle=False) as z:
        return MemberPartition(
            member_id=Path(path).stem,
            x_train=z["x_train"],
            y_train=z["y_train"],
            x_holdout=z["x_holdout"],
            y_holdout=z["y_holdout"],
            source=Path(path),
        )


def load_partition(directory: str | Path, partition_id: int) -> MemberPartition:
    """Load the member at ``partition_id`` of the manifest in ``directory``."""
    d = Path(directory)
    ids = member_ids(d)
    if not 0 <= partition_id < len(ids):
        raise ValueError(f"partition-id {partition_id} outside 0..{len(ids) - 1} of {d / MANIFEST}")
    path = d / f"{ids[partition_id]}.npz"
    return _load(str(path), path.stat().st_mtime)
