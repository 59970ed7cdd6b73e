-- Conversation keys per content, for the webmail's grouping (mail/conversations.py):
-- the content's own Message-ID and the msg-ids it names (References, In-Reply-To),
-- written at ingestion so grouping a folder is one indexed read, no header parsing.
-- Contents stored before this migration have no row; the first grouping that meets
-- them works their keys out from the stored envelope and References and fills the row.
CREATE TABLE thread_keys (
    content_id INTEGER PRIMARY KEY REFERENCES contents(id) ON DELETE CASCADE,
    keys       TEXT NOT NULL  -- "own named named …", space-separated; own "" when absent
);
