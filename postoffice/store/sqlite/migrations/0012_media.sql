-- Media facts of audio and video parts, keyed by the blob of the decoded part (so
-- shared by every message carrying it). cues: packed little-endian (float64 seconds,
-- int64 offset) pairs, the keyframe index.
CREATE TABLE media_facts (
    blob_id      TEXT PRIMARY KEY,
    container    TEXT NOT NULL,
    audio_codec  TEXT NOT NULL DEFAULT '',
    video_codec  TEXT NOT NULL DEFAULT '',
    duration     REAL,                    -- seconds, NULL when unknown
    bitrate      INTEGER NOT NULL DEFAULT 0,
    cues         BLOB NOT NULL DEFAULT x'',
    seekable     INTEGER NOT NULL DEFAULT 0  -- plays and seeks as it is (no rendition needed)
) WITHOUT ROWID;

-- Seekable renditions (a stream-copy remux, or Opus for PCM voice mail), kept beside
-- the untouched original: one per source blob, itself a blob (content-addressed).
CREATE TABLE media_renditions (
    source_blob_id  TEXT PRIMARY KEY,
    blob_id         TEXT NOT NULL,
    media_type      TEXT NOT NULL
) WITHOUT ROWID;

-- Where each user stopped playing each media part (resumed on any device).
CREATE TABLE media_positions (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    content_id  INTEGER NOT NULL,
    section     TEXT NOT NULL,
    seconds     REAL NOT NULL,
    updated     REAL NOT NULL,
    PRIMARY KEY (account_id, content_id, section)
) WITHOUT ROWID;
