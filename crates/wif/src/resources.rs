//! `wif group`, `wif identity` (with `federated-credential`) and `wif cluster`: the az commands
//! users know, on the same store the management API writes, with az's output shapes. The store
//! enforces the same rules as ARM (names, 20 credentials, one audience, unique issuer+subject).

use serde_json::{Value, json};
use wif_core::directory::{
    Cluster, DirectoryData, FederatedIdentityCredential, ManagedIdentity, ResourceGroup,
    Subscription,
};
use wif_core::ids::{
    Audience, ClientId, CredentialName, IdentityName, Issuer, PrincipalId, RegionName,
    ResourceGroupName, Subject,
};
use wif_core::random::new_uuid;
use wif_server::rand::OsRandom;
use wif_store::model::Write;

use crate::cli::{
    ClusterCommand, ClusterShowArgs, ClusterUpdateArgs, FicCommand, FicNameArgs, GroupCommand,
    IdentityCommand, ListArgs,
};
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};
use crate::output::{OutputArgs, render};
use crate::up::open_store;

fn now() -> wif_core::UnixTime {
    wif_core::Clock::now(&wif_core::SystemClock)
}

fn print(value: &Value, output: &OutputArgs) -> CliResult {
    print!("{}", render(value, output)?);
    Ok(())
}

/// `--subscription` (id or name), or the only / first subscription.
fn subscription<'a>(dir: &'a DirectoryData, given: Option<&str>) -> CliResult<&'a Subscription> {
    match given {
        Some(s) => dir
            .subscriptions
            .iter()
            .find(|x| x.id.to_string() == s.to_ascii_lowercase() || x.display_name == s)
            .ok_or_else(|| CliError::msg(format!("no subscription with id or name '{s}'"))),
        None => dir.subscriptions.first().ok_or_else(|| {
            CliError::msg("the directory has no subscription yet; run `wif up` first")
        }),
    }
}

fn group<'a>(
    dir: &'a DirectoryData,
    sub: &Subscription,
    name: &str,
) -> CliResult<&'a ResourceGroup> {
    dir.resource_groups
        .iter()
        .find(|g| g.subscription == sub.id && g.name.as_str().eq_ignore_ascii_case(name))
        .ok_or_else(|| {
            CliError::msg(format!(
                "(ResourceGroupNotFound) Resource group '{name}' could not be found; create it with `wif group create -n {name} -l <location>`"
            ))
        })
}

fn group_json(g: &ResourceGroup) -> Value {
    json!({
        "id": g.resource_id(), "location": g.location.as_str(), "managedBy": null,
        "name": g.name.as_str(), "properties": {"provisioningState": "Succeeded"},
        "tags": g.tags, "type": "Microsoft.Resources/resourceGroups",
    })
}

/// `wif group …`
pub async fn group_cmd(data: &DataDir, cmd: GroupCommand) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    match cmd {
        GroupCommand::Create(a) => {
            let sub = subscription(&dir, a.subscription.as_deref())?;
            let g = match dir
                .resource_groups
                .iter()
                .find(|g| g.subscription == sub.id && g.name.as_str().eq_ignore_ascii_case(&a.name))
            {
                Some(g) if g.location.as_str() != a.location.to_ascii_lowercase() => {
                    return Err(CliError::msg(format!(
                        "(InvalidResourceGroupLocation) Invalid resource group location '{}'. The Resource group already exists in location '{}'.",
                        a.location, g.location
                    )));
                }
                Some(g) => g.clone(),
                None => ResourceGroup {
                    subscription: sub.id,
                    name: ResourceGroupName::parse(&a.name)?,
                    location: RegionName::parse(&a.location.replace(' ', ""))?,
                    tags: Default::default(),
                    created_at: now(),
                },
            };
            store.apply(&[Write::PutResourceGroup(g.clone())]).await?;
            print(&group_json(&g), &a.output)
        }
        GroupCommand::Show(a) => {
            let sub = subscription(&dir, a.subscription.as_deref())?;
            print(&group_json(group(&dir, sub, &a.name)?), &a.output)
        }
        GroupCommand::List(a) => {
            let sub = subscription(&dir, a.subscription.as_deref())?;
            let rows: Vec<Value> = dir
                .resource_groups
                .iter()
                .filter(|g| g.subscription == sub.id)
                .map(group_json)
                .collect();
            print(&json!(rows), &a.output)
        }
        GroupCommand::Delete(a) => {
            let sub = subscription(&dir, a.subscription.as_deref())?;
            let g = group(&dir, sub, &a.name)?;
            store
                .apply(&[Write::DeleteResourceGroup {
                    subscription: sub.id,
                    name: g.name.clone(),
                }])
                .await?;
            // Its vaults' secrets go with them.
            for v in dir.vaults_in_group(&sub.id, g.name.as_str()) {
                wif_store::keyvault::purge_vault(store.as_ref(), &v.name).await?;
            }
            Ok(())
        }
    }
}

fn identity_json(m: &ManagedIdentity) -> Value {
    json!({
        "clientId": m.client_id.to_string(), "id": m.resource_id(), "location": m.location.as_str(),
        "name": m.name.as_str(), "principalId": m.principal_id.to_string(),
        "resourceGroup": m.resource_group.as_str(), "tags": m.tags, "tenantId": m.tenant.to_string(),
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
    })
}

fn find_identity<'a>(
    dir: &'a DirectoryData,
    sub: &Subscription,
    group: &str,
    name: &str,
) -> CliResult<&'a ManagedIdentity> {
    dir.identity_in(&sub.id, group, name).ok_or_else(|| {
            CliError::msg(format!(
                "(ResourceNotFound) The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/{name}' under resource group '{group}' was not found."
            ))
        })
}

fn fic_json(m: &ManagedIdentity, f: &FederatedIdentityCredential) -> Value {
    json!({
        "audiences": f.audiences.iter().map(Audience::as_str).collect::<Vec<_>>(),
        "id": format!("{}/federatedIdentityCredentials/{}", m.resource_id(), f.name),
        "issuer": f.issuer.as_str(), "name": f.name.as_str(),
        "resourceGroup": m.resource_group.as_str(), "subject": f.subject.as_str(),
        "type": "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials",
    })
}

/// `wif identity …`
pub async fn identity_cmd(data: &DataDir, cmd: IdentityCommand) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    match cmd {
        IdentityCommand::Create(a) => {
            let sub = subscription(&dir, a.subscription.as_deref())?;
            let g = group(&dir, sub, &a.resource_group)?;
            let m = match find_identity(&dir, sub, &a.resource_group, &a.name) {
                Ok(m) => m.clone(),
                Err(_) => ManagedIdentity {
                    name: IdentityName::parse(&a.name)?,
                    tenant: sub.tenant,
                    subscription: sub.id,
                    resource_group: g.name.clone(),
                    location: match &a.location {
                        Some(l) => RegionName::parse(&l.replace(' ', ""))?,
                        None => g.location.clone(),
                    },
                    client_id: ClientId::from_uuid(new_uuid(&OsRandom)),
                    principal_id: PrincipalId::from_uuid(new_uuid(&OsRandom)),
                    tags: Default::default(),
                    created_at: now(),
                },
            };
            store.apply(&[Write::PutIdentity(m.clone())]).await?;
            print(&identity_json(&m), &a.output)
        }
        IdentityCommand::Show(a) => {
            let sub = subscription(&dir, a.subscription.as_deref())?;
            print(
                &identity_json(find_identity(&dir, sub, &a.resource_group, &a.name)?),
                &a.output,
            )
        }
        IdentityCommand::List(a) => {
            let sub = subscription(&dir, a.subscription.as_deref())?;
            let rows: Vec<Value> = dir
                .identities
                .iter()
                .filter(|m| m.subscription == sub.id)
                .filter(|m| {
                    a.resource_group
                        .as_deref()
                        .is_none_or(|g| m.resource_group.as_str().eq_ignore_ascii_case(g))
                })
                .map(identity_json)
                .collect();
            print(&json!(rows), &a.output)
        }
        IdentityCommand::Delete(a) => {
            let sub = subscription(&dir, a.subscription.as_deref())?;
            let m = find_identity(&dir, sub, &a.resource_group, &a.name)?;
            store.apply(&[Write::DeleteIdentity(m.client_id)]).await?;
            Ok(())
        }
        IdentityCommand::FederatedCredential(c) => fic_cmd(store.as_ref(), &dir, c).await,
    }
}

async fn fic_cmd(store: &dyn wif_store::Store, dir: &DirectoryData, cmd: FicCommand) -> CliResult {
    let target = |a: &FicNameArgs| -> CliResult<ManagedIdentity> {
        let sub = subscription(dir, a.subscription.as_deref())?;
        find_identity(dir, sub, &a.resource_group, &a.identity_name).cloned()
    };
    match cmd {
        FicCommand::Create(a) => {
            let sub = subscription(dir, a.subscription.as_deref())?;
            let m = find_identity(dir, sub, &a.resource_group, &a.identity_name)?;
            let f = FederatedIdentityCredential {
                identity: m.client_id,
                name: CredentialName::parse(&a.name)?,
                issuer: Issuer::parse(&a.issuer)?,
                subject: Subject::parse(&a.subject)?,
                audiences: a
                    .audiences
                    .iter()
                    .map(|x| Audience::parse(x))
                    .collect::<Result<_, _>>()?,
            };
            store.apply(&[Write::PutCredential(f.clone())]).await?;
            print(&fic_json(m, &f), &a.output)
        }
        FicCommand::List(a) => {
            let m = target(&a)?;
            let rows: Vec<Value> = dir
                .credentials
                .iter()
                .filter(|f| f.identity == m.client_id)
                .map(|f| fic_json(&m, f))
                .collect();
            print(&json!(rows), &a.output)
        }
        FicCommand::Show(a) => {
            let m = target(&a)?;
            let name = a.name.as_deref().unwrap_or_default();
            let f = dir
                .credentials
                .iter()
                .find(|f| f.identity == m.client_id && f.name.as_str().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    CliError::msg(format!("no federated credential '{name}' on {}", m.name))
                })?;
            print(&fic_json(&m, f), &a.output)
        }
        FicCommand::Delete(a) => {
            let m = target(&a)?;
            let name = CredentialName::parse(a.name.as_deref().unwrap_or_default())?;
            store
                .apply(&[Write::DeleteCredential {
                    identity: m.client_id,
                    name,
                }])
                .await?;
            Ok(())
        }
    }
}

fn cluster_json(c: &Cluster) -> Value {
    json!({
        "id": c.resource_id(), "location": c.region.as_str(), "name": c.name.as_str(),
        "resourceGroup": c.resource_group.as_str(), "kubernetesVersion": "1.33.2",
        "oidcIssuerProfile": {"enabled": c.oidc_issuer_enabled,
                              "issuerUrl": c.oidc_issuer_enabled.then(|| c.issuer.as_str())},
        "securityProfile": {"workloadIdentity": {"enabled": c.workload_identity_enabled}},
        "provisioningState": "Succeeded", "type": "Microsoft.ContainerService/ManagedClusters",
    })
}

fn find_cluster<'a>(dir: &'a DirectoryData, group: &str, name: &str) -> CliResult<&'a Cluster> {
    // `wif cluster` takes no --subscription: the first subscription holding it.
    dir.subscriptions
        .iter()
        .find_map(|s| dir.cluster_in(&s.id, group, name))
        .ok_or_else(|| {
            CliError::msg(format!(
                "(ResourceNotFound) The Resource 'Microsoft.ContainerService/managedClusters/{name}' under resource group '{group}' was not found."
            ))
        })
}

/// `wif cluster …`
pub async fn cluster_cmd(data: &DataDir, cmd: ClusterCommand) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    match cmd {
        ClusterCommand::Show(ClusterShowArgs {
            resource_group,
            name,
            output,
        }) => print(
            &cluster_json(find_cluster(&dir, &resource_group, &name)?),
            &output,
        ),
        ClusterCommand::List(ListArgs { output, .. }) => {
            let rows: Vec<Value> = dir.clusters.iter().map(cluster_json).collect();
            print(&json!(rows), &output)
        }
        ClusterCommand::Update(ClusterUpdateArgs {
            resource_group,
            name,
            enable_oidc_issuer,
            enable_workload_identity,
            disable_workload_identity,
            output,
        }) => {
            let mut c = find_cluster(&dir, &resource_group, &name)?.clone();
            if enable_oidc_issuer {
                c.oidc_issuer_enabled = true;
            }
            if enable_workload_identity {
                c.workload_identity_enabled = true;
            }
            if disable_workload_identity {
                c.workload_identity_enabled = false;
            }
            if c.workload_identity_enabled && !c.oidc_issuer_enabled {
                return Err(CliError::msg(
                    "enabling workload identity requires the OIDC issuer: add --enable-oidc-issuer",
                ));
            }
            store.apply(&[Write::PutCluster(c.clone())]).await?;
            print(&cluster_json(&c), &output)
        }
    }
}
