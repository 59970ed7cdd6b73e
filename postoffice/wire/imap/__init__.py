"""Sans-I/O IMAP syntax: IMAP4rev2 (RFC 9051) and IMAP4rev1 (RFC 3501) with the
extensions postoffice offers (LITERAL+/-, BINARY, CONDSTORE/QRESYNC, LIST-EXTENDED,
LIST-STATUS, SPECIAL-USE, MULTIAPPEND, UTF8=ACCEPT, ESEARCH, SEARCHRES, WITHIN, MOVE,
UIDPLUS, ID, SASL-IR, ENABLE, IDLE, UNSELECT, NAMESPACE).

No sockets, no asyncio, no store: bytes in, frozen dataclasses out, bytes out.

Reading commands (``reader.py``)::

    reader = CommandReader(ReaderLimits.from_config(cfg.limits.imap), stream_threshold=0)
    # on every socket read:
    reader.feed(data)
    while (event := reader.next_event()) is not None:
        match event:
            case ContinuationNeeded():           # synchronizing literal {n} accepted
                write(continuation())              #  -> "+ Ready\\r\\n" now, before its bytes
            case LiteralStart(size=n, index=i):  # APPEND message literal, streamed:
                sink = spool.open(i)               #  LiteralChunk(data)... then LiteralEnd(i)
            case LiteralChunk(data=d): sink.write(d)
            case LiteralEnd(): sink.close()
            case CommandReady(command=cmd):      # a whole command: dispatch on cmd.key
                table[cmd.key](cmd)                #  ("LOGIN", "UID FETCH", ...)
            case Rejected(error=err):            # ImapSyntaxError, tag known or None
                write(syntax_error_response(err))  #  "tag BAD ..." / "* BAD ..."; close if err.fatal
            case LineReceived(line=line):         # only after reader.expect_line()
                ...

* Pull events one at a time: after IDLE (``+ idling``) or AUTHENTICATE (``+ <challenge>``)
  call ``reader.expect_line()`` before pulling again; the next line comes as
  ``LineReceived`` (check it with ``is_done(line)`` / ``parse_sasl_response(line)``).
* After authentication set ``reader.authenticated = True`` (longer line limit); after
  ENABLE IMAP4rev2 / UTF8=ACCEPT set ``reader.utf8_names = True`` (mailbox names are UTF-8
  instead of modified UTF-7) and pass ``utf8=True`` to the response helpers.
* ``stream_threshold=None`` buffers APPEND literals (AppendMessage.data is bytes);
  otherwise APPEND message literals of at least that size arrive as chunks and the
  command holds a ``StreamedLiteral(index, size, binary)`` in their place. Every other
  literal is buffered and bounded by ``ReaderLimits.max_command_size``.
* A synchronizing literal over its limit is refused before ``+`` is sent: Rejected with
  ``status="NO"``, ``code="TOOBIG"`` for APPEND, BAD otherwise; the client then sends
  the next command. A non-synchronizing one is skipped without buffering.

Commands (``commands.py``, parsed by ``parser.py``): one frozen dataclass per command,
``tag`` first, ``name`` the keyword, ``key`` the command-table key. Search programs are
trees of ``search.py`` classes; FETCH items are ``fetch.py`` classes with ``label()``
for the response. ``parse_line(b"a1 LOGIN bob pw")`` parses one command in one piece.

Sequence sets (``seqset.py``): ``SequenceSet.parse("1:3,5:*")``, ``.resolve(largest)``,
``.iter(largest)``, ``SequenceSet.of([1, 2, 3, 7])`` -> ``1:3,7``; ``saved`` for ``$``.

Mailbox names (``mutf7.py``): ``encode``/``decode`` (strict), ``check_mailbox_name``,
``normalize_inbox``.

Responses (``response.py``): ``encode(value)`` for Python values (None -> NIL, str ->
quoted or literal, bytes -> literal, Literal8, Atom, lists, datetime), ``tagged``,
``untagged``, ``untagged_status``, ``continuation``, ``fetch_response``,
``list_response``, ``status_response``, ``search_response``, ``esearch_response``,
``vanished_response``, codes (``code_appenduid``, ``code_copyuid``, ``code_modified``,
...) and reply constants (``NO_NONEXISTENT.tagged(tag, text)``, ``OK_APPENDUID.tagged(tag,
args="38505 3955")``, all in ``REPLIES``). ``render.py``: ``envelope(Envelope)`` and
``body_structure(BodyPart, extended=...)`` from the typed values of ``postoffice.message.structure``.

Errors (``errors.py``): :class:`ImapSyntaxError` is the only exception the reader and
parser produce (``tag``, ``text``, ``code``, ``status``, ``fatal``).
"""

from __future__ import annotations

from . import commands, fetch, mutf7, render, response, search
from .commands import *  # noqa: F403
from .errors import ImapSyntaxError
from .parser import SASLCancelled, is_done, parse_command, parse_date_time, parse_line, parse_sasl_response
from .reader import (
    CommandReader,
    CommandReady,
    ContinuationNeeded,
    Event,
    LineReceived,
    LiteralChunk,
    LiteralEnd,
    LiteralStart,
    ReaderLimits,
    Rejected,
)
from .response import continuation, syntax_error_response
from .seqset import SequenceSet

__all__ = [
    "commands",
    "fetch",
    "mutf7",
    "render",
    "response",
    "search",
    "ImapSyntaxError",
    "SASLCancelled",
    "is_done",
    "parse_command",
    "parse_date_time",
    "parse_line",
    "parse_sasl_response",
    "CommandReader",
    "CommandReady",
    "ContinuationNeeded",
    "Event",
    "LineReceived",
    "LiteralChunk",
    "LiteralEnd",
    "LiteralStart",
    "ReaderLimits",
    "Rejected",
    "continuation",
    "syntax_error_response",
    "SequenceSet",
    *commands.__all__,
]
