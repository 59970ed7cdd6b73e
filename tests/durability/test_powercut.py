"""Power cuts at random points under SMTP, IMAP APPEND, POP3 DELE+QUIT and IMAP
EXPUNGE (issue 15): nothing acknowledged is lost, nothing is duplicated, no
acknowledged deletion comes back, and the store opens cleanly after every cut.

The server keeps its data on powerfs, which forgets every write that was not fsynced
(see ``postoffice.testing.powerfs``); ``postoffice.testing.powercut`` drives the
clients, the cuts and the checks. Reproduce a run with POWERCUT_SEED=<seed>; the cut
points are logged in the failure message. bench/powercut.py runs 1,000 cuts.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from postoffice.testing.powercut import run_power_cuts

CUTS = 50
SEED = int(os.environ.get("POWERCUT_SEED", "1515"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(400),
    pytest.mark.skipif(
        not os.path.exists("/dev/fuse") or shutil.which("fusermount3") is None or os.geteuid() != 0,
        reason="powerfs needs /dev/fuse, fusermount3 (Debian fuse3) and root",
    ),
    pytest.mark.skipif(
        not (Path(sys.executable).parent / "postoffice").exists(), reason="the postoffice console script is missing"
    ),
]


def test_power_cuts_lose_nothing_acknowledged(tmp_path: Path) -> None:
    result = run_power_cuts(tmp_path, CUTS, SEED)
    report = "\n".join([f"seed {SEED}", result.summary(), *result.lost[:10], *result.duplicated[:10],
                        *result.undone[:10], *result.strange[:10], *result.failures[:10], *result.log])  # fmt: skip
    assert result.ok, report
    assert result.cuts == CUTS + 5, report  # and five right after single operations
    # The cuts fell in the middle of real work of every kind.
    for op in ("smtp", "append", "pop3_dele", "imap_expunge"):
        assert result.acknowledged[op] > 0, report
