"""A tiny authoritative DNS server on loopback UDP for tests (MX, A, AAAA, TXT).

``DNSServer({"b.test": {"MX": ["10 mx1.b.test."], ...}, "mx1.b.test": {"A": ["127.0.0.1"]}})``:
names are matched case-insensitively; a name with no records at all is NXDOMAIN, a
name without the asked type is NOERROR with an empty answer (what RFC 5321 §5.1's
implicit-MX rule depends on). Built on dnspython's message classes; test-only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = ["DNSServer"]


class DNSServer(asyncio.DatagramProtocol):
    def __init__(self, zone: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        self.zone = {name.lower().rstrip("."): dict(records) for name, records in zone.items()}
        self.queries: list[tuple[str, str]] = []
        self.transport: Any = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=("127.0.0.1", 0))
        self.transport = transport  # uvloop's transport does not subclass asyncio's
        return int(transport.get_extra_info("sockname")[1])

    def stop(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        try:
            query = dns.message.from_wire(data)
        except Exception:
            return
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        records = self.zone.get(name)
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif rdtype in records:
            response.answer.append(dns.rrset.from_text_list(question.name, 60, dns.rdataclass.IN, rdtype, list(records[rdtype])))
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)
