"""Sender authentication: DKIM signing on the way out, SPF, DKIM and DMARC on the way in.

Owns the DKIM keys of the local domains (``keys``: made on first need under
``data_dir/dkim``, rotated on request), signing (``sign``: RSA-SHA256 and Ed25519-SHA256,
RFC 6376 and RFC 8463, the body hashed as it streams), and the MX side's checks
(``inbound``: SPF RFC 7208 via pyspf, DKIM verification via dkimpy, DMARC RFC 7489 with
the Public Suffix List shipped in a package, the result written as an
Authentication-Results field, RFC 8601), plus ``records``: the DNS records a domain needs.

Rules: like ``mail/``, this package does file and DNS I/O and never imports a protocol
server or a store backend. DNS goes through the resolvers of ``[dns]``; nothing here is
fetched from the network except DNS answers (the suffix list is the packaged one).
"""

from __future__ import annotations

from .inbound import InboundChecker, InboundMessage, Verdict
from .keys import DkimKey, DkimKeys
from .sign import DkimSigner, MessageSigner, sign_message, signing_domain

__all__ = [
    "DkimKey", "DkimKeys", "DkimSigner", "MessageSigner", "sign_message", "signing_domain",
    "InboundChecker", "InboundMessage", "Verdict",
]  # fmt: skip
