"""Mailbox names (mail.names): what RFC 9755 §3 forbids is refused, at the edges."""

from __future__ import annotations

import pytest

from postoffice.errors import Kind, MailError
from postoffice.mail.names import validate_mailbox_name


@pytest.mark.parametrize(
    "name",
    [
        "a\u2028b",  # LINE SEPARATOR
        "a\u2029b",  # PARAGRAPH SEPARATOR
        "a\x00b", "a\x1fb", "a\x7fb", "a\x80b", "a\x9fb",  # C0, DEL, C1
        "a\ufffeb", "a\ufdd0b",  # noncharacters
        "a\u200eb",  # a format character (LEFT-TO-RIGHT MARK)
    ],
)
def test_forbidden_characters_are_refused(name: str) -> None:
    with pytest.raises(MailError) as info:
        validate_mailbox_name(name)
    assert info.value.kind is Kind.INVALID


@pytest.mark.parametrize("name", ["a\u2027b", "a\u00a0b", "Entw\u00fcrfe", "\u65e5\u672c"])
def test_neighbours_are_accepted(name: str) -> None:
    assert validate_mailbox_name(name) == name


def test_names_are_stored_in_nfc() -> None:
    assert validate_mailbox_name("Entwu\u0308rfe") == "Entw\u00fcrfe"
