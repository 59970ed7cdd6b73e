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
    cues         BLOB NOT NULL DEFAULT x''
) WITHOUT ROWID;
