"""Typed readers for settings taken from environment variables.

Each helper refuses a malformed value with an ``ImproperlyConfigured`` error naming the variable,
so a typo in a deployment fails at start-up instead of silently falling back to a default.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str, env: Mapping[str, str] | None) -> str | None:
    source = os.environ if env is None else env
    value = source.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def env_str(name: str, default: str, *, env: Mapping[str, str] | None = None) -> str:
    value = _raw(name, env)
    return default if value is None else value


def env_bool(name: str, default: bool, *, env: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, env)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, not {value!r}")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, env)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}")
    if maximum is not None and number > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {number}")
    return number


def env_choice(
    name: str,
    default: str,
    *,
    choices: tuple[str, ...],
    case_sensitive: bool = True,
    env: Mapping[str, str] | None = None,
) -> str:
    """One of ``choices``; with ``case_sensitive=False`` the value is matched (and returned) as
    the choice is spelt, so ``info`` reads as ``INFO``."""
    value = _raw(name, env)
    if value is None:
        return default
    for choice in choices:
        if value == choice or (not case_sensitive and value.lower() == choice.lower()):
            return choice
    raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def env_list(name: str, default: list[str], *, env: Mapping[str, str] | None = None) -> list[str]:
    value = _raw(name, env)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(",")]
    if any(item == "" for item in items):
        raise ImproperlyConfigured(
            f"{name} is a comma-separated list with an empty entry: {value!r}"
        )
    return items


def env_url(
    name: str,
    default: str | None,
    *,
    schemes: tuple[str, ...],
    env: Mapping[str, str] | None = None,
) -> str | None:
    """A URL whose scheme is one of ``schemes`` (for example ``postgres`` or ``redis``)."""
    value = _raw(name, env)
    if value is None:
        return default
    parsed = urlparse(value)
    if parsed.scheme not in schemes:
        allowed = ", ".join(schemes)
        raise ImproperlyConfigured(
            f"{name} must start with one of {allowed}:// (got {parsed.scheme!r})"
        )
    if parsed.scheme not in {"sqlite"} and not parsed.hostname and not parsed.path:
        raise ImproperlyConfigured(f"{name} has no host or path: {value!r}")
    return value


def secret_key(
    name: str, *, local_file: Path, allow_generate: bool, env: Mapping[str, str] | None = None
) -> str:
    """The secret key from the environment, or one generated once and kept in ``local_file``.

    Generating is only allowed for the embedded default (DEBUG or the local demo); a production
    deployment without ``SECRET_KEY`` is refused so that sessions never depend on a throwaway key.
    """
    value = _raw(name, env)
    if value is not None:
        if len(value) < 50:
            raise ImproperlyConfigured(f"{name} must be at least 50 characters long")
        return value
    if local_file.exists():
        return local_file.read_text().strip()
    if not allow_generate:
        raise ImproperlyConfigured(f"{name} is not set; set it in the environment for production")
    local_file.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(64)
    local_file.write_text(key + "\n")
    local_file.chmod(0o600)
    return key
