"""Server settings: one frozen dataclass, read once from an optional TOML file plus CLI flags.

``fedcredit serve --config serve.toml`` reads the ``[serve]`` table; any flag given on the
command line overrides the file. Example::

    [serve]
    role = "risk"                 # member | risk | association
    port = 8080
    # member_id = "m01"           # role member: the member this server serves
    store = "out/graph"           # the store `fedcredit graph ingest` wrote (networkx)
    keys = ".fedcredit/auth/keys.sqlite"
    audit = ".fedcredit/audit.sqlite"

Unknown keys and values that break a rule raise ``ValueError`` naming the key and the rule.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from graph_risk.cli import StoreOptions

SERVE_ROLES: dict[str, str] = {
    "member": "member",
    "risk": "risk_analyst",
    "association": "association_admin",
}
"""``fedcredit serve --role`` -> the key role that app admits."""
HOME_ENV = "FEDCREDIT_HOME"


def fedcredit_home() -> Path:
    """``$FEDCREDIT_HOME`` or ``./.fedcredit``."""
    home = os.environ.get(HOME_ENV)
    return Path(home) if home else Path.cwd() / ".fedcredit"


@dataclass(frozen=True)
class ServeSettings:
    """Everything one ``fedcredit serve`` process needs (see module docstring).

    ``backend``/``store``/``uri``/``user``/``password_env``/``database`` are the graph store
    options of ``fedcredit graph ingest`` (risk role); ``features`` an optional precomputed
    feature table; ``model``/``policy``/``graph_features`` the member's scoring inputs and
    ``member_id`` the one member a member server serves (required for role member: keys of
    other members are refused); ``run_store`` the coordinator's run store (association role);
    ``auth_cache_seconds`` how long a verified key is trusted without a database look-up (a
    revoke by another process takes effect within it; 0 turns the cache off).
    """

    role: str = "risk"
    host: str = "127.0.0.1"
    port: int = 8000
    keys: Path | None = None
    audit: Path | None = None
    backend: str = "networkx"
    store: Path | None = None
    uri: str | None = None
    user: str | None = None
    password_env: str | None = None
    database: str | None = None
    features: Path | None = None
    model: Path | None = None
    policy: Path | None = None
    graph_features: Path | None = None
    member_id: str | None = None
    run_store: Path | None = None
    max_batch: int = 10_000
    audit_flush_seconds: float = 0.2
    auth_cache_seconds: float = 1.0

    def __post_init__(self) -> None:
        if self.role not in SERVE_ROLES:
            raise ValueError(f"role must be one of {', '.join(SERVE_ROLES)}; got {self.role!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in [0, 65535]; got {self.port}")
        if not 1 <= self.max_batch <= 100_000:
            raise ValueError(f"max_batch must be in [1, 100000]; got {self.max_batch}")
        if self.audit_flush_seconds <= 0:
            raise ValueError(f"audit_flush_seconds must be > 0; got {self.audit_flush_seconds}")
        if not 0 <= self.auth_cache_seconds <= 60:
            raise ValueError(
                f"auth_cache_seconds must be in [0, 60]; got {self.auth_cache_seconds}"
            )
        if self.role == "member" and not self.member_id:
            raise ValueError(
                "role member needs member_id (--member-id): the one member whose scores this "
                "server serves"
            )
        if self.role != "member" and self.member_id:
            raise ValueError(f"member_id applies to role member only; got role {self.role!r}")

    @property
    def key_role(self) -> str:
        """The API-key role this server admits."""
        return SERVE_ROLES[self.role]

    @property
    def keys_path(self) -> Path:
        """The API-key database (default ``$FEDCREDIT_HOME/auth/keys.sqlite``)."""
        return self.keys if self.keys is not None else fedcredit_home() / "auth" / "keys.sqlite"

    @property
    def audit_path(self) -> Path:
        """The audit log (default ``$FEDCREDIT_HOME/audit.sqlite``)."""
        return self.audit if self.audit is not None else fedcredit_home() / "audit.sqlite"

    def store_options(self) -> StoreOptions:
        """The graph store options, as ``fedcredit graph`` takes them."""
        return StoreOptions(
            self.backend, self.store, self.uri, self.user, self.password_env, self.database
        )


_PATHS = {f.name for f in fields(ServeSettings) if "Path" in str(f.type)}


def load_settings(config: Path | None = None, **overrides: Any) -> ServeSettings:
    """Settings from ``config`` (its ``[serve]`` table) with non-``None`` ``overrides`` on
    top. Relative paths in the file are relative to the file's folder."""
    values: dict[str, Any] = {}
    if config is not None:
        try:
            body = tomllib.loads(config.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"{config}: cannot read settings ({exc})") from exc
        table = body.get("serve")
        if not isinstance(table, dict):
            raise ValueError(f"{config}: needs a [serve] table")
        known = {f.name for f in fields(ServeSettings)}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ValueError(
                f"{config}: unknown key(s) in [serve]: {', '.join(unknown)}; "
                f"known: {', '.join(sorted(known))}"
            )
        for key, value in table.items():
            values[key] = (config.parent / value) if key in _PATHS else value
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = ServeSettings()
    try:
        return replace(settings, **values)
    except TypeError as exc:
        raise ValueError(f"bad settings: {exc}") from exc
