"""API keys with roles, hashed at rest, checked as OAuth2 bearer tokens.

A key is ``fck_`` + 43 URL-safe characters (32 random bytes from :mod:`secrets`). Only its
SHA-256 is stored (a fast hash is enough: the token carries 256 bits of entropy, so there is
nothing to brute-force; slow KDFs protect low-entropy passwords). ``fedcredit auth add-key``
prints the key once; it cannot be recovered afterwards, only revoked and replaced.

Every request sends ``Authorization: Bearer <key>``. No or an unknown/revoked key: ``401`` with
``WWW-Authenticate: Bearer``; a valid key of the wrong role: ``403`` with
``WWW-Authenticate: Bearer error="insufficient_scope"`` (RFC 6750 section 3.1). A ``member``
key is bound to one member id and a member server to one member (``--member-id``): the key of
another member is a ``403 wrong_member``.

Verified keys are cached in memory for ``cache_seconds`` (default 1 s; bounded size, only keys
that verified): the hot path is then one SHA-256 and a dict look-up instead of a SQLite query.
:meth:`KeyStore.revoke` drops the key from this process's cache at once; a revoke by another
process (``fedcredit auth revoke``) takes effect when the cached entry expires.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

ROLES: tuple[str, ...] = ("member", "risk_analyst", "association_admin")
TOKEN_PREFIX = "fck_"
NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL,
    member_id   TEXT,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at  REAL NOT NULL,
    revoked_at  REAL
);
"""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name, its role and (members only) its member id."""

    name: str
    role: str
    member_id: str | None = None


def token_digest(token: str) -> str:
    """Hex SHA-256 of a key (what the store keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class KeyStore:
    """The API-key table (SQLite).

    Parameters
    ----------
    path : path
        Database file; created with its folder (mode 0600) when missing.
    cache_seconds : float
        How long a verified key is trusted without a look-up (0: no cache).
    cache_size : int
        Most cached keys (the oldest is dropped first).
    """

    def __init__(
        self, path: str | Path, *, cache_seconds: float = 1.0, cache_size: int = 4096
    ) -> None:
        if not 0 <= cache_seconds <= 60 or cache_size < 1:
            raise ValueError(
                "cache_seconds must be in [0, 60] and cache_size >= 1; "
                f"got {cache_seconds}, {cache_size}"
            )
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(SCHEMA)
        if fresh:
            self.path.chmod(0o600)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database."""
        self._conn.close()

    def add(self, name: str, role: str, member_id: str | None = None) -> str:
        """Create a key; return the token (shown once).

        Raises ``ValueError`` naming the rule: unknown role, bad name, duplicate name, a
        member key without ``member_id`` or another role with one.
        """
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
        if not NAME_RULE.match(name):
            raise ValueError(
                "key name must be 1-64 characters of letters, digits, '_', '.', "
                f"'-' starting with a letter or digit; got {name!r}"
            )
        if role == "member" and not member_id:
            raise ValueError("a member key needs --member-id (a member sees only its own scores)")
        if role != "member" and member_id:
            raise ValueError(f"--member-id applies to role member only; got role {role!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO api_keys(name, role, member_id, token_sha256, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, role, member_id, token_digest(token), time.time()),
                )
            except sqlite3.IntegrityError:
                raise ValueError(
                    f"a key named {name!r} already exists (names are never "
                    "reused, even after revoke)"
                ) from None
        return token

    def revoke(self, name: str) -> None:
        """Revoke a key by name; ``KeyError`` when no active key has that name."""
        with self._lock:
            cur = self._conn.execute(
                "UPDATE api_keys SET revoked_at=? WHERE name=? AND revoked_at IS NULL",
                (time.time(), name),
            )
            for digest, (principal, _) in list(self._cache.items()):
                if principal.name == name:
                    del self._cache[digest]
        if cur.rowcount == 0:
            raise KeyError(f"no active key named {name!r}")

    def lookup(self, token: str) -> Principal | None:
        """The principal of an active key, or ``None`` (from the cache while its entry is
        younger than ``cache_seconds``)."""
        digest = token_digest(token)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        with self._lock:
            row = self._conn.execute(
                "SELECT name, role, member_id FROM api_keys WHERE token_sha256=? AND "
                "revoked_at IS NULL",
                (digest,),
            ).fetchone()
            if row is None:
                self._cache.pop(digest, None)
                return None
            principal = Principal(row[0], row[1], row[2])
            if self.cache_seconds > 0:
                self._cache[digest] = (principal, now + self.cache_seconds)
                self._cache.move_to_end(digest)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        return principal

    def keys(self) -> list[dict[str, object]]:
        """Every key without its hash: name, role, member_id, created_at, revoked_at."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, role, member_id, created_at, revoked_at FROM api_keys "
                "ORDER BY created_at"
            ).fetchall()
        cols = ("name", "role", "member_id", "created_at", "revoked_at")
        return [dict(zip(cols, r, strict=True)) for r in rows]


def _error(status: int, code: str, message: str, challenge: str) -> HTTPException:
    return HTTPException(
        status,
        detail={"code": code, "message": message, "field": "Authorization"},
        headers={"WWW-Authenticate": challenge},
    )


bearer = HTTPBearer(auto_error=False, description="An API key from `fedcredit auth add-key`.")


def require_role(
    store: KeyStore, *roles: str, member_id: str | None = None
) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency admitting active keys of ``roles``; it puts the
    :class:`Principal` on ``request.state.principal`` (read by routers and the audit log).
    With ``member_id``, a ``member`` key must carry that member id (``403 wrong_member``)."""
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise ValueError(f"roles must be a non-empty subset of {ROLES}; got {roles}")

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        if credentials is None:
            raise _error(401, "missing_credentials", "send 'Authorization: Bearer <key>'", "Bearer")
        principal = store.lookup(credentials.credentials)
        if principal is None:
            raise _error(
                401, "invalid_key", "unknown or revoked API key", 'Bearer error="invalid_token"'
            )
        request.state.principal = principal
        if principal.role not in roles:
            raise _error(
                403,
                "forbidden_role",
                f"role {principal.role!r} may not call this endpoint (needs {' or '.join(roles)})",
                'Bearer error="insufficient_scope"',
            )
        if member_id is not None and principal.member_id != member_id:
            raise _error(
                403,
                "wrong_member",
                f"key {principal.name!r} belongs to member {principal.member_id!r}; this "
                f"server serves member {member_id!r} only",
                'Bearer error="insufficient_scope"',
            )
        return principal

    return dependency
