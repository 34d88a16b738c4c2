"""Who may call the API and how much: the write key, the bearer token, body size and rate.

Every refusal is a 4xx with a one-line `detail` (docs/api.md): 401 without the right secret,
413 for a body over the limit, 429 past the rate, with `Retry-After`.
"""

from __future__ import annotations

import hmac
import math
import threading
import time

from fastapi import HTTPException, Request

from eventlake.settings import Settings

WRITE_KEY_HEADER = "X-Write-Key"


def require_write_key(settings: Settings, request: Request) -> str:
    """Returns the request's write key when it is the configured one.

    Raises:
        HTTPException: 403 when no write key is configured (capture is off), 401 otherwise.
    """
    if settings.api_write_key is None:
        raise HTTPException(
            403, "capture is off: no write key is configured (EVENTLAKE_API_WRITE_KEY)"
        )
    sent = request.headers.get(WRITE_KEY_HEADER, "")
    if not hmac.compare_digest(sent.encode(), settings.api_write_key.encode()):
        raise HTTPException(401, f"missing or wrong {WRITE_KEY_HEADER} header")
    return sent


def require_token(settings: Settings, request: Request) -> None:
    """Returns when the query API is open or the request carries the configured bearer token.

    Raises:
        HTTPException: 401 with a `WWW-Authenticate: Bearer` header.
    """
    if settings.api_token is None:
        return
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        sent.strip().encode(), settings.api_token.encode()
    ):
        raise HTTPException(
            401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


async def limited_body(request: Request, limit: int) -> bytes:
    """Returns the request body, read no further than `limit` bytes.

    Raises:
        HTTPException: 413 when the body (or its announced length) is over the limit.
    """
    announced = request.headers.get("Content-Length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise HTTPException(413, f"body of {announced} bytes is over the limit of {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body is over the limit of {limit} bytes")
    return bytes(body)


class RateLimit:
    """A token bucket per write key: `rate` events per second, bursts of one second's worth."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, events: int) -> None:
        """Takes `events` tokens of `key`'s bucket.

        Raises:
            HTTPException: 429 when the bucket holds fewer, with the seconds to wait.
        """
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - at) * self.rate)
            if events > tokens:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((events - tokens) / self.rate)
                raise HTTPException(
                    429,
                    f"over {self.rate} events/s for this write key: retry in {wait} s",
                    headers={"Retry-After": str(wait)},
                )
            self._buckets[key] = (tokens - events, now)
