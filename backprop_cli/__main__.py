"""`python -m backprop_cli` runs the command-line interface."""

from backprop_cli.cli import main

main()
