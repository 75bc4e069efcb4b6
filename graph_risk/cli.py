"""`fedcredit graph ...`: relationship knowledge graph commands.

Every command takes the same store options (:class:`StoreOptions`): ``--backend networkx``
(default, embedded, ``--store PATH``) or ``--backend neo4j --uri bolt://... [--user U
--password-env VAR --database DB]``. The password is read from the environment variable
named by ``--password-env`` and never printed.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from graph_risk.backends import BACKENDS, GraphBackend, GraphBackendError, open_backend
from graph_risk.frames import TABLE_COLUMNS
from graph_risk.ingest import GraphValidationError, read_graph_dir

app = typer.Typer(help="Relationship knowledge graph commands.", no_args_is_help=True)
console = Console(soft_wrap=True)
errors = Console(stderr=True)

BackendOpt = Annotated[str, typer.Option(
    "--backend", help=f"Graph store: {' | '.join(BACKENDS)}.")]
StoreOpt = Annotated[Path | None, typer.Option(
    "--store", help="networkx store directory [default: $FEDCREDIT_HOME/graph or "
    "./.fedcredit/graph].")]
UriOpt = Annotated[str | None, typer.Option("--uri", help="Bolt URI, e.g. bolt://host:7687.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Bolt user (omit for no auth).")]
PasswordEnvOpt = Annotated[str | None, typer.Option(
    "--password-env", help="Name of the environment variable holding the Bolt password.")]
DatabaseOpt = Annotated[str | None, typer.Option(
    "--database", help="Bolt database (Neo4j); default: the server's default.")]


@dataclass(frozen=True)
class StoreOptions:
    """The options every ``fedcredit graph`` command shares."""

    backend: str = "networkx"
    store: Path | None = None
    uri: str | None = None
    user: str | None = None
    password_env: str | None = None
    database: str | None = None

    def password(self) -> str | None:
        """The password from ``$<password_env>``; ``ValueError`` when that is unset."""
        if self.password_env is None:
            return None
        if self.password_env not in os.environ:
            raise ValueError(f"environment variable {self.password_env} (--password-env) "
                             "is not set")
        return os.environ[self.password_env]

    def open(self) -> GraphBackend:
        """Open the backend these options describe."""
        if self.backend == "networkx":
            given = [f"--{n.replace('_', '-')}" for n in ("uri", "user", "password_env",
                                                          "database")
                     if getattr(self, n) is not None]
            if given:
                raise ValueError(f"only --backend neo4j takes {', '.join(given)}")
            return open_backend("networkx", store=self.store)
        if self.store is not None:
            raise ValueError("--store applies to --backend networkx only")
        return open_backend(self.backend, uri=self.uri, user=self.user,
                            password=self.password(), database=self.database)


def _fail(message: str) -> typer.Exit:
    one_line = " ".join(message.split())
    errors.print(f"[red]error:[/red] {one_line}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)


def _open(options: StoreOptions) -> GraphBackend:
    try:
        return options.open()
    except (ValueError, GraphBackendError) as exc:
        raise _fail(str(exc)) from exc


def _report_issues(exc: GraphValidationError) -> typer.Exit:
    for issue in exc.issues:
        errors.print(f"  {issue}", highlight=False, markup=False, soft_wrap=True)
    rules = Counter(i.rule.split(" (")[0] for i in exc.issues)
    summary = ", ".join(f"{n} x {rule}" for rule, n in rules.most_common())
    return _fail(f"{len(exc.issues)} problem(s) in graph input ({summary}); nothing written")


@app.command("ingest")
def ingest(
    directory: Annotated[Path, typer.Option("--dir", help="Directory of table files "
                                            "(companies/persons/shareholdings/guarantees/"
                                            "defaults .csv or .parquet).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
    backend: BackendOpt = "networkx",
    store: StoreOpt = None,
    uri: UriOpt = None,
    user: UserOpt = None,
    password_env: PasswordEnvOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Validate a graph directory against the store, then upsert it (idempotent)."""
    options = StoreOptions(backend, store, uri, user, password_env, database)
    try:
        frames, sources = read_graph_dir(directory)
    except FileNotFoundError as exc:
        raise _fail(str(exc)) from exc
    except GraphValidationError as exc:
        raise _report_issues(exc) from exc
    graph = _open(options)
    try:
        if dry_run:
            clean = graph.validate(frames, sources)
            rows = sum(len(clean.table(t)) for t in TABLE_COLUMNS)
            console.print(f"{directory}: {rows} rows valid against {graph.describe()}; "
                          "nothing written (--dry-run)", highlight=False)
            return
        with console.status(f"ingesting {directory} into {graph.describe()}"):
            stats = graph.upsert(frames, sources)
    except GraphValidationError as exc:
        raise _report_issues(exc) from exc
    except (ValueError, GraphBackendError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        graph.close()
    table = Table(title=f"ingested {directory} ({stats.seconds:.2f} s)")
    for column in ("table", "created", "updated", "unchanged"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for name, change in stats.tables.items():
        table.add_row(name, f"{change.created:,}", f"{change.updated:,}",
                      f"{change.unchanged:,}")
    console.print(table)


@app.command("stats")
def stats(
    backend: BackendOpt = "networkx",
    store: StoreOpt = None,
    uri: UriOpt = None,
    user: UserOpt = None,
    password_env: PasswordEnvOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Rows per table in the store."""
    graph = _open(StoreOptions(backend, store, uri, user, password_env, database))
    try:
        counts = graph.counts()
        where = graph.describe()
    except GraphBackendError as exc:
        raise _fail(str(exc)) from exc
    finally:
        graph.close()
    table = Table(title=where)
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


@app.command("features")
def features(
    out: Annotated[Path, typer.Option("--out", help="Output .parquet or .csv.")],
    backend: BackendOpt = "networkx",
    store: StoreOpt = None,
    uri: UriOpt = None,
    user: UserOpt = None,
    password_env: PasswordEnvOpt = None,
    database: DatabaseOpt = None,
) -> None:
    """Compute the graph-feature table (one row per company) from the whole store."""
    from graph_risk.features import compute_features, write_features

    if out.suffix.lower() not in (".parquet", ".csv"):
        raise _fail(f"--out must end in .parquet or .csv; got {str(out)!r}")
    graph = _open(StoreOptions(backend, store, uri, user, password_env, database))
    try:
        with console.status(f"reading {graph.describe()}"):
            frames = graph.frames()
        if frames.companies.empty:
            raise _fail(f"{graph.describe()} holds no companies; run fedcredit graph ingest")
        with console.status(f"computing features of {len(frames.companies):,} companies"):
            table = compute_features(frames)
            write_features(table, out)
    except (ValueError, GraphBackendError) as exc:
        raise _fail(str(exc)) from exc
    finally:
        graph.close()
    console.print(f"wrote {len(table):,} rows x {table.shape[1]} columns to {out}",
                  highlight=False)
