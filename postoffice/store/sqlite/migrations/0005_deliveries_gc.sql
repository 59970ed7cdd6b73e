-- Deliveries own their SMTP envelope (RFC 5321 §2.3.1), contents no longer do: two
-- deliveries of the same bytes share one content but keep their own sender,
-- recipients and RFC 3461 DSN parameters. Written in the transaction that inserts
-- the messages; removed with their content (garbage collection).
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    content_id    INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
    received      REAL NOT NULL,
    sender        TEXT NOT NULL,          -- reverse-path, '' for the null one
    ret           TEXT,                   -- RFC 3461 §4.3
    envid         TEXT,                   -- RFC 3461 §4.4
    body          TEXT,                   -- 7BIT, 8BITMIME, BINARYMIME
    smtputf8      INTEGER NOT NULL,
    declared_size INTEGER,                -- RFC 1870 SIZE=
    listener      TEXT NOT NULL,
    client_ip     TEXT NOT NULL,
    helo          TEXT NOT NULL,
    tls           INTEGER NOT NULL,
    auth          TEXT NOT NULL
);
CREATE INDEX deliveries_content ON deliveries (content_id);

CREATE TABLE delivery_recipients (
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    seq         INTEGER NOT NULL,
    address     TEXT NOT NULL,
    notify      TEXT,                     -- RFC 3461 §4.1: comma-separated, NULL if not given
    orcpt_type  TEXT,                     -- RFC 3461 §4.2: addr-type, NULL if not given
    orcpt       TEXT,                     -- the decoded original recipient
    PRIMARY KEY (delivery_id, seq)
) WITHOUT ROWID;

-- Where a delivery left a copy. mailbox_id is not a foreign key: the record outlives
-- a mailbox deleted later; an account's deletion removes its rows.
CREATE TABLE delivery_targets (
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    mailbox_id  INTEGER NOT NULL,
    uid         INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX delivery_targets_account ON delivery_targets (account_id, delivery_id);

-- Garbage collection: every content that lost a message is a candidate; the collector
-- removes the candidates that no message refers to any more (re-checked in its
-- transaction), so a run costs what was expunged, not the size of the store. The
-- trigger also fires for rows removed by ON DELETE CASCADE (mailbox or account deleted).
CREATE TABLE gc_contents (
    content_id INTEGER PRIMARY KEY
);
CREATE TRIGGER messages_gc AFTER DELETE ON messages BEGIN
    INSERT OR IGNORE INTO gc_contents (content_id) VALUES (old.content_id);
END;
-- Contents already unreferenced when this migration runs.
INSERT INTO gc_contents (content_id)
    SELECT id FROM contents WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.content_id = contents.id);
