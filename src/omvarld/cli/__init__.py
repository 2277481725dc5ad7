"""The `omvarld` command: one Typer app per group of commands, joined in `main`."""
