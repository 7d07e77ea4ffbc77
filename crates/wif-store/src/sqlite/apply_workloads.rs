//! Writes of service accounts, key vaults, custom role definitions and role assignments, with
//! their integrity rules (see [`super`]).

use sqlx::sqlite::SqliteConnection;
use uuid::Uuid;
use wif_core::directory::{ServiceAccount, Vault};
use wif_core::ids::{ClusterGuid, Namespace, ServiceAccountName, VaultName};
use wif_core::rbac::{RoleAssignment, RoleDefinition, built_in_roles};

use super::{count, exec, first_text, found, require_tenant};
use crate::store::StoreError;

fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Conflict(format!("{what} cannot be stored: {e}")))
}

pub(super) async fn put_service_account(
    conn: &mut SqliteConnection,
    sa: &ServiceAccount,
) -> Result<(), StoreError> {
    let cluster = sa.cluster.to_string();
    let q = sqlx::query("SELECT COUNT(*) AS n FROM clusters WHERE guid = ?").bind(&cluster);
    if count(conn, "checking the cluster", q).await? == 0 {
        return Err(StoreError::NotFound(format!(
            "Cluster '{cluster}' of service account '{}/{}' was not found; create the cluster \
             first.",
            sa.namespace, sa.name
        )));
    }
    let uid = sa.uid.hyphenated().to_string();
    let q = sqlx::query(
        "SELECT namespace || '/' || name FROM service_accounts
         WHERE uid = ? AND NOT (cluster = ? AND namespace = ? AND name = ?)",
    )
    .bind(&uid)
    .bind(&cluster)
    .bind(sa.namespace.as_str())
    .bind(sa.name.as_str());
    if let Some(other) = first_text(conn, "checking service account uids", q).await? {
        return Err(StoreError::Conflict(format!(
            "The uid '{uid}' is already used by service account '{other}'; every service account \
             needs its own uid."
        )));
    }
    let annotations = to_json("The service account's annotations", &sa.annotations)?;
    let q = sqlx::query(
        "INSERT INTO service_accounts (cluster, namespace, name, uid, annotations, created_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (cluster, namespace, name) DO UPDATE SET uid = excluded.uid,
             annotations = excluded.annotations, created_at = excluded.created_at",
    )
    .bind(&cluster)
    .bind(sa.namespace.as_str())
    .bind(sa.name.as_str())
    .bind(&uid)
    .bind(&annotations)
    .bind(sa.created_at.as_secs());
    exec(conn, "writing a service account", q).await.map(drop)
}

pub(super) async fn delete_service_account(
    conn: &mut SqliteConnection,
    cluster: &ClusterGuid,
    namespace: &Namespace,
    name: &ServiceAccountName,
) -> Result<(), StoreError> {
    let q = sqlx::query(
        "DELETE FROM service_accounts WHERE cluster = ? AND namespace = ? AND name = ?",
    )
    .bind(cluster.to_string())
    .bind(namespace.as_str())
    .bind(name.as_str());
    let n = exec(conn, "deleting a service account", q).await?;
    found(n, || {
        format!("Service account '{namespace}/{name}' was not found in cluster '{cluster}'.")
    })
}

pub(super) async fn put_vault(conn: &mut SqliteConnection, v: &Vault) -> Result<(), StoreError> {
    require_tenant(conn, &v.tenant, || format!("key vault '{}'", v.name)).await?;
    if !(7..=90).contains(&v.retention_days) {
        return Err(StoreError::Conflict(format!(
            "The soft-delete retention of key vault '{}' is {} days; it must be 7 to 90 days.",
            v.name, v.retention_days
        )));
    }
    let q = sqlx::query("SELECT subscription FROM vaults WHERE name = ? AND subscription != ?")
        .bind(v.name.as_str())
        .bind(v.subscription.to_string());
    if let Some(other) = first_text(conn, "checking vault names", q).await? {
        return Err(StoreError::Conflict(format!(
            "The vault name '{}' is already in use (subscription '{other}'); vault names are \
             globally unique.",
            v.name
        )));
    }
    let q = sqlx::query(
        "INSERT INTO vaults (name, tenant, subscription, resource_group, location, retention_days,
             purge_protection, created_at, tags, rbac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET tenant = excluded.tenant,
             resource_group = excluded.resource_group, location = excluded.location,
             retention_days = excluded.retention_days,
             purge_protection = MAX(purge_protection, excluded.purge_protection),
             created_at = excluded.created_at, tags = excluded.tags, rbac = excluded.rbac",
    )
    .bind(v.name.as_str())
    .bind(v.tenant.to_string())
    .bind(v.subscription.to_string())
    .bind(v.resource_group.as_str())
    .bind(v.location.as_str())
    .bind(i64::from(v.retention_days))
    .bind(v.purge_protection)
    .bind(v.created_at.as_secs())
    .bind(super::tags_json(&v.tags)?)
    .bind(v.enable_rbac_authorization);
    exec(conn, "writing a key vault", q).await.map(drop)
}

pub(super) async fn delete_vault(
    conn: &mut SqliteConnection,
    name: &VaultName,
) -> Result<(), StoreError> {
    let q = sqlx::query("DELETE FROM vaults WHERE name = ?").bind(name.as_str());
    let n = exec(conn, "deleting a key vault", q).await?;
    found(n, || format!("Key vault '{name}' was not found."))
}

pub(super) async fn put_role_definition(
    conn: &mut SqliteConnection,
    r: &RoleDefinition,
) -> Result<(), StoreError> {
    let name_key = r.name.trim().to_lowercase();
    if let Some(b) = built_in_roles()
        .into_iter()
        .find(|b| b.id == r.id || b.name.to_lowercase() == name_key)
    {
        return Err(StoreError::Conflict(format!(
            "A custom role cannot take the name or id of the built-in role '{}' ({}).",
            b.name, b.id
        )));
    }
    let id = r.id.hyphenated().to_string();
    let q = sqlx::query("SELECT id FROM role_definitions WHERE name_key = ? AND id != ?")
        .bind(&name_key)
        .bind(&id);
    if let Some(other) = first_text(conn, "checking role names", q).await? {
        return Err(StoreError::Conflict(format!(
            "A role definition named '{}' already exists (id '{other}'); role names are unique.",
            r.name
        )));
    }
    let body = to_json("The role definition", r)?;
    let q = sqlx::query(
        "INSERT INTO role_definitions (id, name_key, body) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET name_key = excluded.name_key, body = excluded.body",
    )
    .bind(&id)
    .bind(&name_key)
    .bind(&body);
    exec(conn, "writing a role definition", q).await.map(drop)
}

pub(super) async fn delete_role_definition(
    conn: &mut SqliteConnection,
    id: &Uuid,
) -> Result<(), StoreError> {
    let id = id.hyphenated().to_string();
    let q = sqlx::query("SELECT COUNT(*) AS n FROM role_assignments WHERE role_definition_id = ?")
        .bind(&id);
    let used = count(conn, "checking the role's assignments", q).await?;
    if used > 0 {
        return Err(StoreError::Conflict(format!(
            "Role definition '{id}' is used by {used} role assignment(s); delete them before \
             deleting the role."
        )));
    }
    let q = sqlx::query("DELETE FROM role_definitions WHERE id = ?").bind(&id);
    let n = exec(conn, "deleting a role definition", q).await?;
    found(n, || {
        format!("Custom role definition '{id}' was not found.")
    })
}

pub(super) async fn put_role_assignment(
    conn: &mut SqliteConnection,
    a: &RoleAssignment,
) -> Result<(), StoreError> {
    let role = a.role_definition_id.hyphenated().to_string();
    let built_in = built_in_roles()
        .iter()
        .any(|b| b.id == a.role_definition_id);
    if !built_in {
        let q = sqlx::query("SELECT COUNT(*) AS n FROM role_definitions WHERE id = ?").bind(&role);
        if count(conn, "checking the role definition", q).await? == 0 {
            return Err(StoreError::NotFound(format!(
                "The role definition '{role}' does not exist; use a built-in role or create the \
                 custom role first."
            )));
        }
    }
    let id = a.id.hyphenated().to_string();
    let principal = a.principal_id.to_string();
    let scope_key = a.scope.key().to_owned();
    let q = sqlx::query(
        "SELECT id FROM role_assignments
         WHERE principal_id = ? AND role_definition_id = ? AND scope_key = ? AND id != ?",
    )
    .bind(&principal)
    .bind(&role)
    .bind(&scope_key)
    .bind(&id);
    if let Some(other) = first_text(conn, "checking role assignments", q).await? {
        return Err(StoreError::Conflict(format!(
            "The role assignment already exists (id '{other}'): principal '{principal}' already \
             holds role '{role}' at scope '{}'.",
            a.scope
        )));
    }
    let body = to_json("The role assignment", a)?;
    let q = sqlx::query(
        "INSERT INTO role_assignments (id, principal_id, role_definition_id, scope_key, body)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET principal_id = excluded.principal_id,
             role_definition_id = excluded.role_definition_id, scope_key = excluded.scope_key,
             body = excluded.body",
    )
    .bind(&id)
    .bind(&principal)
    .bind(&role)
    .bind(&scope_key)
    .bind(&body);
    exec(conn, "writing a role assignment", q).await.map(drop)
}

pub(super) async fn delete_role_assignment(
    conn: &mut SqliteConnection,
    id: &Uuid,
) -> Result<(), StoreError> {
    let id = id.hyphenated().to_string();
    let q = sqlx::query("DELETE FROM role_assignments WHERE id = ?").bind(&id);
    let n = exec(conn, "deleting a role assignment", q).await?;
    found(n, || format!("Role assignment '{id}' was not found."))
}
