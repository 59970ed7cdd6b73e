"""Meta-test (docs/architecture.md §10.2): every (command, state) pair of the SMTP command table — in every
state, the refusals included — and every reply constant the server can produce appears in
some transcript. Constants that cannot occur are listed with the reason."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from postoffice.protocols.smtp.commands import COMMANDS
from postoffice.protocols.smtp.session import State
from postoffice.testing.coverage import coverage_report
from postoffice.wire.smtp import ALL_REPLIES

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "transcripts" / "smtp"

# Reply constants the server never sends today, and why.
NOT_PRODUCED: dict[str, str] = {
    "R211_STATUS": "no command asks for system status",
    "R251_WILL_FORWARD": "recipients are local or refused; nothing is forwarded",
    "R432_PASSWORD_TRANSITION": "no password transition scheme",
    "R451_TEMP_LOOKUP_FAILURE": "no DNS lookups on receipt yet (SPF/DKIM come later)",
    "R452_INSUFFICIENT_STORAGE": "no free-disk check yet",
    "R454_AUTH_TEMP_FAILURE": "the credential store is local; a failure is a 451",
    "R454_TLS_NOT_AVAILABLE": "every listener app.py starts has a TLS context (self-signed by default)",
    "R455_PARAMS_UNAVAILABLE": "every parameter the parser accepts is served",
    "R534_AUTH_TOO_WEAK": "every offered mechanism is accepted",
    "R550_BAD_SENDER": "no sender verification yet",
    "R550_MAILBOX_UNAVAILABLE": "no disabled mailboxes",
    "R550_POLICY": "the policies refuse with 554 5.7.1 / 553 5.7.1",
    "R553_BAD_MAILBOX_NAME": "address syntax errors are 501 5.1.3 from the parser",
    "R554_NO_SERVICE": "the greeting is never refused",
    "R554_TLS_REQUIRED_BY_POLICY": "no require-TLS policy yet",
    "R554_TRANSACTION_FAILED": "ingestion raises no MALFORMED error for SMTP input yet",
}

# Reply constants the server sends that a transcript cannot provoke, and the test that does.
TESTED_ELSEWHERE: dict[str, str] = {
    "R421_SHUTTING_DOWN": "a transcript cannot stop the server: tests/protocols/smtp/test_smtp_shutdown.py",
    "R550_DMARC_REJECT": "needs DNS records served by a test DNS server: tests/authn/test_mx_checks.py",
}


def test_every_command_in_every_state_has_a_transcript() -> None:
    every_state = {name: SimpleNamespace(states=list(State)) for name in COMMANDS}
    report = coverage_report(TRANSCRIPTS, "smtp", every_state)
    assert not report, report


def test_every_reply_constant_has_a_transcript() -> None:
    assert set(NOT_PRODUCED) | set(TESTED_ELSEWHERE) <= set(ALL_REPLIES)
    produced = {
        name: reply for name, reply in ALL_REPLIES.items() if name not in NOT_PRODUCED and name not in TESTED_ELSEWHERE
    }
    report = coverage_report(TRANSCRIPTS, "smtp", constants=produced)
    assert not report, report


def test_constants_listed_as_not_produced_are_not_used_by_the_server() -> None:
    source = "".join(
        p.read_text() for p in (Path(__file__).resolve().parents[3] / "postoffice/protocols/smtp").glob("*.py")
    )
    mapped_but_unreachable = {"R554_TRANSACTION_FAILED", "R454_TLS_NOT_AVAILABLE"}
    used = sorted(name for name in NOT_PRODUCED if name in source and name not in mapped_but_unreachable)
    assert not used, f"the server uses these; give them a transcript: {used}"
