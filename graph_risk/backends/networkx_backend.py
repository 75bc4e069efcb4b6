"""Embedded graph store: Parquet tables on disk, a networkx ``MultiDiGraph`` in memory.

Layout of the store directory (default ``.fedcredit/graph``, see
:func:`graph_risk.backends.factory.default_store_path`)::

    manifest.json                      format, generation, per table: file, rows, sha256
    companies-000003.parquet ...       one file per table and generation
    .lock                              advisory lock held while writing

A write puts the changed tables into new files (temp file, fsync, ``os.replace``), then
replaces ``manifest.json`` the same way -- the commit point -- and only then deletes files the
manifest no longer names. A crash at any moment leaves the previous generation readable.
Reading checks every file's row count and SHA-256 against the manifest. Tables and the graph
are loaded lazily, on first use, and reloaded when another process committed a newer
generation.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from graph_risk.backends.base import Edge, GraphBackend, GraphBackendError
from graph_risk.frames import TABLE_COLUMNS, GraphFrames
from graph_risk.ingest import TABLE_KEYS, canonical_table

FORMAT = "fedcredit-graph-store"
VERSION = 1
MANIFEST = "manifest.json"
LOCK = ".lock"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(target: Path, write: Any) -> None:
    """Call ``write(tmp_path)``, fsync, then ``os.replace`` onto ``target``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_manifest(store: Path, body: dict[str, Any]) -> None:
    """Atomically replace the manifest (the commit point of a write)."""
    text = json.dumps(body, indent=2, sort_keys=True) + "\n"
    _atomic_write(store / MANIFEST, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    _fsync_dir(store)


class NetworkxBackend(GraphBackend):
    """The embedded default backend (see module docstring).

    Parameters
    ----------
    store : path
        Store directory; created on the first write, not on open.
    """

    kind = "networkx"

    def __init__(self, store: str | os.PathLike[str]) -> None:
        self.store = Path(store)
        if self.store.exists() and not self.store.is_dir():
            raise GraphBackendError(f"graph store {str(self.store)!r} is not a directory")
        self._tables: dict[str, pd.DataFrame] | None = None
        self._generation = -1
        self._graph: nx.MultiDiGraph | None = None
        self._positions: dict[tuple[str, str], dict[str, np.ndarray]] = {}
        self._closed = False

    # ------------------------------------------------------------------ loading
    def _manifest(self) -> dict[str, Any] | None:
        path = self.store / MANIFEST
        if not path.is_file():
            return None
        try:
            manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise GraphBackendError(f"graph store {path}: unreadable manifest ({exc})") from exc
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise GraphBackendError(
                f"graph store {path}: format must be {FORMAT} version {VERSION}; got "
                f"{manifest.get('format')!r} version {manifest.get('version')!r}")
        return manifest

    def _load_table(self, name: str, entry: dict[str, Any]) -> pd.DataFrame:
        path = self.store / str(entry["file"])
        if not path.is_file():
            raise GraphBackendError(f"graph store {self.store}: {path.name} is missing")
        digest = _sha256(path)
        if digest != entry["sha256"]:
            raise GraphBackendError(
                f"graph store {self.store}: {path.name} checksum mismatch (manifest "
                f"{entry['sha256'][:12]}..., file {digest[:12]}...); the store is corrupt")
        frame = pd.read_parquet(path)
        if len(frame) != int(entry["rows"]):
            raise GraphBackendError(
                f"graph store {self.store}: {path.name} has {len(frame)} rows; manifest "
                f"says {entry['rows']}")
        return canonical_table(name, frame)

    def _ensure(self) -> dict[str, pd.DataFrame]:
        if self._closed:
            raise GraphBackendError("backend is closed")
        manifest = self._manifest()
        generation = -1 if manifest is None else int(manifest["generation"])
        if self._tables is None or generation != self._generation:
            if manifest is None:
                self._tables = {t: canonical_table(t, None) for t in TABLE_COLUMNS}
            else:
                self._tables = {t: self._load_table(t, manifest["tables"][t])
                                for t in TABLE_COLUMNS}
            self._generation = generation
            self._graph = None
            self._positions = {}
        return self._tables

    # ------------------------------------------------------------------ reads
    def frames(self) -> GraphFrames:
        tables = self._ensure()
        return GraphFrames(**{t: f.copy(deep=False) for t, f in tables.items()})

    def counts(self) -> dict[str, int]:
        return {t: len(f) for t, f in self._ensure().items()}

    def graph(self) -> nx.MultiDiGraph:
        """The store as a ``MultiDiGraph`` (built lazily, cached until the next write).

        Nodes are ids with ``kind`` (``"company"``/``"person"``); edges run holder -> company
        (key ``"shareholding"``, attribute ``share``) and guarantor -> borrower (key
        ``"guarantee:<start>:<end>"``, attributes ``amount``, ``start_date``, ``end_date``),
        every edge with ``kind``. The caller must not mutate it.
        """
        tables = self._ensure()
        if self._graph is None:
            g = nx.MultiDiGraph()
            g.add_nodes_from(tables["companies"]["company_id"], kind="company")
            g.add_nodes_from(tables["persons"]["person_id"], kind="person")
            s = tables["shareholdings"]
            g.add_edges_from(
                (h, c, "shareholding", {"kind": "shareholding", "share": w})
                for h, c, w in zip(s["holder_id"], s["company_id"], s["share"], strict=True))
            q = tables["guarantees"]
            g.add_edges_from(
                (a, b, f"guarantee:{sd}:{ed}",
                 {"kind": "guarantee", "amount": x, "start_date": sd, "end_date": ed})
                for a, b, x, sd, ed in zip(q["guarantor_id"], q["borrower_id"], q["amount"],
                                           q["start_date"], q["end_date"], strict=True))
            self._graph = g
        return self._graph

    def _rows_where(self, table: str, column: str, values: Sequence[str]) -> pd.DataFrame:
        frame = self._ensure()[table]
        if not len(values) or frame.empty:
            return frame.iloc[:0]
        if (table, column) not in self._positions:
            groups = frame.groupby(column, sort=False).indices
            self._positions[(table, column)] = {str(k): np.asarray(v) for k, v in groups.items()}
        index = self._positions[(table, column)]
        hits = [index[v] for v in dict.fromkeys(values) if v in index]
        if not hits:
            return frame.iloc[:0]
        rows = frame.iloc[np.sort(np.concatenate(hits))]
        return rows.reset_index(drop=True)

    def _incident_edges(self, ids: Sequence[str], kinds: tuple[str, ...],
                        direction: str) -> list[Edge]:
        g = self.graph()
        rows: list[Edge] = []
        for node in ids:
            if node not in g:
                continue
            found = []
            if direction in ("out", "both"):
                found.extend(g.out_edges(node, data=True))
            if direction in ("in", "both"):
                found.extend(g.in_edges(node, data=True))
            for a, b, data in found:
                if data["kind"] in kinds:
                    rows.append((data["kind"], a, b, data.get("share"), data.get("amount"),
                                 data.get("start_date"), data.get("end_date")))
        return rows

    # ------------------------------------------------------------------ writes
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.store.mkdir(parents=True, exist_ok=True)
        with open(self.store / LOCK, "a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _write_lock(self) -> AbstractContextManager[None]:
        return self._locked()

    def _write(self, changes: GraphFrames) -> None:
        tables = self._ensure()
        updated: dict[str, pd.DataFrame] = {}
        for name in TABLE_COLUMNS:
            new = changes.table(name)
            if new.empty:
                continue
            key = list(TABLE_KEYS[name])
            old = tables[name]
            replaced = pd.MultiIndex.from_frame(old[key]).isin(
                pd.MultiIndex.from_frame(new[key]))
            updated[name] = canonical_table(name, pd.concat([old[~replaced], new],
                                                            ignore_index=True))
        self._commit({**tables, **updated}, set(updated))

    def _commit(self, tables: dict[str, pd.DataFrame], changed: set[str]) -> None:
        """Write ``changed`` tables as a new generation and switch the manifest to it."""
        manifest = self._manifest()
        generation = 0 if manifest is None else int(manifest["generation"]) + 1
        entries: dict[str, Any] = {} if manifest is None else dict(manifest["tables"])
        for name in TABLE_COLUMNS:
            if name not in changed and name in entries:
                continue
            target = self.store / f"{name}-{generation:06d}.parquet"
            frame = tables[name]
            _atomic_write(target, lambda tmp, f=frame: f.to_parquet(tmp, index=False))
            entries[name] = {"file": target.name, "rows": len(frame), "sha256": _sha256(target)}
        _write_manifest(self.store, {"format": FORMAT, "version": VERSION,
                                     "generation": generation, "tables": entries})
        keep = {e["file"] for e in entries.values()}
        for stale in self.store.glob("*.parquet"):
            if stale.name not in keep:
                stale.unlink(missing_ok=True)
        self._tables = tables
        self._generation = generation
        self._graph = None
        self._positions = {}

    def clear(self) -> None:
        with self._locked():
            self._ensure()
            empty = {t: canonical_table(t, None) for t in TABLE_COLUMNS}
            self._commit(empty, set(TABLE_COLUMNS))

    def close(self) -> None:
        self._tables = None
        self._graph = None
        self._positions = {}
        self._closed = True

    def describe(self) -> str:
        return f"networkx store {self.store}"
