"""The default product catalog: a seeded, fixed list of products the simulator sells.

It is a dimension of the read models (`gold/product_performance` joins it on `product_id`), so it
must not change between runs: it is generated from a constant seed, never from the clock.
List prices are in `CATALOG_CURRENCY`; a shop selling in another currency converts them.
"""

from __future__ import annotations

import random
from dataclasses import astuple, dataclass

import polars as pl

from eventlake.catalog import DIM_PRODUCTS

CATALOG_CURRENCY = "EUR"
_SEED = 20240101
_PER_CATEGORY = 24

# category -> (list price range in EUR, product nouns)
# fmt: off
_CATEGORIES: dict[str, tuple[tuple[float, float], tuple[str, ...]]] = {
    "electronics": ((19.0, 899.0), (
        "Wireless Earbuds", "USB-C Charger", "4K Monitor", "Mechanical Keyboard", "Smartwatch",
        "Bluetooth Speaker", "Webcam", "Power Bank", "Noise-Cancelling Headphones", "Tablet"
    )),
    "books": ((6.0, 45.0), (
        "Cookbook", "Thriller", "Travel Guide", "Poetry Collection", "Biography",
        "Science Fiction Novel", "History of Europe", "Programming Handbook", "Atlas", "Comic"
    )),
    "home": ((8.0, 350.0), (
        "Desk Lamp", "Throw Blanket", "Coffee Grinder", "Chef's Knife", "Plant Pot",
        "Bath Towel Set", "Cast Iron Pan", "Wall Clock", "Storage Basket", "French Press"
    )),
    "apparel": ((12.0, 220.0), (
        "Rain Jacket", "Wool Sweater", "Running Shoes", "Denim Jeans", "Linen Shirt", "Beanie",
        "Leather Belt", "Hoodie", "Sneakers", "Scarf"
    )),
    "beauty": ((5.0, 95.0), (
        "Face Serum", "Sunscreen SPF 50", "Shampoo", "Lip Balm", "Hand Cream", "Perfume",
        "Beard Oil", "Night Cream", "Body Lotion", "Hair Mask"
    )),
    "sports": ((9.0, 480.0), (
        "Yoga Mat", "Dumbbell Set", "Cycling Helmet", "Water Bottle", "Tennis Racket",
        "Resistance Bands", "Running Vest", "Climbing Chalk", "Foam Roller", "Swim Goggles"
    )),
    "toys": ((7.0, 150.0), (
        "Building Blocks", "Puzzle 1000 pcs", "Plush Bear", "Board Game", "Remote Control Car",
        "Kite", "Wooden Train", "Card Game", "Science Kit", "Doll House"
    )),
}
_BRANDS = (
    "Aurora", "Nimbus", "Vertex", "Lumen", "Fjord", "Cobalt", "Maple", "Orbit", "Pine", "Quartz",
    "Sierra", "Tidal", "Umbra", "Vela", "Willow", "Zephyr",
)
# fmt: on


@dataclass(frozen=True, slots=True)
class Product:
    """One product of the catalog, with its list price in `currency`."""

    product_id: str
    name: str
    category: str
    price: float
    currency: str


def _generate() -> tuple[Product, ...]:
    rng = random.Random(_SEED)
    products: list[Product] = []
    names: set[str] = set()
    for category, ((low, high), nouns) in _CATEGORIES.items():
        for _ in range(_PER_CATEGORY):
            # log-uniform prices: many cheap items, a few expensive ones
            price = round(low * (high / low) ** rng.random(), 0) - 0.01
            name = f"{rng.choice(_BRANDS)} {rng.choice(nouns)}"
            while name in names:  # names are unique, so a dashboard can show them alone
                name = f"{rng.choice(_BRANDS)} {rng.choice(nouns)}"
            names.add(name)
            pid = f"P{len(products) + 1:04d}"
            products.append(Product(pid, name, category, max(price, 0.99), CATALOG_CURRENCY))
    return tuple(products)


PRODUCTS: tuple[Product, ...] = _generate()
"""The default catalog: 168 products in 7 categories, identical in every run."""

PRODUCTS_BY_ID: dict[str, Product] = {p.product_id: p for p in PRODUCTS}


def products_frame() -> pl.DataFrame:
    """Returns the catalog as a frame of the dim/products table: one row per product
    (product_id, name, category, price, currency)."""
    return pl.DataFrame([astuple(p) for p in PRODUCTS], schema=DIM_PRODUCTS.schema, orient="row")
