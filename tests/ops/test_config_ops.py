"""The ``[log]``, ``[metrics]`` and ``[server]`` keys of operations: defaults, and one
line naming the key for a bad value."""

from __future__ import annotations

import pytest

from postoffice.config import Config, ConfigError, config_from_dict


def test_defaults() -> None:
    config = Config()
    assert (config.log.format, config.log.level, config.log.addresses, config.log.trace) == ("text", "info", False, ())
    assert config.metrics.bearer_token == ""
    assert (config.server.user, config.server.group, config.server.shutdown_grace) == ("", "", 30.0)


def test_values_are_read() -> None:
    config = config_from_dict(
        {"log": {"format": "json", "level": "debug", "addresses": True, "trace": ["imap", "smtp"]},
         "metrics": {"bearer_token": "t0k"}, "server": {"user": "mail", "group": "mail", "shutdown_grace": "2m"}}
    )  # fmt: skip
    assert config.log.trace == ("imap", "smtp")
    assert config.server.shutdown_grace == 120.0
    assert config.metrics.bearer_token == "t0k"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"log": {"format": "xml"}}, "log.format"),
        ({"log": {"level": "loud"}}, "log.level"),
        ({"log": {"trace": ["nntp"]}}, "log.trace"),
        ({"log": {"addresses": "yes"}}, "log.addresses"),
        ({"log": {"colour": True}}, "log.colour"),
        ({"metrics": {"bearer_token": 5}}, "metrics.bearer_token"),
        ({"server": {"shutdown_grace": "soon"}}, "server.shutdown_grace"),
        ({"server": {"user": 0}}, "server.user"),
    ],
)
def test_bad_values_name_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=f"'{key}'"):
        config_from_dict(raw, source="t.toml")


def test_the_old_smtp_grace_is_read_as_the_one_deadline() -> None:
    config = config_from_dict({"limits": {"smtp": {"shutdown_grace": "45s"}}})
    assert config.server.shutdown_grace == 45.0
    assert not hasattr(config.limits.smtp, "shutdown_grace")


def test_the_old_smtp_grace_and_the_deadline_together_are_refused() -> None:
    raw = {"limits": {"smtp": {"shutdown_grace": "5s"}}, "server": {"shutdown_grace": "30s"}}
    with pytest.raises(ConfigError, match="'limits.smtp.shutdown_grace'"):
        config_from_dict(raw, source="t.toml")
