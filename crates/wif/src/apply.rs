//! `wif apply -f topology.yaml`: the topology's changes against the directory a running server
//! uses, shown as a plan (create `+`, update `~`, delete `-`, as Terraform shows them), applied
//! after confirmation in one transaction. `--prune` also deletes what the file no longer
//! declares (clusters, service accounts, identities, credentials, vaults, role assignments —
//! never tenants, subscriptions, app registrations or their roles). Applying twice is a no-op.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write as _};

use wif_core::directory::DirectoryData;
use wif_core::rbac::RoleAssignment;
use wif_server::rand::OsRandom;
use wif_server::state::Authority;
use wif_store::model::Write;

use crate::cli::ApplyArgs;
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};
use crate::up::open_store;
use crate::{keys, topology};

/// `wif apply`.
pub async fn apply(data: &DataDir, args: ApplyArgs) -> CliResult {
    let (topo, text) = topology::load(&args.file)?;
    let name = args.file.display().to_string();
    let info = data.read_server_info().ok_or_else(|| {
        CliError::msg(format!(
            "no wif server is running with data directory {}; start one with `wif up` (new cluster issuers are \
             built on its address)",
            data.root().display()
        ))
    })?;
    let authority = authority_of(&info.authority)?;
    let (store, kek) = open_store(data).await?;
    let current = store.load_directory().await?;
    let now = wif_core::Clock::now(&wif_core::SystemClock);
    let ctx = topology::PlanContext {
        authority: &authority,
        rng: &OsRandom,
        now,
    };
    let plan = topology::plan(&topo, &text, &name, &current, &ctx)?;
    let mut writes = plan.writes;
    let mut changes = plan.changes;
    if args.prune {
        let (w, c) = prune(&topo, &text, &name, &current, &ctx)?;
        writes.extend(w);
        changes.extend(c);
    }
    writes.extend(
        keys::missing_key_writes(&plan.result, &store.signing_keys().await?, &kek, now).await?,
    );
    let secrets_to_seed = pending_secrets(store.as_ref(), &plan.secrets).await?;
    changes.extend(
        secrets_to_seed
            .iter()
            .map(|s| format!("+ secret {}/{}", s.vault, s.name)),
    );

    if changes.is_empty() {
        println!("No changes. The directory matches {name}.");
        return Ok(());
    }
    println!("wif will make these changes:\n");
    for c in &changes {
        println!("  {c}");
    }
    let count = |p: char| changes.iter().filter(|c| c.starts_with(p)).count();
    println!(
        "\nPlan: {} to add, {} to change, {} to delete.",
        count('+'),
        count('~'),
        count('-')
    );
    if args.dry_run {
        return Ok(());
    }
    if !args.yes && !confirm()? {
        println!("Apply cancelled; nothing was changed.");
        return Ok(());
    }
    // One transaction: a failure leaves the directory as it was.
    if !writes.is_empty() {
        store.apply(&writes).await?;
    }
    // A deleted vault's secrets go with it.
    for w in &writes {
        if let Write::DeleteVault(vault) = w {
            wif_store::keyvault::purge_vault(store.as_ref(), vault).await?;
        }
    }
    crate::secrets::seed_secrets(store.as_ref(), &kek, &OsRandom, now, &secrets_to_seed).await?;
    println!(
        "Applied: {} added, {} changed, {} deleted.",
        count('+'),
        count('~'),
        count('-')
    );
    Ok(())
}

fn authority_of(url: &str) -> CliResult<Authority> {
    let u = url::Url::parse(url).map_err(|e| {
        CliError::msg(format!(
            "server.json names an invalid authority '{url}': {e}"
        ))
    })?;
    let host = u
        .host_str()
        .ok_or_else(|| CliError::msg(format!("server.json authority '{url}' has no host")))?;
    Ok(Authority::new(
        host,
        u.port_or_known_default().unwrap_or(443),
    ))
}

fn confirm() -> CliResult<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::msg(
            "stdin is not a terminal, so the plan cannot be confirmed; pass --yes to apply it (or --dry-run to only show it)",
        ));
    }
    print!("\nApply these changes? Only 'yes' is accepted: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

/// The declared secrets that do not exist yet (existing secrets are never overwritten).
async fn pending_secrets(
    store: &dyn wif_store::Store,
    seeds: &[topology::SecretSeed],
) -> CliResult<Vec<topology::SecretSeed>> {
    let mut out = Vec::new();
    for s in seeds {
        if store.kv_secret(&s.vault, &s.name).await?.is_none() {
            out.push(s.clone());
        }
    }
    Ok(out)
}

/// Deletions of what `current` holds but the file does not declare. What is declared is found by
/// planning the file against the directory stripped of that kind (natural keys: names), and, for
/// role assignments, against the directory without assignments (same principals).
fn prune(
    topo: &topology::TopologyFile,
    text: &str,
    name: &str,
    current: &DirectoryData,
    ctx: &topology::PlanContext<'_>,
) -> CliResult<(Vec<Write>, Vec<String>)> {
    let bare = DirectoryData {
        revision: current.revision,
        tenants: current.tenants.clone(),
        subscriptions: current.subscriptions.clone(),
        regions: current.regions.clone(),
        ..Default::default()
    };
    let declared = topology::plan(topo, text, name, &bare, ctx)?.result;
    let without_assignments = DirectoryData {
        role_assignments: Vec::new(),
        ..current.clone()
    };
    let declared_assignments = topology::plan(topo, text, name, &without_assignments, ctx)?
        .result
        .role_assignments;

    let mut writes = Vec::new();
    let mut changes = Vec::new();
    let key = |a: &RoleAssignment| {
        (
            a.principal_id,
            a.role_definition_id,
            a.scope.key().to_owned(),
        )
    };
    let keep: HashSet<_> = declared_assignments.iter().map(key).collect();
    let apps: HashSet<_> = current
        .applications
        .iter()
        .map(|a| a.principal_id)
        .collect();
    for a in &current.role_assignments {
        if !keep.contains(&key(a)) && !apps.contains(&a.principal_id) {
            writes.push(Write::DeleteRoleAssignment(a.id));
            changes.push(format!(
                "- role assignment {} on {}",
                a.id,
                a.scope.as_str()
            ));
        }
    }
    let identity_key = |sub: &wif_core::ids::SubscriptionId, rg: &str, n: &str| {
        (*sub, rg.to_lowercase(), n.to_lowercase())
    };
    let declared_identities: HashSet<_> = declared
        .identities
        .iter()
        .map(|m| identity_key(&m.subscription, m.resource_group.as_str(), m.name.as_str()))
        .collect();
    let mut dropped_identities = HashSet::new();
    for m in &current.identities {
        if !declared_identities.contains(&identity_key(
            &m.subscription,
            m.resource_group.as_str(),
            m.name.as_str(),
        )) {
            dropped_identities.insert(m.client_id);
            writes.push(Write::DeleteIdentity(m.client_id));
            changes.push(format!(
                "- identity {} (and its federated credentials)",
                m.name
            ));
        }
    }
    // Credentials of kept identities that the file no longer lists.
    let identity_name = |client: &wif_core::ids::ClientId| {
        current
            .identities
            .iter()
            .find(|m| m.client_id == *client)
            .map(|m| identity_key(&m.subscription, m.resource_group.as_str(), m.name.as_str()))
    };
    let declared_credentials: HashSet<_> = declared
        .credentials
        .iter()
        .filter_map(|f| {
            let m = declared
                .identities
                .iter()
                .find(|m| m.client_id == f.identity)?;
            Some((
                identity_key(&m.subscription, m.resource_group.as_str(), m.name.as_str()),
                f.name.as_str().to_lowercase(),
            ))
        })
        .collect();
    for f in &current.credentials {
        if dropped_identities.contains(&f.identity) {
            continue;
        }
        let Some(owner) = identity_name(&f.identity) else {
            continue;
        };
        if !declared_credentials.contains(&(owner, f.name.as_str().to_lowercase())) {
            writes.push(Write::DeleteCredential {
                identity: f.identity,
                name: f.name.clone(),
            });
            changes.push(format!("- credential {}", f.name));
        }
    }
    let cluster_name = |data: &DirectoryData, guid: &wif_core::ids::ClusterGuid| {
        data.clusters
            .iter()
            .find(|c| c.guid == *guid)
            .map(|c| c.name.as_str().to_lowercase())
    };
    let declared_clusters: HashSet<_> = declared
        .clusters
        .iter()
        .map(|c| c.name.as_str().to_lowercase())
        .collect();
    let declared_sas: HashSet<_> = declared
        .service_accounts
        .iter()
        .filter_map(|s| {
            Some((
                cluster_name(&declared, &s.cluster)?,
                s.namespace.to_string(),
                s.name.to_string(),
            ))
        })
        .collect();
    for s in &current.service_accounts {
        let Some(cluster) = cluster_name(current, &s.cluster) else {
            continue;
        };
        if declared_clusters.contains(&cluster)
            && !declared_sas.contains(&(
                cluster.clone(),
                s.namespace.to_string(),
                s.name.to_string(),
            ))
        {
            writes.push(Write::DeleteServiceAccount {
                cluster: s.cluster,
                namespace: s.namespace.clone(),
                name: s.name.clone(),
            });
            changes.push(format!(
                "- service account {cluster}/{}/{}",
                s.namespace, s.name
            ));
        }
    }
    for c in &current.clusters {
        if !declared_clusters.contains(&c.name.as_str().to_lowercase()) {
            writes.push(Write::DeleteCluster(c.guid));
            changes.push(format!("- cluster {} (and its service accounts)", c.name));
        }
    }
    let declared_vaults: HashSet<_> = declared.vaults.iter().map(|v| v.name.clone()).collect();
    for v in &current.vaults {
        if !declared_vaults.contains(&v.name) {
            writes.push(Write::DeleteVault(v.name.clone()));
            changes.push(format!("- vault {}", v.name));
        }
    }
    Ok((writes, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_from_server_json() {
        let a = authority_of("https://localhost:8443").unwrap();
        assert_eq!(a.origin(), "https://localhost:8443");
        let a = authority_of("https://wif.example").unwrap();
        assert_eq!(a.origin(), "https://wif.example");
        assert!(authority_of("not a url").is_err());
    }
}
