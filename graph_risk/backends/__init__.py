"""Relationship-graph stores: one interface, an embedded and a Bolt implementation."""

from graph_risk.backends.base import (
    EDGE_KINDS,
    GraphBackend,
    GraphBackendError,
    IngestStats,
    TableChange,
)
from graph_risk.backends.factory import BACKENDS, default_store_path, open_backend

__all__ = [
    "BACKENDS",
    "EDGE_KINDS",
    "GraphBackend",
    "GraphBackendError",
    "IngestStats",
    "TableChange",
    "default_store_path",
    "open_backend",
]
