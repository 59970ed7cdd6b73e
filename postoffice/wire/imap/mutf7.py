"""Modified UTF-7 mailbox names (RFC 3501 §5.1.3) and mailbox-name checks.

IMAP4rev1 clients send non-ASCII mailbox names in modified UTF-7; IMAP4rev2 and
UTF8=ACCEPT clients send UTF-8 (RFC 9051 §5.1, RFC 6855 §3). The server keeps names
as Python ``str`` (Unicode) and converts at the wire with :func:`encode` / :func:`decode`.

Invariants: :func:`decode` is strict — it accepts only the one canonical encoding of a
name, so ``encode(decode(x)) == x`` for every ``x`` it accepts and
``decode(encode(s)) == s`` for every ``s`` without lone surrogates. Rejected: raw
non-printable ASCII or non-ASCII octets, ``&`` not closed by ``-``, an encoded run that
holds a printable ASCII character, two adjacent encoded runs, non-zero padding bits,
broken UTF-16 surrogates, and base64 alphabets other than ``A-Za-z0-9+,``.
"""

from __future__ import annotations

import binascii

__all__ = ["MUTF7Error", "encode", "decode", "MailboxNameError", "check_mailbox_name", "normalize_inbox"]


class MUTF7Error(ValueError):
    """A mailbox name that is not canonical modified UTF-7."""


class MailboxNameError(ValueError):
    """A mailbox name the server should refuse (RFC 9051 §5.1)."""


def _printable(ch: str) -> bool:
    return 0x20 <= ord(ch) <= 0x7E


def _b64(units: str) -> str:
    raw = units.encode("utf-16-be", "surrogatepass")
    return binascii.b2a_base64(raw, newline=False).decode("ascii").rstrip("=").replace("/", ",")


def encode(name: str) -> str:
    """Unicode mailbox name -> modified UTF-7 (RFC 3501 §5.1.3)."""
    out: list[str] = []
    run: list[str] = []
    for ch in name:
        if _printable(ch):
            if run:
                out.append("&" + _b64("".join(run)) + "-")
                run = []
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    if run:
        out.append("&" + _b64("".join(run)) + "-")
    return "".join(out)


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,")


def _decode_run(run: str) -> str:
    if not run or any(c not in _B64_ALPHABET for c in run):
        raise MUTF7Error("bad modified base64")
    if len(run) % 4 == 1:
        raise MUTF7Error("truncated modified base64")
    padded = run.replace(",", "/") + "=" * (-len(run) % 4)
    try:
        raw = binascii.a2b_base64(padded.encode("ascii"), strict_mode=True)
    except binascii.Error as exc:
        raise MUTF7Error(f"bad modified base64: {exc}") from None
    if len(raw) % 2:
        raise MUTF7Error("odd number of octets in UTF-16 run")
    try:
        text = raw.decode("utf-16-be")  # strict: a lone surrogate raises
    except UnicodeDecodeError:
        raise MUTF7Error("broken UTF-16 surrogates") from None
    if _b64(text) != run:
        raise MUTF7Error("non-canonical modified base64 (padding bits)")
    if any(_printable(c) for c in text):
        raise MUTF7Error("printable ASCII must not be encoded")
    return text


def decode(name: str) -> str:
    """Modified UTF-7 -> Unicode; raises :class:`MUTF7Error` for any non-canonical input."""
    out: list[str] = []
    i = 0
    n = len(name)
    last_was_run = False
    while i < n:
        ch = name[i]
        if ch == "&":
            end = name.find("-", i + 1)
            if end < 0:
                raise MUTF7Error("'&' without closing '-'")
            if end == i + 1:
                out.append("&")
                last_was_run = False
            else:
                if last_was_run:
                    raise MUTF7Error("adjacent encoded runs must be one run")
                out.append(_decode_run(name[i + 1 : end]))
                last_was_run = True
            i = end + 1
            continue
        if not _printable(ch):
            raise MUTF7Error("raw non-printable or non-ASCII character")
        out.append(ch)
        last_was_run = False
        i += 1
    return "".join(out)


def normalize_inbox(name: str, delimiter: str | None = "/") -> str:
    """Case-fold the ``INBOX`` part of a name (RFC 9051 §5.1: INBOX is case-insensitive).

    ``inbox`` -> ``INBOX``, ``Inbox/Sub`` -> ``INBOX/Sub``; other names are unchanged.
    """
    if name.upper() == "INBOX":
        return "INBOX"
    if delimiter and name[:6].upper() == "INBOX" + delimiter:
        return "INBOX" + name[5:]
    return name


def check_mailbox_name(name: str, *, delimiter: str = "/", max_length: int = 255, max_depth: int = 16) -> str:
    """Check a decoded (Unicode) mailbox name the client wants to create or rename to.

    Returns the name with INBOX normalised; raises :class:`MailboxNameError` for an
    empty name or level (``a//b``, leading or trailing delimiter, RFC 9051 §6.3.4),
    control characters, characters the UTF-8 mailbox rules forbid (RFC 6855 §3/
    RFC 5198: C0/C1 controls, U+2028/U+2029), names longer than ``max_length`` UTF-8
    octets, or deeper than ``max_depth`` levels. Wildcards ``*`` and ``%`` are refused
    since LIST could not name such a mailbox unambiguously.
    """
    if not name:
        raise MailboxNameError("empty mailbox name")
    if len(name.encode("utf-8", "surrogatepass")) > max_length:
        raise MailboxNameError("mailbox name too long")
    for ch in name:
        o = ord(ch)
        if o < 0x20 or 0x7F <= o <= 0x9F or ch in "\u2028\u2029" or 0xD800 <= o <= 0xDFFF:
            raise MailboxNameError("control character in mailbox name")
        if ch in "*%":
            raise MailboxNameError("wildcard in mailbox name")
    levels = name.split(delimiter)
    if any(not level for level in levels):
        raise MailboxNameError("empty hierarchy level in mailbox name")
    if len(levels) > max_depth:
        raise MailboxNameError("mailbox hierarchy too deep")
    return normalize_inbox(name, delimiter)
