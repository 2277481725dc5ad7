"""What every command group shares: the consoles, turning library errors into a clear
message and exit status 1, the progress bar, and where Prefect keeps its local state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperCommand

from omvarld.core.errors import OmvarldError

console = Console()
err = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print `message` (markup off: `sources[riksdagen]` stays as written), one `error:`
    line per line of it; the exit to raise."""
    for line in message.splitlines() or [""]:
        err.print(f"[bold red]error:[/] {escape(line)}", soft_wrap=True)
    return typer.Exit(1)


@contextmanager
def errors() -> Iterator[None]:
    try:
        yield
    except OmvarldError as exc:
        raise fail(str(exc)) from exc


class QueryArgument(TyperCommand):
    """A command whose text argument may start with a dash: `omvarld search -bostad`
    searches for "-bostad" (what is not one of the command's options is the query;
    `--` before the query works too)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if param.param_type_name == "option":  # Typer ships its own Click
                for name in (*param.opts, *param.secondary_opts):
                    takes_value[name] = not param.is_flag and not param.count
        kept: list[str] = []
        loose: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                loose += args[i + 1:]
                break
            name = arg.split("=", 1)[0]
            if arg.startswith("-") and len(arg) > 1 and name not in takes_value:
                loose.append(arg)
            else:
                kept.append(arg)
                if takes_value.get(name) and "=" not in arg and i + 1 < len(args):
                    kept.append(args[i + 1])
                    i += 1
            i += 1
        return super().parse_args(ctx, [*kept, "--", *loose] if loose else kept)


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
