"""The API application: capture and figures routers, OpenAPI at /docs (docs/api.md).

Built on FastAPI (typed parameters checked into one-line 4xx answers, OpenAPI generated from
the code) served by uvicorn, the usual pairing for a small, well-kept Python HTTP service.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from api.capture import capture_router
from api.figures import figures_router
from eventlake import __version__
from eventlake.settings import Settings
from kafka_io.producer import EventProducer
from telemetry import tracing


def create_app(settings: Settings, producer: EventProducer | None = None) -> FastAPI:
    """Returns the API app of `settings`; capture sends through `producer` (default: a new
    one, created with the app and flushed when it stops)."""
    sender = producer or EventProducer(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if producer is None:  # ours: what was accepted reaches Kafka before the process ends
            sender.flush()

    app = FastAPI(
        title="eventlake API",
        version=__version__,
        summary="Send events over HTTP; read every figure of the dashboard.",
        lifespan=lifespan,
    )
    if settings.api_cors_origins:  # web pages of these origins may post events and read figures
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-Write-Key"],
        )
    app.include_router(capture_router(settings, sender))
    app.include_router(figures_router(settings))

    @app.middleware("http")
    async def traced(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not tracing.is_on():
            return await call_next(request)
        attributes = {"http.request.method": request.method, "url.path": request.url.path}
        with tracing.span(f"eventlake api {request.method}", attributes) as span:
            response = await call_next(request)
            if span is not None:
                span.set_attribute("http.response.status_code", response.status_code)
            return response

    @app.get("/health", tags=["health"], summary="200 while the server runs")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(_: Request, err: RequestValidationError) -> JSONResponse:
        first = err.errors()[0] if err.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "query")
        return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid')}"}, status_code=400)

    @app.exception_handler(HTTPException)
    async def one_line(_: Request, err: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": err.detail}, status_code=err.status_code, headers=err.headers
        )

    return app
