-- IMAP METADATA (RFC 5464): annotations of the server (mailbox_id NULL; kept per
-- account) and of each mailbox, removed with their mailbox or account.
CREATE TABLE metadata (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    mailbox_id INTEGER REFERENCES mailboxes(id) ON DELETE CASCADE,
    entry      TEXT NOT NULL,          -- lower-cased, "/private/..." or "/shared/..."
    value      BLOB NOT NULL
);
CREATE UNIQUE INDEX metadata_by_entry ON metadata (account_id, ifnull(mailbox_id, 0), entry);
