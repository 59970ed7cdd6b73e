-- 0005: webmail sessions, stored on the server so they can be listed and revoked.
-- The cookie carries a random token; only its SHA-256 is stored here.
CREATE TABLE web_sessions (
    token_hash  TEXT PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    csrf        TEXT NOT NULL,           -- per-session token every form carries back
    created     REAL NOT NULL,           -- epoch seconds
    last_seen   REAL NOT NULL,
    expires     REAL NOT NULL,
    client_ip   TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX web_sessions_account ON web_sessions (account_id);
