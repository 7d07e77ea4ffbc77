//! Writes of what the management API adds: resource groups (whose deletion takes everything in
//! them), app registrations and storage accounts, with their integrity rules (see [`super`]).

use sqlx::sqlite::SqliteConnection;
use wif_core::apps::MAX_APP_CREDENTIALS;
use wif_core::directory::{Application, ResourceGroup, StorageAccount};
use wif_core::ids::{ClientId, ResourceGroupName, StorageAccountName, SubscriptionId};

use super::{count, exec, first_text, found, require_tenant};
use crate::store::StoreError;

fn to_json<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Conflict(format!("{what} cannot be stored: {e}")))
}

pub(super) async fn put_resource_group(
    conn: &mut SqliteConnection,
    g: &ResourceGroup,
) -> Result<(), StoreError> {
    let subscription = g.subscription.to_string();
    let q = sqlx::query("SELECT COUNT(*) AS n FROM subscriptions WHERE id = ?").bind(&subscription);
    if count(conn, "checking the subscription", q).await? == 0 {
        return Err(StoreError::NotFound(format!(
            "Subscription '{subscription}' of resource group '{}' was not found.",
            g.name
        )));
    }
    let body = to_json("The resource group", g)?;
    let q = sqlx::query(
        "INSERT INTO resource_groups (subscription, name_key, body) VALUES (?, ?, ?)
         ON CONFLICT (subscription, name_key) DO UPDATE SET body = excluded.body",
    )
    .bind(&subscription)
    .bind(g.name.as_str().to_lowercase())
    .bind(&body);
    exec(conn, "writing a resource group", q).await.map(drop)
}

pub(super) async fn delete_resource_group(
    conn: &mut SqliteConnection,
    subscription: &SubscriptionId,
    name: &ResourceGroupName,
) -> Result<(), StoreError> {
    let sub = subscription.to_string();
    let key = name.as_str().to_lowercase();
    let q = sqlx::query("DELETE FROM resource_groups WHERE subscription = ? AND name_key = ?")
        .bind(&sub)
        .bind(&key);
    let n = exec(conn, "deleting a resource group", q).await?;
    found(n, || format!("Resource group '{name}' could not be found."))?;
    // Everything in the group goes with it, as in ARM. Service accounts and federated
    // credentials follow their cluster and identity through the foreign keys' cascades.
    let doing = "deleting the resource group's resources";
    let q = sqlx::query(
        "DELETE FROM credentials WHERE identity IN (SELECT client_id FROM identities
             WHERE subscription = ? AND resource_group_key = ?)",
    )
    .bind(&sub)
    .bind(&key);
    exec(conn, doing, q).await?;
    let q = sqlx::query("DELETE FROM identities WHERE subscription = ? AND resource_group_key = ?")
        .bind(&sub)
        .bind(&key);
    exec(conn, doing, q).await?;
    let q = sqlx::query(
        "DELETE FROM service_accounts WHERE cluster IN (SELECT guid FROM clusters
             WHERE subscription = ? AND lower(resource_group) = ?)",
    )
    .bind(&sub)
    .bind(&key);
    exec(conn, doing, q).await?;
    for sql in [
        "DELETE FROM clusters WHERE subscription = ? AND lower(resource_group) = ?",
        "DELETE FROM vaults WHERE subscription = ? AND lower(resource_group) = ?",
    ] {
        let q = sqlx::query(sql).bind(&sub).bind(&key);
        exec(conn, doing, q).await?;
    }
    let q = sqlx::query("DELETE FROM storage_accounts WHERE subscription = ? AND group_key = ?")
        .bind(&sub)
        .bind(&key);
    exec(conn, doing, q).await?;
    let scope = format!("/subscriptions/{sub}/resourcegroups/{key}");
    let q = sqlx::query(
        "DELETE FROM role_assignments WHERE scope_key = ? OR substr(scope_key, 1, ?) = ?",
    )
    .bind(&scope)
    .bind(i64::try_from(scope.len() + 1).unwrap_or(i64::MAX))
    .bind(format!("{scope}/"));
    exec(conn, doing, q).await.map(drop)
}

pub(super) async fn put_application(
    conn: &mut SqliteConnection,
    a: &Application,
) -> Result<(), StoreError> {
    require_tenant(conn, &a.tenant, || {
        format!("application '{}'", a.display_name)
    })
    .await?;
    for (what, n) in [
        ("client secrets", a.secrets.len()),
        ("certificates", a.certificates.len()),
        (
            "federated identity credentials",
            a.federated_credentials.len(),
        ),
    ] {
        if n > MAX_APP_CREDENTIALS {
            return Err(StoreError::Conflict(format!(
                "Application '{}' would have {n} {what}; at most {MAX_APP_CREDENTIALS} are allowed.",
                a.display_name
            )));
        }
    }
    let mut pairs = std::collections::HashSet::new();
    let mut names = std::collections::HashSet::new();
    for f in &a.federated_credentials {
        if f.identity != a.app_id {
            return Err(StoreError::Conflict(format!(
                "Federated identity credential '{}' names client '{}', not application '{}'.",
                f.name, f.identity, a.app_id
            )));
        }
        if f.audiences.len() != 1 {
            return Err(StoreError::Conflict(format!(
                "A federated identity credential must have exactly one audience; '{}' has {}.",
                f.name,
                f.audiences.len()
            )));
        }
        if !names.insert(f.name.as_str().to_lowercase()) {
            return Err(StoreError::Conflict(format!(
                "Application '{}' already has a federated identity credential named '{}'.",
                a.display_name, f.name
            )));
        }
        if !pairs.insert((f.issuer.as_str(), f.subject.as_str())) {
            return Err(StoreError::Conflict(
                "Issuer and subject combination already exists for this application.".to_owned(),
            ));
        }
    }
    let app_id = a.app_id.to_string();
    // An app id is a client id: it may not also be a managed identity's.
    let q = sqlx::query("SELECT name FROM identities WHERE client_id = ?").bind(&app_id);
    if let Some(name) = first_text(conn, "checking client ids", q).await? {
        return Err(StoreError::Conflict(format!(
            "The app id '{app_id}' is already the client id of managed identity '{name}'."
        )));
    }
    let body = to_json("The application", a)?;
    let q = sqlx::query(
        "INSERT INTO applications (app_id, object_id, principal_id, tenant, body)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (app_id) DO UPDATE SET object_id = excluded.object_id,
             principal_id = excluded.principal_id, tenant = excluded.tenant, body = excluded.body",
    )
    .bind(&app_id)
    .bind(a.object_id.hyphenated().to_string())
    .bind(a.principal_id.to_string())
    .bind(a.tenant.to_string())
    .bind(&body);
    exec(conn, "writing an application", q).await.map(drop)
}

pub(super) async fn delete_application(
    conn: &mut SqliteConnection,
    app_id: &ClientId,
) -> Result<(), StoreError> {
    let q = sqlx::query("SELECT principal_id FROM applications WHERE app_id = ?")
        .bind(app_id.to_string());
    let Some(principal) = first_text(conn, "finding the application", q).await? else {
        return Err(StoreError::NotFound(format!(
            "Application with app id '{app_id}' was not found."
        )));
    };
    let q = sqlx::query("DELETE FROM role_assignments WHERE principal_id = ?").bind(&principal);
    exec(conn, "deleting the application's role assignments", q).await?;
    let q = sqlx::query("DELETE FROM applications WHERE app_id = ?").bind(app_id.to_string());
    exec(conn, "deleting an application", q).await.map(drop)
}

pub(super) async fn put_storage_account(
    conn: &mut SqliteConnection,
    s: &StorageAccount,
) -> Result<(), StoreError> {
    require_tenant(conn, &s.tenant, || format!("storage account '{}'", s.name)).await?;
    let q = sqlx::query(
        "SELECT subscription FROM storage_accounts WHERE name = ? AND subscription != ?",
    )
    .bind(s.name.as_str())
    .bind(s.subscription.to_string());
    if let Some(other) = first_text(conn, "checking storage account names", q).await? {
        return Err(StoreError::Conflict(format!(
            "The storage account name '{}' is already taken (subscription '{other}'); storage \
             account names are globally unique.",
            s.name
        )));
    }
    let body = to_json("The storage account", s)?;
    let q = sqlx::query(
        "INSERT INTO storage_accounts (name, subscription, group_key, body) VALUES (?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET group_key = excluded.group_key, body = excluded.body",
    )
    .bind(s.name.as_str())
    .bind(s.subscription.to_string())
    .bind(s.resource_group.as_str().to_lowercase())
    .bind(&body);
    exec(conn, "writing a storage account", q).await.map(drop)
}

pub(super) async fn delete_storage_account(
    conn: &mut SqliteConnection,
    name: &StorageAccountName,
) -> Result<(), StoreError> {
    let q = sqlx::query("DELETE FROM storage_accounts WHERE name = ?").bind(name.as_str());
    let n = exec(conn, "deleting a storage account", q).await?;
    found(n, || format!("Storage account '{name}' was not found."))
}
