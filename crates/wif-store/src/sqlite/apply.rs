//! Applying a batch of [`Write`]s inside one `BEGIN IMMEDIATE` transaction, with the directory's
//! integrity rules checked explicitly first so each failure carries a message a user can act
//! on (the schema's UNIQUE and FOREIGN KEY constraints stay as the backstop). The management
//! API relies on these checks rather than repeating them.

use sqlx::sqlite::SqliteConnection;
use sqlx::{Row, Sqlite, Transaction};
use wif_core::directory::{
    Cluster, FederatedIdentityCredential, MAX_FEDERATED_CREDENTIALS, ManagedIdentity, Subscription,
    Tenant,
};
use wif_core::ids::{ClientId, CredentialName, TenantId};

use super::{db_error, rows};
use crate::model::{KeyOwner, SignInRecord, SigningKeyRecord, Write};
use crate::store::StoreError;

/// Applies every write in order, bumps the revision once, and returns the new revision. The
/// caller commits on success and rolls back on error.
pub(super) async fn apply_all(
    tx: &mut Transaction<'static, Sqlite>,
    writes: &[Write],
) -> Result<u64, StoreError> {
    for write in writes {
        apply_one(tx, write).await?;
    }
    let row = sqlx::query("UPDATE revision SET value = value + 1 WHERE id = 1 RETURNING value")
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| db_error("bumping the revision", &e))?;
    rows::revision(&row)
}

async fn apply_one(conn: &mut SqliteConnection, write: &Write) -> Result<(), StoreError> {
    match write {
        Write::PutTenant(t) => put_tenant(conn, t).await,
        Write::DeleteTenant(id) => delete_tenant(conn, id).await,
        Write::PutSubscription(s) => put_subscription(conn, s).await,
        Write::DeleteSubscription(id) => {
            let q = sqlx::query("DELETE FROM subscriptions WHERE id = ?").bind(id.to_string());
            let n = exec(conn, "deleting a subscription", q).await?;
            found(n, || format!("Subscription '{id}' was not found."))
        }
        Write::PutRegion(r) => {
            let q =
                sqlx::query("INSERT INTO regions (name) VALUES (?) ON CONFLICT (name) DO NOTHING")
                    .bind(r.name.as_str());
            exec(conn, "writing a region", q).await.map(drop)
        }
        Write::DeleteRegion(name) => {
            let q = sqlx::query("DELETE FROM regions WHERE name = ?").bind(name.as_str());
            let n = exec(conn, "deleting a region", q).await?;
            found(n, || format!("Region '{name}' was not found."))
        }
        Write::PutCluster(c) => put_cluster(conn, c).await,
        Write::DeleteCluster(guid) => {
            // The foreign key cascades too; deleting explicitly keeps the rule visible here.
            let q = sqlx::query("DELETE FROM service_accounts WHERE cluster = ?")
                .bind(guid.to_string());
            exec(conn, "deleting the cluster's service accounts", q).await?;
            let q = sqlx::query("DELETE FROM clusters WHERE guid = ?").bind(guid.to_string());
            let n = exec(conn, "deleting a cluster", q).await?;
            found(n, || format!("Cluster '{guid}' was not found."))
        }
        Write::PutIdentity(m) => put_identity(conn, m).await,
        Write::DeleteIdentity(client) => {
            // The foreign key cascades too; deleting explicitly keeps the rule visible here.
            let id = client.to_string();
            let q = sqlx::query("DELETE FROM credentials WHERE identity = ?").bind(&id);
            exec(conn, "deleting federated credentials", q).await?;
            let q = sqlx::query("DELETE FROM identities WHERE client_id = ?").bind(&id);
            let n = exec(conn, "deleting a managed identity", q).await?;
            found(n, || {
                format!("Managed identity with client id '{id}' was not found.")
            })
        }
        Write::PutCredential(f) => put_credential(conn, f).await,
        Write::DeleteCredential { identity, name } => delete_credential(conn, identity, name).await,
        Write::PutServiceAccount(sa) => workloads::put_service_account(conn, sa).await,
        Write::DeleteServiceAccount {
            cluster,
            namespace,
            name,
        } => workloads::delete_service_account(conn, cluster, namespace, name).await,
        Write::PutVault(v) => workloads::put_vault(conn, v).await,
        Write::DeleteVault(name) => workloads::delete_vault(conn, name).await,
        Write::PutRoleDefinition(r) => workloads::put_role_definition(conn, r).await,
        Write::DeleteRoleDefinition(id) => workloads::delete_role_definition(conn, id).await,
        Write::PutRoleAssignment(a) => workloads::put_role_assignment(conn, a).await,
        Write::DeleteRoleAssignment(id) => workloads::delete_role_assignment(conn, id).await,
        Write::PutResourceGroup(g) => arm::put_resource_group(conn, g).await,
        Write::DeleteResourceGroup { subscription, name } => {
            arm::delete_resource_group(conn, subscription, name).await
        }
        Write::PutApplication(a) => arm::put_application(conn, a).await,
        Write::DeleteApplication(id) => arm::delete_application(conn, id).await,
        Write::PutStorageAccount(s) => arm::put_storage_account(conn, s).await,
        Write::DeleteStorageAccount(name) => arm::delete_storage_account(conn, name).await,
        Write::PutSigningKey(k) => put_signing_key(conn, k).await,
        Write::RetireSigningKey {
            kid,
            retired_at,
            publish_until,
        } => {
            let q = sqlx::query(
                "UPDATE signing_keys SET retired_at = ?, publish_until = ? WHERE kid = ?",
            )
            .bind(retired_at.as_secs())
            .bind(publish_until.as_secs())
            .bind(kid.as_str());
            let n = exec(conn, "retiring a signing key", q).await?;
            found(n, || format!("Signing key '{kid}' was not found."))
        }
    }
}

#[path = "apply_arm.rs"]
mod arm;
#[path = "apply_workloads.rs"]
mod workloads;

pub(super) type Query<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>;

/// Executes a statement and returns the number of rows it changed.
pub(super) async fn exec(
    conn: &mut SqliteConnection,
    doing: &str,
    q: Query<'_>,
) -> Result<u64, StoreError> {
    q.execute(conn)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| db_error(doing, &e))
}

/// Counts rows with a `SELECT COUNT(*) AS n ...` statement.
pub(super) async fn count(
    conn: &mut SqliteConnection,
    doing: &str,
    q: Query<'_>,
) -> Result<i64, StoreError> {
    let row = q.fetch_one(conn).await.map_err(|e| db_error(doing, &e))?;
    row.try_get::<i64, _>("n").map_err(|e| db_error(doing, &e))
}

/// The first column of the first row, if any, as text.
pub(super) async fn first_text(
    conn: &mut SqliteConnection,
    doing: &str,
    q: Query<'_>,
) -> Result<Option<String>, StoreError> {
    let row = q
        .fetch_optional(conn)
        .await
        .map_err(|e| db_error(doing, &e))?;
    row.map(|r| r.try_get::<String, _>(0).map_err(|e| db_error(doing, &e)))
        .transpose()
}

/// ARM tags as stored (a JSON object of strings).
pub(super) fn tags_json(
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<String, StoreError> {
    serde_json::to_string(tags)
        .map_err(|e| StoreError::Conflict(format!("The tags cannot be stored: {e}")))
}

pub(super) fn found(rows: u64, message: impl FnOnce() -> String) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound(message()))
    } else {
        Ok(())
    }
}

pub(super) async fn require_tenant(
    conn: &mut SqliteConnection,
    tenant: &TenantId,
    child: impl FnOnce() -> String,
) -> Result<(), StoreError> {
    let q = sqlx::query("SELECT COUNT(*) AS n FROM tenants WHERE id = ?").bind(tenant.to_string());
    if count(conn, "checking the tenant", q).await? == 0 {
        return Err(StoreError::NotFound(format!(
            "Tenant '{tenant}' of {} was not found; create the tenant first.",
            child()
        )));
    }
    Ok(())
}

async fn put_tenant(conn: &mut SqliteConnection, t: &Tenant) -> Result<(), StoreError> {
    let id = t.id.to_string();
    let q = sqlx::query("SELECT id FROM tenants WHERE domain = ? AND id != ?")
        .bind(t.domain.as_str())
        .bind(&id);
    if let Some(other) = first_text(conn, "checking tenant domains", q).await? {
        return Err(StoreError::Conflict(format!(
            "The domain '{}' is already used by tenant '{other}'; choose another domain.",
            t.domain
        )));
    }
    let q = sqlx::query(
        "INSERT INTO tenants (id, domain, display_name, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET domain = excluded.domain,
             display_name = excluded.display_name, created_at = excluded.created_at",
    )
    .bind(&id)
    .bind(t.domain.as_str())
    .bind(&t.display_name)
    .bind(t.created_at.as_secs());
    exec(conn, "writing a tenant", q).await.map(drop)
}

async fn delete_tenant(conn: &mut SqliteConnection, tenant: &TenantId) -> Result<(), StoreError> {
    let id = tenant.to_string();
    let mut left = Vec::new();
    for (sql, what) in [
        (
            "SELECT COUNT(*) AS n FROM subscriptions WHERE tenant = ?",
            "subscription(s)",
        ),
        (
            "SELECT COUNT(*) AS n FROM clusters WHERE tenant = ?",
            "cluster(s)",
        ),
        (
            "SELECT COUNT(*) AS n FROM identities WHERE tenant = ?",
            "managed identity(ies)",
        ),
        (
            "SELECT COUNT(*) AS n FROM vaults WHERE tenant = ?",
            "key vault(s)",
        ),
    ] {
        let n = count(
            conn,
            "checking the tenant's resources",
            sqlx::query(sql).bind(&id),
        )
        .await?;
        if n > 0 {
            left.push(format!("{n} {what}"));
        }
    }
    if !left.is_empty() {
        return Err(StoreError::Conflict(format!(
            "Tenant '{id}' still has {}; delete them before deleting the tenant.",
            left.join(", ")
        )));
    }
    let q = sqlx::query("DELETE FROM tenants WHERE id = ?").bind(&id);
    let n = exec(conn, "deleting a tenant", q).await?;
    found(n, || format!("Tenant '{id}' was not found."))
}

async fn put_subscription(conn: &mut SqliteConnection, s: &Subscription) -> Result<(), StoreError> {
    require_tenant(conn, &s.tenant, || format!("subscription '{}'", s.id)).await?;
    let q = sqlx::query(
        "INSERT INTO subscriptions (id, tenant, display_name) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant,
             display_name = excluded.display_name",
    )
    .bind(s.id.to_string())
    .bind(s.tenant.to_string())
    .bind(&s.display_name);
    exec(conn, "writing a subscription", q).await.map(drop)
}

async fn put_cluster(conn: &mut SqliteConnection, c: &Cluster) -> Result<(), StoreError> {
    require_tenant(conn, &c.tenant, || format!("cluster '{}'", c.name)).await?;
    let guid = c.guid.to_string();
    let q = sqlx::query("SELECT name FROM clusters WHERE issuer = ? AND guid != ?")
        .bind(c.issuer.as_str())
        .bind(&guid);
    if let Some(other) = first_text(conn, "checking cluster issuers", q).await? {
        return Err(StoreError::Conflict(format!(
            "The issuer '{}' is already used by cluster '{other}'; each cluster needs its own \
             issuer URL.",
            c.issuer
        )));
    }
    let q = sqlx::query(
        "INSERT INTO clusters (guid, name, tenant, subscription, resource_group, region, issuer,
             created_at, oidc_issuer, workload_identity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (guid) DO UPDATE SET name = excluded.name, tenant = excluded.tenant,
             subscription = excluded.subscription, resource_group = excluded.resource_group,
             region = excluded.region, issuer = excluded.issuer, created_at = excluded.created_at,
             oidc_issuer = MAX(oidc_issuer, excluded.oidc_issuer),
             workload_identity = excluded.workload_identity",
    )
    .bind(&guid)
    .bind(c.name.as_str())
    .bind(c.tenant.to_string())
    .bind(c.subscription.to_string())
    .bind(c.resource_group.as_str())
    .bind(c.region.as_str())
    .bind(c.issuer.as_str())
    .bind(c.created_at.as_secs())
    .bind(c.oidc_issuer_enabled)
    .bind(c.workload_identity_enabled);
    exec(conn, "writing a cluster", q).await.map(drop)
}

async fn put_identity(conn: &mut SqliteConnection, m: &ManagedIdentity) -> Result<(), StoreError> {
    require_tenant(conn, &m.tenant, || format!("managed identity '{}'", m.name)).await?;
    let client = m.client_id.to_string();
    let subscription = m.subscription.to_string();
    // ARM names are case-insensitive: one name per resource group, whatever its casing.
    let name_key = m.name.as_str().to_lowercase();
    let group_key = m.resource_group.as_str().to_lowercase();
    let q = sqlx::query(
        "SELECT client_id FROM identities
         WHERE subscription = ? AND resource_group_key = ? AND name_key = ? AND client_id != ?",
    )
    .bind(&subscription)
    .bind(&group_key)
    .bind(&name_key)
    .bind(&client);
    if let Some(other) = first_text(conn, "checking identity names", q).await? {
        return Err(StoreError::Conflict(format!(
            "A managed identity named '{}' already exists in resource group '{}' of subscription \
             '{subscription}' (client id '{other}'); choose another name.",
            m.name, m.resource_group
        )));
    }
    let q = sqlx::query(
        "INSERT INTO identities (client_id, name, name_key, tenant, subscription, resource_group,
             resource_group_key, location, principal_id, created_at, tags)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (client_id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key,
             tenant = excluded.tenant, subscription = excluded.subscription,
             resource_group = excluded.resource_group,
             resource_group_key = excluded.resource_group_key, location = excluded.location,
             principal_id = excluded.principal_id, created_at = excluded.created_at,
             tags = excluded.tags",
    )
    .bind(&client)
    .bind(m.name.as_str())
    .bind(&name_key)
    .bind(m.tenant.to_string())
    .bind(&subscription)
    .bind(m.resource_group.as_str())
    .bind(&group_key)
    .bind(m.location.as_str())
    .bind(m.principal_id.to_string())
    .bind(m.created_at.as_secs())
    .bind(tags_json(&m.tags)?);
    exec(conn, "writing a managed identity", q).await.map(drop)
}

async fn put_credential(
    conn: &mut SqliteConnection,
    f: &FederatedIdentityCredential,
) -> Result<(), StoreError> {
    let [audience] = f.audiences.as_slice() else {
        return Err(StoreError::Conflict(format!(
            "A federated identity credential must have exactly one audience; '{}' has {}.",
            f.name,
            f.audiences.len()
        )));
    };
    let identity = f.identity.to_string();
    let q = sqlx::query("SELECT COUNT(*) AS n FROM identities WHERE client_id = ?").bind(&identity);
    if count(conn, "checking the identity", q).await? == 0 {
        return Err(StoreError::NotFound(format!(
            "Managed identity with client id '{identity}' was not found; create it before adding \
             federated identity credentials."
        )));
    }
    let name_key = f.name.as_str().to_lowercase();
    let q =
        sqlx::query("SELECT COUNT(*) AS n FROM credentials WHERE identity = ? AND name_key = ?")
            .bind(&identity)
            .bind(&name_key);
    let is_new = count(conn, "checking credential names", q).await? == 0;
    if is_new {
        let q =
            sqlx::query("SELECT COUNT(*) AS n FROM credentials WHERE identity = ?").bind(&identity);
        let held = count(conn, "counting credentials", q).await?;
        if usize::try_from(held).unwrap_or(usize::MAX) >= MAX_FEDERATED_CREDENTIALS {
            return Err(StoreError::Conflict(format!(
                "Managed identity '{identity}' already has the maximum of \
                 {MAX_FEDERATED_CREDENTIALS} federated identity credentials; delete one before \
                 adding '{}'.",
                f.name
            )));
        }
    }
    // Issuer and subject compare exactly (SQLite's default BINARY collation), as Entra does.
    let q = sqlx::query(
        "SELECT COUNT(*) AS n FROM credentials
         WHERE identity = ? AND issuer = ? AND subject = ? AND name_key != ?",
    )
    .bind(&identity)
    .bind(f.issuer.as_str())
    .bind(f.subject.as_str())
    .bind(&name_key);
    if count(conn, "checking issuer and subject", q).await? > 0 {
        return Err(StoreError::Conflict(
            "Issuer and subject combination already exists for this Managed Identity.".to_owned(),
        ));
    }
    let q = sqlx::query(
        "INSERT INTO credentials (identity, name, name_key, issuer, subject, audience)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (identity, name_key) DO UPDATE SET name = excluded.name,
             issuer = excluded.issuer, subject = excluded.subject, audience = excluded.audience",
    )
    .bind(&identity)
    .bind(f.name.as_str())
    .bind(&name_key)
    .bind(f.issuer.as_str())
    .bind(f.subject.as_str())
    .bind(audience.as_str());
    exec(conn, "writing a federated identity credential", q)
        .await
        .map(drop)
}

async fn delete_credential(
    conn: &mut SqliteConnection,
    identity: &ClientId,
    name: &CredentialName,
) -> Result<(), StoreError> {
    let q = sqlx::query("DELETE FROM credentials WHERE identity = ? AND name_key = ?")
        .bind(identity.to_string())
        .bind(name.as_str().to_lowercase());
    let n = exec(conn, "deleting a federated identity credential", q).await?;
    found(n, || {
        format!(
            "Federated identity credential '{name}' was not found on managed identity \
             '{identity}'."
        )
    })
}

async fn put_signing_key(
    conn: &mut SqliteConnection,
    k: &SigningKeyRecord,
) -> Result<(), StoreError> {
    let owner_id = match k.owner {
        KeyOwner::Cluster(guid) => guid.to_string(),
        KeyOwner::Tenant(id) => id.to_string(),
    };
    let q = sqlx::query(
        "INSERT INTO signing_keys (kid, owner_kind, owner_id, algorithm, public_jwk,
             sealed_private_key, created_at, retired_at, publish_until)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (kid) DO UPDATE SET owner_kind = excluded.owner_kind,
             owner_id = excluded.owner_id, algorithm = excluded.algorithm,
             public_jwk = excluded.public_jwk, sealed_private_key = excluded.sealed_private_key,
             created_at = excluded.created_at, retired_at = excluded.retired_at,
             publish_until = excluded.publish_until",
    )
    .bind(k.kid.as_str())
    .bind(k.owner.kind())
    .bind(owner_id)
    .bind(&k.algorithm)
    .bind(&k.public_jwk)
    .bind(&k.sealed_private_key)
    .bind(k.created_at.as_secs())
    .bind(k.retired_at.map(|t| t.as_secs()))
    .bind(k.publish_until.map(|t| t.as_secs()));
    exec(conn, "writing a signing key", q).await.map(drop)
}

/// Appends one sign-in record; an id already present is left as first written, so a batch
/// retried after a lost commit acknowledgement does not duplicate entries.
pub(super) async fn insert_sign_in(
    conn: &mut SqliteConnection,
    r: &SignInRecord,
) -> Result<(), StoreError> {
    let identity_key = r.identity.as_deref().map(str::to_lowercase);
    // The identity's name is the last segment of its ARM id.
    let identity_name_key = identity_key.as_deref().map(|id| {
        id.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(id)
            .to_owned()
    });
    let q = sqlx::query(
        "INSERT INTO sign_ins (id, time, tenant, tenant_id, client_id, client_id_key, identity,
             identity_key, identity_name_key, credential, assertion_issuer, assertion_subject,
             assertion_audience, resource, result_code, error, correlation_id, trace_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(r.id.hyphenated().to_string())
    .bind(r.time.as_secs())
    .bind(&r.tenant)
    .bind(r.tenant_id.map(|t| t.to_string()))
    .bind(&r.client_id)
    .bind(r.client_id.to_lowercase())
    .bind(&r.identity)
    .bind(identity_key)
    .bind(identity_name_key)
    .bind(&r.credential)
    .bind(&r.assertion_issuer)
    .bind(&r.assertion_subject)
    .bind(&r.assertion_audience)
    .bind(&r.resource)
    .bind(i64::from(r.result_code))
    .bind(&r.error)
    .bind(r.correlation_id.hyphenated().to_string())
    .bind(r.trace_id.hyphenated().to_string());
    exec(conn, "appending a sign-in record", q).await.map(drop)
}
