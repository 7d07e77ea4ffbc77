-- wif SQLite schema, version 4: what the management API (ARM and the Graph subset) adds —
-- resource groups, app registrations, storage accounts, ARM tags and switches on existing
-- resources, and the activity log (one entry per management write).

-- Resource groups. `name_key` is the case-folded name (ARM compares group names that way).
CREATE TABLE resource_groups (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    subscription TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    body         TEXT NOT NULL,
    UNIQUE (subscription, name_key)
);

-- App registrations with their service principal and credentials (secrets only as salted
-- hashes). `body` is the wif-core record as JSON.
CREATE TABLE applications (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id       TEXT NOT NULL UNIQUE,
    object_id    TEXT NOT NULL UNIQUE,
    principal_id TEXT NOT NULL UNIQUE,
    tenant       TEXT NOT NULL REFERENCES tenants (id),
    body         TEXT NOT NULL
);

-- Storage accounts. Names are globally unique.
CREATE TABLE storage_accounts (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT NOT NULL UNIQUE,
    subscription TEXT NOT NULL,
    group_key    TEXT NOT NULL,
    body         TEXT NOT NULL
);

ALTER TABLE identities ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE vaults ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE vaults ADD COLUMN rbac INTEGER NOT NULL DEFAULT 1 CHECK (rbac IN (0, 1));
ALTER TABLE clusters ADD COLUMN oidc_issuer INTEGER NOT NULL DEFAULT 1 CHECK (oidc_issuer IN (0, 1));
ALTER TABLE clusters ADD COLUMN workload_identity INTEGER NOT NULL DEFAULT 1
    CHECK (workload_identity IN (0, 1));

-- The activity log: every management write, allowed or denied, appended in batches.
CREATE TABLE activity_log (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT NOT NULL UNIQUE,
    time           INTEGER NOT NULL,
    body           TEXT NOT NULL
);
CREATE INDEX activity_log_by_time ON activity_log (time, seq);
