"""CLI subcommands, one module each (see core/cli.py for the contract)."""
