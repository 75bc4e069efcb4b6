"""Member scoring HTTP API: the ``/v1/scores``, ``/v1/warnings`` and ``/v1/model`` router."""

from participant_node.api.router import api_error, create_scoring_router

__all__ = ["api_error", "create_scoring_router"]
