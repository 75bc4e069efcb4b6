"""`fedcredit serve` and `fedcredit auth`: the HTTP APIs, API keys and the audit log."""

from simulations.serve.app import AuditMiddleware, create_app
from simulations.serve.audit import AuditEntry, AuditLog, Verification
from simulations.serve.auth import ROLES, KeyStore, Principal, require_role
from simulations.serve.settings import SERVE_ROLES, ServeSettings, load_settings

__all__ = [
    "ROLES",
    "SERVE_ROLES",
    "AuditEntry",
    "AuditLog",
    "AuditMiddleware",
    "KeyStore",
    "Principal",
    "ServeSettings",
    "Verification",
    "create_app",
    "load_settings",
    "require_role",
]
