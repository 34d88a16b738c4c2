"""What turns query results into figures and charts: pure functions, no I/O, no Streamlit."""

from __future__ import annotations
