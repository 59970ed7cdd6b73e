"""Answering GET and HEAD of a stored part with HTTP ranges (RFC 9110 §14).

The parsing is ``postoffice.wire.httprange`` (no I/O); this module turns its answer
into a response whose body reads only the octets it sends, through ``read(offset,
length)``, which the caller binds to one part of the part store (one blob file for a
large part, docs/architecture.md).

- ``Accept-Ranges: bytes`` (§14.3) and a strong ``ETag`` (§8.8.3) on every answer.
- HEAD: the headers a GET without Range would get, no body (§9.3.2). Range is defined
  for GET only (§14.2), so a HEAD is never partial.
- ``If-Range`` (§13.1.5): a Range is honoured only when it names the current strong
  entity-tag; otherwise the whole representation is sent (200).
- one range: 206 with ``Content-Range`` (§15.3.7.1); several: 206 multipart/byteranges
  (§14.6, §15.3.7.2); none satisfiable: 416 with ``Content-Range: bytes */N`` (§15.5.17).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from postoffice.wire.httprange import ByteRange, Unsatisfiable, content_range, if_range_allows, parse_range

__all__ = ["Reader", "Tally", "ranged_response"]

Reader = Callable[[int, int], Awaitable[bytes]]  # (offset, length) -> at most length octets

_CHUNK = 256 * 1024


Tally = Callable[[int, int], None]  # (octets the answer announced, octets it sent), once per answer


async def _copy(read: Reader, first: int, length: int, chunk: int, sent: list[int]) -> AsyncIterator[bytes]:
    position, end = first, first + length
    while position < end:
        data = await read(position, min(chunk, end - position))
        if not data:
            raise ConnectionAbortedError("the stored part ended early")  # its size lied: abort, never pad
        position += len(data)
        sent[0] += len(data)
        yield data


async def _tallied(body: AsyncIterator[bytes], announced: int, sent: list[int], tally: Tally | None) -> AsyncIterator[bytes]:
    """``body``, then ``tally(announced, sent)`` once it ends: finished, failed, or
    abandoned by a client that went away (the response's task is cancelled)."""
    try:
        async for data in body:
            yield data
    finally:
        if tally is not None:
            tally(announced, sent[0])


def ranged_response(
    request: Request,
    *,
    size: int,
    etag: str,
    media_type: str,
    headers: dict[str, str],
    read: Reader,
    max_ranges: int,
    chunk: int = _CHUNK,
    open_cap: int | None = None,
    tally: Tally | None = None,
) -> Response:
    """The answer to a GET or HEAD of a representation of ``size`` octets (module docstring).
    ``etag`` is the opaque tag without quotes; ``headers`` are added to every answer.
    ``open_cap``: a single open-ended range ("bytes=N-") is answered with at most that
    many octets; Content-Range says which, and the client asks again for the rest
    (RFC 9110 §14.4 lets the server choose the range it sends as long as it says so).
    ``tally``: told once per answer with a body how many octets of the representation
    it announced and how many it sent (metrics)."""
    tag = f'"{etag}"'
    headers = {**headers, "Accept-Ranges": "bytes", "ETag": tag}
    if request.method == "HEAD":
        return Response(b"", media_type=media_type, headers={**headers, "Content-Length": str(size)})
    wanted = parse_range(request.headers.get("range"), size, max_ranges=max_ranges)
    if wanted is not None and not if_range_allows(request.headers.get("if-range"), tag):
        wanted = None
    if isinstance(wanted, Unsatisfiable):
        return Response(b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    sent = [0]
    if wanted is None:
        body = _tallied(_copy(read, 0, size, chunk, sent), size, sent, tally)
        return StreamingResponse(body, media_type=media_type, headers={**headers, "Content-Length": str(size)})
    if len(wanted) == 1:
        (r,) = wanted
        if open_cap is not None and r.open_ended and r.length > open_cap:
            r = ByteRange(r.first, r.first + open_cap - 1)
        headers.update({"Content-Range": content_range(r, size), "Content-Length": str(r.length)})
        return StreamingResponse(
            _tallied(_copy(read, r.first, r.length, chunk, sent), r.length, sent, tally),
            status_code=206, media_type=media_type, headers=headers,
        )  # fmt: skip
    return _multipart(wanted, size, media_type, headers, read, chunk, tally)


def _multipart(
    wanted: tuple[ByteRange, ...], size: int, media_type: str, headers: dict[str, str], read: Reader, chunk: int,
    tally: Tally | None,
) -> Response:
    # RFC 9110 §14.6: each body part carries Content-Type and Content-Range; RFC 2046
    # §5.1.1: the boundary is preceded by CRLF, the last one is followed by "--".
    boundary = secrets.token_hex(16)  # never occurs in the parts by chance
    heads = [
        f"\r\n--{boundary}\r\nContent-Type: {media_type}\r\nContent-Range: {content_range(r, size)}\r\n\r\n".encode()
        for r in wanted
    ]
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = sum(len(h) for h in heads) + sum(r.length for r in wanted) + len(tail)

    sent = [0]

    async def body() -> AsyncIterator[bytes]:
        for head, r in zip(heads, wanted, strict=True):
            yield head
            async for data in _copy(read, r.first, r.length, chunk, sent):
                yield data
        yield tail

    headers = {**headers, "Content-Length": str(length)}
    return StreamingResponse(
        _tallied(body(), sum(r.length for r in wanted), sent, tally), status_code=206, media_type=f"multipart/byteranges; boundary={boundary}", headers=headers
    )
