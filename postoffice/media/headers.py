"""Headers describing voice and video messages: reading and writing, no I/O.

- ``Content-Duration`` (RFC 3803 §3): the time of a part, in whole seconds,
  ``1*10DIGIT``.
- ``Message-Context`` (RFC 3458 §3): ``voice-message``, ``video-message`` and the
  other registered context tokens (§4), case-insensitive, comments allowed.
- ``X-VoiceMessageDuration``: what Outlook and Exchange unified messaging write on a
  voice mail, whole seconds.
"""

from __future__ import annotations

import re

__all__ = [
    "CONTEXTS",
    "parse_content_duration",
    "parse_message_context",
    "parse_voice_message_duration",
    "content_duration",
    "message_context",
]

# RFC 3458 §4.2 (and RFC 3938's multimedia-message): the registered context values.
CONTEXTS = frozenset(
    {"voice-message", "fax-message", "pager-message", "multimedia-message", "text-message", "none", "video-message"}
)
_COMMENT = re.compile(r"\([^()]*\)")
_DIGITS = re.compile(r"[0-9]{1,10}")


def parse_content_duration(value: str | None) -> int | None:
    """Seconds from ``Content-Duration`` (RFC 3803 §3: 1*10DIGIT), None when absent or malformed."""
    if value is None:
        return None
    text = _COMMENT.sub("", value).strip()
    return int(text) if _DIGITS.fullmatch(text) else None


def parse_voice_message_duration(value: str | None) -> int | None:
    """Seconds from ``X-VoiceMessageDuration`` (whole seconds, as Outlook writes it)."""
    return parse_content_duration(value)


def parse_message_context(value: str | None) -> str | None:
    """The context token of ``Message-Context`` (RFC 3458 §3), lower-case; None when
    absent or not a registered value."""
    if value is None:
        return None
    token = _COMMENT.sub("", value).strip().lower()
    return token if token in CONTEXTS else None


def content_duration(seconds: float) -> str:
    """The ``Content-Duration`` value for a part lasting ``seconds`` (rounded, RFC 3803)."""
    whole = max(0, round(seconds))
    if whole >= 10**10:
        raise ValueError("a duration of more than 10 digits of seconds")
    return str(whole)


def message_context(*, video: bool) -> str:
    """``Message-Context`` for a recorded message (RFC 3458 §4.2)."""
    return "video-message" if video else "voice-message"
