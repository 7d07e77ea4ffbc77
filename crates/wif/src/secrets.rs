//! `wif keyvault secret …` and `wif keyvault audit list`: Key Vault secrets on the data
//! directory's store (values sealed with its key, like the server does), in the shapes
//! `az keyvault secret …` prints; and the topology's secrets, created when absent.

use serde_json::{Value, json};
use wif_core::RandomSource;
use wif_core::directory::Vault;
use wif_core::ids::{SecretName, VaultName};
use wif_core::random::new_uuid;
use wif_core::time::{UnixTime, parse_duration};
use wif_core::{Clock, SystemClock};
use wif_server::rand::OsRandom;
use wif_store::KeyEncryptionKey;
use wif_store::keyvault::{
    Deletion, KvAuditQuery, SecretVersion, StoredSecret, open_value, seal_value,
};
use wif_store::store::Store;

use crate::cli::{
    KeyvaultAuditCommand, KeyvaultAuditListArgs, KeyvaultCommand, KeyvaultSecretCommand,
    SecretNameArgs, SecretSetArgs, SecretShowArgs,
};
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};
use crate::output::render;
use crate::topology::SecretSeed;
use crate::up::open_store;

/// Creates each topology secret that its vault does not hold yet (live or deleted); returns
/// the changes made, for the summary. An existing secret is never overwritten.
pub async fn seed_secrets(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    rng: &dyn RandomSource,
    now: UnixTime,
    seeds: &[SecretSeed],
) -> CliResult<Vec<String>> {
    let mut changes = Vec::new();
    for seed in seeds {
        if store.kv_secret(&seed.vault, &seed.name).await?.is_some() {
            continue;
        }
        let version = new_version(kek, rng, now, &seed.vault, &seed.name, &seed.value.0)?;
        let version = SecretVersion {
            content_type: seed.content_type.clone(),
            tags: seed.tags.clone(),
            ..version
        };
        store
            .kv_add_version(&seed.vault, &seed.name, &version)
            .await?;
        changes.push(format!("+ secret {}/{}", seed.vault, seed.name));
    }
    Ok(changes)
}

fn new_version(
    kek: &KeyEncryptionKey,
    rng: &dyn RandomSource,
    now: UnixTime,
    vault: &VaultName,
    name: &SecretName,
    value: &str,
) -> CliResult<SecretVersion> {
    let version = new_uuid(rng).simple().to_string();
    let sealed = seal_value(kek, vault, name, &version, value)?;
    Ok(SecretVersion {
        version,
        sealed_value: sealed,
        content_type: None,
        tags: Default::default(),
        enabled: true,
        not_before: None,
        expires: None,
        created: now,
        updated: now,
    })
}

/// `wif keyvault …`
pub async fn keyvault(data: &DataDir, cmd: KeyvaultCommand) -> CliResult {
    let (store, kek) = open_store(data).await?;
    let now = SystemClock.now();
    match cmd {
        KeyvaultCommand::Secret(cmd) => secret(store.as_ref(), &kek, now, data, cmd).await,
        KeyvaultCommand::Audit(KeyvaultAuditCommand::List(args)) => {
            audit(store.as_ref(), now, args).await
        }
    }
}

async fn find_vault(store: &dyn Store, name: &str) -> CliResult<Vault> {
    let name = VaultName::parse(name)?;
    let dir = store.load_directory().await?;
    dir.vaults.into_iter().find(|v| v.name == name).ok_or_else(|| {
        CliError::msg(format!(
            "vault '{name}' does not exist; declare it under 'vaults' in a topology file and run `wif up -f`"
        ))
    })
}

/// The vault URL the server answers at, from the running (or last) server's summary.
fn vault_origin(data: &DataDir, vault: &VaultName) -> String {
    match data.read_server_info() {
        Some(info) => match info.authority.rsplit_once(':') {
            Some((_, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                format!("https://{vault}.vault.localhost:{port}")
            }
            _ => format!("https://{vault}.vault.localhost"),
        },
        None => format!("https://{vault}.vault.localhost"),
    }
}

fn iso(t: UnixTime) -> String {
    t.to_rfc3339()
}

fn attributes_json(vault: &Vault, v: &SecretVersion) -> Value {
    json!({
        "enabled": v.enabled,
        "notBefore": v.not_before.map(iso),
        "expires": v.expires.map(iso),
        "created": iso(v.created),
        "updated": iso(v.updated),
        "recoverableDays": vault.retention_days,
    })
}

fn secret_json(
    origin: &str,
    vault: &Vault,
    s: &StoredSecret,
    v: &SecretVersion,
    value: Option<&str>,
    versioned: bool,
) -> Value {
    let id = if versioned {
        format!("{origin}/secrets/{}/{}", s.name, v.version)
    } else {
        format!("{origin}/secrets/{}", s.name)
    };
    let mut out = serde_json::Map::new();
    out.insert("id".into(), json!(id));
    out.insert("name".into(), json!(s.name.as_str()));
    if let Some(value) = value {
        out.insert("value".into(), json!(value));
    }
    out.insert("attributes".into(), attributes_json(vault, v));
    out.insert("contentType".into(), json!(v.content_type));
    out.insert("tags".into(), json!(v.tags));
    if let Some(d) = &s.deleted {
        out.insert(
            "recoveryId".into(),
            json!(format!("{origin}/deletedsecrets/{}", s.name)),
        );
        out.insert("deletedDate".into(), json!(iso(d.deleted_at)));
        out.insert("scheduledPurgeDate".into(), json!(iso(d.scheduled_purge)));
    }
    Value::Object(out)
}

fn not_found(vault: &VaultName, name: &str) -> CliError {
    CliError::msg(format!(
        "(SecretNotFound) A secret with (name/id) {name} was not found in vault {vault}"
    ))
}

async fn secret(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    now: UnixTime,
    data: &DataDir,
    cmd: KeyvaultSecretCommand,
) -> CliResult {
    match cmd {
        KeyvaultSecretCommand::Set(args) => set(store, kek, now, data, args).await,
        KeyvaultSecretCommand::Show(args) => show(store, kek, data, args).await,
        KeyvaultSecretCommand::List(args) => list(store, data, args, false).await,
        KeyvaultSecretCommand::ListDeleted(args) => list(store, data, args, true).await,
        KeyvaultSecretCommand::Delete(args) => {
            let (vault, s) = live(store, &args).await?;
            let days = i64::from(vault.retention_days);
            let d = Deletion {
                deleted_at: now,
                scheduled_purge: now.plus_secs(days * 86_400),
            };
            store.kv_set_deletion(&vault.name, &s.name, Some(d)).await?;
            eprintln!(
                "deleted secret '{}' (recoverable until {}; `wif keyvault secret recover` brings it back)",
                s.name,
                iso(d.scheduled_purge)
            );
            Ok(())
        }
        KeyvaultSecretCommand::Recover(args) => {
            let (vault, s) = deleted(store, &args).await?;
            store.kv_set_deletion(&vault.name, &s.name, None).await?;
            eprintln!("recovered secret '{}'", s.name);
            Ok(())
        }
        KeyvaultSecretCommand::Purge(args) => {
            let (vault, s) = deleted(store, &args).await?;
            if let Some(d) = s.deleted
                && vault.purge_protection
                && now < d.scheduled_purge
            {
                return Err(CliError::msg(format!(
                    "vault '{}' has purge protection: '{}' is purged automatically at {}",
                    vault.name,
                    s.name,
                    iso(d.scheduled_purge)
                )));
            }
            store.kv_purge(&vault.name, &s.name).await?;
            eprintln!("purged secret '{}'", s.name);
            Ok(())
        }
    }
}

async fn live(store: &dyn Store, args: &SecretNameArgs) -> CliResult<(Vault, StoredSecret)> {
    let vault = find_vault(store, &args.vault.vault_name).await?;
    let name = SecretName::parse(&args.name)?;
    match store.kv_secret(&vault.name, &name).await? {
        Some(s) if s.deleted.is_none() => Ok((vault, s)),
        _ => Err(not_found(&vault.name, &args.name)),
    }
}

async fn deleted(store: &dyn Store, args: &SecretNameArgs) -> CliResult<(Vault, StoredSecret)> {
    let vault = find_vault(store, &args.vault.vault_name).await?;
    let name = SecretName::parse(&args.name)?;
    match store.kv_secret(&vault.name, &name).await? {
        Some(s) if s.deleted.is_some() => Ok((vault, s)),
        _ => Err(CliError::msg(format!(
            "(SecretNotFound) Deleted Secret not found: {}",
            args.name
        ))),
    }
}

async fn set(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    now: UnixTime,
    data: &DataDir,
    args: SecretSetArgs,
) -> CliResult {
    let vault = find_vault(store, &args.vault.vault_name).await?;
    let name = SecretName::parse(&args.name)?;
    let value = match (&args.value, &args.file) {
        (Some(v), None) => v.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| CliError::msg(format!("cannot read {}: {e}", path.display())))?,
        _ => return Err(CliError::msg("give the value with --value or --file")),
    };
    let existing = store.kv_secret(&vault.name, &name).await?;
    if existing.as_ref().is_some_and(|s| s.deleted.is_some()) {
        return Err(CliError::msg(format!(
            "(Conflict) Secret {name} is currently in a deleted but recoverable state, and its name cannot be reused; recover or purge it first"
        )));
    }
    let stored_name = existing.as_ref().map_or(name.clone(), |s| s.name.clone());
    let mut version = new_version(kek, &OsRandom, now, &vault.name, &stored_name, &value)?;
    version.content_type = args.content_type.clone();
    for tag in &args.tags {
        let (k, v) = tag.split_once('=').unwrap_or((tag.as_str(), ""));
        version.tags.insert(k.to_owned(), v.to_owned());
    }
    version.enabled = !args.disabled;
    if let Some(exp) = &args.expires_in {
        version.expires = Some(now.plus(parse_duration(exp)?));
    }
    store
        .kv_add_version(&vault.name, &stored_name, &version)
        .await?;
    let s = store
        .kv_secret(&vault.name, &stored_name)
        .await?
        .ok_or_else(|| not_found(&vault.name, name.as_str()))?;
    let origin = vault_origin(data, &vault.name);
    print!(
        "{}",
        render(
            &secret_json(&origin, &vault, &s, &version, None, true),
            &args.output
        )?
    );
    Ok(())
}

async fn show(
    store: &dyn Store,
    kek: &KeyEncryptionKey,
    data: &DataDir,
    args: SecretShowArgs,
) -> CliResult {
    let (vault, s) = live(store, &args.secret).await?;
    let v = match &args.version {
        None => s.latest(),
        Some(id) => s.version(id),
    }
    .ok_or_else(|| not_found(&vault.name, &args.secret.name))?;
    let value = open_value(kek, &vault.name, &s.name, &v.version, &v.sealed_value)?;
    let origin = vault_origin(data, &vault.name);
    print!(
        "{}",
        render(
            &secret_json(&origin, &vault, &s, v, Some(&value), true),
            &args.output
        )?
    );
    Ok(())
}

async fn list(
    store: &dyn Store,
    data: &DataDir,
    args: crate::cli::SecretListArgs,
    deleted: bool,
) -> CliResult {
    let vault = find_vault(store, &args.vault.vault_name).await?;
    let origin = vault_origin(data, &vault.name);
    let rows: Vec<Value> = store
        .kv_secrets(&vault.name)
        .await?
        .iter()
        .filter(|s| s.deleted.is_some() == deleted)
        .filter_map(|s| {
            let v = s.latest()?;
            Some(secret_json(&origin, &vault, s, v, None, false))
        })
        .collect();
    print!("{}", render(&json!(rows), &args.output)?);
    Ok(())
}

async fn audit(store: &dyn Store, now: UnixTime, args: KeyvaultAuditListArgs) -> CliResult {
    let since = args
        .since
        .as_deref()
        .map(parse_duration)
        .transpose()?
        .map(|d| now.minus_secs(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)));
    let records = store
        .kv_audit(&KvAuditQuery {
            vault: args.vault_name.clone(),
            since,
            denied_only: args.denied,
            limit: args.top,
        })
        .await?;
    let rows: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "time": iso(r.time),
                "vault": r.vault,
                "operation": r.operation,
                "status": r.status,
                "result": if r.allowed { "allowed" } else { "denied" },
                "callerAppId": r.caller_app,
                "callerObjectId": r.caller_oid,
                "action": r.action,
                "resource": r.resource,
                "assignment": r.assignment,
                "reason": r.reason,
                "requestId": r.request_id,
            })
        })
        .collect();
    print!("{}", render(&json!(rows), &args.output)?);
    Ok(())
}
