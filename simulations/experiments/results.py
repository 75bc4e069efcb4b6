"""Experiment outputs: ``results.csv`` appended atomically per finished cell, statistics, and the
run record (dataset, seeds, versions, machine) every ``summary.json`` and ``report.md`` states.

A crash can lose at most the cell that was running: each finished cell is appended by writing
the whole file to a temporary neighbour and renaming it over ``results.csv`` (``os.replace`` is
atomic on POSIX), so the file is always a complete CSV.

Example
-------
>>> lo_hi = mean_ci([0.70, 0.72, 0.74])
>>> round(lo_hi[0], 3), round(lo_hi[1], 3), round(lo_hi[2], 3)
(0.72, 0.67, 0.77)
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulations.experiments.grid import ExperimentConfig

import numpy as np
from scipy import stats

STAMP = "experiment.json"
VERSIONED = ("flwr", "ray", "torch", "opacus", "phe", "numpy", "scikit-learn", "fedcredit")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cell_text(value: object) -> str:
    if isinstance(value, float):
        return "inf" if math.isinf(value) else ("" if math.isnan(value) else repr(value))
    return "" if value is None else str(value)


def append_row(path: Path, row: Mapping[str, object], columns: Sequence[str]) -> None:
    """Append one row to ``path`` atomically (header written with the first row).

    Raises
    ------
    ValueError
        If the existing file has a different header (it belongs to another experiment).
    """
    missing = [c for c in columns if c not in row]
    if missing:
        raise ValueError(f"results row lacks columns {missing}")
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    header = ",".join(columns)
    if old and old.splitlines()[0] != header:
        raise ValueError(f"{path}: header differs from this experiment's columns ({header})")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    if not old:
        writer.writerow(columns)
    writer.writerow([_cell_text(row[c]) for c in columns])
    atomic_write(path, (old + buf.getvalue()).encode("utf-8"))


def read_rows(path: Path) -> list[dict[str, str]]:
    """All rows of a results CSV (empty list when the file does not exist)."""
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def as_float(text: str | float | None) -> float:
    """CSV text to float (``""`` -> NaN, ``"inf"`` -> inf)."""
    if text is None or text == "":
        return math.nan
    return float(text)


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the mean (NaN bounds for fewer than 2 values).

    Complexity O(n). Reference: any statistics text, e.g. Wasserman, *All of Statistics*, 6.3.
    """
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    if not np.isfinite(x).all():  # e.g. epsilon spent by non-private runs: inf
        same = np.isinf(x).all() and len(set(x.tolist())) == 1
        return (float(x[0]) if same else math.nan), math.nan, math.nan
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return m, m - half, m + half


def jsonable(obj: Any) -> Any:
    """NaN -> None, inf -> "inf", numpy scalars -> Python, Paths -> str, recursively."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
    if isinstance(obj, Path):
        return str(obj)
    return obj


def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, 1-minute load average (high = timings under contention), Python
    and platform."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def versions() -> dict[str, str]:
    """Installed versions of the packages that determine results."""
    out = {}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_record(dataset: str, seeds: Sequence[int], notes: str = "") -> dict[str, Any]:
    """Dataset, seeds, package versions and machine (with its load: the dev box is shared)."""
    return {
        "dataset": dataset,
        "seeds": list(seeds),
        "versions": versions(),
        "machine": machine(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "notes": notes,
    }


def write_summary(path: Path, summary: Mapping[str, Any]) -> None:
    """Write ``summary.json`` atomically."""
    atomic_write(path, json.dumps(jsonable(dict(summary)), indent=2).encode())


def bind_out(cfg: ExperimentConfig, out: Path, kind: str) -> None:
    """Record (or check) which config ``out`` belongs to; refuse a different one."""
    stamp = out / STAMP
    mine = {"kind": kind, "name": cfg.name, "fingerprint": cfg.fingerprint()}
    if stamp.is_file():
        theirs = json.loads(stamp.read_text())
        if theirs.get("fingerprint") != mine["fingerprint"] or theirs.get("kind") != kind:
            raise ValueError(
                f"{out} holds results of another experiment ({theirs.get('kind')} "
                f"{theirs.get('name')!r}, fingerprint {theirs.get('fingerprint')}); this config "
                f"has fingerprint {mine['fingerprint']}: use a new --out"
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(stamp, json.dumps(mine, indent=1).encode())
