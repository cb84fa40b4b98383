"""``python -m bizsql.cli``: the same entry point as the console script."""

from bizsql.cli import main

main()
