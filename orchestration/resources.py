"""Dagster resources: where the lake is, resolved when a run or a sensor tick starts."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import dagster as dg

from eventlake.errors import ConfigError
from eventlake.settings import ENV_VARS, Settings

_LAKE_VARS = ("lake_root", "storage_options")


class LakeResource(dg.ConfigurableResource):
    """The lake root and object-store options; `settings()` gives them as eventlake Settings.

    Built from the process's Settings; values that came from EVENTLAKE_* variables are bound
    as `EnvVar`s, so Dagster reads them at run time and never shows or stores their values.
    """

    lake_root: str
    storage_options: str = "{}"  # JSON object, as in EVENTLAKE_STORAGE_OPTIONS
    log_root: str | None = None  # a scratch lake's event log (`Settings.log_root`)

    def settings(self) -> Settings:
        """Returns the lake settings (validated like the environment: bad values raise ConfigError)."""
        return Settings.from_env(
            env={
                ENV_VARS["lake_root"]: self.lake_root,
                ENV_VARS["storage_options"]: self.storage_options,
            },
            log_root=self.log_root,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, env: Mapping[str, str] | None = None
    ) -> LakeResource:
        """Returns the resource for `settings`; variables set in `env` are bound as EnvVars.

        Args:
            settings: the settings built at the entry point.
            env: the environment the settings were read from; None binds every value as a
                literal (for settings that flags may have overridden, as in the CLI), except
                storage options that the process environment holds as they are.
        """
        values: dict[str, object] = {
            "lake_root": settings.lake_root,
            "storage_options": json.dumps(dict(settings.storage_options)),
            "log_root": settings.log_root,  # set in code only, never from the environment
        }
        for name in _LAKE_VARS:
            var = ENV_VARS[name]
            if env is not None and env.get(var, "").strip():
                values[name] = dg.EnvVar(var)
        if env is None and _options_from_environment(settings):
            # A literal lands in the run's job snapshot (Dagster's storage and UI): keep the
            # options' secrets out of it. No flag overrides them, so the variable is the truth.
            values["storage_options"] = dg.EnvVar(ENV_VARS["storage_options"])
        return cls(**values)  # type: ignore[arg-type]


def _options_from_environment(settings: Settings) -> bool:
    """True when this process's EVENTLAKE_STORAGE_OPTIONS holds exactly the settings' options."""
    var = ENV_VARS["storage_options"]
    raw = os.environ.get(var, "").strip()
    if not raw or not settings.storage_options:
        return False
    try:
        return Settings.from_env(env={var: raw}).storage_options == settings.storage_options
    except ConfigError:
        return False
