"""The association's home folder: settings, TLS, allow-list, run store, SuperLink state.

Layout (``fedcredit coordinator init --home H``)::

    H/coordinator.toml       settings (read once into DeploySettings)
    H/tls/ca.pem             CA certificate: give it to every member
    H/tls/ca.key, server.*   CA key and server certificate/key (0600; never leave H)
    H/allowlist/<m>.pub      members' SuperNode public keys (OpenSSH, ECDSA P-384)
    H/members.json           member -> Flower node id once registered
    H/public_key.json        the consortium Paillier *public* key (no private key, ever)
    H/runstore.sqlite        the run store (or a postgresql:// URL in coordinator.toml)
    H/superlink.db           Flower's own SuperLink state (registrations, runs)
    H/flwr/config.toml       the Flower CLI's connection to this SuperLink (FLWR_HOME)
    H/logs/                  SuperLink log
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w

from coordinator.deploy.certs import issue_tls
from privacy.keys import PUBLIC_KEY_FILE, load_public_key

SETTINGS_FILE = "coordinator.toml"
CONNECTION = "fedcredit"
_MEMBER = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True)
class DeploySettings:
    """Where the SuperLink listens and where runs are stored (``coordinator.toml``)."""

    host: str = "127.0.0.1"
    port: int = 9093
    advertise: str = ""
    run_store: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port must be in [1, 65535]; got {self.port}")

    @property
    def address(self) -> str:
        """``host:port`` members connect to."""
        return f"{self.advertise or self.host}:{self.port}"


class CoordinatorHome:
    """Paths and state of one association's deployment folder."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.tls = self.root / "tls"
        self.allowlist = self.root / "allowlist"
        self.members_file = self.root / "members.json"
        self.public_key = self.root / PUBLIC_KEY_FILE
        self.superlink_db = self.root / "superlink.db"
        self.flwr_home = self.root / "flwr"
        self.logs = self.root / "logs"
        self.apps = self.root / "apps"

    # --------------------------------------------------------------- settings
    def settings(self) -> DeploySettings:
        """Read ``coordinator.toml``; a missing file means ``init`` was not run."""
        path = self.root / SETTINGS_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"{path}: no coordinator home; run `fedcredit coordinator init`"
            )
        doc = tomllib.loads(path.read_text())
        return DeploySettings(
            **{k: v for k, v in doc.items() if k in DeploySettings.__annotations__}
        )

    def run_store(self) -> str:
        """The run store: ``coordinator.toml``'s ``run_store`` or ``H/runstore.sqlite``."""
        return self.settings().run_store or str(self.root / "runstore.sqlite")

    # ---------------------------------------------------------------- members
    def members(self) -> dict[str, dict[str, Any]]:
        """``{member: {"public_key": path, "node_id": int | None}}``."""
        if not self.members_file.is_file():
            return {}
        return dict(json.loads(self.members_file.read_text())["members"])

    def save_members(self, members: dict[str, dict[str, Any]]) -> None:
        """Write ``members.json`` atomically."""
        tmp = self.members_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"members": members}, indent=1, sort_keys=True))
        tmp.replace(self.members_file)

    def allow(self, member: str, public_key: Path) -> Path:
        """Put a member's SuperNode public key on the allow-list (checked: EC on a NIST curve)."""
        from cryptography.exceptions import UnsupportedAlgorithm
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.serialization import load_ssh_public_key

        if not _MEMBER.fullmatch(member):
            raise ValueError(f"member id must match [A-Za-z0-9_.-]{{1,64}}; got {member!r}")
        try:
            key = load_ssh_public_key(public_key.read_bytes())
        except (OSError, ValueError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"{public_key}: not an OpenSSH public key ({exc})") from None
        if not isinstance(key, ec.EllipticCurvePublicKey):
            raise ValueError(f"{public_key}: SuperNode keys must be ECDSA (P-384); got {type(key)}")
        members = self.members()
        if member in members:
            raise ValueError(f"member {member!r} is already on the allow-list")
        self.allowlist.mkdir(parents=True, exist_ok=True)
        dest = self.allowlist / f"{member}.pub"
        shutil.copyfile(public_key, dest)
        members[member] = {"public_key": str(dest), "node_id": None}
        self.save_members(members)
        return dest

    def write_flwr_config(self) -> None:
        """The Flower CLI connection (``FLWR_HOME/config.toml``) to this SuperLink."""
        s = self.settings()
        conn: dict[str, Any] = {"address": f"{s.host}:{s.port}"}
        if (self.root / "INSECURE").exists():
            conn["insecure"] = True
        else:
            conn["root-certificates"] = str(self.tls / "ca.pem")
        self.flwr_home.mkdir(parents=True, exist_ok=True)
        doc = {"superlink": {"default": CONNECTION, CONNECTION: conn}}
        (self.flwr_home / "config.toml").write_text(tomli_w.dumps(doc))


def init_home(
    root: Path,
    *,
    public_key: Path,
    settings: DeploySettings,
    hosts: list[str],
    members: dict[str, Path],
) -> CoordinatorHome:
    """Create a coordinator home: settings, TLS, consortium public key, allow-list.

    Refuses a folder that already has ``coordinator.toml`` (nothing is overwritten).
    """
    home = CoordinatorHome(root)
    if (home.root / SETTINGS_FILE).exists():
        raise FileExistsError(f"{home.root / SETTINGS_FILE}: already initialised")
    load_public_key(public_key)  # validated before anything is written
    for name, pub in members.items():
        if not pub.is_file():
            raise FileNotFoundError(f"{pub}: public key of member {name!r} not found")
    home.root.mkdir(parents=True, exist_ok=True)
    issue_tls(home.tls, hosts or [settings.host])
    shutil.copyfile(public_key, home.public_key)
    (home.root / SETTINGS_FILE).write_text(tomli_w.dumps(asdict(settings)))
    home.save_members({})
    for name, pub in members.items():
        home.allow(name, pub)
    home.write_flwr_config()
    return home
