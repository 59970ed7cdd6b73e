"""Streaming SMTP client (RFC 5321), used by the outbound queue and by tests.

Owns the client side of SMTP: :class:`SMTPConnection` (EHLO with HELO fallback,
STARTTLS — opportunistic unless verification is demanded —, AUTH PLAIN to a smarthost,
PIPELINING, BDAT with CHUNKING else DATA with dot-stuffing, SIZE, DSN parameters,
8BITMIME/BINARYMIME downgrade, SMTPUTF8 check), typed replies (:class:`ServerReply`)
and per-recipient results. Invariants: constant memory per connection whatever the
message size; every wait on the peer is bounded in time and every reply in size.
"""

from __future__ import annotations

from .client import (
    Envelope,
    RecipientResult,
    RecipientSpec,
    SignHook,
    SMTPClientError,
    SMTPConnection,
    TLSMode,
    TransactionResult,
    synthetic,
)
from .framing import DataFramer
from .reply import ReplyError, ReplyParser, ServerReply

__all__ = [
    "DataFramer",
    "SignHook",
    "Envelope",
    "RecipientResult",
    "RecipientSpec",
    "ReplyError",
    "ReplyParser",
    "SMTPClientError",
    "SMTPConnection",
    "ServerReply",
    "TLSMode",
    "TransactionResult",
    "synthetic",
]
