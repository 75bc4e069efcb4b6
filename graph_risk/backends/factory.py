"""Open a graph backend by name: ``networkx`` (embedded default) or ``neo4j`` (Bolt)."""

from __future__ import annotations

import os
from pathlib import Path

from graph_risk.backends.base import GraphBackend

BACKENDS: tuple[str, ...] = ("networkx", "neo4j")
HOME_ENV = "FEDCREDIT_HOME"


def default_store_path() -> Path:
    """``$FEDCREDIT_HOME/graph`` when that is set, else ``./.fedcredit/graph``."""
    home = os.environ.get(HOME_ENV)
    return Path(home) / "graph" if home else Path.cwd() / ".fedcredit" / "graph"


def open_backend(
    kind: str = "networkx",
    *,
    store: str | os.PathLike[str] | None = None,
    uri: str | None = None,
    user: str | None = None,
    password: str | None = None,
    database: str | None = None,
    dialect: str = "auto",
) -> GraphBackend:
    """Open a backend.

    Parameters
    ----------
    kind : {"networkx", "neo4j"}
        Which backend.
    store : path, optional
        networkx only: store directory (default :func:`default_store_path`).
    uri, user, password, database, dialect
        neo4j only: see :class:`~graph_risk.backends.neo4j_backend.Neo4jBackend`; ``uri``
        is required.

    Raises
    ------
    ValueError
        Unknown ``kind``, a neo4j option given to networkx or the reverse, missing ``uri``.
    """
    if kind not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}; got {kind!r}")
    if kind == "networkx":
        given = [n for n, v in (("uri", uri), ("user", user), ("password", password),
                                ("database", database)) if v is not None]
        if given:
            raise ValueError(f"option(s) {given} apply to the neo4j backend only")
        from graph_risk.backends.networkx_backend import NetworkxBackend

        return NetworkxBackend(store if store is not None else default_store_path())
    if store is not None:
        raise ValueError("option 'store' applies to the networkx backend only")
    if not uri:
        raise ValueError("the neo4j backend needs a uri (e.g. bolt://127.0.0.1:7687)")
    from graph_risk.backends.neo4j_backend import Neo4jBackend

    return Neo4jBackend(uri, user=user, password=password, database=database, dialect=dialect)
