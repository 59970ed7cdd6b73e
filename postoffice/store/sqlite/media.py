"""The media role (``store.media``) on the SQLite database of a SQLiteStore."""

from __future__ import annotations

import sqlite3
import struct

from postoffice.store.media import Cue, MediaFacts, Rendition
from postoffice.store.sqlite.engine import Database

__all__ = ["SQLiteMediaStore"]

_CUE = struct.Struct("<dq")
_COLS = "blob_id, container, audio_codec, video_codec, duration, bitrate, cues, seekable"


def _pack(cues: tuple[Cue, ...]) -> bytes:
    return b"".join(_CUE.pack(c.seconds, c.offset) for c in cues)


def _unpack(data: bytes) -> tuple[Cue, ...]:
    return tuple(Cue(s, o) for s, o in _CUE.iter_unpack(data))


class SQLiteMediaStore:
    """MediaFactsStore over one ``Database`` (shared with the SQLiteStore)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def put_media_facts(self, facts: MediaFacts) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT OR REPLACE INTO media_facts ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    facts.blob_id,
                    facts.container,
                    facts.audio_codec,
                    facts.video_codec,
                    facts.duration,
                    facts.bitrate,
                    _pack(facts.cues),
                    int(facts.seekable),
                ),
            )

        await self.db.write(op)

    async def get_media_facts(self, blob_ids: list[str]) -> dict[str, MediaFacts]:
        def op(conn: sqlite3.Connection) -> dict[str, MediaFacts]:
            found: dict[str, MediaFacts] = {}
            for start in range(0, len(blob_ids), 500):
                chunk = blob_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in conn.execute(f"SELECT {_COLS} FROM media_facts WHERE blob_id IN ({marks})", chunk):
                    found[row[0]] = MediaFacts(
                        row[0], row[1], row[2], row[3], row[4], row[5], _unpack(row[6]), bool(row[7])
                    )
            return found

        return await self.db.read(op)

    async def put_rendition(self, rendition: Rendition) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO media_renditions (source_blob_id, blob_id, media_type, spans) VALUES (?, ?, ?, ?)",
                (rendition.source_blob_id, rendition.blob_id, rendition.media_type, _pack_spans(rendition.spans)),
            )

        await self.db.write(op)

    async def get_renditions(self, source_blob_ids: list[str]) -> dict[str, Rendition]:
        def op(conn: sqlite3.Connection) -> dict[str, Rendition]:
            found: dict[str, Rendition] = {}
            for start in range(0, len(source_blob_ids), 500):
                chunk = source_blob_ids[start : start + 500]
                marks = ",".join("?" * len(chunk))
                sql = (
                    "SELECT source_blob_id, blob_id, media_type, spans FROM media_renditions"
                    f" WHERE source_blob_id IN ({marks})"
                )
                for row in conn.execute(sql, chunk):
                    found[row[0]] = Rendition(row[0], row[1], row[2], _unpack_spans(row[3]))
            return found

        return await self.db.read(op)

    async def rendition_blob_ids(self, source_blob_ids: set[str]) -> set[str]:
        def op(conn: sqlite3.Connection) -> set[str]:
            rows = conn.execute("SELECT source_blob_id, blob_id FROM media_renditions")
            return {blob for source, blob in rows if source in source_blob_ids}

        return await self.db.read(op)

    async def put_position(self, account_id: int, content_id: int, section: str, seconds: float, now: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT OR REPLACE INTO media_positions (account_id, content_id, section, seconds, updated)"
                " VALUES (?, ?, ?, ?, ?)",
                (account_id, content_id, section, seconds, now),
            )

        await self.db.write(op)

    async def get_positions(self, account_id: int, content_id: int) -> dict[str, float]:
        def op(conn: sqlite3.Connection) -> dict[str, float]:
            rows = conn.execute(
                "SELECT section, seconds FROM media_positions WHERE account_id = ? AND content_id = ?",
                (account_id, content_id),
            )
            return {section: seconds for section, seconds in rows}

        return await self.db.read(op)


def _pack_spans(spans: tuple[tuple[int, int], ...]) -> str:
    return " ".join(f"{offset}:{length}" for offset, length in spans)


def _unpack_spans(text: str) -> tuple[tuple[int, int], ...]:
    spans: list[tuple[int, int]] = []
    for item in text.split():
        offset, _, length = item.partition(":")
        spans.append((int(offset), int(length)))
    return tuple(spans)
