-- The figures of the whole store that /metrics and `postoffice status` show, kept by
-- triggers so reading them is one row, whatever the store holds (no scan): message
-- records in every mailbox and their octets (raw: once per mailbox holding them), and
-- the distinct contents some message refers to and their octets (after dedup).
-- Deletes cascading from a mailbox or an account fire the triggers too.
CREATE TABLE store_totals (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    messages      INTEGER NOT NULL,
    raw_bytes     INTEGER NOT NULL,
    contents      INTEGER NOT NULL,
    content_bytes INTEGER NOT NULL
);

INSERT INTO store_totals (id, messages, raw_bytes, contents, content_bytes)
SELECT 1,
       (SELECT count(*) FROM messages),
       (SELECT coalesce(sum(size), 0) FROM messages),
       (SELECT count(*) FROM contents c WHERE EXISTS (SELECT 1 FROM messages m WHERE m.content_id = c.id)),
       (SELECT coalesce(sum(c.size), 0) FROM contents c
         WHERE EXISTS (SELECT 1 FROM messages m WHERE m.content_id = c.id));

-- One UPDATE per row changed. AFTER INSERT the new row is counted: it is its content's
-- first when no other row refers to that content (one probe of messages_content).
CREATE TRIGGER store_totals_insert AFTER INSERT ON messages
BEGIN
    UPDATE store_totals
       SET messages = messages + 1,
           raw_bytes = raw_bytes + NEW.size,
           contents = contents + first,
           content_bytes = content_bytes + first * (SELECT size FROM contents WHERE id = NEW.content_id)
      FROM (SELECT NOT EXISTS (
                SELECT 1 FROM messages
                 WHERE content_id = NEW.content_id AND (mailbox_id, uid) != (NEW.mailbox_id, NEW.uid)
            ) AS first)
     WHERE id = 1;
END;

CREATE TRIGGER store_totals_delete AFTER DELETE ON messages
BEGIN
    UPDATE store_totals
       SET messages = messages - 1,
           raw_bytes = raw_bytes - OLD.size,
           contents = contents - last,
           content_bytes = content_bytes - last * coalesce((SELECT size FROM contents WHERE id = OLD.content_id), 0)
      FROM (SELECT NOT EXISTS (SELECT 1 FROM messages WHERE content_id = OLD.content_id) AS last)
     WHERE id = 1;
END;

-- Not done by the store today (a message's content and size never change); kept right
-- all the same.
CREATE TRIGGER store_totals_update AFTER UPDATE OF size, content_id ON messages
BEGIN
    UPDATE store_totals SET raw_bytes = raw_bytes - OLD.size + NEW.size WHERE id = 1;
    UPDATE store_totals
       SET contents = contents - 1,
           content_bytes = content_bytes - coalesce((SELECT size FROM contents WHERE id = OLD.content_id), 0)
     WHERE id = 1 AND OLD.content_id != NEW.content_id
       AND NOT EXISTS (SELECT 1 FROM messages WHERE content_id = OLD.content_id);
    UPDATE store_totals
       SET contents = contents + 1,
           content_bytes = content_bytes + (SELECT size FROM contents WHERE id = NEW.content_id)
     WHERE id = 1 AND OLD.content_id != NEW.content_id
       AND NOT EXISTS (
           SELECT 1 FROM messages
            WHERE content_id = NEW.content_id AND (mailbox_id, uid) != (NEW.mailbox_id, NEW.uid)
       );
END;
