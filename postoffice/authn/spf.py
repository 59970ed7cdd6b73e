"""SPF (RFC 7208) through pyspf, the reference implementation, on our resolver.

Owns :func:`check_spf`. pyspf evaluates the record (mechanisms, macros, the limits of
RFC 7208 §4.6.4: 10 DNS-querying terms, 2 void lookups) with blocking DNS, so it runs
in a worker thread; its lookups go through the resolver of ``[dns]`` (pyspf's
module-level ``DNSLookup`` is pointed, once, at :func:`_lookup`, which reads the
resolver of the calling check from a context variable: each check uses its own).
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.rdatatype
import dns.resolver
import spf

__all__ = ["SpfResult", "check_spf"]

_resolver: contextvars.ContextVar[dns.resolver.Resolver] = contextvars.ContextVar("spf_resolver")


@dataclass(frozen=True, slots=True)
class SpfResult:
    result: str  # RFC 7208 §2.6: none, neutral, pass, fail, softfail, temperror, permerror
    domain: str  # the domain checked: MAIL FROM's, or HELO's for the null sender
    identity: str  # "mailfrom" or "helo" (RFC 8601 §2.7.2 smtp.mailfrom / smtp.helo)
    explanation: str = ""


def _lookup(name: str, qtype: str, strict: bool = True, timeout: float = 20) -> list[tuple[tuple[str, str], Any]]:
    """pyspf's DNSLookup contract: [((name, type), data)], [] for no data, TempError."""
    resolver = _resolver.get()
    out: list[tuple[tuple[str, str], Any]] = []
    try:
        answer = resolver.resolve(name, qtype, search=False, lifetime=min(timeout, resolver.lifetime))
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
        return out
    except dns.exception.DNSException as exc:
        raise spf.TempError(f"DNS {exc}") from None
    for rdata in answer:
        if qtype in ("A", "AAAA"):
            out.append(((name, qtype), rdata.address))
        elif qtype == "MX":
            out.append(((name, qtype), (rdata.preference, rdata.exchange)))
        elif qtype == "PTR":
            out.append(((name, qtype), rdata.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            out.append(((name, qtype), rdata.strings))
    return out


spf.DNSLookup = _lookup


def _check(ip: str, sender: str, helo: str, receiver: str) -> tuple[str, str]:
    # querytime: RFC 7208 §4.6.4 recommends at least 20 s for the whole evaluation.
    query = spf.query(i=ip, s=sender, h=helo, receiver=receiver, querytime=20)
    result, _code, explanation = query.check()
    return str(result), str(explanation)


async def check_spf(resolver: dns.resolver.Resolver, *, ip: str, mail_from: str, helo: str, receiver: str) -> SpfResult:
    """The SPF result for a client ``ip`` (RFC 7208 §2.4: MAIL FROM, or for the null
    sender the HELO identity, §2.3)."""
    if mail_from and "@" in mail_from:
        domain, identity, sender = mail_from.rsplit("@", 1)[1].lower(), "mailfrom", mail_from
    else:
        domain, identity, sender = helo.lower(), "helo", f"postmaster@{helo}"
    context = contextvars.copy_context()
    context.run(_resolver.set, resolver)
    try:
        result, explanation = await asyncio.to_thread(context.run, _check, ip, sender, helo, receiver)
    except Exception as exc:  # pyspf raises on malformed input (an IP it cannot read)
        return SpfResult("permerror", domain, identity, f"{type(exc).__name__}: {exc}")
    return SpfResult(result, domain, identity, explanation)
