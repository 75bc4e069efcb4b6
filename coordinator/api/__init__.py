"""Association HTTP API: runs, rounds, attestations, members (read-only over the run store)."""

from coordinator.api.router import api_error, create_association_router

__all__ = ["api_error", "create_association_router"]
