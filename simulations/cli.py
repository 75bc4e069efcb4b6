"""The `fedcredit` command line: one Typer app, a subcommand group per role."""

from __future__ import annotations

import typer

from coordinator.cli import app as coordinator_app
from graph_risk.cli import app as graph_app
from participant_node.cli import app as node_app
from participant_node.deploy_cli import app as node_deploy_app
from privacy.cli import app as keys_app
from privacy.cli import ledger_app
from simulations.consortium.cli import app as generate_app
from simulations.experiments.cli import app as research_app
from simulations.run_cli import demo, sim_run
from simulations.serve.cli import auth_app, serve

app = typer.Typer(
    name="fedcredit",
    help="Federated credit scoring for industry alliances.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
sim_app = typer.Typer(
    help="Researcher commands: generate data, run simulations.", no_args_is_help=True
)
sim_app.registered_commands.extend(generate_app.registered_commands)
sim_app.command("run")(sim_run)
sim_app.registered_commands.extend(research_app.registered_commands)
app.command("demo")(demo)
app.add_typer(sim_app, name="sim")
node_app.registered_commands.extend(ledger_app.registered_commands)
node_app.registered_commands.extend(node_deploy_app.registered_commands)
app.add_typer(coordinator_app, name="coordinator")
app.add_typer(node_app, name="node")
app.add_typer(keys_app, name="keys")
app.add_typer(graph_app, name="graph")
app.command("serve")(serve)
app.add_typer(auth_app, name="auth")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
