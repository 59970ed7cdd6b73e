-- 0002: maildrop locks (POP3, RFC 1939 §8), held in the database so every process sees them.
CREATE TABLE locks (
    name    TEXT PRIMARY KEY,
    holder  TEXT NOT NULL,
    expires REAL NOT NULL           -- epoch seconds
) WITHOUT ROWID;
