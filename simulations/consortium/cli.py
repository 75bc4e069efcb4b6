"""`fedcredit sim generate`: write a synthetic consortium to disk."""

import typer

app = typer.Typer()
