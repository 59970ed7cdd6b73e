"""Feeding helpers shared by the IMAP wire tests."""

from __future__ import annotations

from postoffice.wire.imap import CommandReader, LiteralChunk, ReaderLimits
from postoffice.wire.imap.reader import Event


def merged(events: list[Event]) -> list[Event]:
    """Join consecutive LiteralChunk events: chunking depends on how bytes arrived."""
    out: list[Event] = []
    for ev in events:
        if isinstance(ev, LiteralChunk) and out and isinstance(out[-1], LiteralChunk):
            out[-1] = LiteralChunk(out[-1].data + ev.data)
        else:
            out.append(ev)
    return out


def feed_whole(data: bytes, **kwargs: object) -> list[Event]:
    reader = CommandReader(**kwargs)  # type: ignore[arg-type]
    reader.feed(data)
    return merged(reader.events())


def feed_bytewise(data: bytes, **kwargs: object) -> list[Event]:
    reader = CommandReader(**kwargs)  # type: ignore[arg-type]
    events: list[Event] = []
    for i in range(len(data)):
        reader.feed(data[i : i + 1])
        events.extend(reader.events())
    return merged(events)


def feed_both(data: bytes, **kwargs: object) -> list[Event]:
    """Events from feeding ``data`` whole; asserts byte-at-a-time gives the same."""
    whole = feed_whole(data, **kwargs)
    assert feed_bytewise(data, **kwargs) == whole
    return whole


def small_limits(**kw: int) -> ReaderLimits:
    base = dict(max_line_length_before_auth=100, max_line_length=200, max_literal_size=1000, max_command_size=500)
    base.update(kw)
    return ReaderLimits(**base)
