"""What every page shares: the frame, the session, the sidebar controls, access, widgets."""

from __future__ import annotations
