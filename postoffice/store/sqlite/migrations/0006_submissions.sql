-- 0005: messages accepted from each user on submission, for [limits.smtp]
-- max_messages_per_hour, in the database so every process counts the same.
CREATE TABLE submissions (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at         REAL NOT NULL            -- epoch seconds
);
CREATE INDEX submissions_by_account ON submissions (account_id, at);
