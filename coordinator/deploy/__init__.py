"""The association's deployment: TLS certificates, allow-list, SuperLink, run submission."""

from coordinator.deploy.certs import issue_tls
from coordinator.deploy.home import CoordinatorHome, DeploySettings
from coordinator.deploy.link import SuperLink, submit_run

__all__ = ["CoordinatorHome", "DeploySettings", "SuperLink", "issue_tls", "submit_run"]
