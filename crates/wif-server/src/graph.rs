//! The Microsoft Graph subset the az CLI uses for workload identity (`arm-surface.md` §7):
//! service-principal lookups (by `servicePrincipalNames/any(...)`, `appId`, `displayName`),
//! `directoryObjects/getByIds`, app registrations with client secrets (`addPassword`,
//! `removePassword`) and their federated identity credentials. Served at `/v1.0` and, for the
//! local cloud whose Graph resource is `<origin>/graph/`, at `/graph/v1.0`.
//!
//! Reads need any token for Graph from the caller's tenant. Writes need a role whose actions
//! cover `microsoft.directory/applications/allProperties/allTasks` on a subscription of the
//! tenant — Owner and Contributor do (Entra's own directory roles are not modelled).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use uuid::Uuid;
use wif_core::directory::{Application, FederatedIdentityCredential, ManagedIdentity, Principal};
use wif_core::ids::{Audience, ClientId, CredentialName, Issuer, PrincipalId, Subject};
use wif_core::random::new_uuid;
use wif_core::rbac::{Operation, Scope};
use wif_store::model::Write;
use wif_store::snapshot::Snapshot;

use crate::arm::authz::eq_filter;
use crate::bearer::Caller;
use crate::state::AppState;

/// The Graph action a write needs (matched by Owner's and Contributor's `*`).
const WRITE_ACTION: &str = "microsoft.directory/applications/allProperties/allTasks";

/// The Graph routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1.0/{*rest}", any(handle))
        .route("/graph/v1.0/{*rest}", any(handle))
}

/// A Graph error: `{"error":{"code","message","innerError":{…}}}`.
#[derive(Debug)]
struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl GraphError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    fn not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects \
                 are not present."
            ),
        )
    }

    fn into_response(self, now: wif_core::UnixTime, request_id: Uuid) -> Response {
        let body = json!({"error": {
            "code": self.code,
            "message": self.message,
            "innerError": {"date": now.to_rfc3339(), "request-id": request_id.to_string(),
                           "client-request-id": request_id.to_string()},
        }});
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<wif_store::StoreError> for GraphError {
    fn from(e: wif_store::StoreError) -> Self {
        use wif_store::StoreError as E;
        match e {
            E::Conflict(m) => Self::bad(m),
            E::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", m),
            E::Unavailable(m) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                format!("The directory store is unavailable: {m}"),
            ),
            other => {
                tracing::error!(error = %other, "store failure on a Graph call");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    "The store failed; see the server log.",
                )
            }
        }
    }
}

struct Ctx {
    st: AppState,
    snap: std::sync::Arc<Snapshot>,
    caller: Caller,
    method: Method,
    query: Vec<(String, String)>,
    body: Bytes,
    now: wif_core::UnixTime,
}

impl Ctx {
    fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Result<Value, GraphError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(json!({}));
        }
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| GraphError::bad("The request body must be a JSON object."))
    }

    fn can_write(&self) -> Result<(), GraphError> {
        let allowed = PrincipalId::parse(&self.caller.oid).is_ok_and(|me| {
            self.snap
                .directory
                .data()
                .subscriptions
                .iter()
                .filter(|s| s.tenant == self.caller.tenant)
                .filter_map(|s| Scope::parse(&format!("/subscriptions/{}", s.id)).ok())
                .any(|scope| {
                    self.snap
                        .directory
                        .authorizer()
                        .check(&me, Operation::Action(WRITE_ACTION), &scope)
                        .is_allowed()
                })
        });
        if allowed {
            Ok(())
        } else {
            Err(GraphError::new(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            ))
        }
    }

    async fn write<T>(
        &mut self,
        plan: impl FnOnce(&Snapshot) -> Result<(Vec<Write>, T), GraphError>,
    ) -> Result<T, GraphError> {
        self.can_write()?;
        let Some(mgmt) = self.st.management.clone() else {
            return Err(GraphError::new(
                StatusCode::NOT_FOUND,
                "Request_ResourceNotFound",
                "This node does not serve the directory.",
            ));
        };
        let (out, snap) = mgmt.apply_planned(&self.st.snapshot, plan).await?;
        self.snap = snap;
        Ok(out)
    }
}

/// The audiences Graph accepts: Microsoft Graph's, and `<origin>/graph` of each authority.
fn audiences(st: &AppState) -> Vec<String> {
    std::iter::once("https://graph.microsoft.com".to_owned())
        .chain(
            st.names
                .authorities
                .iter()
                .map(|a| format!("{}/graph", a.origin())),
        )
        .collect()
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
    let snap = st.snapshot.load();
    let caller = match crate::bearer::verify(&st, &snap, &headers, None, &audiences(&st), now) {
        Ok(c) => c,
        Err(f) => {
            return GraphError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                f.message,
            )
            .into_response(now, request_id);
        }
    };
    let path = uri.path().to_owned();
    let rest = path
        .trim_start_matches("/graph")
        .trim_start_matches("/v1.0")
        .trim_matches('/')
        .to_owned();
    let mut ctx = Ctx {
        query: uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default(),
        st,
        snap,
        caller,
        method,
        body,
        now,
    };
    match dispatch(&mut ctx, &rest).await {
        Ok(r) => r,
        Err(e) => e.into_response(now, request_id),
    }
}

/// A member of a JSON object, or `null`.
fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&Value::Null)
}

fn ok(body: Value) -> Result<Response, GraphError> {
    Ok((StatusCode::OK, axum::Json(body)).into_response())
}

fn collection(items: Vec<Value>) -> Value {
    json!({ "value": items })
}

fn method_not_allowed() -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "The HTTP method is not supported on this resource.",
    )
}

/// `name('value')` / `name(key='value')` alternate keys.
fn alternate_key<'a>(segment: &'a str, entity: &str, key: &str) -> Option<&'a str> {
    let rest = segment
        .strip_prefix(entity)?
        .strip_prefix('(')?
        .strip_suffix(')')?;
    let rest = rest
        .strip_prefix(key)
        .and_then(|r| r.strip_prefix('='))
        .unwrap_or(rest);
    rest.strip_prefix('\'')?.strip_suffix('\'')
}

async fn dispatch(ctx: &mut Ctx, rest: &str) -> Result<Response, GraphError> {
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["servicePrincipals"] => service_principals(ctx),
        [id] if id.starts_with("servicePrincipals(") => {
            let app_id = alternate_key(id, "servicePrincipals", "appId")
                .ok_or_else(|| GraphError::bad(format!("'{id}' is not a valid key.")))?;
            let sp = principals(&ctx.snap)
                .into_iter()
                .filter(|p| p.tenant() == ctx.caller.tenant)
                .find(|p| p.app_id().to_string().eq_ignore_ascii_case(app_id))
                .ok_or_else(|| GraphError::not_found(app_id))?;
            ok(sp_json(&sp))
        }
        ["servicePrincipals", id] => {
            // Another tenant's objects do not exist for this caller.
            let sp = PrincipalId::parse(id)
                .ok()
                .and_then(|p| ctx.snap.directory.principal(&p))
                .filter(|p| p.tenant() == ctx.caller.tenant)
                .ok_or_else(|| GraphError::not_found(id))?;
            ok(sp_json(&sp))
        }
        ["directoryObjects", "getByIds"] if ctx.method == Method::POST => get_by_ids(ctx),
        ["users"] | ["groups"] => ok(collection(vec![])),
        ["applications"] => applications(ctx).await,
        [id, tail @ ..] if id.starts_with("applications(") => {
            let app_id = alternate_key(id, "applications", "appId")
                .ok_or_else(|| GraphError::bad(format!("'{id}' is not a valid key.")))?;
            let app = find_app(&ctx.snap, app_id)?.clone();
            application(ctx, app, tail).await
        }
        ["applications", id, tail @ ..] => {
            let app = find_app(&ctx.snap, id)?.clone();
            application(ctx, app, tail).await
        }
        _ => Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{rest}'."),
        )),
    }
}

fn principals(snap: &Snapshot) -> Vec<Principal<'_>> {
    let d = snap.directory.data();
    d.identities
        .iter()
        .map(Principal::Identity)
        .chain(d.applications.iter().map(Principal::Application))
        .collect()
}

fn sp_json(p: &Principal<'_>) -> Value {
    match p {
        Principal::Identity(m) => mi_sp_json(m),
        Principal::Application(a) => json!({
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": a.principal_id.to_string(),
            "appId": a.app_id.to_string(),
            "displayName": a.display_name,
            "appDisplayName": a.display_name,
            "servicePrincipalType": "Application",
            "servicePrincipalNames": [a.app_id.to_string()],
            "alternativeNames": [],
            "accountEnabled": true,
            "appOwnerOrganizationId": a.tenant.to_string(),
        }),
    }
}

fn mi_sp_json(m: &ManagedIdentity) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": m.principal_id.to_string(),
        "appId": m.client_id.to_string(),
        "displayName": m.name.as_str(),
        "servicePrincipalType": "ManagedIdentity",
        "servicePrincipalNames": [m.client_id.to_string(), format!("https://identity.azure.net/{}", m.principal_id)],
        "alternativeNames": ["isExplicit=True", m.resource_id()],
        "accountEnabled": true,
        "appOwnerOrganizationId": m.tenant.to_string(),
    })
}

/// `servicePrincipalNames/any(c:c eq 'x')`.
fn spn_filter(filter: &str) -> Option<String> {
    let f: String = filter.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = f.to_ascii_lowercase();
    let prefix = "serviceprincipalnames/any(";
    if !lower.starts_with(prefix) {
        return None;
    }
    // `c:c eq 'x')` with the spaces removed: `c:ceq'x')`.
    let rest = f.get(prefix.len()..)?;
    let (var, body) = rest.split_once(':')?;
    let body = body.strip_prefix(var)?;
    let body = body
        .get(..2)
        .filter(|e| e.eq_ignore_ascii_case("eq"))
        .and(body.get(2..))?;
    let value = body
        .strip_suffix(')')?
        .strip_prefix('\'')?
        .strip_suffix('\'')?;
    // The value may itself have had spaces; take it from the original text.
    let start = filter.find('\'')?;
    let end = filter.rfind('\'')?;
    let original = filter.get(start + 1..end)?;
    Some(if original.replace(' ', "") == value {
        original.to_owned()
    } else {
        value.to_owned()
    })
}

fn service_principals(ctx: &Ctx) -> Result<Response, GraphError> {
    if ctx.method != Method::GET {
        return Err(method_not_allowed());
    }
    let all = principals(&ctx.snap);
    let tenant = ctx.caller.tenant;
    let mine = all.into_iter().filter(|p| p.tenant() == tenant);
    let items: Vec<Value> = match ctx.query("$filter") {
        None => mine.map(|p| sp_json(&p)).collect(),
        Some(f) => {
            if let Some(name) = spn_filter(f) {
                mine.filter(|p| sp_names(p).iter().any(|n| n.eq_ignore_ascii_case(&name)))
                    .map(|p| sp_json(&p))
                    .collect()
            } else if let Some(app) = eq_filter(f, "appId") {
                mine.filter(|p| p.app_id().to_string().eq_ignore_ascii_case(&app))
                    .map(|p| sp_json(&p))
                    .collect()
            } else if let Some(name) = eq_filter(f, "displayName") {
                mine.filter(|p| p.display_name() == name)
                    .map(|p| sp_json(&p))
                    .collect()
            } else if let Some(id) = eq_filter(f, "id") {
                mine.filter(|p| sp_id(p).eq_ignore_ascii_case(&id))
                    .map(|p| sp_json(&p))
                    .collect()
            } else {
                return Err(GraphError::bad(format!(
                    "Unsupported query filter '{f}'; wif supports servicePrincipalNames/any(c:c \
                     eq '…'), appId eq, displayName eq and id eq."
                )));
            }
        }
    };
    ok(collection(items))
}

fn sp_id(p: &Principal<'_>) -> String {
    match p {
        Principal::Identity(m) => m.principal_id.to_string(),
        Principal::Application(a) => a.principal_id.to_string(),
    }
}

fn sp_names(p: &Principal<'_>) -> Vec<String> {
    field(&sp_json(p), "servicePrincipalNames")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn get_by_ids(ctx: &Ctx) -> Result<Response, GraphError> {
    let body = ctx.json()?;
    let ids: Vec<String> = field(&body, "ids")
        .as_array()
        .ok_or_else(|| GraphError::bad("'ids' is required."))?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_ascii_lowercase))
        .collect();
    let types: Vec<String> = field(&body, "types")
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_ascii_lowercase))
                .collect()
        })
        .unwrap_or_default();
    let wants = |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    let mut out = Vec::new();
    for id in &ids {
        if wants("serviceprincipal")
            && let Some(p) = PrincipalId::parse(id)
                .ok()
                .and_then(|p| ctx.snap.directory.principal(&p))
            && p.tenant() == ctx.caller.tenant
        {
            out.push(sp_json(&p));
        } else if wants("application")
            && let Some(a) = ctx
                .snap
                .directory
                .data()
                .applications
                .iter()
                .find(|a| a.object_id.to_string() == *id && a.tenant == ctx.caller.tenant)
        {
            out.push(app_json(a));
        }
    }
    ok(collection(out))
}

fn find_app<'a>(snap: &'a Snapshot, key: &str) -> Result<&'a Application, GraphError> {
    let k = key.to_ascii_lowercase();
    snap.directory
        .data()
        .applications
        .iter()
        .find(|a| a.object_id.to_string() == k || a.app_id.to_string() == k)
        .ok_or_else(|| GraphError::not_found(key))
}

fn app_json(a: &Application) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.application",
        "id": a.object_id.to_string(),
        "appId": a.app_id.to_string(),
        "displayName": a.display_name,
        "createdDateTime": a.created_at.to_rfc3339(),
        "signInAudience": "AzureADMyOrg",
        "identifierUris": [],
        "keyCredentials": [],
        "passwordCredentials": a.secrets.iter().map(|s| json!({
            "customKeyIdentifier": null,
            "displayName": s.display_name,
            "endDateTime": s.end.to_rfc3339(),
            "hint": s.hint,
            "keyId": s.key_id.to_string(),
            "secretText": null,
            "startDateTime": s.start.to_rfc3339(),
        })).collect::<Vec<_>>(),
    })
}

async fn applications(ctx: &mut Ctx) -> Result<Response, GraphError> {
    match ctx.method {
        Method::GET => {
            let tenant = ctx.caller.tenant;
            let filter = ctx.query("$filter").map(str::to_owned);
            let apps = ctx
                .snap
                .directory
                .data()
                .applications
                .iter()
                .filter(|a| a.tenant == tenant);
            let items: Vec<Value> = match filter {
                None => apps.map(app_json).collect(),
                Some(f) => {
                    if let Some(app) = eq_filter(&f, "appId") {
                        apps.filter(|a| a.app_id.to_string().eq_ignore_ascii_case(&app))
                            .map(app_json)
                            .collect()
                    } else if let Some(name) = eq_filter(&f, "displayName") {
                        apps.filter(|a| a.display_name == name)
                            .map(app_json)
                            .collect()
                    } else {
                        return Err(GraphError::bad(format!(
                            "Unsupported query filter '{f}'; wif supports appId eq and displayName eq."
                        )));
                    }
                }
            };
            ok(collection(items))
        }
        Method::POST => {
            let body = ctx.json()?;
            let name = field(&body, "displayName")
                .as_str()
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| GraphError::bad("Property 'displayName' is required."))?
                .to_owned();
            let rng = ctx.st.rng.clone();
            let tenant = ctx.caller.tenant;
            let now = ctx.now;
            let app = Application {
                app_id: ClientId::from_uuid(new_uuid(rng.as_ref())),
                object_id: new_uuid(rng.as_ref()),
                principal_id: PrincipalId::from_uuid(new_uuid(rng.as_ref())),
                tenant,
                display_name: name,
                secrets: vec![],
                certificates: vec![],
                federated_credentials: vec![],
                created_at: now,
            };
            ctx.write(|_| Ok((vec![Write::PutApplication(app.clone())], ())))
                .await?;
            Ok((StatusCode::CREATED, axum::Json(app_json(&app))).into_response())
        }
        _ => Err(method_not_allowed()),
    }
}

async fn application(
    ctx: &mut Ctx,
    mut app: Application,
    tail: &[&str],
) -> Result<Response, GraphError> {
    if app.tenant != ctx.caller.tenant {
        return Err(GraphError::not_found(&app.object_id.to_string()));
    }
    match (tail, ctx.method.clone()) {
        ([], Method::GET) => ok(app_json(&app)),
        ([], Method::PATCH) => {
            let body = ctx.json()?;
            if let Some(n) = field(&body, "displayName").as_str() {
                app.display_name = n.to_owned();
            }
            ctx.write(|_| Ok((vec![Write::PutApplication(app)], ())))
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        ([], Method::DELETE) => {
            ctx.write(|_| Ok((vec![Write::DeleteApplication(app.app_id)], ())))
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (["addPassword"], Method::POST) => {
            let body = ctx.json()?;
            let pc = &field(&body, "passwordCredential");
            let end = match field(pc, "endDateTime").as_str() {
                Some(t) => {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .map(|d| wif_core::UnixTime::from_secs(d.unix_timestamp()))
                        .map_err(|_| {
                            GraphError::bad(format!("endDateTime '{t}' is not a date-time."))
                        })?
                }
                None => ctx.now.plus_secs(2 * 365 * 86_400),
            };
            let rng = ctx.st.rng.clone();
            let (value, record) = wif_store::secrets::new_secret(
                rng.as_ref(),
                new_uuid(rng.as_ref()),
                field(pc, "displayName").as_str().map(str::to_owned),
                ctx.now,
                end,
            );
            app.secrets.push(record.clone());
            ctx.write(|_| Ok((vec![Write::PutApplication(app)], ())))
                .await?;
            ok(json!({
                "customKeyIdentifier": null,
                "displayName": record.display_name,
                "endDateTime": record.end.to_rfc3339(),
                "hint": record.hint,
                "keyId": record.key_id.to_string(),
                "secretText": value,
                "startDateTime": record.start.to_rfc3339(),
            }))
        }
        (["removePassword"], Method::POST) => {
            let body = ctx.json()?;
            let key = field(&body, "keyId")
                .as_str()
                .and_then(|k| Uuid::parse_str(k).ok())
                .ok_or_else(|| GraphError::bad("'keyId' must be a GUID."))?;
            let before = app.secrets.len();
            app.secrets.retain(|s| s.key_id != key);
            if app.secrets.len() == before {
                return Err(GraphError::bad(format!(
                    "No password credential with keyId '{key}'."
                )));
            }
            ctx.write(|_| Ok((vec![Write::PutApplication(app)], ())))
                .await?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        (["federatedIdentityCredentials"], Method::GET) => ok(collection(
            app.federated_credentials
                .iter()
                .map(|f| fic_json(&app, f))
                .collect(),
        )),
        (["federatedIdentityCredentials"], Method::POST) => {
            let f = fic_from(&app, &ctx.json()?)?;
            if app
                .federated_credentials
                .iter()
                .any(|x| x.name.as_str().eq_ignore_ascii_case(f.name.as_str()))
            {
                return Err(GraphError::bad(format!(
                    "FederatedIdentityCredential with name {} already exists.",
                    f.name
                )));
            }
            app.federated_credentials.push(f.clone());
            let out = fic_json(&app, &f);
            ctx.write(|_| Ok((vec![Write::PutApplication(app)], ())))
                .await?;
            Ok((StatusCode::CREATED, axum::Json(out)).into_response())
        }
        (["federatedIdentityCredentials", key], method) => {
            let index = app
                .federated_credentials
                .iter()
                .position(|f| {
                    f.name.as_str().eq_ignore_ascii_case(key)
                        || fic_id(&app, f).to_string().eq_ignore_ascii_case(key)
                })
                .ok_or_else(|| GraphError::not_found(key))?;
            match method {
                Method::GET => ok(app
                    .federated_credentials
                    .get(index)
                    .map(|f| fic_json(&app, f))
                    .unwrap_or_default()),
                Method::DELETE => {
                    app.federated_credentials.remove(index);
                    ctx.write(|_| Ok((vec![Write::PutApplication(app)], ())))
                        .await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                Method::PATCH => {
                    let mut body = ctx.json()?;
                    let current = app.federated_credentials.get(index).cloned();
                    if let (Some(cur), Some(obj)) = (current, body.as_object_mut()) {
                        obj.entry("name").or_insert(json!(cur.name.as_str()));
                        obj.entry("issuer").or_insert(json!(cur.issuer.as_str()));
                        obj.entry("subject").or_insert(json!(cur.subject.as_str()));
                        obj.entry("audiences").or_insert(json!(
                            cur.audiences
                                .iter()
                                .map(Audience::as_str)
                                .collect::<Vec<_>>()
                        ));
                    }
                    let f = fic_from(&app, &body)?;
                    if let Some(slot) = app.federated_credentials.get_mut(index) {
                        *slot = f;
                    }
                    ctx.write(|_| Ok((vec![Write::PutApplication(app)], ())))
                        .await?;
                    Ok(StatusCode::NO_CONTENT.into_response())
                }
                _ => Err(method_not_allowed()),
            }
        }
        _ => Err(method_not_allowed()),
    }
}

/// A stable id for an app's federated credential (Graph addresses them by id or name).
fn fic_id(app: &Application, f: &FederatedIdentityCredential) -> Uuid {
    // FNV-1a over app id and lower-cased name: stable across restarts, no storage needed.
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in app
        .app_id
        .to_string()
        .bytes()
        .chain(f.name.as_str().to_ascii_lowercase().bytes())
    {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
    }
    uuid::Builder::from_u128(h)
        .with_variant(uuid::Variant::RFC4122)
        .with_version(uuid::Version::Random)
        .into_uuid()
}

fn fic_json(app: &Application, f: &FederatedIdentityCredential) -> Value {
    json!({
        "id": fic_id(app, f).to_string(),
        "name": f.name.as_str(),
        "issuer": f.issuer.as_str(),
        "subject": f.subject.as_str(),
        "audiences": f.audiences.iter().map(Audience::as_str).collect::<Vec<_>>(),
        "description": null,
    })
}

fn fic_from(app: &Application, body: &Value) -> Result<FederatedIdentityCredential, GraphError> {
    let text = |k: &str| field(body, k).as_str().unwrap_or_default();
    let name = CredentialName::parse(text("name"))
        .map_err(|e| GraphError::bad(format!("Invalid name: {e}.")))?;
    let issuer = Issuer::parse(text("issuer"))
        .map_err(|e| GraphError::bad(format!("Invalid issuer: {e}.")))?;
    let subject = Subject::parse(text("subject"))
        .map_err(|e| GraphError::bad(format!("Invalid subject: {e}.")))?;
    let auds = field(body, "audiences")
        .as_array()
        .cloned()
        .unwrap_or_default();
    let [aud] = auds.as_slice() else {
        return Err(GraphError::bad(
            "Federated identity credentials must have exactly 1 audience.",
        ));
    };
    let audience = Audience::parse(aud.as_str().unwrap_or_default())
        .map_err(|e| GraphError::bad(format!("Invalid audience: {e}.")))?;
    Ok(FederatedIdentityCredential {
        identity: app.app_id,
        name,
        issuer,
        subject,
        audiences: vec![audience],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spn_filters_as_the_cli_sends_them() {
        assert_eq!(
            spn_filter("servicePrincipalNames/any(c:c eq 'abc-1')").as_deref(),
            Some("abc-1")
        );
        assert_eq!(
            spn_filter("servicePrincipalNames/any(x:x eq 'https://a b')").as_deref(),
            Some("https://a b")
        );
        assert_eq!(spn_filter("appId eq 'x'"), None);
        assert_eq!(spn_filter("servicePrincipalNames/any(c:d eq 'x')"), None);
    }

    #[test]
    fn alternate_keys() {
        assert_eq!(
            alternate_key("applications(appId='a')", "applications", "appId"),
            Some("a")
        );
        assert_eq!(
            alternate_key("applications('a')", "applications", "appId"),
            Some("a")
        );
        assert_eq!(
            alternate_key("applications(a)", "applications", "appId"),
            None
        );
    }
}
