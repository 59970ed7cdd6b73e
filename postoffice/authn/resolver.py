"""DNS for sender authentication: one asyncio resolver built from ``[dns]``.

Owns :func:`make_resolver` (dnspython's asyncio resolver on the configured nameservers,
or the system's) and :class:`TxtLookup`, the TXT lookups SPF, DKIM and DMARC make, with
their outcome told apart as RFC 7208 §5 / RFC 6376 §6.1.2 / RFC 7489 §6.6.3 need it:
records, no records (NXDOMAIN or no TXT: a "none" result), or a temporary failure.
"""

from __future__ import annotations

import logging

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from postoffice.config import DNSConfig

__all__ = ["make_resolver", "make_sync_resolver", "TxtLookup", "DnsTempError"]

log = logging.getLogger("postoffice.authn")


class DnsTempError(Exception):
    """The lookup failed for now (timeout, SERVFAIL): a temperror result."""


def _nameservers(config: DNSConfig) -> list[dns.nameserver.Nameserver]:
    return [dns.nameserver.Do53Nameserver(ip, port) for ip, port in config.addresses()]


def _unconfigured() -> list[dns.nameserver.Nameserver]:
    log.warning("no /etc/resolv.conf and no [dns] nameservers: asking 127.0.0.1:53")
    return [dns.nameserver.Do53Nameserver("127.0.0.1", 53)]


def make_resolver(config: DNSConfig) -> dns.asyncresolver.Resolver:
    """The asyncio resolver for ``config`` (the system's when no nameserver is named),
    with a cache that keeps answers for their TTL (RFC 1035 §3.2.1)."""
    if config.nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = _nameservers(config)
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = _unconfigured()
    resolver.lifetime = config.timeout
    resolver.cache = dns.resolver.Cache()
    return resolver


def make_sync_resolver(config: DNSConfig) -> dns.resolver.Resolver:
    """The blocking twin (for library code that runs in a worker thread)."""
    if config.nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = _nameservers(config)
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = _unconfigured()
    resolver.lifetime = config.timeout
    resolver.cache = dns.resolver.Cache()  # thread-safe
    return resolver


class TxtLookup:
    """TXT records of a name, each record's strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2)."""

    def __init__(self, resolver: dns.asyncresolver.Resolver) -> None:
        self.resolver = resolver

    async def txt(self, name: str) -> list[bytes]:
        """The TXT records at ``name``; [] when there are none; DnsTempError otherwise."""
        try:
            answer = await self.resolver.resolve(name, dns.rdatatype.TXT, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
            raise DnsTempError(f"{name}: {exc}") from None
        except dns.exception.DNSException as exc:
            raise DnsTempError(f"{name}: {exc}") from None
        return [b"".join(rdata.strings) for rdata in answer]
