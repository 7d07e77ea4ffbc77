//! The Azure Resource Manager surface the az CLI and the azure-mgmt-* SDKs use
//! (`../shared/spec/arm-surface.md`): the cloud metadata document, subscriptions and tenants,
//! resource groups, managed identities and their federated credentials, role definitions and
//! assignments, managed clusters, key vaults and storage accounts.
//!
//! Every call needs a bearer token for ARM (`https://management.core.windows.net/` or
//! `https://management.azure.com/`) from wif's token service, and every call is authorized with
//! Azure RBAC (the caller's `oid`, the operation's action, the resource's scope). Writes go
//! through [`wif_store::Store::apply`] under one lock, the snapshot is rebuilt before the answer
//! (a client reads its own writes at once), and each write lands in the activity log.

pub(crate) mod authz;
mod metadata;
pub mod path;
mod resources;
pub mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde_json::Value;
use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::ids::PrincipalId;
use wif_core::random::new_uuid;
use wif_core::rbac::{Decision, Operation, Scope};
use wif_store::Store;
use wif_store::activity::ActivityRecord;
use wif_store::crypto::KeyEncryptionKey;
use wif_store::model::Write;
use wif_store::snapshot::{Snapshot, SnapshotBuilder};

use crate::bearer::{Caller, FailureKind};
use crate::signin::ActivitySink;
use crate::state::AppState;
use path::Target;
use wire::ArmError;

/// The token audiences ARM accepts (the public cloud's two).
pub const ARM_AUDIENCES: &[&str] = &[
    "https://management.core.windows.net/",
    "https://management.azure.com/",
];

/// What the management API needs besides the snapshot: the store it writes, a builder to
/// refresh the snapshot after a write, the key-encryption key (new clusters get signing keys),
/// and the activity log.
#[derive(Clone, Debug)]
pub struct ManagementState {
    /// The directory store.
    pub store: Arc<dyn Store>,
    /// Rebuilds the snapshot after a write.
    pub builder: Arc<SnapshotBuilder>,
    /// Seals new clusters' signing keys.
    pub kek: Arc<KeyEncryptionKey>,
    /// The activity log.
    pub activity: ActivitySink,
    write_lock: Arc<tokio::sync::Mutex<()>>,
    busy_identities: Arc<Mutex<HashSet<String>>>,
    operations: Arc<Mutex<HashMap<String, UnixTime>>>,
}

impl ManagementState {
    /// The management state over `store`.
    pub fn new(
        store: Arc<dyn Store>,
        builder: Arc<SnapshotBuilder>,
        kek: Arc<KeyEncryptionKey>,
        activity: ActivitySink,
    ) -> Self {
        Self {
            store,
            builder,
            kek,
            activity,
            write_lock: Arc::default(),
            busy_identities: Arc::default(),
            operations: Arc::default(),
        }
    }
}

impl ManagementState {
    /// Marks a managed identity's credentials as being written; `None` while another write to
    /// them is in flight. The claim ends when the returned value is dropped.
    pub(crate) fn claim_identity(&self, key: String) -> Option<IdentityClaim> {
        let mut busy = self
            .busy_identities
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        busy.insert(key.clone()).then(|| IdentityClaim {
            set: self.busy_identities.clone(),
            key,
        })
    }

    /// Runs `plan` against the newest directory under the management write lock, applies the
    /// writes it returns in one transaction, swaps in a rebuilt snapshot, and returns `plan`'s
    /// result with the snapshot the caller should now read.
    pub(crate) async fn apply_planned<T, E: From<wif_store::StoreError>>(
        &self,
        handle: &wif_store::snapshot::SnapshotHandle,
        plan: impl FnOnce(&Snapshot) -> Result<(Vec<Write>, T), E>,
    ) -> Result<(T, Arc<Snapshot>), E> {
        let _guard = self.write_lock.lock().await;
        let current = handle.load();
        let revision = self.store.revision().await?;
        let fresh = if revision == current.revision() {
            current
        } else {
            let next = Arc::new(self.builder.build(Some(&current)).await?);
            handle.store_arc(next.clone());
            next
        };
        let (writes, out) = plan(&fresh)?;
        if writes.is_empty() {
            return Ok((out, fresh));
        }
        self.store.apply(&writes).await?;
        let next = Arc::new(self.builder.build(Some(&fresh)).await?);
        handle.store_arc(next.clone());
        Ok((out, next))
    }
}

/// The ARM routes (at the root of every authority, as `management.azure.com` serves them).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metadata/endpoints", get(metadata::endpoints))
        .route("/tenants", any(handle))
        .route("/subscriptions", any(handle))
        .route("/subscriptions/{*rest}", any(handle))
        .route("/providers/{*rest}", any(handle))
}

/// One ARM request, authenticated.
pub(crate) struct Ctx {
    pub st: AppState,
    pub mgmt: ManagementState,
    pub snap: Arc<Snapshot>,
    pub caller: Caller,
    pub now: UnixTime,
    pub method: Method,
    pub api_version: String,
    pub query: Vec<(String, String)>,
    pub body: Bytes,
    /// The path as requested (for Location headers and messages).
    pub path: String,
}

impl Ctx {
    /// A query parameter (names compared case-insensitively, as ARM does).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Checks that the caller may perform `action` at `scope`; ARM's `AuthorizationFailed`
    /// otherwise.
    pub fn authorize(&self, action: &str, scope: &str) -> Result<(), ArmError> {
        let parsed = Scope::parse(scope).map_err(|e| {
            ArmError::bad_request(
                "InvalidResourceId",
                format!("'{scope}' is not a valid scope: {e}"),
            )
        })?;
        let decision = match PrincipalId::parse(&self.caller.oid) {
            Ok(p) => self
                .snap
                .directory
                .authorizer()
                .check(&p, Operation::Action(action), &parsed),
            Err(_) => Decision::Denied {
                reason: wif_core::rbac::DenyReason::NoValidRbac,
            },
        };
        if decision.is_allowed() {
            return Ok(());
        }
        Err(ArmError::new(
            StatusCode::FORBIDDEN,
            "AuthorizationFailed",
            format!(
                "The client '{}' with object id '{}' does not have authorization to perform \
                 action '{action}' over scope '{scope}' or the scope is invalid. If access was \
                 recently granted, please refresh your credentials.",
                self.caller.app, self.caller.oid
            ),
        ))
    }

    /// The request body as a JSON object.
    pub fn json(&self) -> Result<Value, ArmError> {
        wire::body_object(&self.body)
    }

    /// Runs `plan` against the newest directory under the management write lock, applies the
    /// writes it returns in one transaction, and swaps in a rebuilt snapshot. `plan` sees the
    /// store's current state (other writers, such as the CLI, are picked up first).
    pub async fn write<T>(
        &mut self,
        plan: impl FnOnce(&Snapshot) -> Result<(Vec<Write>, T), ArmError>,
    ) -> Result<T, ArmError> {
        let (out, snap) = self.mgmt.apply_planned(&self.st.snapshot, plan).await?;
        self.snap = snap;
        Ok(out)
    }

    /// The canonical authority's origin (issuer URLs, Location headers).
    pub fn origin(&self) -> &str {
        self.st.authority.origin()
    }

    /// Marks a managed identity's credentials as being written; `None` when another write to
    /// them is in flight (Entra refuses concurrent writes under one identity).
    pub fn claim_identity(&self, key: String) -> Option<IdentityClaim> {
        self.mgmt.claim_identity(key)
    }

    /// Records a finished long-running operation; returns its id.
    pub fn finish_operation(&self) -> String {
        let id = new_uuid(self.st.rng.as_ref()).simple().to_string();
        let mut ops = self
            .mgmt
            .operations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Operation results are kept for an hour, as ARM keeps them for a while.
        let cutoff = self.now.minus_secs(3600);
        ops.retain(|_, at| *at > cutoff);
        ops.insert(id.clone(), self.now);
        id
    }

    fn operation_known(&self, id: &str) -> bool {
        self.mgmt
            .operations
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(id)
    }
}

/// A claim on one identity's federated credentials, released on drop.
pub(crate) struct IdentityClaim {
    set: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl Drop for IdentityClaim {
    fn drop(&mut self) {
        self.set
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.key);
    }
}

fn header_uuid(headers: &HeaderMap, name: &str) -> Option<Uuid> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v).ok())
}

async fn handle(
    State(st): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = st.clock.now();
    let request_id = new_uuid(st.rng.as_ref());
    let correlation = header_uuid(&headers, "x-ms-correlation-request-id")
        .or_else(|| header_uuid(&headers, "x-ms-client-request-id"))
        .unwrap_or(request_id);
    let path = uri.path().to_owned();
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let target = path::parse(&path);
    let mut activity = None;
    let result = match (st.management.clone(), target) {
        (None, _) => Err(ArmError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "This wif node does not serve the management API.",
        )),
        (Some(_), None) => Err(ArmError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("No HTTP resource was found that matches the request URI '{path}'."),
        )),
        (Some(mgmt), Some(target)) => {
            let snap = st.snapshot.load();
            match authenticate(&st, &snap, &headers, now) {
                Err(e) => Err(e),
                Ok(caller) => {
                    let api_version = query
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case("api-version"))
                        .map(|(_, v)| v.clone());
                    let is_write = !matches!(method, Method::GET | Method::HEAD);
                    if is_write {
                        activity = Some((caller.clone(), action_of(&target, &method)));
                    }
                    match api_version {
                        None => Err(ArmError::bad_request(
                            "MissingApiVersionParameter",
                            "The api-version query parameter (?api-version=) is required for all \
                             requests.",
                        )),
                        Some(v) if !valid_api_version(&v) => Err(ArmError::bad_request(
                            "InvalidApiVersionParameter",
                            format!(
                                "The api-version '{v}' is invalid. The supported versions look \
                                 like '2024-11-30' or '2025-01-31-preview'."
                            ),
                        )),
                        Some(api_version) => {
                            let mut ctx = Ctx {
                                st: st.clone(),
                                mgmt,
                                snap,
                                caller,
                                now,
                                method: method.clone(),
                                api_version,
                                query,
                                body,
                                path: path.clone(),
                            };
                            dispatch(&mut ctx, target).await
                        }
                    }
                }
            }
        }
    };
    let (mut resp, error_code) = match result {
        Ok(r) => (r, None),
        Err(e) => (e.clone().into_response(), Some(e.code)),
    };
    if let (Some((caller, operation)), Some(mgmt)) = (activity, st.management.as_ref()) {
        let status = resp.status().as_u16();
        mgmt.activity.record(ActivityRecord {
            id: new_uuid(st.rng.as_ref()),
            time: now,
            caller: Some(caller.oid),
            caller_app: Some(caller.app),
            operation,
            resource: path,
            status,
            error: error_code.map(str::to_owned),
            correlation_id: correlation,
        });
    }
    let h = resp.headers_mut();
    for (name, value) in [
        ("x-ms-request-id", request_id.to_string()),
        ("x-ms-correlation-request-id", correlation.to_string()),
        ("x-ms-routing-request-id", format!("WIF:{request_id}")),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
    resp
}

fn authenticate(
    st: &AppState,
    snap: &Snapshot,
    headers: &HeaderMap,
    now: UnixTime,
) -> Result<Caller, ArmError> {
    let audiences: Vec<String> = ARM_AUDIENCES.iter().map(|a| (*a).to_owned()).collect();
    crate::bearer::verify(st, snap, headers, None, &audiences, now).map_err(|f| {
        let (code, message) = match f.kind {
            FailureKind::Missing => (
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.".to_owned(),
            ),
            FailureKind::Expired => (
                "ExpiredAuthenticationToken",
                format!(
                    "The access token expiry UTC time is in the past. {}",
                    f.message
                ),
            ),
            FailureKind::Audience => ("InvalidAuthenticationTokenAudience", f.message),
            _ => ("InvalidAuthenticationToken", f.message),
        };
        let mut e = ArmError::new(StatusCode::UNAUTHORIZED, code, message);
        e.challenge = Some(format!(
            "Bearer authorization_uri=\"{}/\", error=\"invalid_token\", error_description=\"{}\"",
            st.authority.origin(),
            code
        ));
        e
    })
}

/// `YYYY-MM-DD` with an optional `-preview`/`-beta`-style suffix.
fn valid_api_version(v: &str) -> bool {
    let (date, suffix) = match v
        .split_once('-')
        .map(|_| v.splitn(4, '-').collect::<Vec<_>>())
    {
        Some(parts) if parts.len() >= 3 => (
            parts.get(..3).map(|p| p.join("-")).unwrap_or_default(),
            parts.get(3).copied(),
        ),
        _ => return false,
    };
    let ok_date = date.len() == 10
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    ok_date && suffix.is_none_or(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The RBAC action of a request: `{namespace}/{type}[/{child}]/{read|write|delete}`.
fn action_of(target: &Target, method: &Method) -> String {
    let verb = match *method {
        Method::DELETE => "delete",
        Method::GET | Method::HEAD => "read",
        Method::POST => "action",
        _ => "write",
    };
    let kind = match target {
        Target::Tenants => "Microsoft.Resources/tenants".to_owned(),
        Target::Subscriptions | Target::Subscription(_) => {
            "Microsoft.Resources/subscriptions".to_owned()
        }
        Target::ResourceGroups(_) | Target::ResourceGroup(..) => {
            "Microsoft.Resources/subscriptions/resourceGroups".to_owned()
        }
        Target::OperationResult(..) => {
            "Microsoft.Resources/subscriptions/operationresults".to_owned()
        }
        Target::Provider(_, ns) => return format!("{ns}/register/action"),
        Target::RoleAssignments { .. } => "Microsoft.Authorization/roleAssignments".to_owned(),
        Target::RoleDefinitions { .. } => "Microsoft.Authorization/roleDefinitions".to_owned(),
        Target::Resource(r) => {
            let canonical = resources::canonical_kind(r);
            match &r.child {
                Some((child, _)) => format!("{canonical}/{child}"),
                None => canonical,
            }
        }
    };
    format!("{kind}/{verb}")
}

async fn dispatch(ctx: &mut Ctx, target: Target) -> Result<Response, ArmError> {
    match target {
        Target::Tenants => metadata::tenants(ctx),
        Target::Subscriptions => metadata::subscriptions(ctx),
        Target::Subscription(id) => metadata::subscription(ctx, &id),
        Target::OperationResult(sub, op) => {
            metadata::subscription_of(ctx, &sub)?;
            if ctx.operation_known(&op) {
                Ok(StatusCode::OK.into_response())
            } else {
                Err(ArmError::new(
                    StatusCode::NOT_FOUND,
                    "OperationNotFound",
                    format!("The operation '{op}' was not found or has expired."),
                ))
            }
        }
        Target::Provider(sub, ns) => metadata::provider(ctx, &sub, &ns),
        Target::ResourceGroups(sub) => resources::groups(ctx, &sub),
        Target::ResourceGroup(sub, name) => resources::group(ctx, &sub, &name).await,
        Target::Resource(r) => resources::resource(ctx, &r).await,
        Target::RoleAssignments { scope, name } => {
            authz::assignments(ctx, &scope, name.as_deref()).await
        }
        Target::RoleDefinitions { scope, name } => {
            authz::definitions(ctx, &scope, name.as_deref()).await
        }
    }
}

/// A JSON answer with `status`.
pub(crate) fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn concurrent_credential_writes_to_one_identity_conflict() {
        let store: Arc<dyn Store> =
            Arc::new(wif_store::SqliteStore::open_in_memory().await.unwrap());
        let kek = Arc::new(KeyEncryptionKey::from_bytes([1; 32]));
        let builder = Arc::new(SnapshotBuilder::new(store.clone(), kek.clone(), Vec::new()));
        let (activity, _task) = crate::signin::spawn_activity_writer(store.clone(), 8);
        let mgmt = ManagementState::new(store, builder, kek, activity);
        let first = mgmt.claim_identity("a".into());
        assert!(first.is_some());
        assert!(
            mgmt.claim_identity("a".into()).is_none(),
            "a second writer is refused"
        );
        assert!(
            mgmt.claim_identity("b".into()).is_some(),
            "other identities are independent"
        );
        drop(first);
        assert!(
            mgmt.claim_identity("a".into()).is_some(),
            "the claim ends with the write"
        );
    }

    #[test]
    fn api_versions() {
        for ok in [
            "2024-11-30",
            "2025-01-31-preview",
            "2022-05-01-preview",
            "2016-02-01",
        ] {
            assert!(valid_api_version(ok), "{ok}");
        }
        for bad in [
            "",
            "7.4",
            "2024-1-30",
            "2024-11-30-",
            "latest",
            "2024-11-30-pre view",
        ] {
            assert!(!valid_api_version(bad), "{bad}");
        }
    }
}
