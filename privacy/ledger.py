"""Persistent per-member privacy budget ledger (SQLite, fail closed).

One ledger file per member; rows are keyed by a dataset fingerprint, so epsilon composes across
rounds *and* across runs on the same data. A charge is checked against the dataset's budget and
committed (SQLite ``synchronous=FULL``: fsynced) inside one ``BEGIN IMMEDIATE`` transaction
*before* the noised update may leave the member. A crash between the commit and the send
over-counts, never under-counts; a refused charge raises :class:`BudgetExhausted` and writes
nothing. Concurrent processes on one file serialise on the write lock.

Example
-------
>>> import tempfile, pathlib
>>> from privacy.accountant import Mechanism
>>> led = BudgetLedger(pathlib.Path(tempfile.mkdtemp()) / "ledger.sqlite")
>>> led.set_budget("sha256:ab", Budget(epsilon=3.0, delta=1e-5))
>>> c = led.charge("sha256:ab", Mechanism(1.1, 0.01, 100), run_id="r1", round=1)
>>> c.epsilon_after == led.spent("sha256:ab") and led.remaining("sha256:ab") > 0
True

Complexity: a charge recomputes epsilon over the dataset's history, O(charges) (RDP per
distinct (sigma, q) is cached).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from privacy.accountant import Mechanism, check_accountant, check_delta, compute_epsilon
from privacy.errors import BudgetExhausted

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS budgets (
    dataset TEXT PRIMARY KEY, epsilon REAL NOT NULL, delta REAL NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, dataset TEXT NOT NULL, run_id TEXT NOT NULL,
    round INTEGER NOT NULL, kind TEXT NOT NULL, steps INTEGER NOT NULL,
    sample_rate REAL NOT NULL, noise_multiplier REAL NOT NULL, delta REAL NOT NULL,
    epsilon_after REAL NOT NULL, created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS charges_dataset ON charges (dataset, seq);
"""
CHARGE_FIELDS = (
    "seq", "dataset", "run_id", "round", "kind", "steps", "sample_rate",
    "noise_multiplier", "delta", "epsilon_after", "created_at",
)  # fmt: skip


@dataclass(frozen=True)
class Budget:
    """An ``(epsilon, delta)`` budget for one dataset."""

    epsilon: float
    delta: float

    def __post_init__(self) -> None:
        if not (
            isinstance(self.epsilon, int | float)
            and math.isfinite(self.epsilon)
            and self.epsilon > 0
        ):
            raise ValueError(f"budget epsilon must be finite and > 0; got {self.epsilon!r}")
        check_delta(self.delta)


@dataclass(frozen=True)
class Charge:
    """One recorded release: what was spent and the dataset's epsilon right after it."""

    seq: int
    dataset: str
    run_id: str
    round: int
    kind: str
    steps: int
    sample_rate: float
    noise_multiplier: float
    delta: float
    epsilon_after: float
    created_at: str

    def mechanism(self) -> Mechanism:
        """The accountant entry of this charge."""
        return Mechanism(self.noise_multiplier, self.sample_rate, self.steps, self.kind)


@dataclass(frozen=True)
class BudgetStatus:
    """Spent and remaining epsilon of one dataset (``budget`` is None when never set)."""

    dataset: str
    budget: Budget | None
    spent: float
    remaining: float | None
    charges: int


def dataset_fingerprint(*paths: Path) -> str:
    """``sha256:<hex>`` over the contents of ``paths`` in order (file names are ignored)."""
    if not paths:
        raise ValueError("dataset_fingerprint needs at least one file")
    h = hashlib.sha256()
    for p in paths:
        data = Path(p).read_bytes()
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return "sha256:" + h.hexdigest()


class BudgetLedger:
    """Per-member SQLite ledger of privacy charges, keyed by dataset fingerprint.

    Parameters
    ----------
    path
        Ledger file (created with mode 0600 unless ``create=False``).
    accountant
        ``rdp`` or ``prv``; fixed when the ledger is created, checked when reopened.
    create
        Create the file when missing (``False`` for read-only tools such as the CLI).
    """

    def __init__(self, path: Path, *, accountant: str | None = None, create: bool = True) -> None:
        self.path = Path(path)
        if accountant is not None:
            check_accountant(accountant)
        if not self.path.exists():
            if not create:
                raise FileNotFoundError(f"ledger file {self.path} does not exist")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        with self._connect() as con:
            con.executescript(SCHEMA)
            con.execute("BEGIN IMMEDIATE")
            row = con.execute("SELECT value FROM meta WHERE key = 'accountant'").fetchone()
            if row is None:
                check_accountant(accountant or "rdp")
                con.execute("INSERT INTO meta VALUES ('accountant', ?)", (accountant or "rdp",))
                con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
            elif accountant is not None and accountant != row[0]:
                con.execute("ROLLBACK")
                raise ValueError(
                    f"ledger {self.path} uses accountant {row[0]!r}; opened with {accountant!r}"
                )
            con.execute("COMMIT")
            self.accountant = accountant or (row[0] if row else "rdp")

    # ----------------------------------------------------------------- reading
    def budget(self, dataset: str) -> Budget:
        """The stored budget of ``dataset``; raises ``KeyError`` naming it when unset."""
        with self._connect() as con:
            return self._budget(con, dataset)

    def history(self, dataset: str) -> list[Charge]:
        """All charges of ``dataset`` in the order they were made."""
        with self._connect() as con:
            return self._history(con, dataset)

    def spent(self, dataset: str, delta: float | None = None) -> float:
        """Epsilon spent on ``dataset`` at ``delta`` (default: the budget's delta)."""
        d = self.budget(dataset).delta if delta is None else delta
        return compute_epsilon([c.mechanism() for c in self.history(dataset)], d, self.accountant)

    def remaining(self, dataset: str) -> float:
        """Budget epsilon minus spent epsilon (never negative)."""
        return max(0.0, self.budget(dataset).epsilon - self.spent(dataset))

    def would_exceed(
        self, dataset: str, mechanism: Mechanism, budget: Budget | None = None
    ) -> bool:
        """Whether charging ``mechanism`` next would exceed ``budget`` (default: stored)."""
        b = budget or self.budget(dataset)
        history = [c.mechanism() for c in self.history(dataset)]
        return compute_epsilon([*history, mechanism], b.delta, self.accountant) > b.epsilon

    def datasets(self) -> list[str]:
        """Every dataset with a budget or a charge."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT dataset FROM budgets UNION SELECT dataset FROM charges ORDER BY 1"
            ).fetchall()
        return [r[0] for r in rows]

    def summary(self) -> list[BudgetStatus]:
        """Spent and remaining epsilon per dataset."""
        out = []
        for ds in self.datasets():
            with self._connect() as con:
                row = con.execute(
                    "SELECT epsilon, delta FROM budgets WHERE dataset = ?", (ds,)
                ).fetchone()
                history = self._history(con, ds)
            budget = Budget(row[0], row[1]) if row else None
            delta = budget.delta if budget else history[-1].delta
            spent = compute_epsilon([c.mechanism() for c in history], delta, self.accountant)
            remaining = max(0.0, budget.epsilon - spent) if budget else None
            out.append(BudgetStatus(ds, budget, spent, remaining, len(history)))
        return out

    # ----------------------------------------------------------------- writing
    def set_budget(self, dataset: str, budget: Budget) -> None:
        """Store (or replace) the budget of ``dataset``."""
        _check_dataset(dataset)
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            con.execute(
                "INSERT INTO budgets VALUES (?, ?, ?, ?) ON CONFLICT(dataset) DO UPDATE SET "
                "epsilon = excluded.epsilon, delta = excluded.delta, "
                "updated_at = excluded.updated_at",
                (dataset, float(budget.epsilon), float(budget.delta), _now()),
            )
            con.execute("COMMIT")

    def charge(self, dataset: str, mechanism: Mechanism, *, run_id: str, round: int) -> Charge:
        """Check the budget and durably record ``mechanism``; call BEFORE releasing the update.

        Raises
        ------
        BudgetExhausted
            When the charge would exceed the stored budget; nothing is written.
        KeyError
            When the dataset has no budget.
        """
        if not run_id or not isinstance(run_id, str):
            raise ValueError(f"run_id must be a non-empty string; got {run_id!r}")
        _check_dataset(dataset)
        if isinstance(round, bool) or not isinstance(round, int) or round < 0:
            raise ValueError(f"round must be an integer >= 0; got {round!r}")
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                budget = self._budget(con, dataset)
                history = [c.mechanism() for c in self._history(con, dataset)]
                after = compute_epsilon([*history, mechanism], budget.delta, self.accountant)
                if after > budget.epsilon:
                    spent = compute_epsilon(history, budget.delta, self.accountant)
                    raise BudgetExhausted(dataset, spent, after, budget.epsilon, budget.delta)
                cur = con.execute(
                    "INSERT INTO charges (dataset, run_id, round, kind, steps, sample_rate, "
                    "noise_multiplier, delta, epsilon_after, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        dataset,
                        run_id,
                        round,
                        mechanism.kind,
                        mechanism.steps,
                        float(mechanism.sample_rate),
                        float(mechanism.noise_multiplier),
                        float(budget.delta),
                        after,
                        _now(),
                    ),
                )
                seq = int(cur.lastrowid or 0)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return self._charge_by_seq(seq)

    # ----------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        """Every budget and charge (a backup; secrets-free)."""
        with self._connect() as con:
            budgets = con.execute("SELECT dataset, epsilon, delta FROM budgets").fetchall()
            charges = con.execute(f"SELECT {', '.join(CHARGE_FIELDS)} FROM charges").fetchall()
        return {
            "version": 1,
            "accountant": self.accountant,
            "budgets": [{"dataset": d, "epsilon": e, "delta": dl} for d, e, dl in budgets],
            "charges": [asdict(Charge(*row)) for row in charges],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a backup into an EMPTY ledger (loading over charges could under-count)."""
        if state.get("accountant") != self.accountant:
            raise ValueError(
                f"state uses accountant {state.get('accountant')!r}; ledger uses "
                f"{self.accountant!r}"
            )
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                if con.execute("SELECT COUNT(*) FROM charges").fetchone()[0]:
                    raise ValueError(
                        f"ledger {self.path} already holds charges; refusing to load a state "
                        "over them (it could under-count spent epsilon)"
                    )
                for b in state["budgets"]:
                    Budget(b["epsilon"], b["delta"])
                    con.execute(
                        "INSERT OR REPLACE INTO budgets VALUES (?, ?, ?, ?)",
                        (b["dataset"], b["epsilon"], b["delta"], _now()),
                    )
                for c in state["charges"]:
                    Charge(**c).mechanism()
                    con.execute(
                        f"INSERT INTO charges ({', '.join(CHARGE_FIELDS)}) "
                        f"VALUES ({', '.join('?' * len(CHARGE_FIELDS))})",
                        tuple(c[f] for f in CHARGE_FIELDS),
                    )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ----------------------------------------------------------------- helpers
    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, isolation_level=None, timeout=60.0)
        try:
            con.execute("PRAGMA synchronous = FULL")
            yield con
        finally:
            con.close()

    def _budget(self, con: sqlite3.Connection, dataset: str) -> Budget:
        row = con.execute(
            "SELECT epsilon, delta FROM budgets WHERE dataset = ?", (dataset,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no privacy budget set for dataset {dataset} in {self.path}")
        return Budget(row[0], row[1])

    def _history(self, con: sqlite3.Connection, dataset: str) -> list[Charge]:
        rows = con.execute(
            f"SELECT {', '.join(CHARGE_FIELDS)} FROM charges WHERE dataset = ? ORDER BY seq",
            (dataset,),
        ).fetchall()
        return [Charge(*r) for r in rows]

    def _charge_by_seq(self, seq: int) -> Charge:
        with self._connect() as con:
            row = con.execute(
                f"SELECT {', '.join(CHARGE_FIELDS)} FROM charges WHERE seq = ?", (seq,)
            ).fetchone()
        return Charge(*row)


def _check_dataset(dataset: str) -> None:
    if not isinstance(dataset, str) or not dataset or len(dataset) > 256:
        raise ValueError(f"dataset must be a non-empty string of <= 256 chars; got {dataset!r}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
