"""`omvarld` commands: web, web-password, datasette.

Thin: the app is `omvarld.web.create_app`, the Datasette configuration
`omvarld.web.datasette`; these commands check the configuration first (so a wrong value
is a one-line error, not a traceback from inside uvicorn) and print the address."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path
from typing import Annotated

import typer

from omvarld.cli.common import console, err, errors, fail

app = typer.Typer()


@app.command()
def web(
    host: Annotated[str | None, typer.Option(help="Address to bind (default "
                                                  "OMVARLD_WEB_HOST, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default OMVARLD_WEB_PORT, 8000).")
                    ] = None,
) -> None:
    """Serve the analysts' web app and its JSON API (uvicorn).

    On 127.0.0.1 no login is needed; on any other address set OMVARLD_WEB_TOKEN (32
    characters or more) or OMVARLD_WEB_USERS first, and name the host the analysts type
    in OMVARLD_WEB_ALLOWED_HOSTS (the app answers only to its known names).

    Example: omvarld web --port 8000
    """
    import uvicorn

    from omvarld.core.settings import get_settings
    from omvarld.web import create_app

    with errors():
        settings = get_settings().model_copy(update={
            k: v for k, v in {"web_host": host, "web_port": port}.items() if v is not None})
        application = create_app(settings)
    # Load the embedding model in the background: the first semantic query then need not
    # wait for it.
    threading.Thread(target=application.state.ctx.encoder, daemon=True).start()
    shown = f"[{settings.web_host}]" if ":" in settings.web_host else settings.web_host
    console.print(f"omvarld web: http://{shown}:{settings.web_port}/  (API: /api, "
                  f"schema: /openapi.json; Ctrl+C stops)", soft_wrap=True)
    names = sorted(application.state.ctx.policy.allowed_hosts)
    console.print(f"answers to: {', '.join(names)} (more: OMVARLD_WEB_ALLOWED_HOSTS)",
                  soft_wrap=True, highlight=False, markup=False)
    uvicorn.run(application, host=settings.web_host, port=settings.web_port,
                log_level="warning", proxy_headers=False)


@app.command("web-password")
def web_password(
    name: Annotated[str, typer.Argument(help="The user's name.")],
) -> None:
    """Hash a password for OMVARLD_WEB_USERS (asked twice, never echoed).

    Prints `name:hash`; join several users with commas.

    Example: omvarld web-password karin
    """
    from omvarld.web.auth import hash_password

    if not name or ":" in name or "," in name:
        raise fail("a user name may not be empty or contain ':' or ','")
    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise fail("use at least 8 characters")
    console.print(f"{name}:{hash_password(password)}", soft_wrap=True, highlight=False)


@app.command()
def datasette(
    port: Annotated[int, typer.Option(help="Port.")] = 8001,
    host: Annotated[str, typer.Option(help="Address (loopback only: Datasette is served "
                                           "without a login).")] = "127.0.0.1",
    metadata_out: Annotated[Path | None, typer.Option(
        "--metadata", help="Where to write Datasette's metadata (default: beside the store)."
    )] = None,
    write_only: Annotated[bool, typer.Option(
        "--write-only", help="Write the metadata file and print its path; do not serve.")
    ] = False,
) -> None:
    """Open the SQLite store in Datasette with facets, full-text search and labels set up
    (Datasette's own metadata), read-only.

    Example: omvarld datasette --port 8001
    """
    from omvarld.config.load import load_focus_areas
    from omvarld.core.settings import get_settings
    from omvarld.web.auth import is_loopback
    from omvarld.web.datasette import serve_command, write_metadata

    with errors():
        settings = get_settings()
        path = settings.sqlite_path
        if path is None:
            raise fail("Datasette reads SQLite files; OMVARLD_DATABASE_URL points at "
                        "another database")
        if not path.is_file():
            raise fail(f"no store at {path}: run `omvarld weekly` (or crawl) first")
        if not is_loopback(host):
            raise fail(f"{host} is reachable from other machines and Datasette has no "
                        "login here: bind to 127.0.0.1 (or use `omvarld web` with a token)")
        meta = write_metadata(load_focus_areas(settings.config_dir), path,
                              metadata_out or path.with_suffix(".datasette.json"))
    if write_only:
        console.print(f"metadata: {meta}")
        return
    console.print(f"datasette: http://{host}:{port}/  ({path}, metadata {meta}; Ctrl+C stops)",
                  soft_wrap=True)
    try:
        code = subprocess.call(serve_command(path, meta, host, port))
    except KeyboardInterrupt:
        code = 0
    if code:
        err.print(f"datasette exited with status {code}")
        raise typer.Exit(code)
