"""HTTP ranges on the attachment endpoint (RFC 9110 §14), against the real app and the
SQLite store: what is sent, and what is read from the part store to send it.

A large attachment is one blob file of its decoded octets; every range answer must read
that range of it and nothing more (``BlobStore.bytes_read``)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import shutil
import socket
import sys
from pathlib import Path

import httpx
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postoffice.app import Services, open_services
from postoffice.clock import ManualClock
from postoffice.mail.auth import fast_hasher
from postoffice.mail.web import WebMail
from postoffice.store.sqlite.web import SQLiteWebStore
from postoffice.testing.server import build_config
from postoffice.web.app import WebApp, make_app

sys.path.insert(0, str(Path(__file__).parent))

from web_helpers import DOMAIN, PASSWORD, client_for, sign_in  # noqa: E402

PAYLOAD = bytes(range(256)) * 400 + b"tail"  # 100 KiB and a bit: a part of its own in the part store


def with_attachment(payload: bytes, content_type: str = "application/octet-stream") -> bytes:
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    return (
        b"From: bob@example.test\r\nSubject: ranged\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n"
        b"--m\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--m\r\nContent-Type: " + content_type.encode() + b"\r\nContent-Disposition: attachment; filename=data.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--m--\r\n"
    )


async def deliver(services: Services, payload: bytes = PAYLOAD) -> str:
    uid = (await services.mail.deliver(with_attachment(payload), [f"alice@{DOMAIN}"])).records[0].uid
    return f"/message/{uid}/part/2?folder=INBOX"


def multipart_parts(response: httpx.Response) -> list[tuple[str, bytes]]:
    """(Content-Range, body) of each part of a multipart/byteranges answer (RFC 9110 §14.6)."""
    m = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]+)", response.headers["content-type"])
    assert m, response.headers["content-type"]
    delimiter = b"\r\n--" + m.group(1).encode()
    body = response.content
    assert body.endswith(delimiter + b"--\r\n")
    parts = []
    for chunk in body[: -len(delimiter + b"--\r\n")].split(delimiter)[1:]:
        head, _, data = chunk[2:].partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        assert fields["Content-Type"] == "application/octet-stream"
        parts.append((fields["Content-Range"], data))
    return parts


async def test_range_table_reads_only_what_it_sends(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    url = await deliver(services)
    size = len(PAYLOAD)
    whole = await alice.get(url)
    assert whole.status_code == 200 and whole.content == PAYLOAD
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-length"] == str(size)
    etag = whole.headers["etag"]
    # A strong entity-tag: the SHA-256 of the decoded part, which is its blob's name.
    assert etag == f'"{hashlib.sha256(PAYLOAD).hexdigest()}"'
    table = [
        # (Range, status, body, Content-Range)
        ("bytes=0-1", 206, PAYLOAD[0:2], f"bytes 0-1/{size}"),
        ("bytes=1000-1999", 206, PAYLOAD[1000:2000], f"bytes 1000-1999/{size}"),
        ("bytes=-500", 206, PAYLOAD[-500:], f"bytes {size - 500}-{size - 1}/{size}"),
        (f"bytes={size - 3}-", 206, PAYLOAD[-3:], f"bytes {size - 3}-{size - 1}/{size}"),
        (f"bytes=100-{size * 2}", 206, PAYLOAD[100:], f"bytes 100-{size - 1}/{size}"),
        (f"bytes={size}-", 416, b"", f"bytes */{size}"),
        ("bytes=-0", 416, b"", f"bytes */{size}"),
        ("bytes=5-1", 200, PAYLOAD, None),  # invalid: ignored
        ("lines=1-2", 200, PAYLOAD, None),  # unknown unit: ignored
    ]
    for header, status, body, content_range in table:
        before = services.blobs.bytes_read
        r = await alice.get(url, headers={"Range": header})
        assert (r.status_code, r.content) == (status, body), header
        assert r.headers.get("content-range") == content_range, header
        assert r.headers["content-length"] == str(len(body)) and r.headers["etag"] == etag, header
        assert services.blobs.bytes_read - before == len(body), header  # that range of the blob, no more


async def test_two_ranges_are_multipart_byteranges(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    url = await deliver(services)
    size = len(PAYLOAD)
    before = services.blobs.bytes_read
    r = await alice.get(url, headers={"Range": "bytes=0-1,-500"})
    assert r.status_code == 206 and "content-range" not in r.headers
    assert int(r.headers["content-length"]) == len(r.content)
    assert multipart_parts(r) == [(f"bytes 0-1/{size}", PAYLOAD[:2]), (f"bytes {size - 500}-{size - 1}/{size}", PAYLOAD[-500:])]
    assert services.blobs.bytes_read - before == 502
    # Overlapping ranges are coalesced into one: a single part, not multipart.
    one = await alice.get(url, headers={"Range": "bytes=0-10,5-20"})
    assert one.status_code == 206 and one.content == PAYLOAD[:21] and one.headers["content-range"] == f"bytes 0-20/{size}"


async def test_head_and_if_range(alice: httpx.AsyncClient, webmail: tuple[WebApp, Services]) -> None:
    _, services = webmail
    url = await deliver(services)
    before = services.blobs.bytes_read
    head = await alice.head(url, headers={"Range": "bytes=0-1"})  # Range is for GET only (§14.2)
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(PAYLOAD))
    assert head.headers["accept-ranges"] == "bytes"
    assert services.blobs.bytes_read == before  # HEAD reads nothing
    etag = head.headers["etag"]
    fresh = await alice.get(url, headers={"Range": "bytes=0-1", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == PAYLOAD[:2]
    for stale in ('"0123"', "W/" + etag, "Fri, 04 Dec 2026 17:00:00 GMT"):
        r = await alice.get(url, headers={"Range": "bytes=0-1", "If-Range": stale})
        assert r.status_code == 200 and r.content == PAYLOAD, stale  # stale validator: the whole


async def test_max_ranges_limit_edge(webmail: tuple[WebApp, Services], alice: httpx.AsyncClient) -> None:
    _, services = webmail
    url = await deliver(services)
    limit = services.config.limits.http.max_ranges
    at = "bytes=" + ",".join(f"{10 * n}-{10 * n}" for n in range(limit))
    assert (await alice.get(url, headers={"Range": at})).status_code == 206
    over = await alice.get(url, headers={"Range": at + f",{10 * limit}-{10 * limit}"})
    assert over.status_code == 200 and over.content == PAYLOAD


def test_hypothesis_ranges_against_the_bytes(tmp_path: Path) -> None:
    """Any range set over HTTP answers exactly bytes[first:last+1] of the part, per part."""
    loop = asyncio.new_event_loop()
    services = loop.run_until_complete(open_services(build_config(tmp_path / "data"), clock=ManualClock()))
    try:
        services.mail.auth.hasher = fast_hasher()
        loop.run_until_complete(services.mail.add_user(f"alice@{DOMAIN}", PASSWORD))
        roles = SQLiteWebStore(services.store.db)  # type: ignore[attr-defined]
        client = client_for(make_app(WebMail(services.mail, roles, roles)))
        assert loop.run_until_complete(sign_in(client)).status_code == 303
        url = loop.run_until_complete(deliver(services))
        size = len(PAYLOAD)
        position = st.integers(min_value=0, max_value=size + 10)
        spec = st.one_of(
            st.tuples(position, position).map(lambda t: (min(t), max(t))),
            position.map(lambda n: (n, None)),
            st.integers(min_value=1, max_value=size + 10).map(lambda n: (None, n)),
        )

        @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(st.lists(spec, min_size=1, max_size=4))
        def check(specs: list[tuple[int | None, int | None]]) -> None:
            header = "bytes=" + ",".join(f"{'' if a is None else a}-{'' if b is None else b}" for a, b in specs)
            r = loop.run_until_complete(client.get(url, headers={"Range": header}))
            wanted: set[int] = set()
            for a, b in specs:
                if a is None:
                    assert b is not None
                    wanted |= set(range(max(0, size - b), size))
                elif a < size:
                    wanted |= set(range(a, size if b is None else min(size, b + 1)))
            if not wanted:
                assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
                return
            assert r.status_code == 206
            if r.headers["content-type"].startswith("multipart/byteranges"):
                parts = multipart_parts(r)
                assert len(parts) >= 2
            else:
                parts = [(r.headers["content-range"], r.content)]
            got: set[int] = set()
            for content_range, data in parts:
                m = re.fullmatch(rf"bytes (\d+)-(\d+)/{size}", content_range)
                assert m, content_range
                s, e = int(m.group(1)), int(m.group(2))
                assert data == PAYLOAD[s : e + 1]
                got |= set(range(s, e + 1))
            assert got == wanted

        check()
        loop.run_until_complete(client.aclose())
    finally:
        loop.run_until_complete(services.close())
        loop.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="Debian's curl is not installed (make test-deps)")
async def test_curl_resumed_download_has_the_same_sha256(
    webmail: tuple[WebApp, Services], alice: httpx.AsyncClient, tmp_path: Path
) -> None:
    app, services = webmail
    payload = bytes((n * 7919) % 256 for n in range(3 * 1024 * 1024))
    url = await deliver(services, payload)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(30):
            while not server.started:  # noqa: ASYNC110 (uvicorn exposes only a flag)
                await asyncio.sleep(0.01)
        cookie = "; ".join(f"{k}={v}" for k, v in alice.cookies.items())
        target = f"http://127.0.0.1:{port}{url}"

        async def curl(*args: str) -> None:
            proc = await asyncio.create_subprocess_exec("curl", "-sS", "-f", "-b", cookie, *args, target)
            assert await proc.wait() == 0

        whole, resumed = tmp_path / "whole", tmp_path / "resumed"
        await curl("-o", str(whole))
        resumed.write_bytes(whole.read_bytes()[: 1234567])  # an interrupted download
        before = services.blobs.bytes_read
        await curl("-C", "-", "-o", str(resumed))
        assert hashlib.sha256(resumed.read_bytes()).hexdigest() == hashlib.sha256(whole.read_bytes()).hexdigest()
        assert hashlib.sha256(whole.read_bytes()).hexdigest() == hashlib.sha256(payload).hexdigest()
        assert services.blobs.bytes_read - before == len(payload) - 1234567  # only the rest was read
    finally:
        server.should_exit = True
        await serving
