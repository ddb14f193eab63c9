from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from oncology_ui.core.env import env_bool, env_int, env_list, env_url, secret_key


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("yes", True), ("OFF", False), ("0", False)]
)
def test_it_reads_booleans(raw: str, expected: bool) -> None:
    assert env_bool("DEBUG", not expected, env={"DEBUG": raw}) is expected


def test_it_refuses_a_malformed_boolean() -> None:
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG", False, env={"DEBUG": "maybe"})


def test_it_uses_the_default_for_an_empty_value() -> None:
    assert (
        env_int("SESSION_IDLE_TIMEOUT_SECONDS", 1800, env={"SESSION_IDLE_TIMEOUT_SECONDS": " "})
        == 1800
    )


@pytest.mark.parametrize("raw", ["thirty", "1.5", "12abc"])
def test_it_refuses_a_non_integer(raw: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="whole number"):
        env_int("X", 1, env={"X": raw})


def test_it_refuses_an_integer_out_of_range() -> None:
    with pytest.raises(ImproperlyConfigured, match="at least 60"):
        env_int("X", 1800, minimum=60, env={"X": "5"})


def test_it_refuses_a_list_with_an_empty_entry() -> None:
    with pytest.raises(ImproperlyConfigured, match="empty entry"):
        env_list("ALLOWED_HOSTS", [], env={"ALLOWED_HOSTS": "a.example,,b.example"})
    assert env_list("ALLOWED_HOSTS", [], env={"ALLOWED_HOSTS": "a.example, b.example"}) == [
        "a.example",
        "b.example",
    ]


def test_it_refuses_a_url_with_the_wrong_scheme() -> None:
    with pytest.raises(ImproperlyConfigured, match="postgres"):
        env_url("DATABASE_URL", None, schemes=("postgres",), env={"DATABASE_URL": "mysql://x/y"})
    assert env_url("REDIS_URL", None, schemes=("redis",), env={}) is None


def test_it_refuses_a_short_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ImproperlyConfigured, match="50 characters"):
        secret_key(
            "SECRET_KEY",
            local_file=tmp_path / "k",
            allow_generate=True,
            env={"SECRET_KEY": "short"},
        )


def test_it_generates_and_keeps_a_local_secret_only_when_allowed(tmp_path: Path) -> None:
    local = tmp_path / "state" / "secret_key"
    with pytest.raises(ImproperlyConfigured, match="not set"):
        secret_key("SECRET_KEY", local_file=local, allow_generate=False, env={})
    first = secret_key("SECRET_KEY", local_file=local, allow_generate=True, env={})
    again = secret_key("SECRET_KEY", local_file=local, allow_generate=False, env={})
    assert first == again and len(first) >= 50
    assert local.stat().st_mode & 0o077 == 0
