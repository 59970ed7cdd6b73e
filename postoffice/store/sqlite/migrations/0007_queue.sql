-- The outbound queue (RFC 5321 §4.5.4). An entry references a stored content (no second
-- copy of the message bytes); each recipient has its own status, attempts and last reply.
CREATE TABLE queue (
    id             INTEGER PRIMARY KEY,
    content_id     INTEGER NOT NULL REFERENCES contents(id),
    sender         TEXT NOT NULL,           -- "" : the null reverse-path (a DSN)
    envelope       TEXT NOT NULL,           -- JSON: BODY, SMTPUTF8, RET, ENVID, who submitted
    created        REAL NOT NULL,
    delay_notified INTEGER NOT NULL DEFAULT 0
);

-- status: 'queued' (to try at next_attempt), 'delivered', 'failed' (reported = a DSN
-- was made for it). An entry is removed once no recipient is queued or unreported.
CREATE TABLE queue_recipients (
    queue_id     INTEGER NOT NULL REFERENCES queue(id) ON DELETE CASCADE,
    address      TEXT NOT NULL,
    domain       TEXT NOT NULL,             -- lower-cased: the routing key
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_attempt REAL,
    last_reply   TEXT NOT NULL DEFAULT '',
    notify       TEXT,                      -- RFC 3461 §4.1, comma-separated; NULL: absent
    orcpt        TEXT,                      -- RFC 3461 §4.2 "type;address"; NULL: absent
    reported     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (queue_id, address)
);  -- rowid: the order the recipients were given in
CREATE INDEX queue_recipients_due ON queue_recipients (status, next_attempt);

-- Garbage collection (migration 0005): a queue entry keeps its content alive; when the
-- entry goes, its content becomes a candidate again (the collector re-checks both the
-- messages and the queue before it removes anything).
CREATE TRIGGER queue_gc AFTER DELETE ON queue BEGIN
    INSERT OR IGNORE INTO gc_contents (content_id) VALUES (old.content_id);
END;
