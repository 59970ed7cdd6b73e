"""pytest integration: every ``tests/transcripts/<protocol>/*.t`` file is one test item.

``tests/conftest.py`` imports :func:`pytest_collect_file` from here. Each item runs its
transcript on its own fresh data dir (a temporary directory removed afterwards) with
``server.run_transcript_file``. A failure shows the runner's report, not a traceback.
An item is skipped, with the reason, while ``postoffice.protocols.<protocol>`` has no
``make_server`` (the server is not built yet).
"""

from __future__ import annotations

import asyncio
import importlib
import tempfile
from pathlib import Path
from typing import Any

import pytest

from postoffice.testing.runner import TranscriptFailure
from postoffice.testing.transcript import TranscriptSyntaxError, parse_file

__all__ = ["pytest_collect_file", "TranscriptFile", "TranscriptItem"]


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".t" and "transcripts" in file_path.parts:
        return TranscriptFile.from_parent(parent, path=file_path)
    return None


class TranscriptFile(pytest.File):
    def collect(self) -> Any:
        yield TranscriptItem.from_parent(self, name=self.path.stem)


def _server_missing(protocol: str) -> str | None:
    try:
        module = importlib.import_module(f"postoffice.protocols.{protocol}")
    except ImportError as exc:
        return f"postoffice.protocols.{protocol} does not import: {exc}"
    if not hasattr(module, "make_server"):
        return f"postoffice.protocols.{protocol} has no make_server yet"
    return None


class TranscriptItem(pytest.Item):
    def runtest(self) -> None:
        from postoffice.testing.server import run_transcript_file

        transcript = parse_file(self.path)  # syntax errors fail even before the server exists
        missing = _server_missing(transcript.header.protocol)
        if missing:
            pytest.skip(missing)
        with tempfile.TemporaryDirectory(prefix="postoffice-t-") as tmp:
            asyncio.run(run_transcript_file(self.path, Path(tmp)))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, (TranscriptFailure, TranscriptSyntaxError)):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"transcript {self.path.parent.name}/{self.path.name}"



