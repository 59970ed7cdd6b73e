"""Differential test: postoffice and Debian's Dovecot answer the same questions about the
same messages, item by item.

Every message of ``tests/corpus`` (line ends made CRLF first, so both servers store the
same octets) is APPENDed to a private Dovecot (``postoffice.testing.dovecot``, Maildir on
loopback) and to an in-process postoffice, with the same flags and internal date, in an
IMAP4rev1 session on both. For each message the test FETCHes RFC822.SIZE, ENVELOPE,
BODY, BODYSTRUCTURE, BODY[], BODY[HEADER], BODY[TEXT], BODY[HEADER.FIELDS (...)] and
.NOT, and for every part either server lists: BODY[n], BODY[n.MIME], for a message part
n.HEADER, n.TEXT and n.HEADER.FIELDS, for a leaf BINARY[n] and BINARY.SIZE[n]. Then a
set of SEARCH keys runs on the whole mailbox. Answers are compared item by item.

RFC 2045 §5.1 makes media types, subtypes, parameter names and transfer-encoding names
case-insensitive, so they are compared upper-cased; everything else is compared as sent.

Every difference must be listed in the table "Differences from Dovecot" of
``docs/rfc-status.md`` (message globs, item globs, and the RFC text that makes
postoffice's answer right); the test fails on any difference not listed there, and on a
row that no longer matches anything (the page stays true).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from postoffice.message.lineends import to_crlf
from postoffice.testing.dovecot import Unavailable, start_dovecot
from postoffice.testing.server import TranscriptServer

from ._imap import Client, Value, parse

ROOT = Path(__file__).resolve().parents[2]
CORPUS = sorted((ROOT / "tests" / "corpus").glob("*.eml"))
STATUS = ROOT / "docs" / "rfc-status.md"
DATE = b'"27-Nov-2026 12:00:00 +0100"'
TABLE_TITLE = "## Differences from Dovecot"

SEARCH_KEYS: tuple[str, ...] = (
    'FROM "ann"',
    'FROM "example.test"',
    'FROM "Ann Example"',
    'TO "builder"',
    'TO "bob"',
    'CC "b@y.test"',
    'SUBJECT "test"',
    'SUBJECT "inner"',
    'BODY "hello"',
    'BODY "single inner"',
    'TEXT "plain"',
    'TEXT "Content-Type"',
    'HEADER "Message-ID" "example.test"',
    'HEADER "X-A" ""',
    "SENTON 27-Nov-2026",
    "SENTSINCE 1-Jan-2026",
    "SENTBEFORE 1-Jan-2026",
    "LARGER 2000",
    "SMALLER 200",
    "NOT HEADER Content-Type multipart",
)


@dataclass(frozen=True)
class Difference:
    message: str
    item: str
    postoffice: str
    dovecot: str

    def __str__(self) -> str:
        return f"{self.message} {self.item}\n  postoffice: {self.postoffice}\n  dovecot:    {self.dovecot}"


@dataclass(frozen=True)
class Known:
    messages: tuple[str, ...]  # globs over the corpus file name
    items: tuple[str, ...]  # globs over the item name
    reason: str


def known_differences() -> list[Known]:
    """The rows of the table under ``## Differences from Dovecot`` in docs/rfc-status.md:
    ``| message glob | item glob | postoffice | Dovecot | why ... |``."""
    text = STATUS.read_text()
    assert TABLE_TITLE in text, f"{STATUS} has no section {TABLE_TITLE!r}"
    section = text.split(TABLE_TITLE, 1)[1].split("\n## ", 1)[0]
    rows: list[Known] = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 5 or set(cells[0]) <= {"-", ":"} or cells[0] == "message":
            continue
        rows.append(Known(_globs(cells[0]), _globs(cells[1]), cells[4]))
    return rows


def _globs(cell: str) -> tuple[str, ...]:
    """``a.eml`, `b*.eml``: each back-quoted glob of a cell."""
    return tuple(re.findall(r"`([^`]+)`", cell)) or (cell,)


# ---- reading answers -------------------------------------------------------------------------
def fetch_items(untagged: Iterable[bytes]) -> dict[str, Value]:
    """Item name -> value of every ``n FETCH (...)`` response (FLAGS left out)."""
    out: dict[str, Value] = {}
    for resp in untagged:
        values = parse(resp)
        if len(values) < 3 or values[1] != "FETCH" or not isinstance(values[2], list):
            continue
        pairs = values[2]
        for k, v in zip(pairs[0::2], pairs[1::2], strict=False):
            assert isinstance(k, str)
            name = re.sub(r"<\d+>$", "", k.upper())
            if name != "FLAGS":
                out[name.replace(".PEEK", "")] = v
    return out


def upper_types(body: Value) -> Value:
    """BODYSTRUCTURE with its case-insensitive names upper-cased (RFC 2045 §5.1, §6.1)."""
    if not isinstance(body, list) or not body:
        return body
    if isinstance(body[0], list):  # multipart: parts..., subtype, [params, ...]
        n = next(i for i, v in enumerate(body) if not isinstance(v, list))
        rest = list(body[n:])
        rest[0] = _up(rest[0])
        if len(rest) > 1:
            rest[1] = _params(rest[1])
        if len(rest) > 2 and isinstance(rest[2], list) and rest[2]:
            rest[2] = [_up(rest[2][0]), _params(rest[2][1])] + rest[2][2:]
        return [upper_types(p) for p in body[:n]] + rest
    out = list(body)
    for i in (0, 1, 5):
        if i < len(out):
            out[i] = _up(out[i])
    if len(out) > 2:
        out[2] = _params(out[2])
    if _up(out[0]) == b"MESSAGE" and _up(out[1]) in (b"RFC822", b"GLOBAL") and len(out) > 8:
        out[8] = upper_types(out[8])
    disposition = 9 if _up(out[0]) == b"TEXT" else 11 if _up(out[0]) == b"MESSAGE" and len(out) > 10 else 8
    if len(out) > disposition and isinstance(out[disposition], list) and out[disposition]:
        d = out[disposition]
        out[disposition] = [_up(d[0]), _params(d[1])] + d[2:]
    return out


def _up(v: Value) -> Value:
    return v.upper() if isinstance(v, bytes) else v


def _params(v: Value) -> Value:
    if not isinstance(v, list):
        return v
    return [(_up(x) if i % 2 == 0 else x) for i, x in enumerate(v)]


def _children(body: list[Value]) -> list[list[Value]]:
    """The parts of a multipart BODYSTRUCTURE: the lists before its subtype."""
    out: list[list[Value]] = []
    for v in body:
        if not isinstance(v, list):
            break
        out.append(v)
    return out


def parts_of(body: Value, prefix: str = "") -> list[tuple[str, str]]:
    """(part number, "leaf" | "message" | "multipart") of every numbered part of a
    message's BODYSTRUCTURE (RFC 3501 §6.4.5)."""
    if not isinstance(body, list) or not body:
        return []
    if isinstance(body[0], list):
        out: list[tuple[str, str]] = []
        for i, child in enumerate(_children(body), 1):
            out += _numbered(child, f"{prefix}.{i}" if prefix else str(i))
        return out
    return _numbered(body, f"{prefix}.1" if prefix else "1")


def _numbered(body: list[Value], number: str) -> list[tuple[str, str]]:
    if body and isinstance(body[0], list):
        out = [(number, "multipart")]
        for i, child in enumerate(_children(body), 1):
            out += _numbered(child, f"{number}.{i}")
        return out
    if len(body) > 8 and _up(body[0]) == b"MESSAGE" and _up(body[1]) in (b"RFC822", b"GLOBAL"):
        return [(number, "message"), *parts_of(body[8], number)]
    return [(number, "leaf")]


def show(v: Value) -> str:
    text = repr(v)
    return text if len(text) <= 400 else text[:400] + f"... ({len(text)} chars)"


# ---- the servers ---------------------------------------------------------------------------
async def login(port: int, user: str) -> Client:
    client = await Client.connect(port)
    reply = await client.command(b"LOGIN " + user.encode() + b" password")
    client.login = b"LOGIN " + user.encode() + b" password"
    assert reply.status == "OK", reply
    return client


async def append(client: Client, data: bytes) -> str:
    """APPEND one message (a literal8 when it holds NUL, RFC 3516 §4.4); the status."""
    reply = await client.command(b"APPEND INBOX (\\Seen) " + DATE, data, binary=b"\x00" in data)
    return reply.status


async def message_answers(client: Client, seq: int) -> dict[str, Value]:
    reply = await client.command(
        b"FETCH %d (RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE BODY.PEEK[] BODY.PEEK[HEADER] BODY.PEEK[TEXT] "
        b"BODY.PEEK[HEADER.FIELDS (From Subject Date Content-Type)] BODY.PEEK[HEADER.FIELDS.NOT (From Subject)])"
        % seq
    )
    return fetch_items(reply.untagged) if reply.status == "OK" else {"FETCH": reply.status}


async def part_answers(client: Client, seq: int, parts: Iterable[tuple[str, str]]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for number, kind in sorted(set(parts)):
        sections = [f"BODY.PEEK[{number}]", f"BODY.PEEK[{number}.MIME]"]
        if kind == "message":
            sections += [f"BODY.PEEK[{number}.HEADER]", f"BODY.PEEK[{number}.TEXT]",
                         f"BODY.PEEK[{number}.HEADER.FIELDS (Subject)]"]
        reply = await client.command(f"FETCH {seq} ({' '.join(sections)})".encode())
        if reply.status == "OK":
            out.update(fetch_items(reply.untagged))
        else:
            out[f"BODY[{number}...]"] = f"{reply.status} {reply.text.decode(errors='replace')}"
        if kind == "multipart":
            continue
        for item in (f"BINARY.PEEK[{number}]", f"BINARY.SIZE[{number}]"):
            name = item.replace(".PEEK", "")
            try:
                reply = await client.command(f"FETCH {seq} ({item})".encode())
            except ConnectionError:
                out[name] = "(connection closed)"
                await client.reopen(client.login, b"SELECT INBOX")
                continue
            if reply.status == "OK":
                out.update(fetch_items(reply.untagged))
            else:
                code = re.match(rb"\[([A-Z-]+)", reply.text)
                out[name] = f"{reply.status}" + (f" [{code.group(1).decode()}]" if code else "")
    return out


async def search(client: Client, key: str) -> Value:
    reply = await client.command(b"SEARCH CHARSET UTF-8 " + key.encode())
    if reply.status != "OK":
        return reply.status
    for resp in reply.untagged:
        values = parse(resp)
        if values and values[0] == "SEARCH":
            return sorted(int(str(v)) for v in values[1:])
    return []


# ---- the test ------------------------------------------------------------------------------------
async def test_postoffice_answers_like_dovecot(tmp_path: Path) -> None:
    assert len(CORPUS) >= 100
    names = [p.name for p in CORPUS]
    messages = [to_crlf(p.read_bytes()) for p in CORPUS]
    # Dovecot's auth and mail processes run as the dovecot user: its directory must be
    # reachable by that user, which pytest's private tmp_path is not.
    workdir = Path(tempfile.mkdtemp(prefix="postoffice-dovecot-"))
    os.chmod(workdir, 0o755)
    try:
        dovecot = start_dovecot(workdir / "dovecot", {"alice": "password"})
    except Unavailable as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        pytest.skip(f"Dovecot cannot run here: {exc}")
    try:
        async with TranscriptServer("imap", users=["alice"], base_dir=tmp_path) as srv:
            port = await srv.start_listener("imap")
            po = await login(port, "alice@example.test")
            dc = await login(dovecot.port, "alice")
            for c in (po, dc):
                assert (await c.command(b"SELECT INBOX")).status == "OK"
            differences: list[Difference] = []
            seqs: list[tuple[str, int, int]] = []  # name, postoffice seq, dovecot seq
            for name, data in zip(names, messages, strict=True):
                sa, sb = await append(po, data), await append(dc, data)
                if sa != sb:
                    differences.append(Difference(name, "APPEND", sa, sb))
                elif sa == "OK":
                    seqs.append((name, len(seqs) + 1, len(seqs) + 1))
                if sa != sb and sa == "OK":
                    assert (await po.command(b"STORE * +FLAGS.SILENT (\\Deleted)")).status == "OK"
                    assert (await po.command(b"EXPUNGE")).status == "OK"
                elif sa != sb:
                    assert (await dc.command(b"STORE * +FLAGS.SILENT (\\Deleted)")).status == "OK"
                    assert (await dc.command(b"EXPUNGE")).status == "OK"
            by_seq = {seq: name for name, seq, _ in seqs}
            for name, seq, _ in seqs:
                a, b = await message_answers(po, seq), await message_answers(dc, seq)
                parts = parts_of(a.get("BODYSTRUCTURE")) + parts_of(b.get("BODYSTRUCTURE"))
                a.update(await part_answers(po, seq, parts))
                b.update(await part_answers(dc, seq, parts))
                for item in sorted(set(a) | set(b)):
                    va, vb = a.get(item, "(absent)"), b.get(item, "(absent)")
                    if item in ("BODY", "BODYSTRUCTURE"):
                        va, vb = upper_types(va), upper_types(vb)
                    if va != vb:
                        differences.append(Difference(name, item, show(va), show(vb)))
            for key in SEARCH_KEYS:
                ra, rb = await search(po, key), await search(dc, key)
                if ra != rb:
                    only_a = sorted(set(ra) - set(rb)) if isinstance(ra, list) and isinstance(rb, list) else ra
                    only_b = sorted(set(rb) - set(ra)) if isinstance(ra, list) and isinstance(rb, list) else rb
                    for seq in only_a if isinstance(only_a, list) else []:
                        differences.append(Difference(by_seq[seq], f"SEARCH {key}", "match", "no match"))
                    for seq in only_b if isinstance(only_b, list) else []:
                        differences.append(Difference(by_seq[seq], f"SEARCH {key}", "no match", "match"))
                    if not isinstance(ra, list) or not isinstance(rb, list):
                        differences.append(Difference("*", f"SEARCH {key}", str(ra), str(rb)))
            await po.close()
            await dc.close()
    finally:
        dovecot.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    known = known_differences()
    unexplained = [d for d in differences if not any(_matches(k, d) for k in known)]
    stale = [k for k in known if not any(_matches(k, d) for d in differences)]
    report = "\n".join(str(d) for d in unexplained)
    assert not unexplained, f"{len(unexplained)} differences from Dovecot not listed in {STATUS.name}:\n{report}"
    assert not stale, f"rows of {TABLE_TITLE!r} that match no difference any more: {stale}"


def _matches(known: Known, difference: Difference) -> bool:
    return any(_glob(m, difference.message) for m in known.messages) and any(
        _glob(i, difference.item) for i in known.items
    )


def _glob(pattern: str, text: str) -> bool:
    """``*`` is any text; everything else (``[`` of a section too) stands for itself."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), text) is not None
