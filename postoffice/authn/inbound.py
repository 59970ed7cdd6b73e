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

import asyncio
import ipaddress
import os
import random
import tempfile
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from postoffice.config import DNSConfig
from postoffice.message.address import parse_address_list
from postoffice.message.headers import header_text, split_header_block

from .dmarc import DmarcResult, evaluate
from .message import HeaderSplitter
from .resolver import TxtLookup, make_resolver, make_sync_resolver
from .results import authentication_results, strip_forged
from .spf import SpfResult, check_spf
from .verify import DkimResult, DkimVerifier

__all__ = ["InboundChecker", "InboundMessage", "Verdict", "Collected", "collect", "from_domain", "without_forged_results"]

IN_MEMORY = 1024 * 1024  # octets of a checked message held in memory; beyond, a spool file


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

    def __init__(self, dns: DNSConfig, authserv_id: str, *, max_header: int = 1024 * 1024,
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


class Collected:
    """A checked message, rewritten (forged Authentication-Results removed): in memory, or
    in a spool file past ``IN_MEMORY`` octets. :meth:`remove` deletes the file."""

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir
        self._memory = bytearray()
        self.path: Path | None = None
        self._fd = -1

    def _write(self, data: bytes) -> None:
        """Blocking: append ``data``."""
        if self.path is None and len(self._memory) + len(data) <= IN_MEMORY:
            self._memory += data
            return
        if self.path is None:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=self.spool_dir, prefix="authn-", suffix=".eml")
            self.path = Path(name)
            self._fd = fd
            os.write(fd, bytes(self._memory))
            self._memory = bytearray()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def source(self) -> bytes | Path:
        return self.path if self.path is not None else bytes(self._memory)

    def remove(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


async def collect(message: InboundMessage, source: bytes | AsyncIterable[bytes], spool_dir: Path) -> Collected:
    """Read ``source`` whole through ``message`` into a :class:`Collected` (constant
    memory: hashing and file writes of big chunks run in a worker thread)."""
    out = Collected(spool_dir)

    def step(data: bytes) -> None:
        out._write(message.feed(data))

    try:
        if isinstance(source, (bytes, bytearray)):
            step(bytes(source))
        else:
            async for chunk in source:
                if len(chunk) > 64 * 1024 or out.path is not None:
                    await asyncio.to_thread(step, chunk)
                else:
                    step(chunk)
        out._write(message.close())
    except BaseException:
        out._close()
        out.remove()
        raise
    out._close()
    return out


def without_forged_results(
    source: bytes | AsyncIterable[bytes], authserv_id: str, max_header: int
) -> bytes | AsyncIterable[bytes]:
    """``source`` with the Authentication-Results fields that claim ``authserv_id``
    removed (RFC 8601 §5), for routes that check nothing (submission); streamed, only
    the header block is held."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
        split = HeaderSplitter(max_header)
        body = split.feed(data)
        split.close()
        if split.overflow or split.header is None:
            return data
        return strip_forged(split.header, authserv_id) + body

    async def rewritten() -> AsyncIterator[bytes]:
        split = HeaderSplitter(max_header)
        async for chunk in source:
            if split.header is not None:
                yield chunk
                continue
            body = split.feed(chunk)
            if split.header is not None:
                header = split.header if split.overflow else strip_forged(split.header, authserv_id)
                yield header + body
        if split.header is None:
            split.close()
            yield strip_forged(split.header or b"", authserv_id)

    return rewritten()


def _plain_ip(ip: str) -> str:
    """An IPv4-mapped IPv6 peer address as IPv4 (RFC 7208 §5: the client's address)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)
