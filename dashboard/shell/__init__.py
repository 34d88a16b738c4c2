"""What every page shares: the frame, the session, the sidebar controls, access, widgets."""
