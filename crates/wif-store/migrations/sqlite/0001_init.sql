-- wif SQLite schema, version 1.
--
-- Domain values are TEXT as wif-core prints them (GUIDs lower-case hyphenated, names as given)
-- and are parsed back through the wif-core newtypes when read. Columns ending in `_key` hold the
-- case-folded form a uniqueness rule compares (computed by wif, not by SQLite's ASCII-only
-- lower()). `seq` keeps creation order: an upsert updates a row in place and keeps its seq.

-- The global directory revision: bumped once by every applied batch of writes.
CREATE TABLE revision (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO revision (id, value) VALUES (1, 0);

CREATE TABLE tenants (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    domain       TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    tenant       TEXT NOT NULL REFERENCES tenants (id),
    display_name TEXT NOT NULL
);

CREATE TABLE regions (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE clusters (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    guid           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    tenant         TEXT NOT NULL REFERENCES tenants (id),
    subscription   TEXT NOT NULL,
    resource_group TEXT NOT NULL,
    region         TEXT NOT NULL,
    issuer         TEXT NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL
);

CREATE TABLE identities (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id          TEXT NOT NULL UNIQUE,
    name               TEXT NOT NULL,
    name_key           TEXT NOT NULL,
    tenant             TEXT NOT NULL REFERENCES tenants (id),
    subscription       TEXT NOT NULL,
    resource_group     TEXT NOT NULL,
    resource_group_key TEXT NOT NULL,
    location           TEXT NOT NULL,
    principal_id       TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    UNIQUE (subscription, resource_group_key, name_key)
);

-- Entra requires exactly one audience per federated credential, hence one column.
CREATE TABLE credentials (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    identity TEXT NOT NULL REFERENCES identities (client_id) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    name_key TEXT NOT NULL,
    issuer   TEXT NOT NULL,
    subject  TEXT NOT NULL,
    audience TEXT NOT NULL,
    UNIQUE (identity, name_key),
    UNIQUE (identity, issuer, subject)
);

-- Signing keys. The owner is a cluster or a tenant (no foreign key: keys outlive a deleted
-- owner until their publication window ends). The private key is sealed with the KEK.
CREATE TABLE signing_keys (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    kid                TEXT NOT NULL UNIQUE,
    owner_kind         TEXT NOT NULL CHECK (owner_kind IN ('cluster', 'tenant')),
    owner_id           TEXT NOT NULL,
    algorithm          TEXT NOT NULL,
    public_jwk         TEXT NOT NULL,
    sealed_private_key BLOB NOT NULL,
    created_at         INTEGER NOT NULL,
    retired_at         INTEGER,
    publish_until      INTEGER
);

-- The sign-in log: appended in batches, read newest first.
CREATE TABLE sign_ins (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT NOT NULL UNIQUE,
    time               INTEGER NOT NULL,
    tenant             TEXT NOT NULL,
    tenant_id          TEXT,
    client_id          TEXT NOT NULL,
    client_id_key      TEXT NOT NULL,
    identity           TEXT,
    identity_key       TEXT,
    identity_name_key  TEXT,
    credential         TEXT,
    assertion_issuer   TEXT,
    assertion_subject  TEXT,
    assertion_audience TEXT,
    resource           TEXT,
    result_code        INTEGER NOT NULL,
    error              TEXT,
    correlation_id     TEXT NOT NULL,
    trace_id           TEXT NOT NULL
);
CREATE INDEX sign_ins_by_time ON sign_ins (time, seq);
