"""`postoffice user quota` (RFC 9208 storage limit per account): show, set, reset, refuse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def test_user_quota_show_set_and_reset(cli: Callable[..., Any]) -> None:
    assert cli("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n").code == 0
    shown = cli("user", "quota", "alice@example.test")
    assert shown.code == 0
    assert shown.out.splitlines() == ["STORAGE 0 0", "MESSAGE 0 0"]  # no [quota] in the config: no limit
    assert cli("user", "quota", "alice@example.test", "2KiB").code == 0
    assert cli("user", "quota", "alice@example.test").out.splitlines()[0] == "STORAGE 0 2048"
    assert cli("user", "quota", "alice@example.test", "default").code == 0
    assert cli("user", "quota", "alice@example.test").out.splitlines()[0] == "STORAGE 0 0"


def test_user_quota_refusals(cli: Callable[..., Any]) -> None:
    assert cli("user", "quota", "nobody@example.test", "1GiB").code == 1
    assert cli("user", "quota", "nobody@example.test").code == 1
    assert cli("user", "add", "alice@example.test", "--password-stdin", stdin="pw\n").code == 0
    bad = cli("user", "quota", "alice@example.test", "lots")
    assert bad.code == 2 and len(bad.err.strip().splitlines()) == 1
