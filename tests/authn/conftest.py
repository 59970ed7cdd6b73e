"""Fixtures for sender-authentication tests: a test DNS server on loopback and DKIM keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from postoffice.authn import DkimKeys
from postoffice.testing.dns import TestDNSServer


@pytest.fixture
def dns_server() -> Iterator[TestDNSServer]:
    with TestDNSServer() as server:
        yield server


@pytest.fixture
def keys(tmp_path: Path) -> DkimKeys:
    return DkimKeys(tmp_path / "dkim")


def publish_keys(dns: TestDNSServer, keys: DkimKeys, domain: str) -> None:
    """Put the DKIM key records of ``domain`` on the test DNS server."""
    for key in keys.keys(domain):
        dns.set(f"{key.selector}._domainkey.{domain}", "TXT", [key.public_record()])
