"""The dashboard's entry: `streamlit run dashboard/app.py` (from the repo root).

Runs on every rerun of every page: page config, settings, the navigation, the shared sidebar
(as of, day range, filters, live switch), then the selected page from `dashboard/views/`.
What each page shows, and how: docs/dashboard.md.

The page files live in `views/`, not `pages/`: a `pages/` folder beside the entry script
switches Streamlit (1.67) into its legacy multipage mode, which runs a page without this
script as soon as the user navigates, so the sidebar and settings would vanish.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard.shell import access, asof, filters, session

VIEWS = Path(__file__).resolve().parent / "views"


@dataclass(frozen=True)
class PageEntry:
    """One page of the dashboard: its script in views/, its title and its emoji icon."""

    script: str
    title: str
    icon: str  # emoji only: `:material/...:` icons make the browser fetch fonts online

    def page(self, *, default: bool = False) -> st.Page:
        """Returns the st.Page for `st.navigation`."""
        return st.Page(VIEWS / self.script, title=self.title, icon=self.icon, default=default)


# The first page is home.
PAGES: tuple[PageEntry, ...] = (
    PageEntry("overview.py", "Overview", "📊"),
    PageEntry("revenue.py", "Revenue", "💶"),
    PageEntry("funnel.py", "Funnel", "🔻"),
    PageEntry("retention.py", "Retention", "🔁"),
    PageEntry("sessions.py", "Sessions", "⏱️"),
    PageEntry("customers.py", "Customers", "🧑‍🤝‍🧑"),
    PageEntry("products.py", "Products", "📦"),
    PageEntry("lifecycle.py", "Lifecycle", "🌱"),
    PageEntry("pipeline.py", "Pipeline health", "🩺"),
    PageEntry("explorer.py", "Event explorer", "🔍"),
)


def main() -> None:
    """Draws the frame shared by every page and runs the selected one."""
    st.set_page_config(page_title="eventlake", page_icon="🌊", layout="wide")
    access.require_login()  # no-op unless OIDC login is configured in the app's secrets
    settings = session.settings()
    navigation = st.navigation([p.page(default=i == 0) for i, p in enumerate(PAGES)])
    asof.asof_sidebar(settings)
    as_of = asof.moment()
    session.date_range_sidebar(settings, as_of)
    filters.filters_sidebar(settings, as_of)
    session.live_sidebar(disabled=as_of is not None)
    st.sidebar.caption(f"Lake: `{settings.lake_root}`")
    navigation.run()


if __name__ == "__main__":
    main()
