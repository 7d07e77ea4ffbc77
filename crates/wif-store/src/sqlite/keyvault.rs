//! Key Vault secrets and the Key Vault audit log on SQLite (schema `0003_keyvault.sql`).

use std::collections::BTreeMap;

use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::ids::{SecretName, VaultName};

use super::db_error;
use crate::keyvault::{Deletion, KvAuditQuery, KvAuditRecord, SecretVersion, StoredSecret};
use crate::store::StoreError;

fn key(name: &SecretName) -> String {
    name.as_str().to_ascii_lowercase()
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn opt_time(row: &SqliteRow, col: &str) -> Result<Option<UnixTime>, StoreError> {
    row.try_get::<Option<i64>, _>(col)
        .map(|v| v.map(UnixTime::from_secs))
        .map_err(|e| corrupt(col, e))
}

fn version_from_row(row: &SqliteRow) -> Result<SecretVersion, StoreError> {
    let tags: String = row
        .try_get("tags")
        .map_err(|e| corrupt("kv_secret_versions.tags", e))?;
    Ok(SecretVersion {
        version: row
            .try_get("version")
            .map_err(|e| corrupt("kv_secret_versions.version", e))?,
        sealed_value: row
            .try_get("sealed_value")
            .map_err(|e| corrupt("kv_secret_versions.sealed_value", e))?,
        content_type: row
            .try_get("content_type")
            .map_err(|e| corrupt("kv_secret_versions.content_type", e))?,
        tags: serde_json::from_str::<BTreeMap<String, String>>(&tags)
            .map_err(|e| corrupt("kv_secret_versions.tags", e))?,
        enabled: row
            .try_get::<i64, _>("enabled")
            .map_err(|e| corrupt("kv_secret_versions.enabled", e))?
            != 0,
        not_before: opt_time(row, "not_before")?,
        expires: opt_time(row, "expires")?,
        created: UnixTime::from_secs(
            row.try_get("created")
                .map_err(|e| corrupt("kv_secret_versions.created", e))?,
        ),
        updated: UnixTime::from_secs(
            row.try_get("updated")
                .map_err(|e| corrupt("kv_secret_versions.updated", e))?,
        ),
    })
}

fn secret_from_row(vault: &VaultName, row: &SqliteRow) -> Result<StoredSecret, StoreError> {
    let name: String = row
        .try_get("name")
        .map_err(|e| corrupt("kv_secrets.name", e))?;
    let deleted_at = opt_time(row, "deleted_at")?;
    let scheduled_purge = opt_time(row, "scheduled_purge")?;
    Ok(StoredSecret {
        vault: vault.clone(),
        name: SecretName::parse(&name).map_err(|e| corrupt("kv_secrets.name", e))?,
        deleted: match (deleted_at, scheduled_purge) {
            (Some(deleted_at), Some(scheduled_purge)) => Some(Deletion {
                deleted_at,
                scheduled_purge,
            }),
            _ => None,
        },
        versions: Vec::new(),
    })
}

async fn versions_of(
    conn: &mut SqliteConnection,
    vault: &VaultName,
    name_key: &str,
) -> Result<Vec<SecretVersion>, StoreError> {
    let rows = sqlx::query(
        "SELECT version, sealed_value, content_type, tags, enabled, not_before, expires, created,
                updated
         FROM kv_secret_versions WHERE vault = ? AND name_key = ? ORDER BY seq",
    )
    .bind(vault.as_str())
    .bind(name_key)
    .fetch_all(conn)
    .await
    .map_err(|e| db_error("reading secret versions", &e))?;
    rows.iter().map(version_from_row).collect()
}

async fn secret_in(
    conn: &mut SqliteConnection,
    vault: &VaultName,
    name: &SecretName,
) -> Result<Option<StoredSecret>, StoreError> {
    let row = sqlx::query(
        "SELECT name, deleted_at, scheduled_purge FROM kv_secrets WHERE vault = ? AND name_key = ?",
    )
    .bind(vault.as_str())
    .bind(key(name))
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| db_error("reading a secret", &e))?;
    let Some(row) = row else { return Ok(None) };
    let mut secret = secret_from_row(vault, &row)?;
    secret.versions = versions_of(conn, vault, &key(name)).await?;
    Ok(Some(secret))
}

/// One secret with its versions.
pub(super) async fn secret(
    pool: &SqlitePool,
    vault: &VaultName,
    name: &SecretName,
) -> Result<Option<StoredSecret>, StoreError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| db_error("connecting", &e))?;
    secret_in(&mut conn, vault, name).await
}

/// Every secret of a vault (live and deleted) with its versions, by name.
pub(super) async fn secrets(
    pool: &SqlitePool,
    vault: &VaultName,
) -> Result<Vec<StoredSecret>, StoreError> {
    let mut conn = pool
        .acquire()
        .await
        .map_err(|e| db_error("connecting", &e))?;
    let rows = sqlx::query(
        "SELECT name, deleted_at, scheduled_purge FROM kv_secrets WHERE vault = ? ORDER BY name_key",
    )
    .bind(vault.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| db_error("listing secrets", &e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut secret = secret_from_row(vault, row)?;
        secret.versions = versions_of(&mut conn, vault, &key(&secret.name)).await?;
        out.push(secret);
    }
    Ok(out)
}

async fn insert_version(
    conn: &mut SqliteConnection,
    vault: &VaultName,
    name_key: &str,
    v: &SecretVersion,
) -> Result<(), StoreError> {
    let tags = serde_json::to_string(&v.tags)
        .map_err(|e| StoreError::Conflict(format!("the tags cannot be stored: {e}")))?;
    sqlx::query(
        "INSERT INTO kv_secret_versions (vault, name_key, version, sealed_value, content_type,
             tags, enabled, not_before, expires, created, updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(vault.as_str())
    .bind(name_key)
    .bind(&v.version)
    .bind(&v.sealed_value)
    .bind(&v.content_type)
    .bind(tags)
    .bind(v.enabled)
    .bind(v.not_before.map(UnixTime::as_secs))
    .bind(v.expires.map(UnixTime::as_secs))
    .bind(v.created.as_secs())
    .bind(v.updated.as_secs())
    .execute(conn)
    .await
    .map_err(|e| db_error("writing a secret version", &e))?;
    Ok(())
}

/// Adds a version, creating the secret when absent. A soft-deleted secret cannot take one.
pub(super) async fn add_version(
    tx: &mut Transaction<'static, Sqlite>,
    vault: &VaultName,
    name: &SecretName,
    v: &SecretVersion,
) -> Result<(), StoreError> {
    let existing = secret_in(tx, vault, name).await?;
    match existing {
        Some(s) if s.deleted.is_some() => {
            return Err(StoreError::Conflict(format!(
                "Secret {} is currently in a deleted but recoverable state, and its name cannot be \
                 reused; in this state, the secret can only be recovered or purged.",
                s.name
            )));
        }
        Some(_) => {}
        None => {
            sqlx::query("INSERT INTO kv_secrets (vault, name_key, name) VALUES (?, ?, ?)")
                .bind(vault.as_str())
                .bind(key(name))
                .bind(name.as_str())
                .execute(&mut **tx)
                .await
                .map_err(|e| db_error("creating a secret", &e))?;
        }
    }
    insert_version(tx, vault, &key(name), v).await
}

/// Replaces a version's attributes (not its value).
pub(super) async fn update_version(
    tx: &mut Transaction<'static, Sqlite>,
    vault: &VaultName,
    name: &SecretName,
    v: &SecretVersion,
) -> Result<(), StoreError> {
    let tags = serde_json::to_string(&v.tags)
        .map_err(|e| StoreError::Conflict(format!("the tags cannot be stored: {e}")))?;
    let done = sqlx::query(
        "UPDATE kv_secret_versions SET content_type = ?, tags = ?, enabled = ?, not_before = ?,
             expires = ?, updated = ?
         WHERE vault = ? AND name_key = ? AND version = ?",
    )
    .bind(&v.content_type)
    .bind(tags)
    .bind(v.enabled)
    .bind(v.not_before.map(UnixTime::as_secs))
    .bind(v.expires.map(UnixTime::as_secs))
    .bind(v.updated.as_secs())
    .bind(vault.as_str())
    .bind(key(name))
    .bind(&v.version)
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("updating a secret version", &e))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "Secret {name} version {} was not found.",
            v.version
        )));
    }
    Ok(())
}

/// Soft-deletes (`Some`) or recovers (`None`) a secret.
pub(super) async fn set_deletion(
    tx: &mut Transaction<'static, Sqlite>,
    vault: &VaultName,
    name: &SecretName,
    deletion: Option<Deletion>,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE kv_secrets SET deleted_at = ?, scheduled_purge = ? WHERE vault = ? AND name_key = ?",
    )
    .bind(deletion.map(|d| d.deleted_at.as_secs()))
    .bind(deletion.map(|d| d.scheduled_purge.as_secs()))
    .bind(vault.as_str())
    .bind(key(name))
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("changing a secret's deletion state", &e))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "Secret {name} was not found."
        )));
    }
    Ok(())
}

/// Removes a secret and every version.
pub(super) async fn purge(
    tx: &mut Transaction<'static, Sqlite>,
    vault: &VaultName,
    name: &SecretName,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM kv_secret_versions WHERE vault = ? AND name_key = ?")
        .bind(vault.as_str())
        .bind(key(name))
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("purging secret versions", &e))?;
    let done = sqlx::query("DELETE FROM kv_secrets WHERE vault = ? AND name_key = ?")
        .bind(vault.as_str())
        .bind(key(name))
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("purging a secret", &e))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!(
            "Secret {name} was not found."
        )));
    }
    Ok(())
}

/// Writes a whole secret (a restore); refused when the name exists, live or deleted.
pub(super) async fn restore(
    tx: &mut Transaction<'static, Sqlite>,
    secret: &StoredSecret,
) -> Result<(), StoreError> {
    if let Some(existing) = secret_in(tx, &secret.vault, &secret.name).await? {
        return Err(StoreError::Conflict(format!(
            "Secret {} already exists in vault {}{}.",
            existing.name,
            secret.vault,
            if existing.deleted.is_some() {
                " in a deleted but recoverable state"
            } else {
                ""
            }
        )));
    }
    sqlx::query("INSERT INTO kv_secrets (vault, name_key, name) VALUES (?, ?, ?)")
        .bind(secret.vault.as_str())
        .bind(key(&secret.name))
        .bind(secret.name.as_str())
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("restoring a secret", &e))?;
    for v in &secret.versions {
        insert_version(tx, &secret.vault, &key(&secret.name), v).await?;
    }
    Ok(())
}

/// Purges every deleted secret whose scheduled purge date has passed; returns how many.
pub(super) async fn purge_due(
    tx: &mut Transaction<'static, Sqlite>,
    now: UnixTime,
) -> Result<u64, StoreError> {
    sqlx::query(
        "DELETE FROM kv_secret_versions WHERE (vault, name_key) IN
             (SELECT vault, name_key FROM kv_secrets WHERE scheduled_purge <= ?)",
    )
    .bind(now.as_secs())
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("purging expired deleted secrets", &e))?;
    let done = sqlx::query("DELETE FROM kv_secrets WHERE scheduled_purge <= ?")
        .bind(now.as_secs())
        .execute(&mut **tx)
        .await
        .map_err(|e| db_error("purging expired deleted secrets", &e))?;
    Ok(done.rows_affected())
}

/// Appends audit records (an id already present is kept as first written).
pub(super) async fn insert_audit(
    tx: &mut Transaction<'static, Sqlite>,
    r: &KvAuditRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO kv_audit (id, time, vault, operation, caller_app, caller_oid, action,
             resource, allowed, assignment, reason, status, request_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
    )
    .bind(r.id.to_string())
    .bind(r.time.as_secs())
    .bind(&r.vault)
    .bind(&r.operation)
    .bind(&r.caller_app)
    .bind(&r.caller_oid)
    .bind(&r.action)
    .bind(&r.resource)
    .bind(r.allowed)
    .bind(&r.assignment)
    .bind(&r.reason)
    .bind(i64::from(r.status))
    .bind(&r.request_id)
    .execute(&mut **tx)
    .await
    .map_err(|e| db_error("writing the Key Vault audit log", &e))?;
    Ok(())
}

/// Audit records matching `q`, newest first.
pub(super) async fn audit(
    pool: &SqlitePool,
    q: &KvAuditQuery,
) -> Result<Vec<KvAuditRecord>, StoreError> {
    let limit = match q.limit {
        0 => -1,
        n => i64::try_from(n).unwrap_or(i64::MAX),
    };
    let rows = sqlx::query(
        "SELECT id, time, vault, operation, caller_app, caller_oid, action, resource, allowed,
                assignment, reason, status, request_id
         FROM kv_audit
         WHERE (?1 IS NULL OR vault = ?1) AND (?2 IS NULL OR time >= ?2) AND (?3 = 0 OR allowed = 0)
         ORDER BY time DESC, seq DESC LIMIT ?4",
    )
    .bind(q.vault.as_deref().map(str::to_ascii_lowercase))
    .bind(q.since.map(UnixTime::as_secs))
    .bind(q.denied_only)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(|e| db_error("reading the Key Vault audit log", &e))?;
    rows.iter()
        .map(|row| {
            let get = |c: &str| -> Result<Option<String>, StoreError> {
                row.try_get::<Option<String>, _>(c)
                    .map_err(|e| corrupt(&format!("kv_audit.{c}"), e))
            };
            let id: String = row.try_get("id").map_err(|e| corrupt("kv_audit.id", e))?;
            let status: i64 = row
                .try_get("status")
                .map_err(|e| corrupt("kv_audit.status", e))?;
            Ok(KvAuditRecord {
                id: Uuid::parse_str(&id).map_err(|e| corrupt("kv_audit.id", e))?,
                time: UnixTime::from_secs(
                    row.try_get("time")
                        .map_err(|e| corrupt("kv_audit.time", e))?,
                ),
                vault: get("vault")?.unwrap_or_default(),
                operation: get("operation")?.unwrap_or_default(),
                caller_app: get("caller_app")?,
                caller_oid: get("caller_oid")?,
                action: get("action")?,
                resource: get("resource")?,
                allowed: row
                    .try_get::<i64, _>("allowed")
                    .map_err(|e| corrupt("kv_audit.allowed", e))?
                    != 0,
                assignment: get("assignment")?,
                reason: get("reason")?,
                status: u16::try_from(status).map_err(|e| corrupt("kv_audit.status", e))?,
                request_id: get("request_id")?.unwrap_or_default(),
            })
        })
        .collect()
}
