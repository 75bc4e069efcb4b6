"""`fedcredit graph ...`: relationship knowledge graph commands."""

import typer

app = typer.Typer(help="Relationship knowledge graph commands.", no_args_is_help=True)
