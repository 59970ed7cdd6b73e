"""The transcript meta-test (docs/architecture.md §10.2): every (command, state) pair of the POP3 command
table and every POP3 response code is exercised by some transcript."""

from __future__ import annotations

from pathlib import Path

from postoffice.protocols.pop3 import COMMANDS
from postoffice.testing.coverage import coverage_report
from postoffice.wire.pop3 import ALL_RESPONSES

TRANSCRIPTS = Path(__file__).resolve().parents[2] / "transcripts" / "pop3"

# Codes a transcript cannot provoke, each tested in test_pop3_server.py instead:
# SYS/TEMP and SYS/PERM need a failing store or a server without TLS; LOGIN-DELAY is
# never sent (CAPA advertises LOGIN-DELAY 0).
NOT_FROM_TRANSCRIPTS = {"ERR_SYS_TEMP", "ERR_SYS_PERM", "ERR_TLS_UNAVAILABLE", "ERR_LOGIN_DELAY"}


def test_every_command_state_pair_and_response_code_has_a_transcript() -> None:
    constants = {name: value for name, value in ALL_RESPONSES.items() if name not in NOT_FROM_TRANSCRIPTS}
    report = coverage_report(TRANSCRIPTS, "pop3", COMMANDS, constants)
    assert not report, report
