"""DATA reader: smuggling variants, dot-unstuffing, byte-at-a-time feeding, fuzzing."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postoffice.testing.chunks import pieces
from postoffice.wire.smtp import (
    R550_BARE_LINE_END,
    R552_TOO_BIG,
    BdatReader,
    DataReader,
    split_command_lines,
)


def feed_all(data: bytes, *, step: int | None = None, mode: str = "normalise", max_size: int | None = None):
    """Feed data (whole, or ``step`` bytes at a time) until done; return (output, reader)."""
    reader = DataReader(mode, max_size)  # type: ignore[arg-type]
    out = bytearray()
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    for index, chunk in enumerate(chunks):
        out += reader.feed(chunk)
        if reader.done:
            reader_rest = reader.leftover + b"".join(chunks[index + 1 :])
            return bytes(out), reader, reader_rest
    return bytes(out), reader, b""


def reference(data: bytes) -> tuple[bytes, bytes] | None:
    """An independent oracle: (message, rest) by the rules in data.py's docstring, or None."""
    stream = b"\r\n" + data
    end = stream.find(b"\r\n.\r\n")
    if end < 0:
        return None
    body = data[: max(end, 0)]
    rest = stream[end + 5 :]
    lines = body.split(b"\r\n")
    if body.endswith(b"\r\n"):
        lines.pop()
        lines = [*lines]
        tail = True
    else:
        tail = body == b""
        if tail:
            lines = []
    out = []
    for line in lines:
        if line.startswith(b"."):
            line = line[1:]
        out.append(re.sub(rb"[\r\n]", b"\r\n", line))
    message = b"".join(x + b"\r\n" for x in out) if tail else b"\r\n".join(out)
    return message, rest


# Each smuggling variant: the fake end must be content, and the only end is the real one.
SMUGGLING = [
    b"\n.\n",
    b"\r.\r",
    b"\n.\r\n",
    b"\r\n.\n",
    b"\r.\r\n",
    b"\n.\r",
    b"\r\n.\r",
    b"\r.\n",
    b"\n\r.\r\n",
    b"\r\n.\r\r\n",
    b"\r\n\x00.\r\n",
    b"\r\r\n..\r\n",
]


@pytest.mark.parametrize("fake", SMUGGLING, ids=lambda b: repr(b))
@pytest.mark.parametrize("step", [None, 1, 2, 3, 7])
def test_smuggled_end_is_content(fake: bytes, step: int | None) -> None:
    smuggled = b"MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\n"
    data = b"Subject: hi\r\n\r\nbody" + fake + smuggled + b"more\r\n.\r\nQUIT\r\n"
    out, reader, rest = feed_all(data, step=step)
    assert reader.done
    assert rest == b"QUIT\r\n"
    assert out.endswith(b"more\r\n")
    assert b"MAIL FROM:<evil@x>" in out
    assert reader.bare_line_end_seen or fake in (b"\r\n\x00.\r\n", b"\r\r\n..\r\n")
    # The output never holds a bare CR or LF, whatever came in.
    assert re.search(rb"\r(?!\n)|(?<!\r)\n", out) is None
    assert (out, rest) == reference(data)


@pytest.mark.parametrize("fake", SMUGGLING, ids=lambda b: repr(b))
def test_refuse_mode_reads_to_real_end_then_refuses(fake: bytes) -> None:
    data = b"a" + fake + b"b\r\n.\r\nNEXT"
    out, reader, rest = feed_all(data, mode="refuse", step=1)
    assert reader.done and rest == b"NEXT"
    if reader.bare_line_end_seen:
        assert reader.refused
        assert reader.error_reply() == R550_BARE_LINE_END
    _, normal, _ = feed_all(data, mode="normalise")
    assert normal.error_reply() is None  # normalise mode accepts the same input


@pytest.mark.parametrize(
    ("data", "message", "rest"),
    [
        (b".\r\n", b"", b""),
        (b"\r\n.\r\n", b"\r\n", b""),
        (b"a\r\n.\r\n", b"a\r\n", b""),
        (b"..\r\n.\r\n", b".\r\n", b""),
        (b"..a\r\n...\r\n.\r\n", b".a\r\n..\r\n", b""),
        (b"a\r\n.b\r\n.\r\nX", b"a\r\nb\r\n", b"X"),
        (b"a\n..b\r\n.\r\n", b"a\r\n..b\r\n", b""),  # dot after bare LF: content, not unstuffed
        (b"a\r.\r\n.\r\n", b"a\r\n.\r\n", b""),  # dot after bare CR: content
        (b"x\r\n.\r\r\n.\r\n", b"x\r\n\r\n\r\n", b""),
        (b"a\r\n.\r\n.\r\n", b"a\r\n", b".\r\n"),
    ],
)
def test_table(data: bytes, message: bytes, rest: bytes) -> None:
    for step in (None, 1):
        out, reader, left = feed_all(data, step=step)
        assert reader.done
        assert (out, left) == (message, rest)
        assert reader.size == len(message)
        assert reader.octets_received == len(data) - len(rest)


def test_not_done_without_real_terminator() -> None:
    out, reader, _ = feed_all(b"a\n.\nb\r.\rc\n.\r\n")
    assert not reader.done
    assert out == b"a\r\n.\r\nb\r\n.\r\nc\r\n.\r\n"


def test_feed_after_done_raises() -> None:
    reader = DataReader()
    reader.feed(b".\r\n")
    with pytest.raises(RuntimeError):
        reader.feed(b"x")


def test_size_limit_counts_but_reads_to_end() -> None:
    data = b"x" * 1000 + b"\r\n.\r\nQUIT\r\n"
    out, reader, rest = feed_all(data, step=64, max_size=100)
    assert reader.done and rest == b"QUIT\r\n"
    assert reader.too_big and reader.size == 1002
    assert reader.error_reply() == R552_TOO_BIG


def test_large_message_is_fast_and_exact() -> None:
    line = b"The quick brown fox jumps over the lazy dog. " * 2 + b"\r\n"
    body = line * 50_000 + b".leading dot\r\n"
    data = body + b".\r\n"
    reader = DataReader()
    out = b"".join(reader.feed(data[i : i + 65536]) for i in range(0, len(data), 65536))
    assert reader.done
    assert out == line * 50_000 + b"leading dot\r\n"


chunkings = st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=50)
alphabet = st.sampled_from([b"\r", b"\n", b".", b"a", b"\r\n", b"\x00", b"\xff"])
line_bytes = st.lists(alphabet, max_size=60).map(b"".join)


@settings(max_examples=400, deadline=None)
@given(data=line_bytes | st.binary(max_size=200), cuts=chunkings)
def test_fuzz_chunking_never_matters_and_matches_oracle(data: bytes, cuts: list[int]) -> None:
    whole = DataReader()
    whole_out = whole.feed(data)
    split = DataReader()
    split_out = bytearray()
    for piece in pieces(data, cuts):
        if split.done:
            break
        split_out += split.feed(piece)
    assert split.done == whole.done
    assert bytes(split_out) == whole_out
    assert split.bare_line_end_seen == whole.bare_line_end_seen
    expected = reference(data)
    if expected is None:
        assert not whole.done  # never ends early
        # ... and a final CRLF.CRLF always ends it, after everything fed so far.
        tail = b"\r\n.\r\n"
        more = whole.feed(tail)
        assert whole.done and tail.endswith(whole.leftover)
        assert (whole_out + more, whole.leftover) == reference(data + tail)
    else:
        assert whole.done
        assert (whole_out, whole.leftover) == expected


def test_bdat_reader_exact_octets() -> None:
    reader = BdatReader(5)
    assert reader.feed(b"ab") == b"ab" and not reader.done
    assert reader.feed(b"c\r\n.\r\nBDAT 0 LAST\r\n") == b"c\r\n"
    assert reader.done and reader.leftover == b".\r\nBDAT 0 LAST\r\n"
    assert BdatReader(0).done


def test_split_command_lines() -> None:
    assert split_command_lines(b"EHLO a\r\nMAIL FROM:<>\nDA") == ([b"EHLO a", b"MAIL FROM:<>"], b"DA")
    assert split_command_lines(b"") == ([], b"")
