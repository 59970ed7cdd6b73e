"""Account addresses and mailbox names: validation and canonical forms.

Account addresses are "local@domain" with both halves lower-cased. Mailbox names use
"/" as hierarchy separator; "INBOX" is case-insensitive (RFC 9051 §5.1) and always
spelled "INBOX"; a name is validated after any wire decoding (modified UTF-7).
"""

from __future__ import annotations

import re
import unicodedata

from postoffice.errors import Kind, MailError

__all__ = [
    "SEPARATOR",
    "canonical_address",
    "split_address",
    "canonical_domain",
    "canonical_mailbox",
    "validate_mailbox_name",
    "parent_names",
]

SEPARATOR = "/"

_DOMAIN_LABEL = r"[A-Za-z0-9\u0080-\U0010ffff]([A-Za-z0-9\u0080-\U0010ffff-]{0,61}[A-Za-z0-9\u0080-\U0010ffff])?"
_DOMAIN_RE = re.compile(rf"(?=.{{1,253}}$){_DOMAIN_LABEL}(\.{_DOMAIN_LABEL})*")
# RFC 5321 Dot-string atoms, plus UTF-8 (RFC 6531); no quoted local parts for accounts.
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\u0080-\U0010ffff-]+)*")


def canonical_domain(domain: str) -> str:
    d = domain.strip().rstrip(".") if domain.endswith(".") and not domain.endswith("..") else domain.strip()
    if not _DOMAIN_RE.fullmatch(d):
        raise MailError(Kind.INVALID, f"malformed domain {domain!r}")
    return d.lower()


def split_address(address: str) -> tuple[str, str]:
    """("local", "domain") of a canonical account address; MailError(INVALID) if malformed."""
    if address.count("@") != 1:
        raise MailError(Kind.INVALID, f"malformed address {address!r}: expected local@domain")
    local, domain = address.rsplit("@", 1)
    if not local or len(local.encode()) > 64 or not _LOCAL_RE.fullmatch(local):
        raise MailError(Kind.INVALID, f"malformed address {address!r}: bad local part")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in address):
        raise MailError(Kind.INVALID, f"malformed address {address!r}")
    return unicodedata.normalize("NFC", local).lower(), canonical_domain(domain)


def canonical_address(address: str) -> str:
    local, domain = split_address(address.strip())
    return f"{local}@{domain}"


def canonical_mailbox(name: str) -> str:
    """INBOX in any case (and INBOX/child) spelled "INBOX"."""
    head, sep, rest = name.partition(SEPARATOR)
    if head.upper() == "INBOX":
        return "INBOX" + sep + rest
    return name


def validate_mailbox_name(name: str, *, max_length: int = 255, max_depth: int = 16) -> str:
    """Canonical name, or MailError(INVALID) naming what is wrong."""
    if not name:
        raise MailError(Kind.INVALID, "empty mailbox name")
    if len(name.encode("utf-8")) > max_length:
        raise MailError(Kind.INVALID, f"mailbox name longer than {max_length} octets")
    # RFC 9755 §3 (Net-Unicode, RFC 5198 §2): no control characters (C0, DEL, C1), no
    # LINE SEPARATOR U+2028 (Zl) or PARAGRAPH SEPARATOR U+2029 (Zp); nor format, surrogate,
    # private-use or unassigned code points.
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp") for c in name):
        raise MailError(Kind.INVALID, "control, separator or unassigned characters in mailbox name")
    parts = name.split(SEPARATOR)
    if any(p == "" for p in parts):
        raise MailError(Kind.INVALID, "empty hierarchy level in mailbox name")
    if any(p in (".", "..") for p in parts):
        raise MailError(Kind.INVALID, "'.' or '..' in mailbox name")
    if len(parts) > max_depth:
        raise MailError(Kind.INVALID, f"mailbox name deeper than {max_depth} levels")
    if any(c in name for c in "*%"):
        raise MailError(Kind.INVALID, "wildcards in mailbox name")
    return unicodedata.normalize("NFC", canonical_mailbox(name))


def parent_names(name: str) -> list[str]:
    """["a", "a/b"] for "a/b/c"."""
    parts = name.split(SEPARATOR)
    return [SEPARATOR.join(parts[:i]) for i in range(1, len(parts))]
