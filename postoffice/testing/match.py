"""Token matching of one expected ``S:`` line against one server response.

Owns the matching rules of transcripts (docs/architecture.md §10.2) that do not depend on the session:
tokenizing, ``$name`` captures, ``$_``, the ``*`` wildcard, and the IMAP lists whose
order carries no meaning.

Invariants:
- Matching never raises on malformed input: the tokenizer is lenient (an unclosed
  quote or parenthesis runs to the end of the line) so a broken server answer gives a
  mismatch, not a crash in the runner.
- A failed match leaves the capture dictionary it was given unchanged; captures made
  during a successful match are committed all at once (``try_match``).

Rules:
- ``$name`` (a ``$`` then a lower-case letter, then ``[a-z0-9_]``) captures one token
  (an atom, a string, a literal or a whole parenthesised list) on first sight and must
  equal it afterwards. ``$Forwarded`` and other ``$`` + upper-case words are IMAP
  keywords, compared as written.
- ``$_`` matches any one token.
- ``*`` as the LAST token of a line or of a list matches the rest of that line or list
  (nothing included). Elsewhere ``*`` is the character ``*`` (the untagged marker).
- An atom and a quoted string with the same content are equal (servers may quote).
- Unordered by meaning: the list after ``FLAGS``, ``PERMANENTFLAGS``, ``LIST`` and
  ``LSUB``; every token after ``CAPABILITY``, ``ENABLED``, ``AUTH`` and ``SASL``; the
  items of a ``FETCH`` list (matched by item name; without a trailing ``*`` the item
  names must be the same set).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Atom",
    "Quoted",
    "Literal",
    "Group",
    "Token",
    "tokenize",
    "tokenize_simple",
    "render",
    "match_tokens",
    "try_match",
    "VAR_RE",
]

VAR_RE = re.compile(r"\$([a-z][a-z0-9_]*)")
_VAR_TOKEN = re.compile(r"\$[a-z][a-z0-9_]*\Z")
_LITERAL_START = re.compile(rb"~?\{(\d+)\+?\}\r?\n")

UNORDERED_NEXT_LIST = frozenset({"FLAGS", "PERMANENTFLAGS", "LIST", "LSUB"})
UNORDERED_REST = frozenset({"CAPABILITY", "ENABLED", "AUTH", "SASL"})


@dataclass(frozen=True, slots=True)
class Atom:
    text: str


@dataclass(frozen=True, slots=True)
class Quoted:
    text: str


@dataclass(frozen=True, slots=True)
class Literal:
    data: bytes


@dataclass(frozen=True, slots=True)
class Group:
    open: str  # "(" or "["
    items: tuple[Token, ...]


Token = Atom | Quoted | Literal | Group
_CLOSE = {"(": ")", "[": "]"}


def _dec(b: bytes) -> str:
    return b.decode("utf-8", "surrogateescape")


def tokenize(data: bytes) -> list[Token]:
    """IMAP-style tokens of one response (or pattern) line, literals included.

    ``data`` has no final CRLF; a literal is ``{n}`` CRLF then n octets."""
    pos = 0
    stack: list[tuple[str, list[Token]]] = [("", [])]
    n = len(data)
    while pos < n:
        c = data[pos : pos + 1]
        if c in (b" ", b"\r", b"\n", b"\t"):
            pos += 1
        elif c in (b"(", b"["):
            stack.append((_dec(c), []))
            pos += 1
        elif c in (b")", b"]") and len(stack) > 1 and _CLOSE[stack[-1][0]] == _dec(c):
            opened, items = stack.pop()
            stack[-1][1].append(Group(opened, tuple(items)))
            pos += 1
        elif c == b'"':
            pos += 1
            out = bytearray()
            while pos < n and data[pos : pos + 1] != b'"':
                if data[pos : pos + 1] == b"\\" and pos + 1 < n:
                    pos += 1
                out += data[pos : pos + 1]
                pos += 1
            pos += 1
            stack[-1][1].append(Quoted(_dec(bytes(out))))
        else:
            m = _LITERAL_START.match(data, pos)
            if m:
                size = int(m.group(1))
                stack[-1][1].append(Literal(data[m.end() : m.end() + size]))
                pos = m.end() + size
                continue
            start = pos
            depth = 0  # BODY[HEADER.FIELDS (From)] is one atom
            while pos < n:
                ch = data[pos]
                if ch == 0x5B:  # [
                    depth += 1
                elif ch == 0x5D:  # ]
                    if depth == 0:
                        break
                    depth -= 1
                elif depth == 0 and ch in b' ()"\r\n':
                    break
                pos += 1
            if pos == start:  # a stray closing bracket: keep it as an atom
                pos += 1
            stack[-1][1].append(Atom(_dec(data[start:pos])))
    while len(stack) > 1:
        opened, items = stack.pop()
        stack[-1][1].append(Group(opened, tuple(items)))
    return stack[0][1]


def tokenize_simple(line: str) -> list[Token]:
    """SMTP / POP3 text: tokens separated by single spaces, kept exactly."""
    return [Atom(t) for t in line.split(" ")] if line else []


def render(token: Token) -> str:
    """The text a capture holds and a ``C:`` line gets when ``$name`` is substituted."""
    if isinstance(token, Atom):
        return token.text
    if isinstance(token, Quoted):
        if token.text and re.fullmatch(r"[^\s()\[\]{}\"\\%*]+", token.text):
            return token.text
        return '"' + token.text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(token, Literal):
        return _dec(token.data)
    return token.open + " ".join(render(t) for t in token.items) + _CLOSE[token.open]


def _is_wild(token: Token) -> bool:
    return isinstance(token, Atom) and token.text == "*"


def _text(token: Token) -> str | None:
    if isinstance(token, (Atom, Quoted)):
        return token.text
    if isinstance(token, Literal):
        return _dec(token.data)
    return None


def _match_one(p: Token, v: Token, caps: dict[str, str], unordered: bool = False) -> bool:
    if isinstance(p, Atom):
        if p.text == "$_":
            return True
        if _VAR_TOKEN.match(p.text):
            name = p.text[1:]
            value = render(v)
            if name in caps:
                return caps[name] == value
            caps[name] = value
            return True
    if isinstance(p, Group):
        if not isinstance(v, Group) or p.open != v.open:
            return False
        return match_tokens(p.items, v.items, caps, unordered=unordered)
    if isinstance(p, Literal) and isinstance(v, Literal):
        return p.data == v.data
    pt, vt = _text(p), _text(v)
    return pt is not None and vt is not None and pt == vt


def _upper(token: Token) -> str:
    return token.text.upper() if isinstance(token, Atom) else ""


def match_tokens(pattern: Sequence[Token], value: Sequence[Token], caps: dict[str, str], *, unordered: bool = False) -> bool:
    """Match a token sequence; ``caps`` is updated in place (use ``try_match`` to keep
    it unchanged on failure)."""
    pattern = list(pattern)
    wild = bool(pattern) and _is_wild(pattern[-1])
    if wild:
        pattern = pattern[:-1]
    if len(value) < len(pattern) or (not wild and len(value) != len(pattern)):
        return False
    if unordered:
        return _match_multiset(pattern, list(value), caps, allow_extra=wild)
    for i, p in enumerate(pattern):
        v = value[i]
        previous = _upper(pattern[i - 1]) if i > 0 else ""
        if previous == "FETCH" and isinstance(p, Group) and isinstance(v, Group):
            if not _match_fetch(p.items, v.items, caps):
                return False
            continue
        if _upper(p) in UNORDERED_REST and _upper(v) == _upper(p):
            rest_p = list(pattern[i + 1 :]) + ([Atom("*")] if wild else [])
            return match_tokens(rest_p, value[i + 1 :], caps, unordered=True)
        if not _match_one(p, v, caps, unordered=previous in UNORDERED_NEXT_LIST):
            return False
    return True


def _match_multiset(pattern: list[Token], value: list[Token], caps: dict[str, str], *, allow_extra: bool) -> bool:
    used = [False] * len(value)
    for p in pattern:
        for j, v in enumerate(value):
            if used[j]:
                continue
            trial = dict(caps)
            if _match_one(p, v, trial):
                caps.clear()
                caps.update(trial)
                used[j] = True
                break
        else:
            return False
    return allow_extra or all(used)


def _match_fetch(pattern: Sequence[Token], value: Sequence[Token], caps: dict[str, str]) -> bool:
    """RFC 9051 §7.5.2: FETCH items come in any order; match them by item name."""
    items = list(pattern)
    wild = bool(items) and _is_wild(items[-1])
    if wild:
        items = items[:-1]
    got: dict[str, Token] = {}
    for i in range(0, len(value) - 1, 2):
        got[_text(value[i]) or render(value[i])] = value[i + 1]
    got = {k.upper(): v for k, v in got.items()}
    if len(items) % 2:
        return False
    wanted: set[str] = set()
    for i in range(0, len(items), 2):
        key = (_text(items[i]) or "").upper()
        wanted.add(key)
        if key not in got:
            return False
        if not _match_one(items[i + 1], got[key], caps, unordered=key == "FLAGS"):
            return False
    return wild or wanted == set(got)


def try_match(pattern: Sequence[Token], value: Sequence[Token], caps: dict[str, str], *, unordered: bool = False) -> bool:
    """``match_tokens`` that commits captures to ``caps`` only when the whole match succeeds."""
    trial = dict(caps)
    if match_tokens(pattern, value, trial, unordered=unordered):
        caps.update(trial)
        return True
    return False
