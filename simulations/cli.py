"""The `fedcredit` command line: one Typer app, a subcommand group per role."""

from __future__ import annotations

import typer

from graph_risk.cli import app as graph_app
from participant_node.cli import app as node_app
from privacy.cli import app as keys_app
from privacy.cli import ledger_app
from simulations.consortium.cli import app as generate_app
from simulations.run_cli import demo, sim_run

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
app.command("demo")(demo)
app.add_typer(sim_app, name="sim")
node_app.registered_commands.extend(ledger_app.registered_commands)
app.add_typer(node_app, name="node")
app.add_typer(keys_app, name="keys")
app.add_typer(graph_app, name="graph")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
