"""The environment every bench script runs git and promptreg in: no user or system git
configuration, no ambient GIT_*/PROMPTREG_* variables, a fixed identity, C locale, no colour."""

from __future__ import annotations

import os


def hermetic_env(
    name: str, email: str, home: str | None = None, date: str | None = None
) -> dict[str, str]:
    """A copy of os.environ that git and promptreg cannot be steered by; `home` replaces HOME,
    `date` (any date git accepts) pins author and committer dates."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "PROMPTREG_")) and k not in ("NO_COLOR", "LANG", "LC_ALL")
    }
    env.update(
        LC_ALL="C",
        NO_COLOR="1",
        GIT_CONFIG_GLOBAL="/dev/null",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_NAME=name,
        GIT_AUTHOR_EMAIL=email,
        GIT_COMMITTER_NAME=name,
        GIT_COMMITTER_EMAIL=email,
    )
    if home is not None:
        env["HOME"] = home
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return env
