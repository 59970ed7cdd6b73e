"""RFC 5322 §3.4 address lists, parsed tolerantly, in the shape IMAP ENVELOPE needs.

``parse_address_list`` never raises: junk yields what can be salvaged (a bare word
becomes a mailbox without a host; ENVELOPE gives it the host ``MISSING_DOMAIN``,
``message/structure.py``, since a NIL host marks a group). In the obsolete form
``user@domain (Real Name)`` the comment is the display name. Groups
are kept as markers: a group start has ``group`` set and no mailbox, a group end has
everything None (RFC 9051 §7.5.2: "(NIL NIL "group" NIL)" ... "(NIL NIL NIL NIL)").
Names keep their encoded words; ``display`` decodes them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from postoffice.message.headers import decode_encoded_words

__all__ = ["Address", "Group", "AddressList", "parse_address_list", "grouped", "format_addresses"]


class Address(NamedTuple):
    name: str | None  # display name as written (RFC 2047 words kept), None if absent
    adl: str | None  # obsolete source route, "@a,@b"
    mailbox: str | None  # local part; group start: the group name
    host: str | None  # domain; None for a group marker
    group: bool = False  # True for a group start marker

    @property
    def address(self) -> str:
        if self.mailbox is None:
            return ""
        return f"{self.mailbox}@{self.host}" if self.host else self.mailbox

    def display(self) -> str:
        name = decode_encoded_words(self.name) if self.name else ""
        if self.group:
            return f"{name or self.mailbox}:"
        if name and self.address:
            return f"{name} <{self.address}>"
        return name or self.address



class Group(NamedTuple):
    """RFC 5322 §3.4 group: ``name: member, ...;`` (the name as written)."""

    name: str
    members: tuple[Address, ...] = ()


AddressList = tuple[Address | Group, ...]


_SPECIALS = set('()<>[]:;@\\,."')


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, value) with kind in atom, quoted, special, ws and comment (its text, the
    outer parentheses removed; RFC 5322 §3.2.2)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            out.append(("ws", " "))
            i += 1
            while i < n and text[i] in " \t\r\n":
                i += 1
        elif ch == "(":  # RFC 5322 §3.2.2 comment, nested
            depth = 0
            start = i
            while i < n:
                if text[i] == "\\":
                    i += 2
                    continue
                if text[i] == "(":
                    depth += 1
                elif text[i] == ")":
                    depth -= 1
                    if depth == 0:
                        i += 1
                        break
                i += 1
            body = text[start + 1 : i - 1] if depth == 0 else text[start + 1 :]
            out.append(("comment", re.sub(r"\\(.)", r"\1", body)))
        elif ch == '"':
            i += 1
            buf = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(text[i])
                i += 1
            i += 1
            out.append(("quoted", "".join(buf)))
        elif ch == "[":
            j = text.find("]", i)
            j = n - 1 if j < 0 else j
            out.append(("atom", text[i : j + 1]))
            i = j + 1
        elif ch in _SPECIALS:
            out.append(("special", ch))
            i += 1
        else:
            j = i
            while j < n and text[j] not in _SPECIALS and text[j] not in " \t\r\n":
                j += 1
            out.append(("atom", text[i:j]))
            i = j
    return out


def _words(tokens: list[tuple[str, str]]) -> str:
    """Join phrase tokens: whitespace collapses to one space, comments count as space."""
    tokens = [("ws", " ") if k == "comment" else (k, v) for k, v in tokens]
    text = "".join(v for _, v in tokens)
    return " ".join(text.split()) if not any(k == "quoted" for k, _ in tokens) else text.strip()


def _addr_spec(tokens: list[tuple[str, str]]) -> tuple[str | None, str | None, str | None]:
    """tokens of [route:]local@domain -> (adl, mailbox, host)."""
    adl = None
    toks = [t for t in tokens if t[0] not in ("ws", "comment")]
    if any(t == ("special", ":") for t in toks):
        k = max(i for i, t in enumerate(toks) if t == ("special", ":"))
        adl = "".join(v for _, v in toks[:k]) or None
        toks = toks[k + 1 :]
    at = None
    for i in range(len(toks) - 1, -1, -1):
        if toks[i] == ("special", "@"):
            at = i
            break
    if at is None:
        local = "".join(v for _, v in toks)
        return adl, (local or None), None
    local = "".join(v for _, v in toks[:at])
    host = "".join(v for _, v in toks[at + 1 :])
    return adl, (local or None), (host or None)


def _mailbox(tokens: list[tuple[str, str]]) -> Address | None:
    kinds = [t for t in tokens if t[0] not in ("ws", "comment")]
    if not kinds:
        return None
    if ("special", "<") in tokens:
        lt = tokens.index(("special", "<"))
        try:
            gt = tokens.index(("special", ">"), lt)
        except ValueError:
            gt = len(tokens)
        name = _words(tokens[:lt]) or None
        adl, mailbox, host = _addr_spec(tokens[lt + 1 : gt])
        return Address(name, adl, mailbox, host)
    adl, mailbox, host = _addr_spec(tokens)
    # RFC 5322 §3.4 / RFC 822's obsolete form ``user@domain (Real Name)``: the last
    # comment is the display name (RFC 3501 §7.4.2 takes the name from it too).
    comments = [v.strip() for k, v in tokens if k == "comment" and v.strip()]
    return Address(" ".join(comments[-1].split()) if comments else None, adl, mailbox, host)


def parse_address_list(value: str) -> list[Address]:
    """Parse an (unfolded) address-list header value; never raises."""
    tokens = _tokens(value)
    result: list[Address] = []
    current: list[tuple[str, str]] = []
    in_group = False
    angle = 0
    for tok in tokens:
        if tok == ("special", "<"):
            angle += 1
        elif tok == ("special", ">"):
            angle = max(0, angle - 1)
        if angle == 0 and tok == ("special", ":") and not in_group and not any(t == ("special", "<") for t in current):
            name = _words(current)
            if "@" not in name:  # a group, not an obsolete route
                result.append(Address(None, None, name, None, group=True))
                in_group = True
                current = []
                continue
        if angle == 0 and tok == ("special", ";") and in_group:
            addr = _mailbox(current)
            if addr is not None:
                result.append(addr)
            result.append(Address(None, None, None, None))
            in_group = False
            current = []
            continue
        if angle == 0 and tok == ("special", ","):
            addr = _mailbox(current)
            if addr is not None:
                result.append(addr)
            current = []
            continue
        current.append(tok)
    addr = _mailbox(current)
    if addr is not None:
        result.append(addr)
    if in_group:
        result.append(Address(None, None, None, None))
    return result


def grouped(addresses: list[Address]) -> AddressList:
    """The flat list of ``parse_address_list`` with its group markers made :class:`Group`
    values. A stray end marker (or an empty ``<>``) outside a group stays an address of
    four None fields, which renders the same way (RFC 9051 §7.5.2)."""
    out: list[Address | Group] = []
    group: Group | None = None
    members: list[Address] = []
    for a in addresses:
        if a.group:
            if group is not None:
                out.append(Group(group.name, tuple(members)))
            group, members = Group(a.mailbox if a.mailbox is not None else ""), []
        elif group is not None and a.mailbox is None and a.name is None and a.host is None and a.adl is None:
            out.append(Group(group.name, tuple(members)))
            group = None
        elif group is not None:
            members.append(a)
        else:
            out.append(a)
    if group is not None:
        out.append(Group(group.name, tuple(members)))
    return tuple(out)


def format_addresses(addresses: list[Address]) -> str:
    """Decoded, human display of a list: "Ann <a@x>, b@y"."""
    out: list[str] = []
    for a in addresses:
        if a.group or a.mailbox is None and a.name is None:
            continue
        out.append(a.display())
    return ", ".join(out)
