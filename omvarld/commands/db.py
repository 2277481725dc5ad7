"""`omvarld` commands: db."""

from __future__ import annotations

from omvarld.cli import app  # noqa: F401
