"""eventlake: the contract every part shares (settings, event registry, table catalog, lake I/O)."""

__version__ = "0.1.0"
