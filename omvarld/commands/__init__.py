"""Command groups of the `omvarld` CLI that live outside `omvarld.cli`.

Each module registers its commands on `omvarld.cli.app` when imported; `omvarld.cli`
imports them all at its end."""
