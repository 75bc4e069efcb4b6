"""Experiment configuration: one TOML file read once into frozen dataclasses, and the sweep grid.

An experiment file has the common tables ``[experiment]``, ``[data]``, ``[federation]`` and
``[ray]`` plus one table per experiment kind (``[grid]``, ``[attack]``, ``[ablation]``,
``[cost]``; each command reads its own). Relative data paths are resolved against the current
directory, then against the config file's folder and its parents, so the files in
``simulations/configs/`` run unchanged from the repository root or from anywhere else.

Example
-------
>>> cfg = parse_config({"experiment": {"seeds": [1, 2]}, "grid": {"epsilon": [1, "inf"]}})
>>> [c.label() for c in sweep_cells(cfg)][:2]
['eps=1 members=3 iid logistic paillier seed=1', 'eps=1 members=3 iid logistic paillier seed=2']
>>> parse_config({"grid": {"epsilon": [0]}})
Traceback (most recent call last):
...
ValueError: [grid] epsilon: every value must be > 0 or "inf"; got 0
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simulations.experiments.partition import parse_partition

KINDS: tuple[str, ...] = ("sweep", "attack", "ablation", "cost")


def _table(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"[{name}] must be a table; got {type(value).__name__}")
    return dict(value)


def _check_keys(section: str, given: Mapping[str, Any], allowed: Sequence[str]) -> None:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(f"[{section}] unknown keys {unknown}; allowed: {sorted(allowed)}")


def parse_epsilon(value: object, section: str = "grid") -> float:
    """``"inf"`` (non-private) or a positive number."""
    if isinstance(value, str) and value.strip().lower() in ("inf", "infinity", "none"):
        return math.inf
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f'[{section}] epsilon: every value must be > 0 or "inf"; got {value!r}')
    return float(value)


def parse_model(text: str) -> tuple[str, int]:
    """``logistic``, ``mlp`` (32 hidden units) or ``mlp:H`` -> ``(kind, hidden)``."""
    kind, _, hidden = str(text).partition(":")
    if kind == "logistic" and not hidden:
        return "logistic", 32
    if kind == "mlp":
        h = int(hidden) if hidden else 32
        if not 1 <= h <= 4096:
            raise ValueError(f"model mlp:H needs 1 <= H <= 4096; got {text!r}")
        return "mlp", h
    raise ValueError(f"model must be logistic, mlp or mlp:H; got {text!r}")


@dataclass(frozen=True)
class DataConfig:
    """Where the rows come from: a generated synthetic consortium (default) or one CSV."""

    source: str = "consortium"
    path: Path | None = None
    label: str = "default_6m"
    positive: str = "1"
    contract: Path | None = None
    companies: int = 2000
    consortium_members: int = 5
    graph_effect: float = 1.0
    data_seed: int = 42

    def __post_init__(self) -> None:
        if self.source not in ("consortium", "csv"):
            raise ValueError(f"[data] source must be consortium or csv; got {self.source!r}")
        if self.source == "csv" and self.path is None:
            raise ValueError("[data] source = 'csv' needs path = 'file.csv'")

    def describe(self) -> str:
        """One line for reports."""
        if self.source == "csv":
            return f"{self.path} (label {self.label} = {self.positive})"
        if self.path is not None:
            return f"synthetic consortium {self.path}"
        return (
            f"synthetic consortium: {self.companies} companies, {self.consortium_members} "
            f"members, graph effect {self.graph_effect:g}, seed {self.data_seed}"
        )


@dataclass(frozen=True)
class FederationConfig:
    """Training settings shared by every cell."""

    rounds: int = 5
    key_bits: int = 2048
    delta: float = 1e-5
    clip_norm: float = 3.0
    local_epochs: int = 1
    batch_size: int = 256
    learning_rate: float = 0.1
    graph_features: str = "none"
    baselines: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.rounds <= 1000:
            raise ValueError(f"[federation] rounds must be in [1, 1000]; got {self.rounds}")
        if self.key_bits < 2048:
            raise ValueError(f"[federation] key_bits must be >= 2048; got {self.key_bits}")
        if not 0 < self.delta < 1:
            raise ValueError(f"[federation] delta must be in (0, 1); got {self.delta}")


@dataclass(frozen=True)
class RayConfig:
    """Flower simulation backend resources (``backend_config``).

    ``shared_head``: start one private local Ray for the whole experiment instead of one per
    cell (:mod:`simulations.experiments.ray_runtime`); ignored when joining a cluster.
    """

    cpus_per_member: float = 1.0
    num_cpus: int = 0
    address: str = ""
    shared_head: bool = True

    def __post_init__(self) -> None:
        if not self.cpus_per_member > 0:
            raise ValueError(f"[ray] cpus_per_member must be > 0; got {self.cpus_per_member}")
        if self.num_cpus < 0:
            raise ValueError(f"[ray] num_cpus must be >= 0 (0 = all cores); got {self.num_cpus}")

    def init_args(self, local_cores: int) -> dict[str, object]:
        """``ray.init`` arguments: join a cluster (``address``, else the ``RAY_ADDRESS``
        environment variable, so unchanged files run on a cluster) or start a local Ray."""
        address = self.address or os.environ.get("RAY_ADDRESS", "")
        if address:
            return {"address": address, "include_dashboard": False}
        return {"num_cpus": self.num_cpus or max(1, local_cores), "include_dashboard": False}


@dataclass(frozen=True)
class Grid:
    """The sweep's axes (every combination is one cell, repeated over the seeds)."""

    epsilon: tuple[float, ...] = (1.0, math.inf)
    members: tuple[int, ...] = (3,)
    partition: tuple[str, ...] = ("iid",)
    model: tuple[str, ...] = ("logistic",)
    encryption: tuple[str, ...] = ("paillier",)

    def __post_init__(self) -> None:
        for p in self.partition:
            parse_partition(p)
        for m in self.model:
            parse_model(m)
        for e in self.encryption:
            if e not in ("paillier", "none"):
                raise ValueError(f"[grid] encryption values must be paillier or none; got {e!r}")
        for k in self.members:
            if not 2 <= k <= 1024:
                raise ValueError(f"[grid] members must be in [2, 1024]; got {k}")


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment file, parsed and validated."""

    name: str = "experiment"
    seeds: tuple[int, ...] = (1,)
    data: DataConfig = field(default_factory=DataConfig)
    federation: FederationConfig = field(default_factory=FederationConfig)
    ray: RayConfig = field(default_factory=RayConfig)
    grid: Grid = field(default_factory=Grid)
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    source: Path | None = None

    def section(self, name: str) -> dict[str, Any]:
        """A kind-specific table (``attack``, ``ablation``, ``cost``) as a plain dict."""
        return dict(self.sections.get(name, {}))

    def fingerprint(self) -> str:
        """SHA-256 of the settings that determine each cell's result: data, federation and the
        kind's own table. *Which* cells run (seeds, the sweep grid, the attack's epsilons, the
        cost's member counts and models), where (``[ray]``), the name and the file's location do
        not count: adding seeds or grid values to a config resumes its folder and runs only the
        new cells; changing a setting is refused (``results.bind_out``)."""
        doc = asdict(self)
        for key in ("source", "ray", "seeds", "grid", "name"):
            doc.pop(key)
        doc["sections"] = {
            kind: {k: v for k, v in table.items() if k not in CELL_AXES.get(kind, ())}
            for kind, table in doc["sections"].items()
        }
        blob = json.dumps(doc, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# Keys of the kind-specific tables that choose cells rather than how a cell runs.
CELL_AXES: dict[str, tuple[str, ...]] = {
    "attack": ("epsilon",),
    "cost": ("members", "models", "model_size_members", "bare_engine"),
}


@dataclass(frozen=True)
class Cell:
    """One federated training: a point of the grid and a seed."""

    epsilon: float
    members: int
    partition: str
    model: str
    encryption: str
    seed: int
    graph_features: str = "none"

    @property
    def private(self) -> bool:
        """DP-SGD on (finite epsilon)."""
        return math.isfinite(self.epsilon)

    def group(self) -> tuple[object, ...]:
        """Everything but the seed (cells of one group are averaged)."""
        return (self.epsilon, self.members, self.partition, self.model, self.encryption)

    def label(self) -> str:
        """Human-readable name, also the cell id in ``results.csv``."""
        eps = "inf" if not self.private else f"{self.epsilon:g}"
        graph = "" if self.graph_features == "none" else f" graph={self.graph_features}"
        return (
            f"eps={eps} members={self.members} {self.partition} {self.model} "
            f"{self.encryption}{graph} seed={self.seed}"
        )


def _resolve(path: str, base: Path | None) -> Path:
    p = Path(path)
    if p.is_absolute() or p.exists() or base is None:
        return p
    for folder in (base, *base.parents):
        if (folder / p).exists():
            return folder / p
    return p


def parse_config(doc: Mapping[str, Any], source: Path | None = None) -> ExperimentConfig:
    """Validate a parsed TOML document; every error names the table and key."""
    _check_keys("top level", doc, ["experiment", "data", "federation", "ray", "grid", *KINDS])
    exp = _table(doc, "experiment")
    _check_keys("experiment", exp, ["name", "seeds"])
    seeds = tuple(int(s) for s in exp.get("seeds", [1]))
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"[experiment] seeds must be distinct integers >= 0; got {list(seeds)}")
    base = source.parent if source is not None else None
    data = _table(doc, "data")
    _check_keys("data", data, [f for f in DataConfig.__dataclass_fields__])
    for key in ("path", "contract"):
        if data.get(key):
            data[key] = _resolve(str(data[key]), base)
        else:
            data.pop(key, None)
    fed = _table(doc, "federation")
    _check_keys("federation", fed, list(FederationConfig.__dataclass_fields__))
    ray = _table(doc, "ray")
    _check_keys("ray", ray, list(RayConfig.__dataclass_fields__))
    grid = _table(doc, "grid")
    _check_keys("grid", grid, list(Grid.__dataclass_fields__))
    if "epsilon" in grid:
        grid["epsilon"] = tuple(parse_epsilon(e) for e in grid["epsilon"])
    grid = {k: tuple(v) if isinstance(v, list) else v for k, v in grid.items()}
    for key in ("members", "partition", "model", "encryption", "epsilon"):
        if key in grid and not grid[key]:
            raise ValueError(f"[grid] {key} must list at least one value")
    return ExperimentConfig(
        name=str(exp.get("name", source.stem if source else "experiment")),
        seeds=seeds,
        data=DataConfig(**data),
        federation=FederationConfig(**fed),
        ray=RayConfig(**ray),
        grid=Grid(**grid),
        sections={k: _table(doc, k) for k in KINDS if k in doc},
        source=source,
    )


def load_config(path: Path) -> ExperimentConfig:
    """Read an experiment TOML file (clear error naming the file on a syntax error)."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such experiment config")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    try:
        return parse_config(doc, source=path.resolve())
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None


def cell_members(cfg: ExperimentConfig, partition: str, members: int) -> int:
    """Members a cell really has: a ``member`` partition of a synthetic consortium keeps the
    consortium's own ``consortium_members`` whatever the grid asks (labels must not lie)."""
    if parse_partition(partition).kind == "member" and cfg.data.source == "consortium":
        return cfg.data.consortium_members
    return members


def sweep_cells(cfg: ExperimentConfig) -> list[Cell]:
    """Every distinct grid point x seed, in a stable order (seeds innermost)."""
    g = cfg.grid
    cells = [
        Cell(eps, cell_members(cfg, part, k), part, model, enc, seed, cfg.federation.graph_features)
        for eps, k, part, model, enc, seed in itertools.product(
            g.epsilon, g.members, g.partition, g.model, g.encryption, cfg.seeds
        )
    ]
    return list(dict.fromkeys(cells))
