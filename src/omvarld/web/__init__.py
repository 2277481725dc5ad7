"""The analysts' web app: search with facets, document pages with their evidence, a
correction form, the digest archive, a weekly dashboard, a JSON API and exports.

Server-rendered (FastAPI + Jinja2) so it works in any browser without JavaScript; the
same search feeds the pages, the API and the CSV / Excel / Parquet exports."""

from omvarld.web.app import create_app

__all__ = ["create_app"]
