"""`eventlake api`: the HTTP API (capture endpoint and figures) on uvicorn (docs/api.md).

FastAPI and uvicorn load in the handler, so `--help` stays fast.
"""

from __future__ import annotations

import argparse

from cli.args import command, tcp_port
from eventlake.settings import Settings

DEFAULT_PORT = 8000


def register(sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Adds `api` to the `eventlake` parser."""
    p = command(sub, "api", _serve, parent)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=tcp_port(1), default=DEFAULT_PORT, help="port (default 8000)")


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    """serve the HTTP API: send events (POST /v1/events), read figures (GET /v1/figures)

    Serve the HTTP API until Ctrl-C: the capture endpoint for clients that
    cannot speak Kafka (needs EVENTLAKE_API_WRITE_KEY) and every figure of the dashboard
    as JSON, CSV or Arrow (bearer token EVENTLAKE_API_TOKEN when set). OpenAPI at /docs.

    examples:
      eventlake api
      eventlake api --host 0.0.0.0 --port 8080
      curl 'http://127.0.0.1:8000/v1/figures/revenue_daily?from=2026-03-01&currency=EUR'
    """
    import uvicorn

    from api.app import create_app

    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_level=args.log_level.lower()
    )
    return 0
