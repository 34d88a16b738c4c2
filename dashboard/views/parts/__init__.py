"""What one page draws beyond its own script (the Overview's and Pipeline health's parts)."""

from __future__ import annotations
