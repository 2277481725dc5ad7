"""The `omvarld` command: a thin layer over the library. Every command has help and an
example; library errors become a clear message and a non-zero exit status.

Each group of commands is its own Typer app in its own module, joined here."""

from __future__ import annotations

import logging
import os
import sys
from typing import Annotated

import typer
from rich.logging import RichHandler

from omvarld.cli import db, models, ops, pipeline, search, sources, web
from omvarld.cli.common import err

app = typer.Typer(help="Stakeholder intelligence for Malmö stad: crawl, classify, digest.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more.")] = False
         ) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
        handlers=[RichHandler(console=err, show_path=False)],
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


for group in (pipeline, ops, search, web):
    app.add_typer(group.app)
app.add_typer(sources.app, name="sources")
app.add_typer(models.app, name="models")
app.add_typer(db.db_app, name="db")
app.add_typer(sources.app, name="sources")
app.add_typer(search.watch_app, name="watch")

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
