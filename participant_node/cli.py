"""`fedcredit node ...`: the member's commands."""

import typer

app = typer.Typer(help="Member (participant node) commands.", no_args_is_help=True)
