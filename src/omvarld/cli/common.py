"""What every command group shares: the consoles, turning library errors into a clear
message and exit status 1, the progress bar, and where Prefect keeps its local state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from omvarld.core.errors import OmvarldError

console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(1)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except OmvarldError as exc:
        raise fail(str(exc)) from exc


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=False)


def prepare_prefect(data_dir: Path) -> None:
    """Prefect's ephemeral API keeps a SQLite file under PREFECT_HOME: give each store its
    own so parallel runs never meet 'database is locked'."""
    home = Path(os.environ.setdefault("PREFECT_HOME", str((data_dir / ".prefect").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # the local API starts in a subprocess; on a busy machine it needs more than 20 s
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def data_dir() -> Path:
    from omvarld.core.settings import get_settings

    path = get_settings().sqlite_path
    return path.parent if path else Path("data")
