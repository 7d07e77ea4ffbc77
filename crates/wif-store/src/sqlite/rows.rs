//! Reading rows back into domain types. Every stored value goes through its wif-core parser
//! again, so a row that no longer parses (edited by hand, written by a buggy version) is a
//! [`StoreError::Corrupt`] naming the table, the column and the value, not a silent default.

use std::fmt::Display;

use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::directory::{
    Cluster, DirectoryData, FederatedIdentityCredential, ManagedIdentity, Region, ServiceAccount,
    Subscription, Tenant, Vault,
};
use wif_core::ids::{
    Audience, ClientId, ClusterGuid, ClusterName, CredentialName, IdentityName, Issuer, KeyId,
    Namespace, PrincipalId, RegionName, ResourceGroupName, ServiceAccountName, Subject,
    SubscriptionId, TenantDomain, TenantId, VaultName,
};
use wif_core::rbac::{RoleAssignment, RoleDefinition};

use super::db_error;
use crate::model::{KeyOwner, SignInQuery, SignInRecord, SigningKeyRecord};
use crate::store::StoreError;

/// Typed access to one row of one table, mapping every failure to [`StoreError::Corrupt`].
struct Cells<'r> {
    table: &'static str,
    row: &'r SqliteRow,
}

impl Cells<'_> {
    fn corrupt(&self, column: &str, what: impl Display) -> StoreError {
        StoreError::Corrupt(format!("{}.{column}: {what}", self.table))
    }

    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.row
            .try_get::<String, _>(column)
            .map_err(|e| self.corrupt(column, e))
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.row
            .try_get::<Option<String>, _>(column)
            .map_err(|e| self.corrupt(column, e))
    }

    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.row
            .try_get::<i64, _>(column)
            .map_err(|e| self.corrupt(column, e))
    }

    fn time(&self, column: &str) -> Result<UnixTime, StoreError> {
        self.int(column).map(UnixTime::from_secs)
    }

    fn opt_time(&self, column: &str) -> Result<Option<UnixTime>, StoreError> {
        self.row
            .try_get::<Option<i64>, _>(column)
            .map(|v| v.map(UnixTime::from_secs))
            .map_err(|e| self.corrupt(column, e))
    }

    fn blob(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        self.row
            .try_get::<Vec<u8>, _>(column)
            .map_err(|e| self.corrupt(column, e))
    }

    /// Reads a TEXT column and parses it with a wif-core parser.
    fn parse<T, E: Display>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, StoreError> {
        let text = self.text(column)?;
        parse(&text).map_err(|e| self.corrupt(column, format_args!("'{text}' does not parse: {e}")))
    }

    /// Like [`Cells::parse`] for a nullable column.
    fn parse_opt<T, E: Display>(
        &self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, StoreError> {
        match self.opt_text(column)? {
            None => Ok(None),
            Some(text) => parse(&text)
                .map(Some)
                .map_err(|e| self.corrupt(column, format_args!("'{text}' does not parse: {e}"))),
        }
    }
}

/// The global revision from `SELECT value FROM revision`.
pub(super) fn revision(row: &SqliteRow) -> Result<u64, StoreError> {
    let cells = Cells {
        table: "revision",
        row,
    };
    let value = cells.int("value")?;
    u64::try_from(value).map_err(|_| cells.corrupt("value", format_args!("negative ({value})")))
}

async fn fetch_all(
    conn: &mut SqliteConnection,
    doing: &str,
    sql: &'static str,
) -> Result<Vec<SqliteRow>, StoreError> {
    sqlx::query(sql)
        .fetch_all(conn)
        .await
        .map_err(|e| db_error(doing, &e))
}

/// Reads every directory row inside the caller's read transaction, so the rows and the
/// revision are one consistent snapshot.
pub(super) async fn load_directory(
    tx: &mut Transaction<'static, Sqlite>,
) -> Result<DirectoryData, StoreError> {
    let doing = "loading the directory";
    let rev = sqlx::query("SELECT value FROM revision WHERE id = 1")
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| db_error(doing, &e))?;
    let mut data = DirectoryData {
        revision: revision(&rev)?,
        ..Default::default()
    };

    let sql = "SELECT id, domain, display_name, created_at FROM tenants ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "tenants",
            row: &row,
        };
        data.tenants.push(Tenant {
            id: c.parse("id", TenantId::parse)?,
            domain: c.parse("domain", TenantDomain::parse)?,
            display_name: c.text("display_name")?,
            created_at: c.time("created_at")?,
        });
    }

    let sql = "SELECT id, tenant, display_name FROM subscriptions ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "subscriptions",
            row: &row,
        };
        data.subscriptions.push(Subscription {
            id: c.parse("id", SubscriptionId::parse)?,
            tenant: c.parse("tenant", TenantId::parse)?,
            display_name: c.text("display_name")?,
        });
    }

    let sql = "SELECT name FROM regions ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "regions",
            row: &row,
        };
        data.regions.push(Region {
            name: c.parse("name", RegionName::parse)?,
        });
    }

    let sql = "SELECT guid, name, tenant, subscription, resource_group, region, issuer, \
               created_at, oidc_issuer, workload_identity FROM clusters ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "clusters",
            row: &row,
        };
        data.clusters.push(Cluster {
            name: c.parse("name", ClusterName::parse)?,
            guid: c.parse("guid", ClusterGuid::parse)?,
            tenant: c.parse("tenant", TenantId::parse)?,
            subscription: c.parse("subscription", SubscriptionId::parse)?,
            resource_group: c.parse("resource_group", ResourceGroupName::parse)?,
            region: c.parse("region", RegionName::parse)?,
            issuer: c.parse("issuer", Issuer::parse)?,
            oidc_issuer_enabled: c.int("oidc_issuer")? != 0,
            workload_identity_enabled: c.int("workload_identity")? != 0,
            created_at: c.time("created_at")?,
        });
    }

    let sql = "SELECT name, tenant, subscription, resource_group, location, client_id, \
               principal_id, created_at, tags FROM identities ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "identities",
            row: &row,
        };
        data.identities.push(ManagedIdentity {
            name: c.parse("name", IdentityName::parse)?,
            tenant: c.parse("tenant", TenantId::parse)?,
            subscription: c.parse("subscription", SubscriptionId::parse)?,
            resource_group: c.parse("resource_group", ResourceGroupName::parse)?,
            location: c.parse("location", RegionName::parse)?,
            client_id: c.parse("client_id", ClientId::parse)?,
            principal_id: c.parse("principal_id", PrincipalId::parse)?,
            tags: c.parse("tags", |t| serde_json::from_str(t))?,
            created_at: c.time("created_at")?,
        });
    }

    let sql = "SELECT identity, name, issuer, subject, audience FROM credentials ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "credentials",
            row: &row,
        };
        data.credentials.push(FederatedIdentityCredential {
            identity: c.parse("identity", ClientId::parse)?,
            name: c.parse("name", CredentialName::parse)?,
            issuer: c.parse("issuer", Issuer::parse)?,
            subject: c.parse("subject", Subject::parse)?,
            audiences: vec![c.parse("audience", Audience::parse)?],
        });
    }

    let sql = "SELECT cluster, namespace, name, uid, annotations, created_at \
               FROM service_accounts ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "service_accounts",
            row: &row,
        };
        data.service_accounts.push(ServiceAccount {
            cluster: c.parse("cluster", ClusterGuid::parse)?,
            namespace: c.parse("namespace", Namespace::parse)?,
            name: c.parse("name", ServiceAccountName::parse)?,
            uid: c.parse("uid", Uuid::parse_str)?,
            annotations: c.parse("annotations", |t| serde_json::from_str(t))?,
            created_at: c.time("created_at")?,
        });
    }

    let sql = "SELECT name, tenant, subscription, resource_group, location, retention_days, \
               purge_protection, created_at, tags, rbac FROM vaults ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "vaults",
            row: &row,
        };
        let days = c.int("retention_days")?;
        data.vaults.push(Vault {
            name: c.parse("name", VaultName::parse)?,
            tenant: c.parse("tenant", TenantId::parse)?,
            subscription: c.parse("subscription", SubscriptionId::parse)?,
            resource_group: c.parse("resource_group", ResourceGroupName::parse)?,
            location: c.parse("location", RegionName::parse)?,
            retention_days: u16::try_from(days)
                .map_err(|_| c.corrupt("retention_days", format_args!("out of range ({days})")))?,
            purge_protection: c.int("purge_protection")? != 0,
            enable_rbac_authorization: c.int("rbac")? != 0,
            tags: c.parse("tags", |t| serde_json::from_str(t))?,
            created_at: c.time("created_at")?,
        });
    }

    let sql = "SELECT body FROM role_definitions ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "role_definitions",
            row: &row,
        };
        data.role_definitions
            .push(c.parse("body", |t| serde_json::from_str::<RoleDefinition>(t))?);
    }

    let sql = "SELECT body FROM role_assignments ORDER BY seq";
    for row in fetch_all(tx, doing, sql).await? {
        let c = Cells {
            table: "role_assignments",
            row: &row,
        };
        data.role_assignments
            .push(c.parse("body", |t| serde_json::from_str::<RoleAssignment>(t))?);
    }

    for (table, sql) in [
        (
            "resource_groups",
            "SELECT body FROM resource_groups ORDER BY seq",
        ),
        ("applications", "SELECT body FROM applications ORDER BY seq"),
        (
            "storage_accounts",
            "SELECT body FROM storage_accounts ORDER BY seq",
        ),
    ] {
        for row in fetch_all(tx, doing, sql).await? {
            let c = Cells { table, row: &row };
            match table {
                "resource_groups" => data
                    .resource_groups
                    .push(c.parse("body", |t| serde_json::from_str(t))?),
                "applications" => data
                    .applications
                    .push(c.parse("body", |t| serde_json::from_str(t))?),
                _ => data
                    .storage_accounts
                    .push(c.parse("body", |t| serde_json::from_str(t))?),
            }
        }
    }
    Ok(data)
}

/// Every signing key, oldest first.
pub(super) async fn signing_keys(pool: &SqlitePool) -> Result<Vec<SigningKeyRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT kid, owner_kind, owner_id, algorithm, public_jwk, sealed_private_key, \
         created_at, retired_at, publish_until FROM signing_keys ORDER BY created_at, seq",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| db_error("loading signing keys", &e))?;
    rows.iter()
        .map(|row| {
            let c = Cells {
                table: "signing_keys",
                row,
            };
            let kind = c.text("owner_kind")?;
            let owner = c.parse("owner_id", |id| format!("{kind}:{id}").parse::<KeyOwner>())?;
            Ok(SigningKeyRecord {
                kid: c.parse("kid", KeyId::parse)?,
                owner,
                algorithm: c.text("algorithm")?,
                public_jwk: c.text("public_jwk")?,
                sealed_private_key: c.blob("sealed_private_key")?,
                created_at: c.time("created_at")?,
                retired_at: c.opt_time("retired_at")?,
                publish_until: c.opt_time("publish_until")?,
            })
        })
        .collect()
}

/// Sign-in records matching `query`, newest first. One static statement: each filter is
/// disabled by binding NULL (or 0), and `LIMIT -1` means no limit in SQLite.
pub(super) async fn sign_ins(
    pool: &SqlitePool,
    query: &SignInQuery,
) -> Result<Vec<SignInRecord>, StoreError> {
    let limit = match query.limit {
        0 => -1,
        n => i64::try_from(n).unwrap_or(i64::MAX),
    };
    let rows = sqlx::query(
        "SELECT id, time, tenant, tenant_id, client_id, identity, credential, assertion_issuer, \
                assertion_subject, assertion_audience, resource, result_code, error, \
                correlation_id, trace_id
         FROM sign_ins
         WHERE (?1 IS NULL OR time >= ?1)
           AND (?2 = 0 OR result_code != 0)
           AND (?3 IS NULL OR client_id_key = ?3 OR identity_key = ?3 OR identity_name_key = ?3)
         ORDER BY time DESC, seq DESC
         LIMIT ?4",
    )
    .bind(query.since.map(UnixTime::as_secs))
    .bind(query.failed_only)
    .bind(query.identity.as_deref().map(str::to_lowercase))
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(|e| db_error("reading sign-in records", &e))?;
    rows.iter()
        .map(|row| {
            let c = Cells {
                table: "sign_ins",
                row,
            };
            let code = c.int("result_code")?;
            Ok(SignInRecord {
                id: c.parse("id", Uuid::parse_str)?,
                time: c.time("time")?,
                tenant: c.text("tenant")?,
                tenant_id: c.parse_opt("tenant_id", TenantId::parse)?,
                client_id: c.text("client_id")?,
                identity: c.opt_text("identity")?,
                credential: c.opt_text("credential")?,
                assertion_issuer: c.opt_text("assertion_issuer")?,
                assertion_subject: c.opt_text("assertion_subject")?,
                assertion_audience: c.opt_text("assertion_audience")?,
                resource: c.opt_text("resource")?,
                result_code: u32::try_from(code)
                    .map_err(|_| c.corrupt("result_code", format_args!("out of range ({code})")))?,
                error: c.opt_text("error")?,
                correlation_id: c.parse("correlation_id", Uuid::parse_str)?,
                trace_id: c.parse("trace_id", Uuid::parse_str)?,
            })
        })
        .collect()
}
