"""`omvarld` commands: search."""

from __future__ import annotations

from omvarld.cli import app  # noqa: F401
