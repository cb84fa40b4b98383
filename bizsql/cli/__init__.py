"""The `bizsql` command line: ``app`` is the Typer app, ``main`` the console script (see ``cli.app``)."""

from bizsql.cli.app import app, main

__all__ = ["app", "main"]
