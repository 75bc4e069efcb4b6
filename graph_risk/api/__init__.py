"""Risk-team HTTP API: the ``/v1/graph`` router over an in-memory :class:`GraphIndex`."""

from graph_risk.api.index import GraphIndex
from graph_risk.api.router import MAX_HOPS, STATIC_DIR, api_error, create_graph_router

__all__ = ["MAX_HOPS", "STATIC_DIR", "GraphIndex", "api_error", "create_graph_router"]
