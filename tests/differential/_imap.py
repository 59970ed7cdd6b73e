"""A tiny IMAP client for the differential test: sends a command, reads every response
up to its tagged answer, literals included byte for byte, and parses each response into
nested Python values (atoms as str, strings and literals as bytes, NIL as None, lists
as lists), so two servers' answers can be compared item by item.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

__all__ = ["Client", "Reply", "Value", "parse"]

Value = str | bytes | None | list["Value"]
_LITERAL_END = re.compile(rb"~?\{(\d+)\+?\}\r\n$")


@dataclass
class Reply:
    status: str  # OK, NO, BAD
    text: bytes  # the rest of the tagged line
    untagged: list[bytes]  # each untagged response, literals inline


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int) -> None:
        self.reader, self.writer, self.port = reader, writer, port
        self._n = 0
        self.last = b""
        self.login = b""  # the LOGIN command, to reopen

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer, port)
        await client._read_response()  # greeting
        return client

    async def reopen(self, *commands: bytes) -> None:
        """A new connection to the same server (after it closed this one), then ``commands``."""
        await self.close()
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        await self._read_response()
        for text in commands:
            reply = await self.command(text)
            assert reply.status == "OK", (text, reply)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass

    async def _read_response(self) -> bytes:
        out = bytearray()
        while True:
            line = await asyncio.wait_for(self.reader.readline(), 60)
            if not line:
                raise ConnectionError(f"server {self.writer.get_extra_info('peername')} closed the connection after {self.last!r}")  # noqa: E501
            out += line
            m = _LITERAL_END.search(line)
            if m is None:
                return bytes(out)
            out += await asyncio.wait_for(self.reader.readexactly(int(m.group(1))), 60)

    async def command(self, text: bytes, literal: bytes | None = None, *, binary: bool = False) -> Reply:
        """Send ``tag text`` (with ``literal`` appended as a synchronising literal) and read
        up to the tagged answer."""
        self._n += 1
        tag = b"d%d" % self._n
        self.last = text
        if literal is not None:
            self.writer.write(tag + b" " + text + (b" ~{%d}\r\n" if binary else b" {%d}\r\n") % len(literal))
            await self.writer.drain()
            cont = await self._read_response()
            if not cont.startswith(b"+"):
                status = cont.split(b" ", 2)
                return Reply(status[1].decode(), cont, [])
            self.writer.write(literal + b"\r\n")
        else:
            self.writer.write(tag + b" " + text + b"\r\n")
        await self.writer.drain()
        untagged: list[bytes] = []
        while True:
            resp = await self._read_response()
            if resp.startswith(tag + b" "):
                status, _, rest = resp[len(tag) + 1 :].partition(b" ")
                return Reply(status.decode(), rest, untagged)
            if resp.startswith(b"* "):
                untagged.append(resp[2:])


_ATOM_END = b" ()[]{\r\n"


def parse(data: bytes) -> list[Value]:
    """Parse one response (without the leading ``* ``) into values. A section label
    ``BODY[1.MIME]<0>`` is one atom."""
    pos = 0
    stack: list[list[Value]] = [[]]
    n = len(data)
    while pos < n:
        ch = data[pos : pos + 1]
        if ch in (b" ", b"\r", b"\n"):
            pos += 1
        elif ch == b"(":
            stack.append([])
            pos += 1
        elif ch == b")":
            done = stack.pop()
            stack[-1].append(done)
            pos += 1
        elif ch == b'"':
            pos += 1
            buf = bytearray()
            while pos < n and data[pos : pos + 1] != b'"':
                if data[pos : pos + 1] == b"\\":
                    pos += 1
                buf += data[pos : pos + 1]
                pos += 1
            pos += 1
            stack[-1].append(bytes(buf))
        elif ch in (b"{", b"~") and re.match(rb"~?\{\d+\+?\}\r\n", data[pos:]):
            m = re.match(rb"~?\{(\d+)\+?\}\r\n", data[pos:])
            assert m is not None
            start = pos + m.end()
            size = int(m.group(1))
            stack[-1].append(data[start : start + size])
            pos = start + size
        else:
            end = pos
            depth = 0
            while end < n:
                c = data[end : end + 1]
                if c == b"[":
                    depth += 1
                elif c == b"]":
                    depth -= 1
                elif depth <= 0 and c in (b" ", b"(", b")", b"\r", b"\n"):
                    break
                elif depth > 0 and c in (b"\r", b"\n"):
                    break
                end += 1
            # a section label "BODY[HEADER.FIELDS (A B)]" keeps its list inside the atom
            atom = data[pos:end].decode("utf-8", "replace")
            stack[-1].append(None if atom == "NIL" else atom)
            pos = end if end > pos else pos + 1
    return stack[0]
