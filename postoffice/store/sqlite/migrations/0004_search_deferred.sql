-- 0004: search text is indexed after delivery, not in the delivery transaction.
-- Feeding a 4 KiB message to the trigram index costs milliseconds of CPU and tens
-- of pages per message when done a few messages per commit; done later in large
-- batches it costs half that, and off the path that acknowledges mail.
--
-- search_text holds the decoded text once (rowid = contents.id) and is written with
-- the content. search_pending lists the contents whose text is not yet in the FTS
-- index; the writer thread indexes them when idle (store.py: _index_pending), and
-- a search scans their text instead, so a search sees a message the moment it is
-- stored. search is now an external-content FTS5 table over search_text: the text
-- is not stored a second time. Whoever deletes a search_text row must first remove
-- it from the index ('delete' command with the old values) unless it is still pending.
CREATE TABLE search_text (
    id        INTEGER PRIMARY KEY,   -- contents.id
    from_addr TEXT NOT NULL,
    to_addr   TEXT NOT NULL,
    cc        TEXT NOT NULL,
    bcc       TEXT NOT NULL,
    subject   TEXT NOT NULL,
    headers   TEXT NOT NULL,
    body      TEXT NOT NULL
);
INSERT INTO search_text (id, from_addr, to_addr, cc, bcc, subject, headers, body)
    SELECT rowid, coalesce(from_addr, ''), coalesce(to_addr, ''), coalesce(cc, ''), coalesce(bcc, ''),
           coalesce(subject, ''), coalesce(headers, ''), coalesce(body, '')
    FROM search;
DROP TABLE search;

CREATE VIRTUAL TABLE search USING fts5 (
    from_addr, to_addr, cc, bcc, subject, headers, body,
    content = 'search_text', content_rowid = 'id',
    tokenize = 'trigram'
);

-- Every content of an upgraded database starts pending: the upgrade is instant and
-- the index is rebuilt in the background.
CREATE TABLE search_pending (
    content_id INTEGER PRIMARY KEY   -- search_text.id not yet in the index
);
INSERT INTO search_pending (content_id) SELECT id FROM search_text;
