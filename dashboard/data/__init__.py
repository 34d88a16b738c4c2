"""What the dashboard reads: every query, plain functions of (settings, scope), and their caches."""

from __future__ import annotations
