"""Real clients using the IMAP extensions of RFC 4978 (COMPRESS=DEFLATE) and RFC 9208
(QUOTA) against the server over real sockets.

imapclient has no COMPRESS, so Python's imaplib is driven by hand: after the tagged OK
its reads and writes go through zlib with raw DEFLATE, as RFC 4978 §3 says. imapclient
asks for quotas with its own get_quota_root / get_quota.
"""

from __future__ import annotations

import asyncio
import imaplib
import zlib
from typing import Any

import imapclient

from postoffice.testing.server import TranscriptServer

USER = "alice@example.test"
PASSWORD = "password"


class DeflateIMAP4(imaplib.IMAP4):
    """imaplib with COMPRESS=DEFLATE switched on by :meth:`compress`."""

    wire_in = 0  # octets read from the socket after the switch

    def compress(self) -> tuple[str, list[bytes | None]]:
        imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))
        typ, data = self._simple_command("COMPRESS", "DEFLATE")
        if typ == "OK":
            self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
            self._inflate = zlib.decompressobj(-15)
            self._plain = bytearray()
        return typ, data

    @property
    def compressing(self) -> bool:
        return hasattr(self, "_deflate")

    def send(self, data: bytes) -> None:
        if self.compressing:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self) -> None:
        raw = self.sock.recv(65536)
        if not raw:
            raise self.abort("socket closed")
        self.wire_in += len(raw)
        self._plain += self._inflate.decompress(raw)

    def read(self, size: int) -> bytes:
        if not self.compressing:
            return super().read(size)
        while len(self._plain) < size:
            self._fill()
        data = bytes(self._plain[:size])
        del self._plain[:size]
        return data

    def readline(self) -> bytes:
        if not self.compressing:
            return super().readline()
        while b"\n" not in self._plain:
            self._fill()
        idx = self._plain.index(b"\n") + 1
        line = bytes(self._plain[:idx])
        del self._plain[:idx]
        return line


async def test_imaplib_with_compress_deflate() -> None:
    body = b"".join(b"line %08d of a compressible message\r\n" % i for i in range(50_000))  # ~2 MB
    big = b"Subject: big\r\nFrom: bob@example.test\r\n\r\n" + body
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")

        def client() -> tuple[bytes, str, str, int, bool]:
            m = DeflateIMAP4("127.0.0.1", port)
            m.login(USER, PASSWORD)
            typ, caps = m.capability()
            assert caps[0] is not None and b"COMPRESS=DEFLATE" in caps[0].split()
            typ, _ = m.compress()
            assert typ == "OK"
            typ, caps = m.capability()
            assert typ == "OK" and caps[0] is not None and b"COMPRESS=DEFLATE" not in caps[0].split()
            assert m.append("INBOX", None, None, big)[0] == "OK"  # a literal, compressed
            m.select("INBOX")
            before = m.wire_in
            typ, data = m.fetch("1", "(BODY.PEEK[])")  # streamed from the blobs, compressed
            item = data[0]
            assert isinstance(item, tuple)
            fetched_wire = m.wire_in - before
            # RFC 4978 §3 / RFC 5530: a second COMPRESS is refused, compressed like the rest.
            typ, _ = m._simple_command("COMPRESS", "DEFLATE")
            code = "COMPRESSIONACTIVE" in m.untagged_responses  # imaplib files response codes there
            noop = m.noop()[0]
            m.logout()
            return item[1], typ, noop, fetched_wire, code

        fetched, second, noop, wire, code = await asyncio.to_thread(client)
    assert fetched == big
    assert second == "NO" and code
    assert noop == "OK"
    assert wire < len(big) // 4  # the body really went compressed


async def test_imapclient_quota() -> None:
    overrides = {"quota.default_storage": "1MiB", "quota.default_messages": 100}
    async with TranscriptServer("imap", users=["alice"], config_overrides=overrides) as srv:
        await srv.deliver(["alice"], b"Subject: one\r\n\r\n" + b"x" * 3000 + b"\r\n")
        port = await srv.start_listener("imap")

        def client() -> tuple[Any, list[Any], list[Any], str]:
            c = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False)
            c.login(USER, PASSWORD)
            assert b"QUOTA" in c.capabilities()
            roots, quotas = c.get_quota_root("INBOX")
            direct = c.get_quota("INBOX")
            try:
                c.set_quota(quotas[:1])
                refused = ""
            except imapclient.exceptions.IMAPClientError as exc:
                refused = str(exc)
            c.logout()
            return roots, quotas, direct, refused

        roots, quotas, direct, refused = await asyncio.to_thread(client)
    assert roots.quota_roots == [""]
    by_resource = {q.resource: (q.usage, q.limit) for q in quotas}
    assert by_resource["STORAGE"][1] == 1024 and 3 <= by_resource["STORAGE"][0] <= 4
    assert by_resource["MESSAGE"] == (1, 100)
    assert direct == quotas
    assert "NOPERM" in refused


async def test_imaplib_metadata_and_a_binary_value() -> None:
    """imaplib has no METADATA methods: its generic command machinery sends them (it
    cannot close a list after a literal, so the value is quoted; the transcripts send
    literals), and a raw client a literal8 with NUL octets."""
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")

        def client() -> tuple[str, list[object], str]:
            for name in ("GETMETADATA", "SETMETADATA"):
                imaplib.Commands.setdefault(name, ("AUTH", "SELECTED"))
            m = imaplib.IMAP4("127.0.0.1", port)
            m.login(USER, PASSWORD)
            typ, _ = m._simple_command("SETMETADATA", "INBOX", '(/private/comment "my comment")')
            assert typ == "OK", typ
            typ, _ = m._simple_command("GETMETADATA", "INBOX", "/private/comment")
            _, data = m._untagged_response(typ, [None], "METADATA")
            typ2, _ = m._simple_command("SETMETADATA", "INBOX", '(/private/x "1")')
            m.logout()
            return typ, data, typ2

        typ, data, typ2 = await asyncio.to_thread(client)
        assert typ == "OK" and typ2 == "OK"
        item = data[0]
        assert item == b'INBOX (/private/comment "my comment")'

        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        writer.write(b"a LOGIN alice@example.test password\r\n")
        while not (await reader.readline()).startswith(b"a OK"):
            pass
        writer.write(b"b SETMETADATA \"\" (/private/vendor/x/bin ~{4+}\r\na\x00b\xff)\r\n")
        assert (await reader.readline()).startswith(b"b OK")
        writer.write(b"c GETMETADATA \"\" /private/vendor/x/bin\r\n")
        assert await reader.readline() == b'* METADATA "" (/private/vendor/x/bin ~{4}\r\n'
        assert await reader.readexactly(7) == b"a\x00b\xff)\r\n"
        assert (await reader.readline()).startswith(b"c OK")
        writer.close()


async def test_imapclient_finds_a_mailbox_created_with_a_special_use() -> None:
    """RFC 6154 §3 CREATE-SPECIAL-USE: a mailbox created with ``USE (\\All)`` (imaplib's
    generic machinery: neither client has a USE argument) is the one imapclient's
    find_special_folder picks by its attribute, not by a popular name."""
    async with TranscriptServer("imap", users=["alice"]) as srv:
        port = await srv.start_listener("imap")

        def client() -> tuple[str, str | None, str]:
            m = imaplib.IMAP4("127.0.0.1", port)
            m.login(USER, PASSWORD)
            typ, _ = m._simple_command("CREATE", "Everything", "(USE (\\All))")
            refused, _ = m._simple_command("CREATE", "Odd", "(USE (\\Bogus))")
            m.logout()
            c = imapclient.IMAPClient("127.0.0.1", port=port, ssl=False)
            c.login(USER, PASSWORD)
            found = c.find_special_folder(b"\\All")
            c.logout()
            return typ, found, refused

        typ, found, refused = await asyncio.to_thread(client)
    assert typ == "OK"
    assert found == "Everything"
    assert refused == "NO"
