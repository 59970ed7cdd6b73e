"""Sans-I/O SMTP syntax: command lines in, frozen dataclasses out; replies out as bytes.

No asyncio, no store, no policy: the SMTP server (``protocols/smtp``) decides what is
allowed; this package only says what was sent and how to answer.

API (everything is re-exported here):

Commands (``commands.py``)
    ``parse_command(line: bytes, *, smtputf8: bool = False) -> Command`` — one line, CRLF
    optional. ``smtputf8`` = the transaction declared SMTPUTF8 (governs RCPT paths; MAIL reads
    its own parameter). Raises only :class:`SMTPSyntaxError` (``.reply`` is the answer);
    unknown verbs raise the subclass :class:`UnknownCommand` (500 5.5.2) so the server can
    count junk. Classes (``cls.verb`` is the verb, ``COMMANDS`` lists them): ``Ehlo(domain,
    domain_is_valid)``, ``Helo(...)``, ``MailFrom(path, params: MailParams)`` (``.sender``),
    ``RcptTo(path, params: RcptParams)`` (``.recipient``), ``Data()``, ``Bdat(size, last)``,
    ``Rset()``, ``Noop(argument)``, ``Quit()``, ``Vrfy(argument)``, ``Expn(argument)``,
    ``Help(topic)``, ``StartTls()``, ``Auth(mechanism, initial_response)``.
    ``MailParams(size, body, smtputf8, ret, envid, auth)``; ``RcptParams(notify, orcpt)``.
    ``decode_xtext`` / ``encode_xtext`` (RFC 3461 §4).

Paths (``address.py``)
    ``Address(local, domain, is_quoted, literal)`` with ``canonical``, ``is_postmaster``,
    ``is_bare_postmaster``, ``is_ascii``, ``literal_ip`` and ``relay_tricks() ->
    frozenset[RelayTrick]`` (PERCENT_HACK, BANG_PATH, QUOTED_ROUTING, ADDRESS_LITERAL,
    SOURCE_ROUTE). ``Path(address | None, route)``. ``parse_reverse_path(text, *, smtputf8)``,
    ``parse_forward_path(text, *, smtputf8)`` (accepts ``<Postmaster>``),
    ``parse_mailbox(text, *, smtputf8)``, ``match_path(text, pos, ...)``, ``is_domain(text)``.
    Errors: :class:`AddressSyntaxError` (501 5.1.3 / 5.1.7, 553 5.6.7 for UTF-8 without
    SMTPUTF8).

Replies (``replies.py``)
    ``Reply(code, enhanced, text)`` — ``to_bytes()`` / ``bytes(reply)``, ``with_text()``;
    ``"\\n"`` in text makes a multi-line reply. Constants ``R<code>_<SITUATION>`` (all in
    ``ALL_REPLIES``), ``ehlo_reply(hostname, greeting, extensions)``.

Data (``data.py``)
    ``DataReader(mode="normalise"|"refuse", max_size=None)``: ``feed(chunk) -> bytes``,
    ``done``, ``leftover``, ``size``, ``octets_received``, ``too_big``,
    ``bare_line_end_seen``, ``refused``, ``error_reply()``. Smuggling-safe: only CRLF.CRLF
    ends the data. ``BdatReader(size)``: ``feed``, ``done``, ``leftover``, ``remaining``.
    ``split_command_lines(buffer) -> (lines, rest)``. (A BDAT body is normalised by the
    ingestion pipeline, ``message.lineends``.)

A server loop, in outline::

    lines, rest = split_command_lines(buffer)
    for line in lines:
        try:
            command = parse_command(line, smtputf8=transaction.smtputf8)
        except SMTPSyntaxError as error:
            send(error.reply.to_bytes()); continue
        ...  # after a 354 for DATA:
    reader = DataReader(limits.bare_lf, limits.max_message_size)
    spool.write(reader.feed(rest)); ...  # until reader.done, then reader.leftover
    send((reader.error_reply() or R250_QUEUED).to_bytes())   # after fsync
"""

from __future__ import annotations

from postoffice.wire.smtp.address import (
    MAX_DOMAIN,
    MAX_LOCAL_PART,
    MAX_PATH,
    Address,
    AddressSyntaxError,
    Path,
    RelayTrick,
    is_domain,
    match_path,
    parse_forward_path,
    parse_mailbox,
    parse_reverse_path,
)
from postoffice.wire.smtp.commands import (
    COMMANDS,
    Auth,
    Bdat,
    Command,
    Data,
    Ehlo,
    Expn,
    Helo,
    Help,
    MailFrom,
    MailParams,
    Noop,
    Quit,
    RcptParams,
    RcptTo,
    Rset,
    StartTls,
    Vrfy,
    decode_xtext,
    encode_xtext,
    parse_command,
)
from postoffice.wire.smtp.data import BareLineEndMode, BdatReader, DataReader, split_command_lines
from postoffice.wire.smtp.replies import *  # noqa: F403  (the reply constants, by name)
from postoffice.wire.smtp.replies import __all__ as _reply_names

__all__ = [
    "MAX_DOMAIN",
    "MAX_LOCAL_PART",
    "MAX_PATH",
    "Address",
    "AddressSyntaxError",
    "Path",
    "RelayTrick",
    "is_domain",
    "match_path",
    "parse_forward_path",
    "parse_mailbox",
    "parse_reverse_path",
    "COMMANDS",
    "Auth",
    "Bdat",
    "Command",
    "Data",
    "Ehlo",
    "Expn",
    "Helo",
    "Help",
    "MailFrom",
    "MailParams",
    "Noop",
    "Quit",
    "RcptParams",
    "RcptTo",
    "Rset",
    "StartTls",
    "Vrfy",
    "decode_xtext",
    "encode_xtext",
    "parse_command",
    "BareLineEndMode",
    "BdatReader",
    "DataReader",
    "split_command_lines",
    *_reply_names,
]
