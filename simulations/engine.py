"""Run the project's ServerApp and ClientApp on Flower's simulation engine (Ray backend).

The run config is written as the ``[tool.flwr.app.config]`` of a generated Flower app
directory, which is how Flower's simulation runtime hands the same config to the ServerApp and
every ClientApp (``context.run_config``). Members are Flower SuperNodes with
``partition-id = 0..K-1``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import tomli_w
from flwr.app import Context, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import ServerApp

APP_TEMPLATE = {
    "build-system": {"requires": ["setuptools"], "build-backend": "setuptools.build_meta"},
    "project": {"name": "fedcredit-run", "version": "1.0.0"},
}


def write_app_dir(directory: Path, run_config: Mapping[str, object]) -> Path:
    """Write a Flower app ``pyproject.toml`` whose config is ``run_config``."""
    directory.mkdir(parents=True, exist_ok=True)
    doc = dict(APP_TEMPLATE)
    doc["tool"] = {
        "flwr": {
            "app": {
                "publisher": "fedcredit",
                "components": {
                    "serverapp": "coordinator.server_app:app",
                    "clientapp": "participant_node.client_app:app",
                },
                "config": {k: v for k, v in run_config.items()},
            }
        }
    }
    (directory / "pyproject.toml").write_bytes(tomli_w.dumps(doc).encode())
    return directory


# Environment of the Ray processes a simulation starts (also given to an experiment's shared
# head, simulations.experiments.ray_runtime): per-worker logs, and no accelerator override.
RAY_WORKER_ENV = {"RAY_DEDUP_LOGS": "0", "RAY_ACCEL_ENV_VAR_OVERRIDE_ON_ZERO": "0"}


def run_simulation(
    run_config: Mapping[str, str | int | float | bool],
    num_members: int,
    app_dir: Path,
    *,
    cpus_per_member: float = 1.0,
    verbose: bool = False,
    ray_init_args: Mapping[str, object] | None = None,
    client_app: ClientApp | None = None,
    server_app: ServerApp | None = None,
) -> None:
    """Run one federated training on Flower's simulation engine.

    Parameters
    ----------
    run_config
        Flat Flower run config (keys as in ``[tool.flwr.app.config]``).
    num_members
        Number of simulated SuperNodes (one per member).
    app_dir
        Folder for the generated Flower app definition.
    cpus_per_member
        Ray resources per ClientApp (1.0 runs two members at a time on two cores).
    ray_init_args
        Arguments for ``ray.init`` (Flower's ``backend_config["init_args"]``); default: all
        local cores, no dashboard. ``{"address": "auto"}`` joins a running Ray cluster
        (``ray start --head`` on one machine, ``ray start --address=HEAD:6379`` on the others).
    client_app, server_app
        Replace the project's apps (the research harness wraps the ClientApp to time it and
        runs Flower's bare engine with no-op apps for comparison).
    """
    from flwr.simulation.run_simulation import _run_simulation
    from flwr.supercore.telemetry import EventType

    from coordinator.server_app import app as default_server_app
    from participant_node.client_app import app as default_client_app

    if num_members < 1:
        raise ValueError(f"members must be >= 1; got {num_members}")
    for key, value in RAY_WORKER_ENV.items():
        os.environ.setdefault(key, value)
    write_app_dir(app_dir, run_config)
    if not verbose:
        logging.getLogger("flwr").setLevel(logging.WARNING)
    context = Context(
        run_id=0,
        node_id=0,
        node_config={},
        state=RecordDict(),
        run_config=dict(run_config),
    )
    backend_config = {
        "client_resources": {"num_cpus": cpus_per_member, "num_gpus": 0.0},
        "init_args": dict(ray_init_args)
        if ray_init_args is not None
        else {"num_cpus": max(1, os.cpu_count() or 1), "include_dashboard": False},
    }
    result = _run_simulation(
        num_supernodes=num_members,
        exit_event=EventType.PYTHON_API_RUN_SIMULATION_LEAVE,
        client_app=default_client_app if client_app is None else client_app,
        server_app=default_server_app if server_app is None else server_app,
        backend_name="ray",
        backend_config=backend_config,  # type: ignore[arg-type]
        server_app_context=context,
        app_dir=str(app_dir),
        is_app=True,  # member contexts read run_config from app_dir's pyproject
        verbose_logging=verbose,
    )
    if result is not None and getattr(result, "success", True) is False:
        raise RuntimeError("Flower simulation failed; see the log above")
