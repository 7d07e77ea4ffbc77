-- wif SQLite schema, version 2: Kubernetes service accounts, key vaults, custom role
-- definitions and role assignments.

-- Service accounts of a cluster. Annotations are a JSON object of strings.
CREATE TABLE service_accounts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    cluster     TEXT NOT NULL REFERENCES clusters (guid) ON DELETE CASCADE,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    uid         TEXT NOT NULL UNIQUE,
    annotations TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (cluster, namespace, name)
);

-- Key vaults. Names are globally unique and stored in lower case (they are DNS labels).
CREATE TABLE vaults (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT NOT NULL UNIQUE,
    tenant           TEXT NOT NULL REFERENCES tenants (id),
    subscription     TEXT NOT NULL,
    resource_group   TEXT NOT NULL,
    location         TEXT NOT NULL,
    retention_days   INTEGER NOT NULL CHECK (retention_days BETWEEN 7 AND 90),
    purge_protection INTEGER NOT NULL CHECK (purge_protection IN (0, 1)),
    created_at       INTEGER NOT NULL
);

-- Custom role definitions (built-in roles are compiled into wif and never stored). `body` is
-- the wif-core record as JSON; `name_key` enforces one role name per directory.
CREATE TABLE role_definitions (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    id       TEXT NOT NULL UNIQUE,
    name_key TEXT NOT NULL UNIQUE,
    body     TEXT NOT NULL
);

-- Role assignments. `scope_key` is the case-folded scope; one (principal, role, scope) once.
-- `body` is the wif-core record as JSON; the other columns index and constrain it.
CREATE TABLE role_assignments (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT NOT NULL UNIQUE,
    principal_id       TEXT NOT NULL,
    role_definition_id TEXT NOT NULL,
    scope_key          TEXT NOT NULL,
    body               TEXT NOT NULL,
    UNIQUE (principal_id, role_definition_id, scope_key)
);
CREATE INDEX role_assignments_by_scope ON role_assignments (scope_key);
