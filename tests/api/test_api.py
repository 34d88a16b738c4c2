"""The HTTP API on real parts: `eventlake api` started on a free port, called over HTTP.

The figures come from a lake filled by the simulator and materialized by Dagster, and must be
the dashboard's own query answers (and the gold rows where a query passes them through); events
posted to the capture endpoint go through the real broker and `eventlake ingest` into bronze.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import msgspec
import polars as pl
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from polars.testing import assert_frame_equal

from api.app import create_app
from api.capture import MAX_BATCH
from api.figures import FIGURES
from dashboard.data.scope import Scope, Segment
from eventlake import lake
from eventlake.catalog import (
    BRONZE_DEAD_LETTERS,
    BRONZE_EVENTS,
    GOLD_REVENUE_DAILY,
    SILVER_EVENTS,
)
from eventlake.settings import Settings
from kafka_io import outgoing
from tests.ingest import conftest as ingest_fixtures

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "dashboard"))
from dashboard_lake import SimulatedLake, build  # isort: skip
from processes import EVENTLAKE, env_for  # isort: skip
from ingest_checks import free_port  # isort: skip

broker_bootstrap = ingest_fixtures.broker_bootstrap
TOKEN, WRITE_KEY = "figures-token", "write-key-1"
RATE = 200  # events per second per write key on the test server
ORIGIN = "https://shop.example.com"  # the web page allowed to call the test server


@dataclass(frozen=True)
class Server:
    url: str
    lake: SimulatedLake
    kafka: Settings  # the topics capture produces to


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, broker_bootstrap: str) -> Iterator[Server]:
    """`eventlake api` over a simulated, materialized lake and fresh topics."""
    root = tmp_path_factory.mktemp("api") / "lake"
    built = build(Settings.from_env(env={}, lake_root=str(root)))
    kafka = ingest_fixtures.fresh_settings(built.settings, broker_bootstrap)
    port = free_port()
    env = {**env_for(kafka), "EVENTLAKE_API_TOKEN": TOKEN, "EVENTLAKE_API_WRITE_KEY": WRITE_KEY,
           "EVENTLAKE_API_RATE_LIMIT": str(RATE), "EVENTLAKE_API_MAX_BODY_BYTES": "200000",
           "EVENTLAKE_API_CORS_ORIGINS": ORIGIN}  # fmt: skip
    process = subprocess.Popen(
        [EVENTLAKE, "api", "--port", str(port), "--log-level", "WARNING"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, process)
        yield Server(url, built, kafka)
    finally:
        process.terminate()
        process.wait(10)


def wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stdout.read().decode() if process.stdout else "exited")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("eventlake api did not answer within 60 s")


def get(server: Server, path: str, **params: object) -> httpx.Response:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return httpx.get(f"{server.url}{path}", params=params, headers=headers, timeout=60)


def rows(response: httpx.Response, like: pl.DataFrame) -> pl.DataFrame:
    """Returns a JSON answer (ISO 8601 dates and times) as a frame with the schema of `like`."""
    assert response.status_code == 200, response.text
    texts = {c: pl.String if t.is_temporal() else t for c, t in like.schema.items()}
    frame = pl.DataFrame(response.json() or None, schema=texts)
    return frame.with_columns(
        pl.col(c).str.to_datetime(time_zone="UTC") if isinstance(t, pl.Datetime)
        else pl.col(c).str.to_date()
        for c, t in like.schema.items() if t.is_temporal()
    )  # fmt: skip


# --- figures ---------------------------------------------------------------------------------


def test_every_figure_is_the_query_the_dashboard_runs(server: Server) -> None:
    settings = server.lake.settings
    every_day = Scope(first=server.lake.first, last=server.lake.last)  # no from/to: every day
    for name, figure in FIGURES.items():
        expected = figure.query(settings, every_day)
        found = rows(get(server, f"/v1/figures/{name}"), expected)
        assert expected.height > 0, name
        assert_frame_equal(found, expected, check_exact=False, rel_tol=1e-12)


def test_revenue_everyone_is_the_gold_table(server: Server) -> None:
    gold = lake.scan(server.lake.settings, GOLD_REVENUE_DAILY).collect().sort("day", "currency")
    found = rows(get(server, "/v1/figures/revenue_daily"), gold)
    assert_frame_equal(found, gold, check_exact=False, rel_tol=1e-12)


def test_filtered_figures_are_the_filtered_queries(server: Server) -> None:
    lake_ = server.lake
    signed_up = Segment(plans=("free", "pro", "business"))  # users with a signup event
    scope = Scope(first=lake_.first, last=lake_.last, segment=signed_up)
    theirs = FIGURES["revenue_daily"].query(lake_.settings, scope)
    assert theirs.height > 0, "no signed-up user ordered: the simulated lake lacks the case"
    top = theirs.group_by("currency").agg(pl.col("orders").sum()).sort("orders")["currency"][-1]
    scope = replace(scope, currencies=(top,))
    expected = FIGURES["revenue_daily"].query(lake_.settings, scope)
    response = get(server, "/v1/figures/revenue_daily", **{
        "from": str(lake_.first), "to": str(lake_.last), "currency": top,
        "plan": ["free", "pro", "business"],
    })  # fmt: skip
    found = rows(response, expected)
    assert expected.height > 0 and set(found["currency"]) == {top}
    assert_frame_equal(found, expected, check_exact=False, rel_tol=1e-12)
    everyone = FIGURES["revenue_daily"].query(lake_.settings, replace(scope, segment=Segment()))
    assert found["orders"].sum() < everyone["orders"].sum()  # the segment did narrow it


def test_events_by_type_count_silver(server: Server) -> None:
    settings = server.lake.settings
    silver = (
        lake.scan(settings, SILVER_EVENTS)
        .filter(pl.col("event_type").is_in(["order_placed", "login"]))
        .collect()
    )
    expected = (
        silver.group_by(day="event_date", event_type="event_type")
        .agg(events=pl.len(), users=pl.col("user_id").n_unique())
        .sort("day", "event_type")
    )
    params = {"event_type": ["order_placed", "login"]}
    found = rows(get(server, "/v1/figures/events_daily", **params), expected)
    assert expected.height > 0
    assert_frame_equal(found, expected, check_dtypes=False)
    assert get(server, "/v1/figures/events_daily", event_type="nope").status_code == 400


def test_csv_and_arrow_hold_the_same_figures(server: Server) -> None:
    expected = FIGURES["funnel_daily"].query(server.lake.settings, Scope())
    csv = get(server, "/v1/figures/funnel_daily", format="csv")
    arrow = get(server, "/v1/figures/funnel_daily", format="arrow")
    assert csv.headers["content-type"].startswith("text/csv")
    from_csv = pl.read_csv(io.BytesIO(csv.content), schema=expected.schema)
    assert_frame_equal(from_csv, expected, check_exact=False, rel_tol=1e-9)
    assert_frame_equal(pl.read_ipc_stream(io.BytesIO(arrow.content)), expected)


def test_live_figures_of_today(server: Server) -> None:
    response = get(server, "/v1/live/users")
    assert response.status_code == 200, response.text
    (today,) = response.json()
    assert today["day"] == str(datetime.now(UTC).date()) and today["dau"] > 0
    assert "X-Eventlake-Computed-At" in response.headers
    assert get(server, "/v1/live/users", as_of="2026-01-01T00:00:00Z").status_code == 400


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/v1/figures/nope", {}, 404),
        ("/v1/figures/funnel_daily", {"currency": "EUR"}, 400),  # not per currency
        ("/v1/figures/customer_rfm", {"from": "2026-01-01"}, 400),  # not per day
        ("/v1/figures/revenue_daily", {"event_type": "login"}, 400),  # not per event type
        ("/v1/figures/traffic_hourly", {"country": "DE"}, 400),  # for everyone
        ("/v1/figures/revenue_daily", {"from": "2026-13-01"}, 400),
        ("/v1/figures/revenue_daily", {"from": "2026-02-02", "to": "2026-02-01"}, 400),
        ("/v1/figures/revenue_daily", {"format": "xml"}, 400),
        ("/v1/live/nope", {}, 404),
    ],
)
def test_bad_queries_get_a_one_line_4xx(
    server: Server, path: str, params: dict[str, str], status: int
) -> None:
    response = get(server, path, **params)
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail


def test_figures_need_the_bearer_token(server: Server) -> None:
    bare = httpx.get(f"{server.url}/v1/figures/revenue_daily", timeout=10)
    wrong = httpx.get(f"{server.url}/v1/figures/revenue_daily", timeout=10,
                      headers={"Authorization": "Bearer nope"})  # fmt: skip
    assert bare.status_code == wrong.status_code == 401
    assert bare.headers["www-authenticate"] == "Bearer"


def test_before_the_lake_existed_there_was_nothing(server: Server) -> None:
    response = get(server, "/v1/figures/revenue_daily", as_of="2000-01-01T00:00:00Z")
    assert response.status_code == 200 and response.json() == []


def test_openapi_documents_every_endpoint(server: Server) -> None:
    spec = httpx.get(f"{server.url}/openapi.json", timeout=10).json()
    assert {"/v1/events", "/v1/figures", "/v1/figures/{name}", "/v1/live/{part}"} <= set(
        spec["paths"]
    )


def test_as_of_reads_the_lake_as_it_was(server: Server) -> None:
    settings = server.lake.settings
    before = lake.scan(settings, GOLD_REVENUE_DAILY).collect()
    moment = datetime.now(UTC)
    time.sleep(0.05)
    day = before["day"].max()
    restated = before.filter(pl.col("day") == day).with_columns(pl.col("orders") + 1000)
    lake.replace_days(settings, GOLD_REVENUE_DAILY, restated, day, day)
    try:
        now = rows(get(server, "/v1/figures/revenue_daily", **{"from": str(day)}), before)
        then = rows(get(server, "/v1/figures/revenue_daily", **{"from": str(day),
                                                                 "as_of": moment.isoformat()}), before)  # fmt: skip
        assert now["orders"].sum() == then["orders"].sum() + 1000 * restated.height
    finally:
        lake.replace_days(
            settings, GOLD_REVENUE_DAILY, before.filter(pl.col("day") == day), day, day
        )


# --- capture ---------------------------------------------------------------------------------


def post(
    server: Server, body: object, *, key: str | None = WRITE_KEY, raw: bytes | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-Write-Key"] = key
    content = raw if raw is not None else msgspec.json.encode(body)
    return httpx.post(f"{server.url}/v1/events", content=content, headers=headers, timeout=30)


def envelope(event: outgoing.OutgoingEvent) -> dict[str, object]:
    return json.loads(event.value)


def test_captured_events_reach_bronze_exactly_rejects_never(server: Server, tmp_path: Path) -> None:
    good = [outgoing.page_view(f"u-http-{i}", url=f"/p{i}") for i in range(20)]
    good.append(outgoing.order_placed("u-http-0", order_id="o-http", currency="EUR",
                                      items=[outgoing.OrderItem("P1", 2, 5.0)]))  # fmt: skip
    bad_quantity = {**envelope(outgoing.add_to_cart("u1", product_id="P", quantity=1)),
                    "payload": {"user_id": "u1", "product_id": "P", "quantity": 0}}  # fmt: skip
    bad_version = {**envelope(outgoing.logout("u1")), "schema_version": 7}
    no_id = {k: v for k, v in envelope(outgoing.logout("u1")).items() if k != "event_id"}
    batch = [*map(envelope, good), bad_quantity, "not an object", bad_version, no_id]

    response = post(server, batch)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["accepted"], answer["rejected"], answer["failed"]) == (len(good), 4, 0)
    codes = [r.get("code") for r in answer["results"][len(good) :]]
    assert codes == ["payload_invalid", "not_an_object", "unknown_schema_version", "missing_field"]
    assert all(
        r["status"] == "accepted" and r["offset"] >= 0 for r in answer["results"][: len(good)]
    )

    ingested = replace(server.kafka, lake_root=str(tmp_path / "lake"))
    done = subprocess.run([EVENTLAKE, "ingest", "--until-idle"], env=env_for(ingested),
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    bronze = lake.scan(ingested, BRONZE_EVENTS).collect()
    assert sorted(bronze["event_id"]) == sorted(e.event_id for e in good)
    assert lake.open_table(ingested, BRONZE_DEAD_LETTERS) is None or (
        lake.scan(ingested, BRONZE_DEAD_LETTERS).collect().height == 0
    )


def test_a_web_page_of_an_allowed_origin_may_post_events(server: Server) -> None:
    def preflight(origin: str) -> httpx.Response:
        headers = {"Origin": origin, "Access-Control-Request-Method": "POST",
                   "Access-Control-Request-Headers": "content-type,x-write-key"}  # fmt: skip
        return httpx.options(f"{server.url}/v1/events", headers=headers, timeout=10)

    allowed = preflight(ORIGIN)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert "access-control-allow-origin" not in preflight("https://evil.example.com").headers


def test_capture_needs_the_write_key(server: Server) -> None:
    event = envelope(outgoing.logout("u1"))
    assert post(server, event, key=None).status_code == 401
    assert post(server, event, key="wrong").status_code == 401


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"{not json", 400),
        (b"42", 400),
        (b"[]", 400),
        (b"[" + b",".join([b"{}"] * (MAX_BATCH + 1)) + b"]", 413),
        (b'{"pad": "' + b"x" * 250_000 + b'"}', 413),
    ],
)
def test_malformed_and_oversized_bodies_get_a_4xx(server: Server, raw: bytes, status: int) -> None:
    response = post(server, None, raw=raw)
    assert response.status_code == status, response.text
    assert "\n" not in response.json()["detail"]


def test_a_write_key_over_its_rate_is_told_when_to_retry(server: Server) -> None:
    batch = [envelope(outgoing.logout(f"u{i}")) for i in range(RATE)]
    statuses = [post(server, batch).status_code for _ in range(3)]
    assert 429 in statuses
    limited = post(server, batch)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    time.sleep(2)
    assert post(server, batch[:10]).status_code == 200


def test_days_are_dates_in_every_answer(server: Server) -> None:
    (first,) = get(server, "/v1/figures/daily_active_users").json()[:1]
    assert date.fromisoformat(first["day"]) >= server.lake.first


# --- the Grafana example ---------------------------------------------------------------------

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"


def test_every_grafana_panel_is_answered_with_its_columns(server: Server) -> None:
    board = json.loads((GRAFANA / "dashboards" / "eventlake.json").read_text())
    values = {"${__from:date:YYYY-MM-DD}": str(server.lake.first),
              "${__to:date:YYYY-MM-DD}": str(server.lake.last), "$currency": "EUR"}  # fmt: skip
    targets = [t for p in board["panels"] for t in p["targets"]]
    assert len(targets) == len(board["panels"]) >= 5
    for t in targets:
        params = {p["key"]: values.get(p["value"], p["value"]) for p in t["url_options"]["params"]}
        answer = get(server, t["url"], **params)
        assert answer.status_code == 200, (t["url"], answer.text)
        found = answer.json()
        assert found, f"{t['url']} answered no rows"
        wanted = {c["selector"] for c in t["columns"]}
        assert wanted <= set(found[0]), (t["url"], wanted - set(found[0]))


def test_with_tracing_on_each_request_is_a_span(
    settings: Settings, traces: InMemorySpanExporter
) -> None:
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/v1/figures/nope").status_code == 404
    spans = [s for s in traces.get_finished_spans() if s.name == "eventlake api GET"]
    statuses = sorted(s.attributes["http.response.status_code"] for s in spans)
    assert statuses == [200, 404]
    assert {s.attributes["url.path"] for s in spans} == {"/health", "/v1/figures/nope"}
