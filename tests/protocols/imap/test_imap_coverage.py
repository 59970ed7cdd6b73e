"""Meta-test (docs/architecture.md §10.2): every (command, state) pair of the IMAP command table and every
response code the server can produce appears in some transcript."""

from __future__ import annotations

from pathlib import Path

from postoffice.protocols.imap.commands import COMMANDS
from postoffice.protocols.imap.errors import PRODUCED_CODES
from postoffice.testing.coverage import coverage_report

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "transcripts" / "imap"


def test_every_command_and_state_has_a_transcript() -> None:
    report = coverage_report(TRANSCRIPTS, "imap", COMMANDS)
    assert not report, report


def test_every_response_code_has_a_transcript() -> None:
    report = coverage_report(TRANSCRIPTS, "imap", constants=PRODUCED_CODES)
    assert not report, report
