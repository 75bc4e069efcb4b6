"""``python -m simulations.serve [OPTIONS]``: the ``fedcredit serve`` command alone, without
importing the whole ``fedcredit`` CLI (whose other commands pull in torch and Flower): the
same options, the same code, a faster start (benchmarks, process managers)."""

import typer

from simulations.serve.cli import serve

if __name__ == "__main__":
    typer.run(serve)
