"""The checks of the MX listener: SPF, DKIM and DMARC, and what they decide.

Owns :class:`InboundChecker` (one per server: resolvers, authserv-id) and
:class:`InboundMessage` (one per message): fed the message as it arrives, it removes
Authentication-Results fields that claim our authserv-id (RFC 8601 §5), hashes the body
for each DKIM signature, and at the end gives a :class:`Verdict`: our
Authentication-Results field and the DMARC disposition (RFC 7489 §6.6.4, §10.3).

Invariant: only the header block is held in memory (at most ``max_header`` octets);
beyond that limit nothing is verified (dkim=permerror) and the message passes unchanged.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass

from postoffice.config import DnsConfig
from postoffice.message.address import parse_address_list
from postoffice.message.headers import header_text, split_header_block

from .dmarc import DmarcResult, evaluate
from .message import HeaderSplitter
from .resolver import TxtLookup, make_resolver, make_sync_resolver
from .results import authentication_results, strip_forged
from .spf import SpfResult, check_spf
from .verify import DkimResult, DkimVerifier

__all__ = ["InboundChecker", "InboundMessage", "Verdict", "from_domain"]


@dataclass(frozen=True, slots=True)
class Verdict:
    header: bytes  # the Authentication-Results field to prepend (CRLF-terminated)
    spf: SpfResult
    dkim: tuple[DkimResult, ...]
    dmarc: DmarcResult

    @property
    def disposition(self) -> str:
        """none (deliver), quarantine (deliver to Junk) or reject (refuse: 550 5.7.1)."""
        return self.dmarc.policy if self.dmarc.result == "fail" else "none"


def from_domain(header: bytes) -> str | None:
    """RFC 7489 §6.6.1: the one RFC5322.From domain; None when there is not exactly one
    From field with exactly one address."""
    froms = [raw for name, raw in split_header_block(header) if name.lower() == "from"]
    if len(froms) != 1:
        return None
    addresses = [a for a in parse_address_list(header_text(froms[0])) if not a.group and a.mailbox]
    domains = {a.host.lower() for a in addresses if a.host}
    if len(addresses) < 1 or len(domains) != 1:
        return None
    return domains.pop()


class InboundChecker:
    """The MX side's sender authentication, shared by every session of a server."""

    def __init__(self, dns: DnsConfig, authserv_id: str, *, max_header: int = 1024 * 1024,
                 rng: random.Random | None = None) -> None:
        self.lookup = TxtLookup(make_resolver(dns))
        self.sync_resolver = make_sync_resolver(dns)
        self.authserv_id = authserv_id
        self.max_header = max_header
        self.rng = rng

    def message(self) -> InboundMessage:
        return InboundMessage(self)


class InboundMessage:
    """One message: :meth:`feed` the bytes and keep what it returns, :meth:`close`, then
    ``await`` :meth:`verdict`."""

    def __init__(self, checker: InboundChecker) -> None:
        self.checker = checker
        self._split = HeaderSplitter(checker.max_header)
        self._verifier: DkimVerifier | None = None
        self.header = b""

    def _header_done(self) -> bytes:
        header = self._split.header or b""
        if self._split.overflow:
            return header
        self.header = strip_forged(header, self.checker.authserv_id)
        self._verifier = DkimVerifier(self.header)
        return self.header

    def feed(self, data: bytes) -> bytes:
        """The bytes to store for ``data`` (the header block comes out once complete)."""
        if self._split.header is not None:
            if self._verifier is not None:
                self._verifier.update(data)
            return data
        body = self._split.feed(data)
        if self._split.header is None:
            return b""
        header = self._header_done()
        if body and self._verifier is not None:
            self._verifier.update(body)
        return header + body

    def close(self) -> bytes:
        """The end of the message: what is still held (a message that is all header)."""
        if self._split.header is not None:
            return b""
        self._split.close()
        return self._header_done()

    async def verdict(self, *, ip: str, helo: str, mail_from: str) -> Verdict:
        checker = self.checker
        spf = await check_spf(checker.sync_resolver, ip=_plain_ip(ip), mail_from=mail_from, helo=helo,
                              receiver=checker.authserv_id)
        if self._verifier is None:
            dkim: list[DkimResult] = [DkimResult("permerror", "", "", "", "", "header block too large")]
        else:
            dkim = await self._verifier.finish(checker.lookup)
        dmarc = await evaluate(checker.lookup, from_domain(self.header), spf, dkim, rng=checker.rng)
        return Verdict(authentication_results(checker.authserv_id, spf, dkim, dmarc), spf, tuple(dkim), dmarc)


def _plain_ip(ip: str) -> str:
    """An IPv4-mapped IPv6 peer address as IPv4 (RFC 7208 §5: the client's address)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)
