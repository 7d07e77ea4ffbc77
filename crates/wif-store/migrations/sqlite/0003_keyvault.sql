-- wif SQLite schema, version 3: Key Vault secrets and the Key Vault audit log.
--
-- A secret is one row per (vault, case-folded name) holding its soft-delete state, and one row per
-- version. Values are sealed with the data directory's key-encryption key (AES-256-GCM, bound to
-- vault, name and version); this database never holds a secret in plain text. Secrets are data,
-- not directory state: writing them does not bump the directory revision.

CREATE TABLE kv_secrets (
    vault           TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    name            TEXT NOT NULL,
    deleted_at      INTEGER,
    scheduled_purge INTEGER,
    PRIMARY KEY (vault, name_key)
);

CREATE TABLE kv_secret_versions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    vault        TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    version      TEXT NOT NULL,
    sealed_value BLOB NOT NULL,
    content_type TEXT,
    tags         TEXT NOT NULL,
    enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    not_before   INTEGER,
    expires      INTEGER,
    created      INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    UNIQUE (vault, name_key, version),
    FOREIGN KEY (vault, name_key) REFERENCES kv_secrets (vault, name_key) ON DELETE CASCADE
);

-- Every Key Vault data-plane call: who, what, where, and the decision. Never a value or a token.
CREATE TABLE kv_audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    time        INTEGER NOT NULL,
    vault       TEXT NOT NULL,
    operation   TEXT NOT NULL,
    caller_app  TEXT,
    caller_oid  TEXT,
    action      TEXT,
    resource    TEXT,
    allowed     INTEGER NOT NULL CHECK (allowed IN (0, 1)),
    assignment  TEXT,
    reason      TEXT,
    status      INTEGER NOT NULL,
    request_id  TEXT NOT NULL
);
CREATE INDEX kv_audit_by_time ON kv_audit (time, seq);
