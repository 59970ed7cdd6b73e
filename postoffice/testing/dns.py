"""A small authoritative DNS server for tests, on loopback, over UDP and TCP.

Owns :class:`TestDNSServer`: zones given as a dict ``{name: {type: [rdata text, ...]}}``
(names without the trailing dot; TXT values as plain strings, split into 255-octet
strings here), changeable while it runs with :meth:`TestDNSServer.set` (answers carry
TTL 0 by default, so no resolver cache hides a change). It answers
from the dict: the records, NOERROR with no answer when the name exists without that
type, NXDOMAIN otherwise; a CNAME is followed within the dict. UDP answers larger than
the client's EDNS size (512 without EDNS) come back truncated (TC), as RFC 1035 §4.2.1
says, and the client asks again over TCP. Runs in its own threads, so blocking and
asyncio clients alike can use it, and so can a server in another process.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Mapping, Sequence

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

__all__ = ["TestDNSServer", "Zones"]

Zones = Mapping[str, Mapping[str, Sequence[str]]]


def _txt(value: str) -> str:
    """A TXT value as RDATA text: quoted strings of at most 255 octets (RFC 1035 §3.3.14)."""
    if value.startswith('"'):
        return value
    raw = value.encode()
    pieces = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return " ".join('"' + p.decode().replace("\\", "\\\\").replace('"', '\\"') + '"' for p in pieces)


class TestDNSServer:
    """``with TestDNSServer(zones) as dns: ...`` serves on ``dns.address`` (UDP and TCP)."""

    __test__ = False  # not a pytest class

    def __init__(self, zones: Zones | None = None, *, host: str = "127.0.0.1", ttl: int = 0) -> None:
        self.ttl = ttl  # 0 (default): answers are not cached, so a test may change records
        self._lock = threading.Lock()
        self._zones: dict[str, dict[str, list[str]]] = {}
        for name, types in (zones or {}).items():
            for rtype, values in types.items():
                self.set(name, rtype, values)
        self.host = host
        self.queries: list[tuple[str, str]] = []  # (name, type) asked, in order
        self._udp, self._tcp = self._bind(host)
        self.port = self._udp.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @staticmethod
    def _bind(host: str) -> tuple[socket.socket, socket.socket]:
        for _ in range(50):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind((host, 0))
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                tcp.bind((host, udp.getsockname()[1]))
            except OSError:
                udp.close()
                tcp.close()
                continue
            tcp.listen(16)
            return udp, tcp
        raise OSError("no port free for both UDP and TCP")

    @property
    def address(self) -> str:
        """For ``[dns] nameservers``: "127.0.0.1:PORT"."""
        return f"{self.host}:{self.port}"

    def set(self, name: str, rtype: str, values: Sequence[str]) -> None:
        """Replace the records of one name and type ([] removes them)."""
        name, rtype = name.lower().rstrip("."), rtype.upper()
        if rtype == "TXT":
            values = [_txt(v) for v in values]
        with self._lock:
            types = self._zones.setdefault(name, {})
            if values:
                types[rtype] = list(values)
            else:
                types.pop(rtype, None)

    # ---- answering ---------------------------------------------------------------------
    def answer(self, wire: bytes, max_size: int | None) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        qname = question.name.to_text(omit_final_dot=True).lower()
        qtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((qname, qtype))
        with self._lock:
            name = qname
            for _ in range(8):
                types = self._zones.get(name)
                if types is None:
                    if name == qname:
                        response.set_rcode(dns.rcode.NXDOMAIN)
                    break
                if qtype in types:
                    response.answer.append(dns.rrset.from_text_list(name + ".", self.ttl, "IN", qtype, types[qtype]))
                    break
                if "CNAME" in types and qtype != "CNAME":
                    target = types["CNAME"][0]
                    response.answer.append(dns.rrset.from_text_list(name + ".", self.ttl, "IN", "CNAME", [target]))
                    name = target.lower().rstrip(".")
                    continue
                break
        if max_size is None:
            return response.to_wire()
        if query.edns >= 0:
            max_size = max(512, query.payload)
        try:
            return response.to_wire(max_size=max_size)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()

    # ---- threads -----------------------------------------------------------------------
    def _serve_udp(self) -> None:
        self._udp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                wire, peer = self._udp.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            reply = self.answer(wire, 512)
            if reply is not None:
                self._udp.sendto(reply, peer)

    def _serve_tcp(self) -> None:
        self._tcp.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._tcp.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._tcp_client, args=(conn,), daemon=True).start()

    def _tcp_client(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            with conn:
                while True:
                    head = _recv_exact(conn, 2)
                    if head is None:
                        return
                    wire = _recv_exact(conn, struct.unpack("!H", head)[0])
                    if wire is None:
                        return
                    reply = self.answer(wire, None)
                    if reply is None:
                        return
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
        except OSError:
            return

    def start(self) -> TestDNSServer:
        for target in (self._serve_udp, self._serve_tcp):
            thread = threading.Thread(target=target, name=f"test-dns-{target.__name__}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self._udp.close()
        self._tcp.close()

    def __enter__(self) -> TestDNSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    data = b""
    while len(data) < n:
        piece = conn.recv(n - len(data))
        if not piece:
            return None
        data += piece
    return data
