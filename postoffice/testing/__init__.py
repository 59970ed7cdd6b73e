"""Test kit: the ``.t`` transcript runner, in-process servers and coverage of transcripts.

Modules: ``transcript`` (the file format), ``match`` (token matching), ``dialects``
(IMAP/SMTP/POP3 reading and matching), ``runner`` (plays a transcript), ``server``
(TranscriptServer on the SQLite store), ``coverage`` (which commands and replies no
transcript exercises), ``pytest_plugin`` (one pytest item per ``.t`` file).
Nothing here is imported by the server itself.
"""

from __future__ import annotations

from postoffice.testing.runner import Runner, TranscriptFailure, TranscriptHost, run_transcript
from postoffice.testing.server import TranscriptServer, run_transcript_file
from postoffice.testing.transcript import Transcript, TranscriptSyntaxError, parse_file, parse_transcript

__all__ = [
    "Runner",
    "Transcript",
    "TranscriptFailure",
    "TranscriptHost",
    "TranscriptServer",
    "TranscriptSyntaxError",
    "parse_file",
    "parse_transcript",
    "run_transcript",
    "run_transcript_file",
]
