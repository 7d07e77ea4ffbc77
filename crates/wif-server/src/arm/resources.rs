//! Resource groups and the provider resources: managed identities and their federated
//! credentials, managed clusters, key vaults and storage accounts.

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use wif_core::directory::{
    Cluster, DEFAULT_RETENTION_DAYS, FederatedIdentityCredential, MAX_FEDERATED_CREDENTIALS,
    ManagedIdentity, Region, ResourceGroup, StorageAccount, Subscription, Vault,
};
use wif_core::ids::{
    Audience, ClientId, ClusterGuid, ClusterName, CredentialName, IdentityName, Issuer,
    PrincipalId, RegionName, ResourceGroupName, StorageAccountName, Subject, VaultName,
};
use wif_core::random::new_uuid;
use wif_store::model::{KeyOwner, SigningKeyRecord, Write};
use wif_store::snapshot::Snapshot;

use super::metadata::{method_not_allowed, subscription_of};
use super::path::ResourcePath;
use super::wire::{ArmError, body_object, list, location_from, tags_from, tags_json};
use super::{Ctx, reply};

/// The provider namespaces wif serves.
pub const NAMESPACES: &[&str] = &[
    "Microsoft.ManagedIdentity",
    "Microsoft.ContainerService",
    "Microsoft.KeyVault",
    "Microsoft.Storage",
    "Microsoft.Authorization",
    "Microsoft.Resources",
];

const IDENTITIES: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
const CLUSTERS: &str = "Microsoft.ContainerService/managedClusters";
const VAULTS: &str = "Microsoft.KeyVault/vaults";
const STORAGE: &str = "Microsoft.Storage/storageAccounts";
const FICS: &str = "federatedIdentityCredentials";
/// The Kubernetes version wif's clusters report.
const KUBERNETES_VERSION: &str = "1.33.2";

/// The resource type in its canonical casing (for actions and `type`), or as sent.
pub fn canonical_kind(r: &ResourcePath) -> String {
    let key = r.kind_key();
    [IDENTITIES, CLUSTERS, VAULTS, STORAGE]
        .iter()
        .find(|k| k.eq_ignore_ascii_case(&key))
        .map(|k| (*k).to_owned())
        .unwrap_or_else(|| format!("{}/{}", r.namespace, r.kind))
}

fn group_scope(sub: &Subscription, group: &ResourceGroup) -> String {
    format!("/subscriptions/{}/resourceGroups/{}", sub.id, group.name)
}

/// The group `name` of `sub`, or ARM's `ResourceGroupNotFound`.
fn existing_group<'a>(
    snap: &'a Snapshot,
    sub: &Subscription,
    name: &str,
) -> Result<&'a ResourceGroup, ArmError> {
    snap.directory
        .resource_group(&sub.id, name)
        .ok_or_else(|| ArmError::group_not_found(name))
}

fn group_json(g: &ResourceGroup, deleting: bool) -> Value {
    json!({
        "id": g.resource_id(),
        "name": g.name.as_str(),
        "type": "Microsoft.Resources/resourceGroups",
        "location": g.location.as_str(),
        "tags": tags_json(&g.tags),
        "properties": {"provisioningState": if deleting { "Deleting" } else { "Succeeded" }},
    })
}

/// `/subscriptions/{s}/resourcegroups`: list.
pub fn groups(ctx: &Ctx, sub: &str) -> Result<Response, ArmError> {
    if ctx.method != Method::GET {
        return Err(method_not_allowed(ctx));
    }
    let s = subscription_of(ctx, sub)?;
    ctx.authorize(
        "Microsoft.Resources/subscriptions/resourceGroups/read",
        &format!("/subscriptions/{}", s.id),
    )?;
    let items = ctx
        .snap
        .directory
        .data()
        .resource_groups
        .iter()
        .filter(|g| g.subscription == s.id)
        .map(|g| group_json(g, false))
        .collect();
    Ok(reply(StatusCode::OK, list(items)))
}

/// `/subscriptions/{s}/resourcegroups/{name}`: PUT, GET, HEAD, PATCH, DELETE (a long-running
/// operation answered `202` + `Location`).
pub async fn group(ctx: &mut Ctx, sub: &str, name: &str) -> Result<Response, ArmError> {
    let s = subscription_of(ctx, sub)?.clone();
    let scope = format!("/subscriptions/{}/resourceGroups/{name}", s.id);
    let group_name = ResourceGroupName::parse(name)
        .map_err(|e| ArmError::bad_request("InvalidResourceGroupName", format!("{e}")))?;
    match ctx.method.clone() {
        Method::GET | Method::HEAD => {
            ctx.authorize(
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                &scope,
            )?;
            let g = existing_group(&ctx.snap, &s, name)?;
            if ctx.method == Method::HEAD {
                return Ok(StatusCode::NO_CONTENT.into_response());
            }
            Ok(reply(StatusCode::OK, group_json(g, false)))
        }
        Method::PUT | Method::PATCH => {
            ctx.authorize(
                "Microsoft.Resources/subscriptions/resourceGroups/write",
                &scope,
            )?;
            let body = ctx.json()?;
            let location = location_from(&body)?;
            let tags = tags_from(&body)?;
            let is_patch = ctx.method == Method::PATCH;
            let now = ctx.now;
            let (g, created) = ctx
                .write(|snap| {
                    let existing = snap.directory.resource_group(&s.id, name).cloned();
                    let g = match (existing, is_patch) {
                        (None, true) => return Err(ArmError::group_not_found(name)),
                        (None, false) => ResourceGroup {
                            subscription: s.id,
                            name: group_name.clone(),
                            location: location.clone().ok_or_else(location_required)?,
                            tags: tags.clone().unwrap_or_default(),
                            created_at: now,
                        },
                        (Some(mut g), _) => {
                            if let Some(l) = &location
                                && *l != g.location
                            {
                                return Err(ArmError::new(
                                    StatusCode::CONFLICT,
                                    "InvalidResourceGroupLocation",
                                    format!(
                                        "Invalid resource group location '{l}'. The Resource \
                                         group already exists in location '{}'.",
                                        g.location
                                    ),
                                ));
                            }
                            if let Some(t) = &tags {
                                g.tags = t.clone();
                            }
                            g
                        }
                    };
                    let created = snap.directory.resource_group(&s.id, name).is_none();
                    Ok((vec![Write::PutResourceGroup(g.clone())], (g, created)))
                })
                .await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(reply(status, group_json(&g, false)))
        }
        Method::DELETE => {
            ctx.authorize(
                "Microsoft.Resources/subscriptions/resourceGroups/delete",
                &scope,
            )?;
            let vaults = ctx
                .write(|snap| {
                    let g = existing_group(snap, &s, name)?;
                    let vaults: Vec<VaultName> = snap
                        .directory
                        .data()
                        .vaults_in_group(&s.id, name)
                        .map(|v| v.name.clone())
                        .collect();
                    Ok((
                        vec![Write::DeleteResourceGroup {
                            subscription: s.id,
                            name: g.name.clone(),
                        }],
                        vaults,
                    ))
                })
                .await?;
            // The group's vaults take their secrets with them.
            for vault in &vaults {
                wif_store::keyvault::purge_vault(ctx.mgmt.store.as_ref(), vault).await?;
            }
            let op = ctx.finish_operation();
            let mut resp = StatusCode::ACCEPTED.into_response();
            let location = format!(
                "{}/subscriptions/{}/operationresults/{op}?api-version={}",
                ctx.origin(),
                s.id,
                ctx.api_version
            );
            if let Ok(v) = HeaderValue::from_str(&location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            Ok(resp)
        }
        _ => Err(method_not_allowed(ctx)),
    }
}

fn location_required() -> ArmError {
    ArmError::bad_request(
        "LocationRequired",
        "The location property is required for this definition.",
    )
}

/// A provider resource or collection.
pub async fn resource(ctx: &mut Ctx, r: &ResourcePath) -> Result<Response, ArmError> {
    let kind = canonical_kind(r);
    if !NAMESPACES
        .iter()
        .any(|n| n.eq_ignore_ascii_case(&r.namespace))
    {
        return Err(ArmError::bad_request(
            "InvalidResourceNamespace",
            format!("The resource namespace '{}' is invalid.", r.namespace),
        ));
    }
    if ![IDENTITIES, CLUSTERS, VAULTS, STORAGE].contains(&kind.as_str()) {
        return Err(ArmError::bad_request(
            "InvalidResourceType",
            format!(
                "The resource type '{}' could not be found in the namespace '{}' for api version \
                 '{}'.",
                r.kind, r.namespace, ctx.api_version
            ),
        ));
    }
    let s = subscription_of(ctx, &r.subscription)?.clone();
    let Some(group_name) = r.resource_group.clone() else {
        // `/subscriptions/{s}/providers/{ns}/{type}`: list across the subscription.
        if r.name.is_some() || ctx.method != Method::GET {
            return Err(method_not_allowed(ctx));
        }
        ctx.authorize(&format!("{kind}/read"), &format!("/subscriptions/{}", s.id))?;
        return Ok(reply(StatusCode::OK, list(list_of(ctx, &kind, &s, None))));
    };
    let g = existing_group(&ctx.snap, &s, &group_name)?.clone();
    let Some(name) = r.name.clone() else {
        if ctx.method != Method::GET {
            return Err(method_not_allowed(ctx));
        }
        ctx.authorize(&format!("{kind}/read"), &group_scope(&s, &g))?;
        return Ok(reply(
            StatusCode::OK,
            list(list_of(ctx, &kind, &s, Some(&g))),
        ));
    };
    let id = format!("{}/providers/{kind}/{name}", group_scope(&s, &g));
    if let Some((child, child_name)) = &r.child {
        if kind != IDENTITIES || !child.eq_ignore_ascii_case(FICS) {
            return Err(ArmError::bad_request(
                "InvalidResourceType",
                format!(
                    "The resource type '{}/{child}' could not be found in the namespace '{}' for \
                     api version '{}'.",
                    r.kind, r.namespace, ctx.api_version
                ),
            ));
        }
        return credentials(ctx, &s, &g, &name, child_name.as_deref(), &id).await;
    }
    let verb = match ctx.method {
        Method::GET | Method::HEAD => "read",
        Method::DELETE => "delete",
        Method::PUT | Method::PATCH => "write",
        _ => return Err(method_not_allowed(ctx)),
    };
    ctx.authorize(&format!("{kind}/{verb}"), &id)?;
    match kind.as_str() {
        IDENTITIES => identity(ctx, &s, &g, &name).await,
        CLUSTERS => cluster(ctx, &s, &g, &name).await,
        VAULTS => vault(ctx, &s, &g, &name).await,
        _ => storage(ctx, &s, &g, &name).await,
    }
}

fn in_group(
    sub: &Subscription,
    group: Option<&ResourceGroup>,
    s: &wif_core::ids::SubscriptionId,
    rg: &ResourceGroupName,
) -> bool {
    *s == sub.id && group.is_none_or(|g| g.name.as_str().eq_ignore_ascii_case(rg.as_str()))
}

fn list_of(ctx: &Ctx, kind: &str, s: &Subscription, g: Option<&ResourceGroup>) -> Vec<Value> {
    let d = ctx.snap.directory.data();
    match kind {
        IDENTITIES => d
            .identities
            .iter()
            .filter(|m| in_group(s, g, &m.subscription, &m.resource_group))
            .map(identity_json)
            .collect(),
        CLUSTERS => d
            .clusters
            .iter()
            .filter(|c| in_group(s, g, &c.subscription, &c.resource_group))
            .map(cluster_json)
            .collect(),
        VAULTS => d
            .vaults
            .iter()
            .filter(|v| in_group(s, g, &v.subscription, &v.resource_group))
            .map(|v| vault_json(ctx, v))
            .collect(),
        _ => d
            .storage_accounts
            .iter()
            .filter(|a| in_group(s, g, &a.subscription, &a.resource_group))
            .map(storage_json)
            .collect(),
    }
}

fn find_identity<'a>(
    snap: &'a Snapshot,
    s: &Subscription,
    g: &ResourceGroup,
    name: &str,
) -> Option<&'a ManagedIdentity> {
    snap.directory
        .data()
        .identity_in(&s.id, g.name.as_str(), name)
}

fn identity_json(m: &ManagedIdentity) -> Value {
    json!({
        "id": m.resource_id(),
        "name": m.name.as_str(),
        "type": IDENTITIES,
        "location": m.location.as_str(),
        "tags": tags_json(&m.tags),
        "properties": {
            "tenantId": m.tenant.to_string(),
            "principalId": m.principal_id.to_string(),
            "clientId": m.client_id.to_string(),
            "isolationScope": "None",
        },
    })
}

/// Applies the delete `find` names, if the resource exists: `200` when something was deleted,
/// `204` when there was nothing (ARM's answers to DELETE).
async fn delete_found(
    ctx: &mut Ctx,
    find: impl FnOnce(&Snapshot) -> Option<Write>,
) -> Result<Response, ArmError> {
    let was = ctx
        .write(|snap| {
            Ok(match find(snap) {
                Some(w) => (vec![w], true),
                None => (vec![], false),
            })
        })
        .await?;
    Ok(deleted(was))
}

/// Deletes answer `200` when something was deleted and `204` when there was nothing.
fn deleted(was: bool) -> Response {
    if was {
        StatusCode::OK.into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

async fn identity(
    ctx: &mut Ctx,
    s: &Subscription,
    g: &ResourceGroup,
    name: &str,
) -> Result<Response, ArmError> {
    match ctx.method {
        Method::GET | Method::HEAD => {
            let m = find_identity(&ctx.snap, s, g, name)
                .ok_or_else(|| ArmError::resource_not_found(IDENTITIES, name, g.name.as_str()))?;
            Ok(reply(StatusCode::OK, identity_json(m)))
        }
        Method::PUT | Method::PATCH => {
            let parsed = IdentityName::parse(name)
                .map_err(|e| ArmError::bad_request("InvalidResourceName", format!("{e}")))?;
            let body = ctx.json()?;
            let location = location_from(&body)?;
            let tags = tags_from(&body)?;
            let is_patch = ctx.method == Method::PATCH;
            let (client, principal) = (
                ClientId::from_uuid(new_uuid(ctx.st.rng.as_ref())),
                PrincipalId::from_uuid(new_uuid(ctx.st.rng.as_ref())),
            );
            let now = ctx.now;
            let (m, created) = ctx
                .write(|snap| {
                    let m = match (find_identity(snap, s, g, name).cloned(), is_patch) {
                        (None, true) => {
                            return Err(ArmError::resource_not_found(
                                IDENTITIES,
                                name,
                                g.name.as_str(),
                            ));
                        }
                        (None, false) => ManagedIdentity {
                            name: parsed,
                            tenant: s.tenant,
                            subscription: s.id,
                            resource_group: g.name.clone(),
                            location: location.clone().ok_or_else(location_required)?,
                            client_id: client,
                            principal_id: principal,
                            tags: tags.clone().unwrap_or_default(),
                            created_at: now,
                        },
                        (Some(mut m), _) => {
                            check_location(&location, &m.location, name, g)?;
                            if let Some(t) = &tags {
                                m.tags = t.clone();
                            }
                            m
                        }
                    };
                    let created = find_identity(snap, s, g, name).is_none();
                    Ok((vec![Write::PutIdentity(m.clone())], (m, created)))
                })
                .await?;
            Ok(reply(created_or_ok(created), identity_json(&m)))
        }
        _ => {
            delete_found(ctx, |snap| {
                find_identity(snap, s, g, name).map(|m| Write::DeleteIdentity(m.client_id))
            })
            .await
        }
    }
}

fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

fn check_location(
    asked: &Option<RegionName>,
    existing: &RegionName,
    name: &str,
    g: &ResourceGroup,
) -> Result<(), ArmError> {
    match asked {
        Some(l) if l != existing => Err(ArmError::new(
            StatusCode::CONFLICT,
            "InvalidResourceLocation",
            format!(
                "The resource '{name}' already exists in location '{existing}' in resource group \
                 '{}'. A resource with the same name cannot be created in location '{l}'. Please \
                 select a new resource name.",
                g.name
            ),
        )),
        _ => Ok(()),
    }
}

fn credential_json(identity_id: &str, f: &FederatedIdentityCredential) -> Value {
    json!({
        "id": format!("{identity_id}/{FICS}/{}", f.name),
        "name": f.name.as_str(),
        "type": format!("{IDENTITIES}/{FICS}"),
        "properties": {
            "issuer": f.issuer.as_str(),
            "subject": f.subject.as_str(),
            "audiences": f.audiences.iter().map(Audience::as_str).collect::<Vec<_>>(),
        },
    })
}

/// The federated credential a PUT body describes, with Entra's validation messages.
fn credential_from(
    identity: ClientId,
    name: &str,
    body: &Value,
) -> Result<FederatedIdentityCredential, ArmError> {
    let name = CredentialName::parse(name).map_err(|_| {
        ArmError::bad_request(
            "BadRequest",
            format!("Federated Identity Credential name '{name}' is invalid."),
        )
    })?;
    let props = body
        .get("properties")
        .and_then(Value::as_object)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            ArmError::bad_request(
                "BadRequest",
                "Federated Identity Credential from HTTP body has empty properties",
            )
        })?;
    if props
        .get("claimsMatchingExpression")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ArmError::bad_request(
            "BadRequest",
            "claimsMatchingExpression (flexible federated identity credentials) is not supported \
             by wif yet; give an exact 'subject' instead.",
        ));
    }
    let text = |k: &str| props.get(k).and_then(Value::as_str);
    let issuer = Issuer::parse(text("issuer").unwrap_or_default())
        .map_err(|e| ArmError::bad_request("BadRequest", format!("Invalid issuer: {e}.")))?;
    let subject = Subject::parse(text("subject").unwrap_or_default())
        .map_err(|e| ArmError::bad_request("BadRequest", format!("Invalid subject: {e}.")))?;
    let audiences = props
        .get("audiences")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let [aud] = audiences.as_slice() else {
        return Err(ArmError::bad_request(
            "BadRequest",
            "Federated identity credentials must have exactly 1 audience.",
        ));
    };
    let audience = Audience::parse(aud.as_str().unwrap_or_default())
        .map_err(|e| ArmError::bad_request("BadRequest", format!("Invalid audience: {e}.")))?;
    Ok(FederatedIdentityCredential {
        identity,
        name,
        issuer,
        subject,
        audiences: vec![audience],
    })
}

async fn credentials(
    ctx: &mut Ctx,
    s: &Subscription,
    g: &ResourceGroup,
    identity_name: &str,
    name: Option<&str>,
    identity_id: &str,
) -> Result<Response, ArmError> {
    let action = |verb: &str| format!("{IDENTITIES}/{FICS}/{verb}");
    let parent_missing = || {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "ParentResourceNotFound",
            "The parent user-assigned identity does not exist.",
        )
    };
    let Some(name) = name else {
        if ctx.method != Method::GET {
            return Err(method_not_allowed(ctx));
        }
        ctx.authorize(&action("read"), identity_id)?;
        let m = find_identity(&ctx.snap, s, g, identity_name).ok_or_else(parent_missing)?;
        let id = m.resource_id();
        let all: Vec<Value> = ctx
            .snap
            .directory
            .credentials(&m.client_id)
            .into_iter()
            .map(|f| credential_json(&id, f))
            .collect();
        return Ok(reply(StatusCode::OK, page(ctx, all)));
    };
    let verb = match ctx.method {
        Method::GET | Method::HEAD => "read",
        Method::PUT => "write",
        Method::DELETE => "delete",
        _ => return Err(method_not_allowed(ctx)),
    };
    let scope = format!("{identity_id}/{FICS}/{name}");
    ctx.authorize(&action(verb), &scope)?;
    let m = find_identity(&ctx.snap, s, g, identity_name)
        .cloned()
        .ok_or_else(parent_missing)?;
    if verb == "read" {
        let f = ctx
            .snap
            .directory
            .credentials(&m.client_id)
            .into_iter()
            .find(|f| f.name.as_str().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ArmError::new(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("Federated identity credential '{name}' was not found."),
                )
            })?;
        return Ok(reply(StatusCode::OK, credential_json(&m.resource_id(), f)));
    }
    let Some(_claim) = ctx.claim_identity(m.client_id.to_string()) else {
        return Err(ArmError::new(
            StatusCode::CONFLICT,
            "ConcurrentFederatedIdentityCredentialsWritesForSingleManagedIdentity",
            format!(
                "Too many Federated Identity Credentials are written concurrently for the managed \
                 identity '{}'. Concurrent Federated Identity Credentials writes under the same \
                 managed identity are not supported.",
                m.resource_id().to_lowercase()
            ),
        ));
    };
    if verb == "delete" {
        return delete_found(ctx, |snap| {
            snap.directory
                .credentials(&m.client_id)
                .into_iter()
                .find(|f| f.name.as_str().eq_ignore_ascii_case(name))
                .map(|f| Write::DeleteCredential {
                    identity: m.client_id,
                    name: f.name.clone(),
                })
        })
        .await;
    }
    let f = credential_from(m.client_id, name, &ctx.json()?)?;
    let created = ctx
        .write(|snap| {
            let held = snap.directory.credentials(&m.client_id);
            let existing = held
                .iter()
                .find(|c| c.name.as_str().eq_ignore_ascii_case(name));
            if existing.is_none() && held.len() >= MAX_FEDERATED_CREDENTIALS {
                return Err(ArmError::bad_request(
                    "BadRequest",
                    format!(
                        "The managed identity '{}' already has the maximum of \
                         {MAX_FEDERATED_CREDENTIALS} federated identity credentials.",
                        m.name
                    ),
                ));
            }
            if held.iter().any(|c| {
                !c.name.as_str().eq_ignore_ascii_case(name)
                    && c.issuer == f.issuer
                    && c.subject == f.subject
            }) {
                return Err(ArmError::bad_request(
                    "BadRequest",
                    "Issuer and subject combination already exists for this Managed Identity.",
                ));
            }
            Ok((vec![Write::PutCredential(f.clone())], existing.is_none()))
        })
        .await?;
    Ok(reply(
        created_or_ok(created),
        credential_json(&m.resource_id(), &f),
    ))
}

/// `$top` / `$skiptoken` paging of a list (the skip token is an offset).
fn page(ctx: &Ctx, all: Vec<Value>) -> Value {
    let skip: usize = ctx
        .query("$skiptoken")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let top: Option<usize> = ctx
        .query("$top")
        .and_then(|t| t.parse().ok())
        .filter(|t| *t > 0);
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .skip(skip)
        .take(top.unwrap_or(usize::MAX))
        .collect();
    let next = skip.saturating_add(items.len());
    let mut body = list(items);
    if let (Some(top), Some(obj)) = (top, body.as_object_mut())
        && next < total
    {
        obj.insert(
            "nextLink".into(),
            json!(format!(
                "{}{}?api-version={}&$top={top}&$skiptoken={next}",
                ctx.origin(),
                ctx.path,
                ctx.api_version
            )),
        );
    }
    body
}

fn find_cluster<'a>(
    snap: &'a Snapshot,
    s: &Subscription,
    g: &ResourceGroup,
    name: &str,
) -> Option<&'a Cluster> {
    snap.directory
        .data()
        .cluster_in(&s.id, g.name.as_str(), name)
}

fn cluster_json(c: &Cluster) -> Value {
    let mut oidc = serde_json::Map::new();
    oidc.insert("enabled".into(), json!(c.oidc_issuer_enabled));
    if c.oidc_issuer_enabled {
        oidc.insert("issuerURL".into(), json!(c.issuer.as_str()));
    }
    json!({
        "id": c.resource_id(),
        "name": c.name.as_str(),
        "type": "Microsoft.ContainerService/ManagedClusters",
        "location": c.region.as_str(),
        "sku": {"name": "Base", "tier": "Free"},
        "properties": {
            "provisioningState": "Succeeded",
            "powerState": {"code": "Running"},
            "kubernetesVersion": KUBERNETES_VERSION,
            "currentKubernetesVersion": KUBERNETES_VERSION,
            "dnsPrefix": c.name.as_str(),
            "nodeResourceGroup": format!("MC_{}_{}_{}", c.resource_group, c.name, c.region),
            "oidcIssuerProfile": Value::Object(oidc),
            "securityProfile": {"workloadIdentity": {"enabled": c.workload_identity_enabled}},
        },
    })
}

fn flag(body: &Value, path: &[&str]) -> Option<bool> {
    let mut v = body.get("properties")?;
    for p in path {
        v = v.get(p)?;
    }
    v.as_bool()
}

async fn cluster(
    ctx: &mut Ctx,
    s: &Subscription,
    g: &ResourceGroup,
    name: &str,
) -> Result<Response, ArmError> {
    match ctx.method {
        Method::GET | Method::HEAD => {
            let c = find_cluster(&ctx.snap, s, g, name)
                .ok_or_else(|| ArmError::resource_not_found(CLUSTERS, name, g.name.as_str()))?;
            Ok(reply(StatusCode::OK, cluster_json(c)))
        }
        Method::PUT | Method::PATCH => {
            let parsed = ClusterName::parse(name)
                .map_err(|e| ArmError::bad_request("InvalidResourceName", format!("{e}")))?;
            let body = ctx.json()?;
            let location = location_from(&body)?;
            let oidc = flag(&body, &["oidcIssuerProfile", "enabled"]);
            let wi = flag(&body, &["securityProfile", "workloadIdentity", "enabled"]);
            let is_patch = ctx.method == Method::PATCH;
            let exists = find_cluster(&ctx.snap, s, g, name).is_some();
            // A new cluster's issuer gets its signing key in the same transaction.
            let guid = ClusterGuid::from_uuid(new_uuid(ctx.st.rng.as_ref()));
            let key = if exists || is_patch {
                None
            } else {
                Some(new_cluster_key(ctx, guid).await?)
            };
            let canonical = ctx
                .st
                .names
                .authorities
                .first()
                .unwrap_or(&ctx.st.authority)
                .clone();
            let now = ctx.now;
            let (c, created) = ctx
                .write(|snap| {
                    let mut writes = Vec::new();
                    let c = match (find_cluster(snap, s, g, name).cloned(), is_patch) {
                        (None, true) => {
                            return Err(ArmError::resource_not_found(
                                CLUSTERS,
                                name,
                                g.name.as_str(),
                            ));
                        }
                        (None, false) => {
                            let region = location.clone().ok_or_else(location_required)?;
                            let issuer =
                                Issuer::parse(&canonical.cluster_issuer(&region, &s.tenant, &guid))
                                    .map_err(|e| {
                                        ArmError::bad_request("BadRequest", format!("{e}"))
                                    })?;
                            writes.push(Write::PutRegion(Region {
                                name: region.clone(),
                            }));
                            if let Some(k) = key.clone() {
                                writes.push(Write::PutSigningKey(k));
                            }
                            Cluster {
                                name: parsed,
                                guid,
                                tenant: s.tenant,
                                subscription: s.id,
                                resource_group: g.name.clone(),
                                region,
                                issuer,
                                oidc_issuer_enabled: oidc.unwrap_or(false),
                                workload_identity_enabled: wi.unwrap_or(false),
                                created_at: now,
                            }
                        }
                        (Some(mut c), _) => {
                            check_location(&location, &c.region, name, g)?;
                            if oidc == Some(false) && c.oidc_issuer_enabled {
                                return Err(ArmError::bad_request(
                                    "OIDCIssuerFeatureCannotBeDisabled",
                                    "The OIDC issuer cannot be disabled once it is enabled.",
                                ));
                            }
                            if let Some(o) = oidc {
                                c.oidc_issuer_enabled = o;
                            }
                            if let Some(w) = wi {
                                c.workload_identity_enabled = w;
                            }
                            c
                        }
                    };
                    if c.workload_identity_enabled && !c.oidc_issuer_enabled {
                        return Err(ArmError::bad_request(
                            "InvalidParameter",
                            "Enabling workload identity requires enabling the OIDC issuer as \
                             well: set properties.oidcIssuerProfile.enabled to true.",
                        ));
                    }
                    let created = find_cluster(snap, s, g, name).is_none();
                    writes.push(Write::PutCluster(c.clone()));
                    Ok((writes, (c, created)))
                })
                .await?;
            Ok(reply(created_or_ok(created), cluster_json(&c)))
        }
        _ => {
            delete_found(ctx, |snap| {
                find_cluster(snap, s, g, name).map(|c| Write::DeleteCluster(c.guid))
            })
            .await
        }
    }
}

async fn new_cluster_key(ctx: &Ctx, guid: ClusterGuid) -> Result<SigningKeyRecord, ArmError> {
    let key = tokio::task::spawn_blocking(wif_jose::SigningKey::generate_rsa2048)
        .await
        .map_err(|e| internal(format!("key generation task failed: {e}")))?
        .map_err(|e| internal(format!("key generation failed: {e}")))?;
    SigningKeyRecord::seal(&key, KeyOwner::Cluster(guid), ctx.now, &ctx.mgmt.kek)
        .map_err(|e| internal(format!("sealing the cluster key failed: {e}")))
}

fn internal(message: String) -> ArmError {
    tracing::error!(%message, "management call failed");
    ArmError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        "An internal error occurred; see the server log.",
    )
}

fn find_vault<'a>(
    snap: &'a Snapshot,
    s: &Subscription,
    g: &ResourceGroup,
    name: &str,
) -> Option<&'a Vault> {
    snap.directory.data().vault_in(&s.id, g.name.as_str(), name)
}

fn vault_json(ctx: &Ctx, v: &Vault) -> Value {
    let uri = ctx
        .st
        .names
        .vault_suffixes
        .first()
        .map(|s| {
            if s.port == 443 {
                format!("https://{}.{}/", v.name, s.suffix)
            } else {
                format!("https://{}.{}:{}/", v.name, s.suffix, s.port)
            }
        })
        .unwrap_or_default();
    json!({
        "id": v.resource_id(),
        "name": v.name.as_str(),
        "type": VAULTS,
        "location": v.location.as_str(),
        "tags": tags_json(&v.tags),
        "properties": {
            "tenantId": v.tenant.to_string(),
            "sku": {"family": "A", "name": "standard"},
            "accessPolicies": [],
            "enableRbacAuthorization": v.enable_rbac_authorization,
            "enableSoftDelete": true,
            "softDeleteRetentionInDays": v.retention_days,
            "enablePurgeProtection": if v.purge_protection { json!(true) } else { Value::Null },
            "vaultUri": uri,
            "provisioningState": "Succeeded",
            "publicNetworkAccess": "Enabled",
        },
    })
}

async fn vault(
    ctx: &mut Ctx,
    s: &Subscription,
    g: &ResourceGroup,
    name: &str,
) -> Result<Response, ArmError> {
    match ctx.method {
        Method::GET | Method::HEAD => {
            let v = find_vault(&ctx.snap, s, g, name)
                .ok_or_else(|| ArmError::resource_not_found(VAULTS, name, g.name.as_str()))?;
            Ok(reply(StatusCode::OK, vault_json(ctx, v)))
        }
        Method::PUT | Method::PATCH => {
            let parsed = VaultName::parse(name)
                .map_err(|e| ArmError::bad_request("VaultNameNotValid", format!("{e}")))?;
            let body = ctx.json()?;
            let location = location_from(&body)?;
            let tags = tags_from(&body)?;
            let props = body.get("properties").cloned().unwrap_or(json!({}));
            let rbac = props
                .get("enableRbacAuthorization")
                .and_then(Value::as_bool);
            let purge = props.get("enablePurgeProtection").and_then(Value::as_bool);
            let retention = match props.get("softDeleteRetentionInDays") {
                None | Some(Value::Null) => None,
                Some(v) => Some(
                    v.as_u64()
                        .and_then(|d| u16::try_from(d).ok())
                        .filter(|d| (7..=90).contains(d))
                        .ok_or_else(|| {
                            ArmError::bad_request(
                                "BadRequest",
                                "softDeleteRetentionInDays must be between 7 and 90.",
                            )
                        })?,
                ),
            };
            if let Some(t) = props.get("tenantId").and_then(Value::as_str)
                && !t.eq_ignore_ascii_case(&s.tenant.to_string())
            {
                return Err(ArmError::bad_request(
                    "BadRequest",
                    format!(
                        "The tenant '{t}' is not the subscription's tenant '{}'; a vault trusts \
                         its subscription's tenant.",
                        s.tenant
                    ),
                ));
            }
            let is_patch = ctx.method == Method::PATCH;
            let now = ctx.now;
            let (v, created) = ctx
                .write(|snap| {
                    let v = match (find_vault(snap, s, g, name).cloned(), is_patch) {
                        (None, true) => {
                            return Err(ArmError::resource_not_found(
                                VAULTS,
                                name,
                                g.name.as_str(),
                            ));
                        }
                        (None, false) => {
                            if let Some(other) = snap.directory.vault(&parsed) {
                                return Err(ArmError::new(
                                    StatusCode::CONFLICT,
                                    "VaultAlreadyExists",
                                    format!(
                                        "The vault name '{name}' is already in use (resource \
                                         group '{}'). Vault names are globally unique.",
                                        other.resource_group
                                    ),
                                ));
                            }
                            Vault {
                                name: parsed,
                                tenant: s.tenant,
                                subscription: s.id,
                                resource_group: g.name.clone(),
                                location: location.clone().ok_or_else(location_required)?,
                                retention_days: retention.unwrap_or(DEFAULT_RETENTION_DAYS),
                                purge_protection: purge.unwrap_or(false),
                                enable_rbac_authorization: rbac.unwrap_or(true),
                                tags: tags.clone().unwrap_or_default(),
                                created_at: now,
                            }
                        }
                        (Some(mut v), _) => {
                            check_location(&location, &v.location, name, g)?;
                            if purge == Some(false) && v.purge_protection {
                                return Err(ArmError::bad_request(
                                    "BadRequest",
                                    "The property \"enablePurgeProtection\" cannot be set to \
                                     false. Enabling the purge protection for a vault is an \
                                     irreversible action.",
                                ));
                            }
                            if let Some(p) = purge {
                                v.purge_protection = p;
                            }
                            if let Some(r) = rbac {
                                v.enable_rbac_authorization = r;
                            }
                            if let Some(d) = retention {
                                v.retention_days = d;
                            }
                            if let Some(t) = &tags {
                                v.tags = t.clone();
                            }
                            v
                        }
                    };
                    let created = find_vault(snap, s, g, name).is_none();
                    Ok((vec![Write::PutVault(v.clone())], (v, created)))
                })
                .await?;
            Ok(reply(created_or_ok(created), vault_json(ctx, &v)))
        }
        _ => {
            let gone = ctx
                .write(|snap| {
                    Ok(match find_vault(snap, s, g, name) {
                        Some(v) => (
                            vec![Write::DeleteVault(v.name.clone())],
                            Some(v.name.clone()),
                        ),
                        None => (vec![], None),
                    })
                })
                .await?;
            // The vault's secrets go with it (wif does not keep deleted vaults).
            if let Some(vault) = &gone {
                wif_store::keyvault::purge_vault(ctx.mgmt.store.as_ref(), vault).await?;
            }
            Ok(deleted(gone.is_some()))
        }
    }
}

fn find_storage<'a>(
    snap: &'a Snapshot,
    s: &Subscription,
    g: &ResourceGroup,
    name: &str,
) -> Option<&'a StorageAccount> {
    snap.directory
        .data()
        .storage_in(&s.id, g.name.as_str(), name)
}

fn storage_json(a: &StorageAccount) -> Value {
    let tier = if a.sku.starts_with("Premium") {
        "Premium"
    } else {
        "Standard"
    };
    json!({
        "id": a.resource_id(),
        "name": a.name.as_str(),
        "type": STORAGE,
        "location": a.location.as_str(),
        "kind": a.kind,
        "sku": {"name": a.sku, "tier": tier},
        "tags": tags_json(&a.tags),
        "properties": {
            "provisioningState": "Succeeded",
            "creationTime": a.created_at.to_rfc3339(),
            "primaryLocation": a.location.as_str(),
            "statusOfPrimary": "available",
            "primaryEndpoints": {
                "blob": format!("https://{}.blob.core.windows.net/", a.name),
                "queue": format!("https://{}.queue.core.windows.net/", a.name),
                "table": format!("https://{}.table.core.windows.net/", a.name),
                "file": format!("https://{}.file.core.windows.net/", a.name),
            },
            "minimumTlsVersion": "TLS1_2",
            "allowBlobPublicAccess": false,
            "supportsHttpsTrafficOnly": true,
        },
    })
}

const STORAGE_KINDS: &[&str] = &[
    "StorageV2",
    "Storage",
    "BlobStorage",
    "BlockBlobStorage",
    "FileStorage",
];

async fn storage(
    ctx: &mut Ctx,
    s: &Subscription,
    g: &ResourceGroup,
    name: &str,
) -> Result<Response, ArmError> {
    match ctx.method {
        Method::GET | Method::HEAD => {
            let a = find_storage(&ctx.snap, s, g, name)
                .ok_or_else(|| ArmError::resource_not_found(STORAGE, name, g.name.as_str()))?;
            Ok(reply(StatusCode::OK, storage_json(a)))
        }
        Method::PUT | Method::PATCH => {
            let parsed = StorageAccountName::parse(name).map_err(|_| {
                ArmError::bad_request(
                    "AccountNameInvalid",
                    format!(
                        "{name} is not a valid storage account name. Storage account name must \
                         be between 3 and 24 characters in length and use numbers and \
                         lower-case letters only."
                    ),
                )
            })?;
            let body = body_object(&ctx.body)?;
            let location = location_from(&body)?;
            let tags = tags_from(&body)?;
            let kind = body.get("kind").and_then(Value::as_str).map(str::to_owned);
            if let Some(k) = &kind
                && !STORAGE_KINDS.contains(&k.as_str())
            {
                return Err(ArmError::bad_request(
                    "InvalidValuesForRequestParameters",
                    format!("Values for request parameters are invalid: kind '{k}'."),
                ));
            }
            let sku = body
                .get("sku")
                .and_then(|v| v.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let is_patch = ctx.method == Method::PATCH;
            let now = ctx.now;
            let (a, created) = ctx
                .write(|snap| {
                    let a = match (find_storage(snap, s, g, name).cloned(), is_patch) {
                        (None, true) => {
                            return Err(ArmError::resource_not_found(
                                STORAGE,
                                name,
                                g.name.as_str(),
                            ));
                        }
                        (None, false) => {
                            if snap
                                .directory
                                .data()
                                .storage_accounts
                                .iter()
                                .any(|a| a.name == parsed)
                            {
                                return Err(ArmError::new(
                                    StatusCode::CONFLICT,
                                    "StorageAccountAlreadyTaken",
                                    format!("The storage account named {name} is already taken."),
                                ));
                            }
                            StorageAccount {
                                name: parsed,
                                tenant: s.tenant,
                                subscription: s.id,
                                resource_group: g.name.clone(),
                                location: location.clone().ok_or_else(location_required)?,
                                kind: kind.clone().unwrap_or_else(|| "StorageV2".to_owned()),
                                sku: sku.clone().unwrap_or_else(|| "Standard_LRS".to_owned()),
                                tags: tags.clone().unwrap_or_default(),
                                created_at: now,
                            }
                        }
                        (Some(mut a), _) => {
                            check_location(&location, &a.location, name, g)?;
                            if let Some(k) = &kind {
                                a.kind = k.clone();
                            }
                            if let Some(k) = &sku {
                                a.sku = k.clone();
                            }
                            if let Some(t) = &tags {
                                a.tags = t.clone();
                            }
                            a
                        }
                    };
                    let created = find_storage(snap, s, g, name).is_none();
                    Ok((vec![Write::PutStorageAccount(a.clone())], (a, created)))
                })
                .await?;
            Ok(reply(created_or_ok(created), storage_json(&a)))
        }
        _ => {
            delete_found(ctx, |snap| {
                find_storage(snap, s, g, name).map(|a| Write::DeleteStorageAccount(a.name.clone()))
            })
            .await
        }
    }
}
