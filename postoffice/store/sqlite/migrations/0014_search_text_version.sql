-- 0014: search text made by an older text extraction is made again.
--
-- search_meta.version is the version of the text extraction (mail/ingest.py
-- SEARCH_TEXT_VERSION) that made every search_text row not listed in search_stale.
-- When the code's version is higher, every row is listed in search_stale and the
-- version raised, in one transaction (mark_search_text_stale); a background worker
-- then parses each listed message again and replaces its text (replace_search_text),
-- which takes it off the list. Rows written by new code are current: inserts need no
-- change. The list is the worker's progress: a restart carries on where it stopped.
-- Every database before this migration holds version-1 text.
CREATE TABLE search_meta (
    version INTEGER NOT NULL
);
INSERT INTO search_meta (version) VALUES (1);

CREATE TABLE search_stale (
    content_id INTEGER PRIMARY KEY   -- search_text.id made by an older extraction
);

-- A content removed (garbage collection) leaves the list with its text.
CREATE TRIGGER search_stale_gone AFTER DELETE ON search_text BEGIN
    DELETE FROM search_stale WHERE content_id = old.id;
END;
