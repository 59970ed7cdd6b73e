"""Headers of voice and video messages: RFC 3803 Content-Duration, RFC 3458
Message-Context, and Outlook's X-VoiceMessageDuration."""

from __future__ import annotations

import pytest

from postoffice.media.headers import (
    content_duration,
    message_context,
    parse_content_duration,
    parse_message_context,
    parse_voice_message_duration,
)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("33", 33), (" 1200 ", 1200), ("33 (about half a minute)", 33), ("0", 0), ("9999999999", 9999999999),
     ("12345678901", None), ("1.5", None), ("-3", None), ("", None), (None, None), ("abc", None)],
)
def test_content_duration(value: str | None, seconds: int | None) -> None:
    assert parse_content_duration(value) == seconds
    assert parse_voice_message_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "context"),
    [("voice-message", "voice-message"), ("Video-Message", "video-message"), (" voice-message (from the phone)", "voice-message"),
     ("fax-message", "fax-message"), ("singing-telegram", None), (None, None)],
)
def test_message_context(value: str | None, context: str | None) -> None:
    assert parse_message_context(value) == context


def test_writing_round_trips() -> None:
    assert parse_content_duration(content_duration(61.6)) == 62
    assert parse_message_context(message_context(video=False)) == "voice-message"
    assert parse_message_context(message_context(video=True)) == "video-message"
    with pytest.raises(ValueError):
        content_duration(1e10)
