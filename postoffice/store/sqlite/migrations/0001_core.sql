-- 0001: the core schema. A landed migration is never edited (DESIGN.md §3).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta (key, value) VALUES ('last_uidvalidity', 0);

CREATE TABLE domains (
    name TEXT PRIMARY KEY            -- lower-cased
) WITHOUT ROWID;

CREATE TABLE accounts (
    id      INTEGER PRIMARY KEY,
    address TEXT NOT NULL UNIQUE,    -- lower-cased "local@domain"
    created REAL NOT NULL
);

CREATE TABLE credentials (
    account_id       INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    argon2_hash      TEXT NOT NULL,
    scram_salt       BLOB NOT NULL,
    scram_iterations INTEGER NOT NULL,
    scram_stored_key BLOB NOT NULL,
    scram_server_key BLOB NOT NULL
);

CREATE TABLE aliases (
    address TEXT NOT NULL,
    target  TEXT NOT NULL,
    PRIMARY KEY (address, target)
) WITHOUT ROWID;

CREATE TABLE mailboxes (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    uidvalidity    INTEGER NOT NULL,
    uidnext        INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL,
    special_use    TEXT,
    -- counters maintained by every write (STATUS without a scan)
    messages       INTEGER NOT NULL DEFAULT 0,
    unseen         INTEGER NOT NULL DEFAULT 0,
    deleted        INTEGER NOT NULL DEFAULT 0,
    size           INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, name)
);

-- Subscribed names; they may outlive their mailboxes (RFC 9051 §6.3.7, LSUB).
CREATE TABLE subscriptions (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
) WITHOUT ROWID;

-- One row per stored message bytes, shared by every mailbox holding it.
CREATE TABLE contents (
    id            INTEGER PRIMARY KEY,
    sha256        TEXT NOT NULL UNIQUE,
    size          INTEGER NOT NULL,
    layout        BLOB NOT NULL,
    envelope      TEXT NOT NULL,
    bodystructure TEXT NOT NULL,
    preview       TEXT NOT NULL,
    subject       TEXT NOT NULL,
    from_addr     TEXT NOT NULL,
    to_addr       TEXT NOT NULL,
    date          REAL,
    message_id    TEXT NOT NULL,
    extra         TEXT NOT NULL
);

CREATE TABLE content_blobs (
    content_id INTEGER NOT NULL REFERENCES contents(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    blob_id    TEXT NOT NULL,
    PRIMARY KEY (content_id, seq)
) WITHOUT ROWID;
CREATE INDEX content_blobs_blob ON content_blobs (blob_id);

-- flags: canonical flags, sorted, space-separated (store/_rules.py).
CREATE TABLE messages (
    mailbox_id      INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid             INTEGER NOT NULL,
    content_id      INTEGER NOT NULL REFERENCES contents(id),
    flags           TEXT NOT NULL,
    modseq          INTEGER NOT NULL,
    internaldate    REAL NOT NULL,
    internaldate_tz INTEGER NOT NULL,
    size            INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
CREATE INDEX messages_content ON messages (content_id, mailbox_id);

-- RFC 7162 §3.2.5 (QRESYNC VANISHED): every expunged UID with the MODSEQ of its expunge.
CREATE TABLE expunged (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid        INTEGER NOT NULL,
    modseq     INTEGER NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);

-- Decoded search text per content, rowid = contents.id. The trigram tokenizer makes
-- a quoted phrase a case-insensitive substring match, as IMAP SEARCH needs
-- (RFC 9051 §6.4.4); queries under 3 characters scan the same stored text instead.
CREATE VIRTUAL TABLE search USING fts5 (
    from_addr, to_addr, cc, bcc, subject, headers, body,
    tokenize = 'trigram'
);
