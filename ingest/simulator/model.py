"""A seeded model of users and their sessions: the well-formed events of the simulated traffic.

Users arrive, sign up, come back in sessions, browse pages and products, fill carts and order,
at rates close to a real shop's. Sessions are generated whole and merged in event-time order,
so one user's events keep their order while different users' sessions interleave. Everything
random comes from one `random.Random`: the same seed gives the same traffic.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from eventlake.default_products import PRODUCTS, PRODUCTS_BY_ID, Product

SHOP = "https://shop.example.com"
FX_FROM_EUR = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85}  # the shops' price lists per currency

# (value, weight) tables: realistic shapes, not measurements
COUNTRIES = (
    ("US", 28), ("GB", 12), ("DE", 12), ("FR", 9), ("NL", 5), ("ES", 5), ("IT", 5), ("CA", 5),
    ("IN", 4), ("SE", 3), ("PL", 3), ("BR", 3), ("AU", 3), ("JP", 3),
)  # fmt: skip
_EURO = frozenset(("DE", "FR", "NL", "ES", "IT"))
SIGNUP_SOURCES = (
    ("organic", 35), ("google_ads", 20), ("referral", 15), ("facebook", 10), ("newsletter", 8),
    ("tiktok", 7), ("partner", 5),
)  # fmt: skip
PLANS = (("free", 72), ("pro", 21), ("business", 7))
DEVICES = (("web", 60), ("ios", 20), ("android", 12), ("api", 8))
REFERRERS = (
    (None, 35), ("https://www.google.com/", 35), ("https://www.facebook.com/", 10),
    ("https://t.co/", 5), ("https://mail.example.com/", 10), ("https://www.bing.com/", 5),
)  # fmt: skip
_CATEGORIES = sorted({p.category for p in PRODUCTS})

NEW_VISITOR_SHARE = 0.06  # sessions opened by someone never seen before
SIGNUP_FIRST_VISIT = 0.55  # new visitors who sign up during their first session
SIGNUP_LATER_VISIT = 0.25
V2_SHARE = 0.7  # producers already on the latest schema version
CART_RATE = 0.08  # add-to-cart per product view, times the user's propensity
ORDER_RATE = 0.45  # checkout of a non-empty cart, times the user's propensity
SESSION_ID_SHARE = 0.9  # web and app sessions carry a session id; API events do not


def weighted(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    """Returns a value of a (value, weight) table, drawn by weight."""
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


@dataclass
class User:
    """One simulated person: who they are, how active they are, how likely to buy."""

    user_id: str
    country: str
    signup_source: str
    plan: str
    signed_up: bool
    propensity: float  # multiplies cart and order rates; grows after each order (repeat buyers)
    sequence: int = 0  # per-aggregate sequence number, carried in metadata
    visits: int = 0

    @property
    def email(self) -> str:  # personal data: sealed at ingest (docs/privacy.md)
        return f"{self.user_id}@mail.example.com"

    @property
    def ip(self) -> str:  # derived, not drawn: the seeded stream stays as it was
        n = int(self.user_id[1:], 16)
        return f"198.18.{(n >> 8) & 255}.{n & 255}"  # 198.18.0.0/15: never routed

    @property
    def currency(self) -> str:
        if self.country == "GB":
            return "GBP"
        return "EUR" if self.country in _EURO else "USD"


@dataclass(order=True)
class SimEvent:
    """A well-formed event at its simulated time; `timestamp` is added when it is sent."""

    time_ms: int
    seq: int
    event_type: str = field(compare=False)
    aggregate_id: str = field(compare=False)
    envelope: dict[str, Any] = field(compare=False)  # every wire field but `timestamp`
    rfc3339: bool = field(compare=False, default=False)  # producer writes RFC 3339 timestamps


class TrafficModel:
    """Generates the events of a population of users, in simulated-time order."""

    def __init__(
        self,
        rng: random.Random,
        *,
        users: int,
        start_ms: int,
        events_per_s: float,
        personal_data: bool = False,
    ):
        self._rng = rng
        self.personal_data = personal_data  # signups carry an email, logins an ip
        self._users = [self._new_user(signed_up=True) for _ in range(max(users, 1))]
        self._clock_ms = start_ms
        self._events_per_s = events_per_s
        self._heap: list[SimEvent] = []
        self._seq = 0
        self._sessions = 0
        self._events = 0
        self._products = rng.sample(list(PRODUCTS), len(PRODUCTS))  # popularity order per seed
        self._product_cum_weights = list(
            itertools.accumulate(1 / (rank + 1) ** 0.9 for rank in range(len(PRODUCTS)))
        )

    def __iter__(self) -> Iterator[SimEvent]:
        """Returns the endless stream of events, earliest first."""
        while True:
            while not self._heap or self._clock_ms <= self._heap[0].time_ms:
                self._session(self._clock_ms)
                self._clock_ms += self._next_session_gap_ms()
            yield heapq.heappop(self._heap)

    def _next_session_gap_ms(self) -> int:
        per_session = self._events / self._sessions if self._sessions else 10.0
        mean_gap_s = per_session / self._events_per_s
        hour = (self._clock_ms // 3_600_000) % 24
        daily = 0.45 + 0.55 * math.sin(math.pi * ((hour - 5) % 24) / 24)  # quiet at night (UTC)
        return max(1, int(self._rng.expovariate(1.0) * mean_gap_s * 1000 / (daily / 0.8)))

    def _new_user(self, *, signed_up: bool) -> User:
        rng = self._rng
        return User(
            user_id=f"u{rng.getrandbits(48):012x}",
            country=weighted(rng, COUNTRIES),
            signup_source=weighted(rng, SIGNUP_SOURCES),
            plan=weighted(rng, PLANS),
            signed_up=signed_up,
            propensity=rng.lognormvariate(0.0, 0.6),
        )

    def _pick_user(self) -> User:
        rng = self._rng
        if rng.random() < NEW_VISITOR_SHARE:
            self._users.append(self._new_user(signed_up=False))
            return self._users[-1]
        # a power law over the population: early users are the heavy ones
        return self._users[int(len(self._users) * rng.random() ** 2.5)]

    def push(self, time_ms: int, envelope: dict[str, Any], *, rfc3339: bool) -> None:
        """Schedules one event of a session at its simulated time."""
        self._seq += 1
        self._events += 1
        event = SimEvent(
            time_ms, self._seq, envelope["event_type"], envelope["aggregate_id"], envelope, rfc3339
        )
        heapq.heappush(self._heap, event)

    def _product(self) -> Product:
        return self._rng.choices(self._products, cum_weights=self._product_cum_weights)[0]

    def _session(self, start_ms: int) -> None:
        rng = self._rng
        user = self._pick_user()
        user.visits += 1
        device = weighted(rng, DEVICES)
        session_id = None
        if device != "api" and rng.random() < SESSION_ID_SHARE:
            session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        emit = _Emitter(self, rng, user, device, session_id, start_ms)

        landing = rng.choice(("/", "/", "/sale", f"/category/{rng.choice(_CATEGORIES)}"))
        url = emit.page_view(landing, weighted(rng, REFERRERS))
        if not user.signed_up:
            if rng.random() < (SIGNUP_FIRST_VISIT if user.visits == 1 else SIGNUP_LATER_VISIT):
                url = emit.page_view("/signup", url)
                emit.signup()
        elif rng.random() < 0.5:
            login = {"user_id": user.user_id}
            if self.personal_data:
                login["ip"] = user.ip
            emit.event("login", login, gap_s=rng.uniform(2, 15))

        cart: dict[str, int] = {}
        for _ in range(1 + int(rng.expovariate(1 / 3.5))):
            if rng.random() < 0.6:
                product = self._product()
                url = emit.page_view(f"/product/{product.product_id}", url)
                duration = round(rng.lognormvariate(math.log(25), 0.9), 1)
                emit.product_view(product, duration)
                if rng.random() < min(0.9, CART_RATE * user.propensity):
                    quantity = 1 if rng.random() < 0.8 else rng.randint(2, 4)
                    cart[product.product_id] = cart.get(product.product_id, 0) + quantity
                    emit.add_to_cart(product, quantity, gap_s=duration + rng.uniform(1, 8))
            else:
                category = f"/category/{rng.choice(_CATEGORIES)}"
                path = rng.choice(("/search?q=gift", "/help", "/account", "/blog/new", category))
                url = emit.page_view(path, url)
        if cart and rng.random() < min(0.95, ORDER_RATE * user.propensity):
            url = emit.page_view("/cart", url)
            url = emit.page_view("/checkout", url)
            emit.order(cart)
            user.propensity *= 1.3  # happy customers come back and buy again
        if user.signed_up and rng.random() < 0.35:
            emit.event("logout", {"user_id": user.user_id}, gap_s=rng.uniform(5, 60))
        self._sessions += 1


class _Emitter:
    """Builds the events of one session, advancing the session's own clock."""

    def __init__(
        self,
        model: TrafficModel,
        rng: random.Random,
        user: User,
        device: str,
        session_id: str | None,
        start_ms: int,
    ) -> None:
        self.model, self.rng, self.user, self.device = model, rng, user, device
        self.session_id, self.time_ms = session_id, start_ms
        self.cart_id = f"cart-{rng.getrandbits(40):010x}"

    def event(
        self,
        event_type: str,
        payload: dict[str, Any],
        *,
        gap_s: float = 0.0,
        version: int = 1,
        correlate: bool = False,
    ) -> None:
        rng, user = self.rng, self.user
        self.time_ms += int(gap_s * 1000)
        user.sequence += 1
        metadata: dict[str, Any] | None = {"source": self.device, "sequence": user.sequence}
        if self.session_id is not None:
            metadata = {"session_id": self.session_id, **(metadata or {})}
        elif rng.random() < 0.3:
            metadata = None  # some backends send no metadata at all
        if metadata is not None and correlate:
            metadata["correlation_id"] = self.cart_id
        envelope: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_type": event_type,
            "aggregate_id": user.user_id,
            "payload": payload,
        }
        if version != 1 or rng.random() < 0.5:  # v1 producers often leave the default out
            envelope["schema_version"] = version
        if metadata is not None:
            envelope["metadata"] = metadata
        self.model.push(self.time_ms, envelope, rfc3339=self.device == "api")

    def page_view(self, path: str, referrer: str | None) -> str:
        url = f"{SHOP}{path}"
        payload = {"user_id": self.user.user_id, "url": url}
        if referrer is not None:
            payload["referrer"] = referrer
        self.event("page_view", payload, gap_s=self.rng.lognormvariate(math.log(12), 0.7))
        return url

    def signup(self) -> None:
        user = self.user
        payload = {"user_id": user.user_id, "signup_source": user.signup_source, "plan": user.plan}
        version = 2 if self.rng.random() < V2_SHARE else 1
        if version == 2:
            payload["country"] = user.country
        if self.model.personal_data:
            payload["email"] = user.email
        self.event("user_signup", payload, gap_s=self.rng.uniform(20, 90), version=version)
        user.signed_up = True

    def product_view(self, product: Product, duration: float) -> None:
        payload = {"user_id": self.user.user_id, "product_id": product.product_id}
        self.event("product_view", {**payload, "view_duration": duration}, gap_s=1.0)
        self.time_ms += int(duration * 1000)  # the next event comes after the viewing

    def add_to_cart(self, product: Product, quantity: int, *, gap_s: float) -> None:
        payload = {"user_id": self.user.user_id, "product_id": product.product_id}
        self.event("add_to_cart", {**payload, "quantity": quantity}, gap_s=gap_s, correlate=True)

    def order(self, cart: dict[str, int]) -> None:
        currency = self.user.currency
        items: list[dict[str, Any]] = []
        for product_id, quantity in cart.items():
            unit_price = round(PRODUCTS_BY_ID[product_id].price * FX_FROM_EUR[currency], 2)
            items.append({"product_id": product_id, "quantity": quantity, "unit_price": unit_price})
        total = round(sum(i["quantity"] * i["unit_price"] for i in items), 2)
        version = 2 if self.rng.random() < V2_SHARE else 1
        if version == 1:
            items = [{"product_id": i["product_id"], "quantity": i["quantity"]} for i in items]
        payload = {
            "user_id": self.user.user_id,
            "order_id": f"o{self.rng.getrandbits(56):014x}",
            "total_amount": total,
            "currency": currency,
            "items": items,
        }
        gap = self.rng.uniform(20, 120)
        self.event("order_placed", payload, gap_s=gap, version=version, correlate=True)
