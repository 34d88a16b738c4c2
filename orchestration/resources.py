"""Dagster resources: where the lake is, resolved when a run or a sensor tick starts."""

from __future__ import annotations

import json
from collections.abc import Mapping

import dagster as dg

from eventlake.settings import ENV_VARS, Settings

_LAKE_VARS = ("lake_root", "storage_options")


class LakeResource(dg.ConfigurableResource):
    """The lake root and object-store options; `settings()` gives them as eventlake Settings.

    Built from the process's Settings; values that came from EVENTLAKE_* variables are bound
    as `EnvVar`s, so Dagster reads them at run time and never shows or stores their values.
    """

    lake_root: str
    storage_options: str = "{}"  # JSON object, as in EVENTLAKE_STORAGE_OPTIONS

    def settings(self) -> Settings:
        """Returns the lake settings (validated like the environment: bad values raise ConfigError)."""
        return Settings.from_env(
            env={
                ENV_VARS["lake_root"]: self.lake_root,
                ENV_VARS["storage_options"]: self.storage_options,
            }
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, env: Mapping[str, str] | None = None
    ) -> LakeResource:
        """Returns the resource for `settings`; variables set in `env` are bound as EnvVars.

        Args:
            settings: the settings built at the entry point.
            env: the environment the settings were read from; None binds every value as a
                literal (for settings that flags may have overridden, as in the CLI).
        """
        values: dict[str, object] = {
            "lake_root": settings.lake_root,
            "storage_options": json.dumps(dict(settings.storage_options)),
        }
        for name in _LAKE_VARS:
            var = ENV_VARS[name]
            if env is not None and env.get(var, "").strip():
                values[name] = dg.EnvVar(var)
        return cls(**values)  # type: ignore[arg-type]
