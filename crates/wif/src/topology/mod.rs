//! The topology file (`wif up -f topology.yaml`): tenants, regions, clusters, identities and
//! federated credentials, the local equivalent of the seeds' Terraform. Applying it is
//! declarative and additive: it creates what is missing and updates what differs, matching
//! existing objects by name, so applying the same file twice changes nothing. Every problem is
//! reported with the file, line and reason before anything is written; all writes of one apply
//! go to the store in one transaction. See `docs/topology.md`.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use wif_core::RandomSource;
use wif_core::directory::{
    ANNOTATION_CLIENT_ID, Cluster, DEFAULT_RETENTION_DAYS, DirectoryData,
    FederatedIdentityCredential, MAX_FEDERATED_CREDENTIALS, ManagedIdentity, Region,
    ServiceAccount, Subscription, Tenant, Vault,
};
use wif_core::ids::{
    Audience, ClientId, ClusterGuid, Issuer, PrincipalId, RegionName, SecretName, SubscriptionId,
    TenantDomain, TenantId, VaultName,
};
use wif_core::random::new_uuid;
use wif_core::rbac::{RoleAssignment, Scope, built_in_roles};
use wif_core::time::UnixTime;
use wif_server::state::Authority;
use wif_store::model::Write;

/// The file format version this build reads.
pub const API_VERSION: &str = "wif/v1";

mod spec;

pub use spec::*;

/// A topology that cannot be applied.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct TopologyError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Reads and parses a topology file; syntax and shape errors carry their line.
pub fn load(path: &Path) -> Result<(TopologyFile, String), TopologyError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| TopologyError {
        file: file.clone(),
        line: 0,
        message: format!("cannot read the file: {e}"),
    })?;
    let topo = parse(&text, &file)?;
    Ok((topo, text))
}

/// Parses topology text.
pub fn parse(text: &str, file: &str) -> Result<TopologyFile, TopologyError> {
    let topo: TopologyFile = serde_yaml_ng::from_str(text).map_err(|e| TopologyError {
        file: file.to_owned(),
        line: e.location().map(|l| l.line()).unwrap_or(0),
        message: e.to_string(),
    })?;
    if let Some(v) = &topo.api_version
        && v != API_VERSION
    {
        return Err(TopologyError {
            file: file.to_owned(),
            line: line_of(text, "apiVersion:", v),
            message: format!("apiVersion '{v}' is not supported; use '{API_VERSION}'"),
        });
    }
    Ok(topo)
}

/// The first line at or after a `key: value` pair, for errors found after parsing.
fn line_of(text: &str, key: &str, value: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start().trim_start_matches("- ");
            l.starts_with(key) && l.contains(value)
        })
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// What an apply will do, for the summary.
#[derive(Debug, Default)]
pub struct Plan {
    /// The store writes, in dependency order.
    pub writes: Vec<Write>,
    /// Human lines: `+ identity id-workload`, `~ credential fic (subject)`.
    pub changes: Vec<String>,
    /// The directory as it will be once `writes` are applied.
    pub result: DirectoryData,
    /// Secrets to create in their vaults when absent (after `writes` are applied).
    pub secrets: Vec<SecretSeed>,
}

/// A secret the topology declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSeed {
    /// The vault.
    pub vault: VaultName,
    /// The secret's name.
    pub name: SecretName,
    /// Its value.
    pub value: SecretValue,
    /// Content type.
    pub content_type: Option<String>,
    /// Tags.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// A secret value; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(pub String);

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes redacted>", self.0.len())
    }
}

/// Inputs of planning that do not come from the file.
pub struct PlanContext<'a> {
    /// The public origin new cluster issuers are built on.
    pub authority: &'a Authority,
    /// Randomness for generated ids.
    pub rng: &'a dyn RandomSource,
    /// Now.
    pub now: UnixTime,
}

/// Computes the writes that make the store contain the topology.
pub fn plan(
    topo: &TopologyFile,
    text: &str,
    file: &str,
    current: &DirectoryData,
    ctx: &PlanContext<'_>,
) -> Result<Plan, TopologyError> {
    let err = |key: &str, value: &str, message: String| TopologyError {
        file: file.to_owned(),
        line: line_of(text, key, value),
        message,
    };
    let mut plan = Plan::default();
    let mut world = current.clone();

    // Tenants and subscriptions.
    let mut tenant_handles: HashMap<String, TenantId> = HashMap::new();
    for spec in &topo.tenants {
        let domain = match &spec.domain {
            Some(d) => d.clone(),
            None => {
                TenantDomain::parse(&format!("{}.onmicrosoft.com", spec.name)).map_err(|e| {
                    err(
                        "name:",
                        &spec.name,
                        format!("tenant name cannot form a domain ({e}); set 'domain'"),
                    )
                })?
            }
        };
        let existing = world
            .tenants
            .iter()
            .find(|t| {
                spec.id.is_some_and(|id| id == t.id) || (spec.id.is_none() && t.domain == domain)
            })
            .cloned();
        let tenant = Tenant {
            id: existing
                .as_ref()
                .map(|t| t.id)
                .or(spec.id)
                .unwrap_or_else(|| TenantId::from_uuid(new_uuid(ctx.rng))),
            domain: domain.clone(),
            display_name: spec.name.clone(),
            created_at: existing.as_ref().map(|t| t.created_at).unwrap_or(ctx.now),
        };
        if world
            .tenants
            .iter()
            .any(|t| t.domain == domain && t.id != tenant.id)
        {
            return Err(err(
                "domain:",
                domain.as_str(),
                format!("domain '{domain}' already belongs to another tenant"),
            ));
        }
        upsert(
            &mut plan,
            &mut world.tenants,
            existing.as_ref(),
            tenant.clone(),
            |t| t.id == tenant.id,
            format!("tenant {}", spec.name),
            Write::PutTenant(tenant.clone()),
        );
        if tenant_handles
            .insert(spec.name.clone(), tenant.id)
            .is_some()
        {
            return Err(err(
                "name:",
                &spec.name,
                format!("tenant '{}' is declared twice", spec.name),
            ));
        }
        let subs: Vec<(Option<SubscriptionId>, String)> = if spec.subscriptions.is_empty() {
            vec![(None, spec.name.clone())]
        } else {
            spec.subscriptions
                .iter()
                .map(|s| (s.id, s.name.clone()))
                .collect()
        };
        for (id, name) in subs {
            let existing = world
                .subscriptions
                .iter()
                .find(|s| {
                    id.is_some_and(|i| i == s.id)
                        || (id.is_none() && s.tenant == tenant.id && s.display_name == name)
                })
                .cloned();
            let sub = Subscription {
                id: existing
                    .as_ref()
                    .map(|s| s.id)
                    .or(id)
                    .unwrap_or_else(|| SubscriptionId::from_uuid(new_uuid(ctx.rng))),
                tenant: tenant.id,
                display_name: name.clone(),
            };
            upsert(
                &mut plan,
                &mut world.subscriptions,
                existing.as_ref(),
                sub.clone(),
                |s| s.id == sub.id,
                format!("subscription {name}"),
                Write::PutSubscription(sub.clone()),
            );
        }
    }
    let resolve_tenant = |handle: &str, world: &DirectoryData| -> Option<TenantId> {
        tenant_handles.get(handle).copied().or_else(|| {
            world
                .tenants
                .iter()
                .find(|t| {
                    t.id.to_string() == handle.to_ascii_lowercase()
                        || t.domain.as_str() == handle.to_ascii_lowercase()
                        || t.display_name == handle
                })
                .map(|t| t.id)
        })
    };
    let resolve_subscription =
        |tenant: TenantId, sub: Option<&str>, world: &DirectoryData| -> Option<SubscriptionId> {
            world
                .subscriptions
                .iter()
                .find(|s| {
                    s.tenant == tenant
                        && sub.is_none_or(|x| {
                            s.id.to_string() == x.to_ascii_lowercase() || s.display_name == x
                        })
                })
                .map(|s| s.id)
        };

    for spec in &topo.regions {
        if !world.regions.iter().any(|r| r.name == spec.name) {
            let region = Region {
                name: spec.name.clone(),
            };
            world.regions.push(region.clone());
            plan.changes.push(format!("+ region {}", spec.name));
            plan.writes.push(Write::PutRegion(region));
        }
    }

    for spec in &topo.clusters {
        let name = spec.name.as_str();
        let tenant = resolve_tenant(&spec.tenant, &world).ok_or_else(|| {
            err(
                "tenant:",
                &spec.tenant,
                format!(
                    "cluster '{name}' names tenant '{}', which is not declared",
                    spec.tenant
                ),
            )
        })?;
        if !world.regions.iter().any(|r| r.name == spec.region) {
            return Err(err(
                "region:",
                spec.region.as_str(),
                format!(
                    "cluster '{name}' is in region '{}', which is not declared under 'regions'",
                    spec.region
                ),
            ));
        }
        let subscription = resolve_subscription(tenant, spec.subscription.as_deref(), &world)
            .ok_or_else(|| {
                err(
                    "name:",
                    name,
                    format!(
                        "cluster '{name}': subscription '{}' not found in its tenant",
                        spec.subscription.as_deref().unwrap_or("")
                    ),
                )
            })?;
        let existing = world
            .clusters
            .iter()
            .find(|c| c.tenant == tenant && c.name.as_str().eq_ignore_ascii_case(name))
            .cloned();
        let cluster = match &existing {
            Some(c) => Cluster {
                subscription,
                resource_group: spec.resource_group.clone(),
                ..c.clone()
            },
            None => {
                let guid = ClusterGuid::from_uuid(new_uuid(ctx.rng));
                let issuer =
                    Issuer::parse(&ctx.authority.cluster_issuer(&spec.region, &tenant, &guid))
                        .map_err(|e| {
                            err("name:", name, format!("cannot form the issuer URL: {e}"))
                        })?;
                Cluster {
                    name: spec.name.clone(),
                    guid,
                    tenant,
                    subscription,
                    resource_group: spec.resource_group.clone(),
                    region: spec.region.clone(),
                    issuer,
                    created_at: ctx.now,
                    oidc_issuer_enabled: true,
                    workload_identity_enabled: true,
                }
            }
        };
        if existing.as_ref().is_some_and(|c| c.region != spec.region) {
            return Err(err(
                "region:",
                spec.region.as_str(),
                format!(
                    "cluster '{name}' already exists in region '{}'; a cluster cannot move (its issuer URL names its region)",
                    existing.as_ref().map(|c| c.region.as_str()).unwrap_or("")
                ),
            ));
        }
        let guid = cluster.guid;
        upsert(
            &mut plan,
            &mut world.clusters,
            existing.as_ref(),
            cluster.clone(),
            |c| c.guid == guid,
            format!("cluster {name}"),
            Write::PutCluster(cluster.clone()),
        );
    }

    for spec in &topo.identities {
        let name = spec.name.as_str();
        let tenant = resolve_tenant(&spec.tenant, &world).ok_or_else(|| {
            err(
                "tenant:",
                &spec.tenant,
                format!(
                    "identity '{name}' names tenant '{}', which is not declared",
                    spec.tenant
                ),
            )
        })?;
        let subscription = resolve_subscription(tenant, spec.subscription.as_deref(), &world)
            .ok_or_else(|| {
                err(
                    "name:",
                    name,
                    format!("identity '{name}': subscription not found in its tenant"),
                )
            })?;
        let location = match (&spec.location, world.regions.first()) {
            (Some(l), _) => l.clone(),
            (None, Some(r)) => r.name.clone(),
            (None, None) => {
                RegionName::parse("eastus").map_err(|e| err("name:", name, e.to_string()))?
            }
        };
        let existing = world
            .identities
            .iter()
            .find(|m| {
                m.subscription == subscription
                    && m.resource_group
                        .as_str()
                        .eq_ignore_ascii_case(spec.resource_group.as_str())
                    && m.name.as_str().eq_ignore_ascii_case(name)
            })
            .cloned();
        if let (Some(e), Some(c)) = (&existing, spec.client_id)
            && e.client_id != c
        {
            return Err(err(
                "clientId:",
                &c.to_string(),
                format!(
                    "identity '{name}' already exists with client id {}; a client id cannot change",
                    e.client_id
                ),
            ));
        }
        let identity = ManagedIdentity {
            name: spec.name.clone(),
            tenant,
            subscription,
            resource_group: spec.resource_group.clone(),
            location,
            client_id: existing
                .as_ref()
                .map(|m| m.client_id)
                .or(spec.client_id)
                .unwrap_or_else(|| ClientId::from_uuid(new_uuid(ctx.rng))),
            principal_id: existing
                .as_ref()
                .map(|m| m.principal_id)
                .or(spec.principal_id)
                .unwrap_or_else(|| PrincipalId::from_uuid(new_uuid(ctx.rng))),
            created_at: existing.as_ref().map(|m| m.created_at).unwrap_or(ctx.now),
            tags: Default::default(),
        };
        let client = identity.client_id;
        upsert(
            &mut plan,
            &mut world.identities,
            existing.as_ref(),
            identity.clone(),
            |m| m.client_id == client,
            format!("identity {name}"),
            Write::PutIdentity(identity.clone()),
        );

        if spec.federated_credentials.len() > MAX_FEDERATED_CREDENTIALS {
            return Err(err(
                "name:",
                name,
                format!(
                    "identity '{name}' declares {} federated credentials; Entra allows at most {MAX_FEDERATED_CREDENTIALS}",
                    spec.federated_credentials.len()
                ),
            ));
        }
        for fic in &spec.federated_credentials {
            let fname = fic.name.as_str();
            let issuer = match (&fic.cluster, &fic.issuer) {
                (Some(c), None) => world
                    .clusters
                    .iter()
                    .find(|x| x.name.as_str().eq_ignore_ascii_case(c))
                    .map(|x| x.issuer.clone())
                    .ok_or_else(|| {
                        err(
                            "cluster:",
                            c,
                            format!(
                                "credential '{fname}' names cluster '{c}', which is not declared"
                            ),
                        )
                    })?,
                (None, Some(i)) => i.clone(),
                _ => {
                    return Err(err(
                        "name:",
                        fname,
                        format!("credential '{fname}' needs exactly one of 'cluster' or 'issuer'"),
                    ));
                }
            };
            let audiences = fic
                .audiences
                .clone()
                .unwrap_or_else(|| vec![Audience::token_exchange()]);
            if audiences.len() != 1 {
                return Err(err(
                    "name:",
                    fname,
                    "Federated identity credentials must have exactly one audience.".to_owned(),
                ));
            }
            let cred = FederatedIdentityCredential {
                identity: client,
                name: fic.name.clone(),
                issuer,
                subject: fic.subject.clone(),
                audiences,
            };
            if world.credentials.iter().any(|c| {
                c.identity == client
                    && !c.name.as_str().eq_ignore_ascii_case(fname)
                    && c.issuer == cred.issuer
                    && c.subject == cred.subject
            }) {
                return Err(err(
                    "name:",
                    fname,
                    format!(
                        "credential '{fname}': Issuer and subject combination already exists for this Managed Identity."
                    ),
                ));
            }
            let existing = world
                .credentials
                .iter()
                .find(|c| c.identity == client && c.name.as_str().eq_ignore_ascii_case(fname))
                .cloned();
            upsert(
                &mut plan,
                &mut world.credentials,
                existing.as_ref(),
                cred.clone(),
                |c| c.identity == client && c.name.as_str().eq_ignore_ascii_case(fname),
                format!("credential {name}/{fname}"),
                Write::PutCredential(cred.clone()),
            );
        }
    }
    plan_workloads(
        topo,
        text,
        file,
        ctx,
        &mut plan,
        &mut world,
        &resolve_tenant,
        &resolve_subscription,
    )?;
    plan.result = world;
    Ok(plan)
}

/// Finds a tenant by handle, id or domain.
type ResolveTenant<'a> = dyn Fn(&str, &DirectoryData) -> Option<TenantId> + 'a;
/// Finds a tenant's subscription by name or id (its first when `None`).
type ResolveSubscription<'a> =
    dyn Fn(TenantId, Option<&str>, &DirectoryData) -> Option<SubscriptionId> + 'a;

/// Service accounts, vaults, secrets and role assignments: planned after identities, which
/// they refer to.
#[allow(
    clippy::too_many_arguments,
    reason = "the planning context of one apply, split in two"
)]
fn plan_workloads(
    topo: &TopologyFile,
    text: &str,
    file: &str,
    ctx: &PlanContext<'_>,
    plan: &mut Plan,
    world: &mut DirectoryData,
    resolve_tenant: &ResolveTenant<'_>,
    resolve_subscription: &ResolveSubscription<'_>,
) -> Result<(), TopologyError> {
    let err = |key: &str, value: &str, message: String| TopologyError {
        file: file.to_owned(),
        line: line_of(text, key, value),
        message,
    };
    let identity_named = |world: &DirectoryData, name: &str| -> Option<ManagedIdentity> {
        world
            .identities
            .iter()
            .find(|m| m.name.as_str().eq_ignore_ascii_case(name))
            .cloned()
    };

    for spec in &topo.clusters {
        let Some(cluster) = world.clusters.iter().find(|c| c.name == spec.name).cloned() else {
            continue;
        };
        for sa in &spec.service_accounts {
            let label = format!("{}/{}", sa.namespace, sa.name);
            let mut annotations = sa.annotations.clone();
            if let Some(identity) = &sa.identity {
                let m = identity_named(world, identity.as_str()).ok_or_else(|| {
                    err(
                        "identity:",
                        identity.as_str(),
                        format!(
                            "service account '{label}' names identity '{identity}', which is not declared"
                        ),
                    )
                })?;
                if let Some(given) = annotations.get(ANNOTATION_CLIENT_ID)
                    && !given.eq_ignore_ascii_case(&m.client_id.to_string())
                {
                    return Err(err(
                        "identity:",
                        identity.as_str(),
                        format!(
                            "service account '{label}' sets both 'identity' and a different '{ANNOTATION_CLIENT_ID}' annotation; keep one"
                        ),
                    ));
                }
                annotations.insert(ANNOTATION_CLIENT_ID.to_owned(), m.client_id.to_string());
            }
            let existing = world
                .service_accounts
                .iter()
                .find(|x| {
                    x.cluster == cluster.guid && x.namespace == sa.namespace && x.name == sa.name
                })
                .cloned();
            let account = ServiceAccount {
                cluster: cluster.guid,
                namespace: sa.namespace.clone(),
                name: sa.name.clone(),
                uid: existing
                    .as_ref()
                    .map(|x| x.uid)
                    .unwrap_or_else(|| new_uuid(ctx.rng)),
                annotations,
                created_at: existing.as_ref().map(|x| x.created_at).unwrap_or(ctx.now),
            };
            let (guid, ns, name) = (cluster.guid, sa.namespace.clone(), sa.name.clone());
            upsert(
                plan,
                &mut world.service_accounts,
                existing.as_ref(),
                account.clone(),
                |x| x.cluster == guid && x.namespace == ns && x.name == name,
                format!("service account {}/{label}", cluster.name),
                Write::PutServiceAccount(account),
            );
        }
    }

    for spec in &topo.vaults {
        let name = spec.name.as_str();
        let tenant = resolve_tenant(&spec.tenant, world).ok_or_else(|| {
            err(
                "tenant:",
                &spec.tenant,
                format!(
                    "vault '{name}' names tenant '{}', which is not declared",
                    spec.tenant
                ),
            )
        })?;
        let subscription = resolve_subscription(tenant, spec.subscription.as_deref(), world)
            .ok_or_else(|| {
                err(
                    "name:",
                    name,
                    format!("vault '{name}': subscription not found in its tenant"),
                )
            })?;
        let retention = spec
            .soft_delete_retention_in_days
            .unwrap_or(DEFAULT_RETENTION_DAYS);
        if !(7..=90).contains(&retention) {
            return Err(err(
                "softDeleteRetentionInDays:",
                &retention.to_string(),
                format!(
                    "vault '{name}': softDeleteRetentionInDays must be 7 to 90 (got {retention})"
                ),
            ));
        }
        let location = match (&spec.location, world.regions.first()) {
            (Some(l), _) => l.clone(),
            (None, Some(r)) => r.name.clone(),
            (None, None) => {
                RegionName::parse("eastus").map_err(|e| err("name:", name, e.to_string()))?
            }
        };
        let existing = world.vaults.iter().find(|v| v.name == spec.name).cloned();
        if let Some(e) = &existing
            && e.subscription != subscription
        {
            return Err(err(
                "name:",
                name,
                format!(
                    "the vault name '{name}' is already used in subscription {}; vault names are globally unique",
                    e.subscription
                ),
            ));
        }
        let purge_protection = spec.enable_purge_protection.unwrap_or(false);
        if existing.as_ref().is_some_and(|e| e.purge_protection) && !purge_protection {
            return Err(err(
                "enablePurgeProtection:",
                "false",
                format!("vault '{name}' has purge protection, which cannot be switched off"),
            ));
        }
        let vault = Vault {
            name: spec.name.clone(),
            tenant,
            subscription,
            resource_group: spec.resource_group.clone(),
            location,
            retention_days: retention,
            purge_protection,
            created_at: existing.as_ref().map(|v| v.created_at).unwrap_or(ctx.now),
            enable_rbac_authorization: true,
            tags: Default::default(),
        };
        let key = spec.name.clone();
        upsert(
            plan,
            &mut world.vaults,
            existing.as_ref(),
            vault.clone(),
            |v| v.name == key,
            format!("vault {name}"),
            Write::PutVault(vault),
        );
        for secret in &spec.secrets {
            let sname = secret.name.as_str();
            let value = match (&secret.value, &secret.value_from) {
                (Some(v), None) => v.clone(),
                (None, Some(from)) => match (&from.file, &from.env) {
                    (Some(path), None) => {
                        let base = Path::new(file).parent().unwrap_or(Path::new("."));
                        let full = base.join(path);
                        std::fs::read_to_string(&full).map_err(|e| {
                            err(
                                "file:",
                                path,
                                format!(
                                    "secret '{sname}': cannot read {}: {e}",
                                    full.display()
                                ),
                            )
                        })?
                    }
                    (None, Some(var)) => std::env::var(var).map_err(|_| {
                        err(
                            "env:",
                            var,
                            format!(
                                "secret '{sname}': environment variable '{var}' is not set (or not UTF-8)"
                            ),
                        )
                    })?,
                    _ => {
                        return Err(err(
                            "name:",
                            sname,
                            format!(
                                "secret '{sname}': valueFrom needs exactly one of 'file' or 'env'"
                            ),
                        ));
                    }
                },
                _ => {
                    return Err(err(
                        "name:",
                        sname,
                        format!("secret '{sname}' needs exactly one of 'value' or 'valueFrom'"),
                    ));
                }
            };
            plan.secrets.push(SecretSeed {
                vault: spec.name.clone(),
                name: secret.name.clone(),
                value: SecretValue(value),
                content_type: secret.content_type.clone(),
                tags: secret.tags.clone(),
            });
        }
    }

    for spec in &topo.role_assignments {
        let role = built_in_roles()
            .into_iter()
            .chain(world.role_definitions.iter().cloned())
            .find(|r| {
                r.name.eq_ignore_ascii_case(spec.role.trim())
                    || r.id.hyphenated().to_string() == spec.role.trim().to_ascii_lowercase()
            })
            .ok_or_else(|| {
                err(
                    "role:",
                    &spec.role,
                    format!(
                        "role '{}' does not exist; use a built-in role name such as 'Key Vault Secrets User' or a role definition GUID",
                        spec.role
                    ),
                )
            })?;
        let principal = match (&spec.identity, spec.principal_id) {
            (Some(name), None) => {
                identity_named(world, name.as_str())
                    .ok_or_else(|| {
                        err(
                            "identity:",
                            name.as_str(),
                            format!(
                                "role assignment names identity '{name}', which is not declared"
                            ),
                        )
                    })?
                    .principal_id
            }
            (None, Some(p)) => p,
            _ => {
                return Err(err(
                    "role:",
                    &spec.role,
                    "a role assignment needs exactly one of 'identity' or 'principalId'".to_owned(),
                ));
            }
        };
        let scope_text = match (&spec.scope, &spec.vault, &spec.secret) {
            (Some(s), None, None) => s.clone(),
            (None, Some(v), secret) => {
                let vault = world.vaults.iter().find(|x| x.name == *v).ok_or_else(|| {
                    err(
                        "vault:",
                        v.as_str(),
                        format!("role assignment names vault '{v}', which is not declared"),
                    )
                })?;
                match secret {
                    Some(s) => format!("{}/secrets/{s}", vault.resource_id()),
                    None => vault.resource_id(),
                }
            }
            _ => {
                return Err(err(
                    "role:",
                    &spec.role,
                    "a role assignment needs exactly one of 'scope' or 'vault' (with an optional 'secret')"
                        .to_owned(),
                ));
            }
        };
        let scope = Scope::parse(&scope_text)
            .map_err(|e| err("scope:", &scope_text, format!("role assignment scope: {e}")))?;
        let existing = world
            .role_assignments
            .iter()
            .find(|a| {
                a.principal_id == principal
                    && a.role_definition_id == role.id
                    && a.scope.key() == scope.key()
            })
            .cloned();
        if existing.is_some() {
            continue;
        }
        let assignment = RoleAssignment {
            id: new_uuid(ctx.rng),
            principal_id: principal,
            role_definition_id: role.id,
            scope,
            meta: Default::default(),
        };
        plan.changes.push(format!(
            "+ role assignment {} for {principal} on {}",
            role.name, assignment.scope
        ));
        world.role_assignments.push(assignment.clone());
        plan.writes.push(Write::PutRoleAssignment(assignment));
    }
    Ok(())
}

/// Adds a write when the object is new or differs, and mirrors it into `world` so later
/// sections of the same file see it.
fn upsert<T: Clone + PartialEq>(
    plan: &mut Plan,
    rows: &mut Vec<T>,
    existing: Option<&T>,
    new: T,
    same: impl Fn(&T) -> bool,
    label: String,
    write: Write,
) {
    match existing {
        Some(old) if *old == new => {}
        Some(_) => {
            if let Some(slot) = rows.iter_mut().find(|r| same(r)) {
                *slot = new;
            }
            plan.changes.push(format!("~ {label}"));
            plan.writes.push(write);
        }
        None => {
            rows.push(new);
            plan.changes.push(format!("+ {label}"));
            plan.writes.push(write);
        }
    }
}

#[cfg(test)]
mod tests;
