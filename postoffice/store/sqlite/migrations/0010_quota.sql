-- Per-account storage quota overrides (RFC 9208 STORAGE), set by `user quota`;
-- an account without a row has the [quota] default of the config.
CREATE TABLE account_quotas (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    storage    INTEGER NOT NULL        -- octets; 0: no limit
);
