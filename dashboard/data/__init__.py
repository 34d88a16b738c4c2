"""What the dashboard reads: every query, plain functions of (settings, scope), and their caches.

With no segment filter a page query reads its gold table as it is (days pruned, columns
selected); with one, it runs the gold table's own pure projection (`assets/`) over the silver
rows of the segment's users (`segments`), so a filtered figure is computed as its gold twin.

The pure projections of `assets/` are imported in the functions that run them: `assets/` loads
Dagster (about a second), which the gold reads of an unfiltered page never need, so the first
page after a server start does not wait for it (docs/dashboard.md, Speed).
"""

from __future__ import annotations
