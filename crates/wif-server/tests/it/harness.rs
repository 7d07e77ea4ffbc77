//! The router under test, built the way `benches/exchange.rs` builds it from the testkit fixture,
//! but with a [`TestClock`] the test moves, a [`FakeFetcher`] the test controls in place of
//! OIDC discovery over HTTPS, and a sign-in writer the test can drain. Requests go through
//! `tower::ServiceExt::oneshot` (STYLE.md §7: the router is the least powerful test that proves
//! HTTP behaviour).
//!
//! Also the helpers every module shares: form bodies, assertions minted with the cluster key or
//! built by hand (for `alg: none`, HMAC, embedded keys and wrong-key signatures), and the one
//! check every Entra error must pass.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use uuid::Uuid;
use wif_core::directory::{FederatedIdentityCredential, ManagedIdentity, Subscription, Tenant};
use wif_core::ids::{
    Audience, ClientId, CredentialName, IdentityName, Issuer, Namespace, PrincipalId,
    ResourceGroupName, ServiceAccountName, Subject, SubscriptionId, TenantDomain, TenantId,
};
use wif_core::time::UnixTime;
use wif_jose::{CachePolicy, FetchError, FetchedJwks, Jwks, JwksCache, JwksFetcher, b64};
use wif_server::issuer::mint::{ServiceAccountTokenRequest, mint_service_account_token};
use wif_server::state::{AppState, Authority, HostNames, StsPolicy};
use wif_server::{app, signin};
use wif_store::model::{SignInQuery, SignInRecord, Write};
use wif_store::snapshot::{SnapshotBuilder, SnapshotHandle};
use wif_testkit::fixture::{
    CLUSTER_KEY, EXTERNAL_ISSUER, EXTERNAL_KEY, EXTERNAL_SUBJECT, Fixture, SUBJECT,
};
use wif_testkit::{SeededRandom, TestClock, rsa_key, rsa_key_der};

/// The instant every harness starts at (2027-01-15 08:00:00Z).
pub const START: i64 = 1_800_000_000;
/// The assertion audience every fixture credential trusts.
pub const EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// RFC 7523's `client_assertion_type`.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The v2 scope most requests use.
pub const VAULT_SCOPE: &str = "https://vault.azure.net/.default";
/// The host and port of [`wif_testkit::fixture::ORIGIN`].
pub const HOST_PORT: &str = "wif.test:8443";
/// The tenant of [`Harness::foreign_identity`], which the fixture's tenant does not own.
pub const FOREIGN_TENANT: &str = "0f0f0f0f-0000-4000-8000-00000000f0f0";

/// A [`JwksFetcher`] standing in for OIDC discovery: it serves the public key of test key
/// [`EXTERNAL_KEY`] for [`EXTERNAL_ISSUER`], fails for any other issuer, can be switched to fail
/// for every issuer, and counts its calls.
#[derive(Debug, Default)]
pub struct FakeFetcher {
    calls: AtomicUsize,
    failing: AtomicBool,
    asked: Mutex<Vec<String>>,
}

impl FakeFetcher {
    /// How many fetches were made.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// The issuers fetched, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Makes every later fetch fail (`true`) or succeed again (`false`).
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl JwksFetcher for FakeFetcher {
    async fn fetch(&self, issuer: &str) -> Result<FetchedJwks, FetchError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.asked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(issuer.to_owned());
        if self.failing.load(Ordering::SeqCst) {
            return Err(FetchError(format!(
                "GET {issuer}.well-known/openid-configuration: connection refused"
            )));
        }
        if issuer != EXTERNAL_ISSUER {
            return Err(FetchError(format!("{issuer} is not served by the fake")));
        }
        Ok(FetchedJwks {
            jwks: Jwks {
                keys: vec![rsa_key(EXTERNAL_KEY).public_jwk()],
            },
            max_age: None,
        })
    }
}

/// One response, fully read.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (panics with the body text when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?} (status {})",
                String::from_utf8_lossy(&self.body),
                self.status
            )
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text, for failure messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A token request: the path and the form fields, in order.
#[derive(Clone, Debug)]
pub struct Call {
    /// Request path (and query).
    pub path: String,
    /// Form fields; encoded when sent unless [`Call::raw_body`] is set.
    pub fields: Vec<(String, String)>,
    /// A body sent as is instead of the fields.
    pub raw_body: Option<Vec<u8>>,
    /// Extra request headers.
    pub headers: Vec<(String, String)>,
}

impl Call {
    /// A POST to `path` with no fields.
    pub fn to(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            fields: Vec::new(),
            raw_body: None,
            headers: Vec::new(),
        }
    }

    /// Adds (or replaces) a field.
    pub fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        if let Some(slot) = self.fields.iter_mut().find(|(k, _)| k == name) {
            slot.1 = value;
        } else {
            self.fields.push((name.to_owned(), value));
        }
        self
    }

    /// Removes a field.
    pub fn without(mut self, name: &str) -> Self {
        self.fields.retain(|(k, _)| k != name);
        self
    }

    /// Sends `body` verbatim instead of the fields.
    pub fn raw(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.raw_body = Some(body.into());
        self
    }

    /// Adds a request header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The urlencoded body.
    pub fn body(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw_body {
            return raw.clone();
        }
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.fields {
            s.append_pair(k, v);
        }
        s.finish().into_bytes()
    }
}

/// The router, its state and the handles a test needs to steer it.
pub struct Harness {
    /// The testkit directory (store, key-encryption key, objects).
    pub fixture: Fixture,
    /// The clock the server reads.
    pub clock: Arc<TestClock>,
    /// The stand-in for OIDC discovery.
    pub fetcher: Arc<FakeFetcher>,
    /// The snapshot handle the server reads.
    pub handle: SnapshotHandle,
    /// The state the router was built from.
    pub state: AppState,
    /// An identity of [`FOREIGN_TENANT`] with a credential trusting the fixture cluster's
    /// `default/workload` (so only its tenant is wrong).
    pub foreign_identity: ManagedIdentity,
    router: Router,
    writer: JoinHandle<()>,
}

impl Harness {
    /// The fixture at [`START`], plus [`Harness::foreign_identity`].
    pub async fn new() -> Self {
        let now = UnixTime::from_secs(START);
        let fixture = Fixture::new(now).await.unwrap();
        let foreign_identity = add_foreign_tenant(&fixture, now).await;
        let handle = SnapshotHandle::new(
            SnapshotBuilder::new(
                fixture.store.clone(),
                fixture.kek.clone(),
                served_resources(),
            )
            .build(None)
            .await
            .unwrap(),
        );
        let clock = Arc::new(TestClock::at(now));
        let fetcher = Arc::new(FakeFetcher::default());
        let (signins, writer) = signin::spawn_writer(fixture.store.clone(), 1024);
        let (kv_audit, _kv_audit_task) =
            wif_server::keyvault::spawn_audit_writer(fixture.store.clone(), 1024);
        let (activity, _activity_task) = signin::spawn_activity_writer(fixture.store.clone(), 1024);
        let state = AppState {
            snapshot: handle.clone(),
            clock: clock.clone(),
            rng: Arc::new(SeededRandom::new(1)),
            authority: Authority::new("wif.test", 8443),
            names: HostNames::local(Authority::new("wif.test", 8443), 8443),
            jwks: Arc::new(JwksCache::new(fetcher.clone(), CachePolicy::default())),
            signins,
            policy: StsPolicy::default(),
            keyvault: Some(wif_server::keyvault::KeyVaultState {
                store: fixture.store.clone(),
                kek: fixture.kek.clone(),
                audit: kv_audit,
            }),
            management: Some(wif_server::arm::ManagementState::new(
                fixture.store.clone(),
                Arc::new(SnapshotBuilder::new(
                    fixture.store.clone(),
                    fixture.kek.clone(),
                    served_resources(),
                )),
                fixture.kek.clone(),
                activity,
            )),
        };
        let router = app::router(state.clone());
        Self {
            fixture,
            clock,
            fetcher,
            handle,
            state,
            foreign_identity,
            router,
            writer,
        }
    }

    /// What the server's clock reads.
    pub fn now(&self) -> UnixTime {
        wif_core::Clock::now(self.clock.as_ref())
    }

    /// The fixture tenant's id as text.
    pub fn tid(&self) -> String {
        self.fixture.tenant.id.to_string()
    }

    /// The fixture identity's client id as text.
    pub fn client_id(&self) -> String {
        self.fixture.identity.client_id.to_string()
    }

    /// The cluster issuer, exactly as stored (with its trailing slash).
    pub fn issuer(&self) -> String {
        self.fixture.cluster.issuer.as_str().to_owned()
    }

    /// Sends one request.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    /// POSTs a call as `application/x-www-form-urlencoded`.
    pub async fn call(&self, call: &Call) -> Reply {
        let mut req = Request::post(&call.path).header(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded;charset=utf-8",
        );
        for (k, v) in &call.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        self.send(req.body(Body::from(call.body())).unwrap()).await
    }

    /// The v2 token path of the fixture tenant.
    pub fn v2_path(&self) -> String {
        format!("/{}/oauth2/v2.0/token", self.tid())
    }

    /// A v2 request for the vault that succeeds: the fixture identity, `assertion`.
    pub fn v2(&self, assertion: &str) -> Call {
        Call::to(self.v2_path())
            .set("grant_type", "client_credentials")
            .set("client_id", self.client_id())
            .set("scope", VAULT_SCOPE)
            .set("client_assertion_type", JWT_BEARER)
            .set("client_assertion", assertion)
    }

    /// [`Harness::v2`] with a fresh cluster assertion.
    pub fn v2_valid(&self) -> Call {
        self.v2(&self.assertion())
    }

    /// A projected token for `default/workload`, valid now, signed by the cluster key.
    pub fn assertion(&self) -> String {
        self.minted(SUBJECT_NS, SUBJECT_SA, self.now(), Duration::ZERO)
    }

    /// A projected token for `ns/sa` minted as at `now`, `backdate` seconds older, for 1 h
    /// (or 10 min when backdated, so expiry tests control `exp` exactly).
    pub fn minted(&self, ns: &str, sa: &str, now: UnixTime, backdate: Duration) -> String {
        let key = rsa_key(CLUSTER_KEY);
        self.minted_with(&key, ns, sa, now, backdate)
    }

    /// As [`Harness::minted`], with `key` in place of the cluster key.
    pub fn minted_with(
        &self,
        key: &wif_jose::SigningKey,
        ns: &str,
        sa: &str,
        now: UnixTime,
        backdate: Duration,
    ) -> String {
        let expiration = if backdate.is_zero() {
            Duration::from_secs(3600)
        } else {
            Duration::from_secs(600)
        };
        let request = ServiceAccountTokenRequest {
            namespace: Namespace::parse(ns).unwrap(),
            service_account: ServiceAccountName::parse(sa).unwrap(),
            audiences: vec![EXCHANGE_AUDIENCE.to_owned()],
            expiration,
            backdate,
            pod: Some((
                "workload-0".into(),
                "0f0e0d0c-0b0a-4908-8706-050403020100".into(),
            )),
            service_account_uid: None,
            drill: false,
        };
        mint_service_account_token(
            &self.fixture.cluster,
            key,
            &request,
            now,
            &SeededRandom::new(9),
        )
        .unwrap()
    }

    /// Claims a valid cluster assertion would carry, for hand-built variants.
    pub fn cluster_claims(&self) -> Value {
        let now = self.now().as_secs();
        serde_json::json!({
            "aud": [EXCHANGE_AUDIENCE],
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "iss": self.issuer(),
            "sub": SUBJECT,
        })
    }

    /// Claims a valid external-issuer assertion would carry (sign with [`EXTERNAL_KEY`]).
    pub fn external_claims(&self) -> Value {
        let now = self.now().as_secs();
        serde_json::json!({
            "aud": EXCHANGE_AUDIENCE,
            "exp": now + 3600,
            "iat": now,
            "nbf": now,
            "iss": EXTERNAL_ISSUER,
            "sub": EXTERNAL_SUBJECT,
        })
    }

    /// Rebuilds the snapshot from the store, as the watcher does, and serves it.
    pub async fn rebuild_snapshot(&self) {
        let old = self.handle.load();
        let next = SnapshotBuilder::new(
            self.fixture.store.clone(),
            self.fixture.kek.clone(),
            served_resources(),
        )
        .build(Some(&old))
        .await
        .unwrap();
        self.handle.store(next);
    }

    /// Drops the router and state (every sign-in sink), waits for the writer to flush, and
    /// returns every sign-in record, newest first.
    pub async fn finish(self) -> Vec<SignInRecord> {
        let Self {
            fixture,
            router,
            state,
            writer,
            ..
        } = self;
        drop(router);
        drop(state);
        writer.await.unwrap();
        fixture
            .store
            .sign_ins(&SignInQuery::default())
            .await
            .unwrap()
    }
}

/// Namespace of the trusted service account.
pub const SUBJECT_NS: &str = "default";
/// Name of the trusted service account.
pub const SUBJECT_SA: &str = "workload";

/// Adds a second tenant with an identity trusting the fixture cluster's `default/workload`.
async fn add_foreign_tenant(fixture: &Fixture, now: UnixTime) -> ManagedIdentity {
    let tenant = TenantId::parse(FOREIGN_TENANT).unwrap();
    let subscription = SubscriptionId::from_uuid(Uuid::from_u128(0xf5));
    let identity = ManagedIdentity {
        name: IdentityName::parse("id-foreign").unwrap(),
        tenant,
        subscription,
        resource_group: ResourceGroupName::parse("rg-foreign").unwrap(),
        location: fixture.identity.location.clone(),
        client_id: ClientId::from_uuid(Uuid::from_u128(0xc11e_f00d)),
        principal_id: PrincipalId::from_uuid(Uuid::from_u128(0x0b1d_f00d)),
        created_at: now,
        tags: Default::default(),
    };
    let writes = vec![
        Write::PutTenant(Tenant {
            id: tenant,
            domain: TenantDomain::parse("fabrikam.onmicrosoft.com").unwrap(),
            display_name: "fabrikam".into(),
            created_at: now,
        }),
        Write::PutSubscription(Subscription {
            id: subscription,
            tenant,
            display_name: "foreign".into(),
        }),
        Write::PutIdentity(identity.clone()),
        Write::PutCredential(FederatedIdentityCredential {
            identity: identity.client_id,
            name: CredentialName::parse("fic-foreign").unwrap(),
            issuer: Issuer::parse(fixture.cluster.issuer.as_str()).unwrap(),
            subject: Subject::parse(SUBJECT).unwrap(),
            audiences: vec![Audience::token_exchange()],
        }),
    ];
    fixture.store.apply(&writes).await.unwrap();
    identity
}

/// A compact JWS with exactly this header and these claims, signed RS256 by test key `n`
/// (whatever `kid` the header names). For wrong-key signatures and embedded-key headers.
pub fn sign_rs256_raw(n: usize, header: &Value, claims: &Value) -> String {
    sign_rs256_text(n, &header.to_string(), &claims.to_string())
}

/// As [`sign_rs256_raw`], with the header and claims as literal JSON text (for repeated member
/// names, which a `serde_json::Value` cannot hold).
pub fn sign_rs256_text(n: usize, header: &str, claims: &str) -> String {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    let input = format!(
        "{}.{}",
        b64::encode(header.as_bytes()),
        b64::encode(claims.as_bytes())
    );
    let pair = RsaKeyPair::from_pkcs8(rsa_key_der(n)).unwrap();
    let mut sig = vec![0; pair.public_modulus_len()];
    pair.sign(
        &RSA_PKCS1_SHA256,
        &SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{input}.{}", b64::encode(&sig))
}

/// A compact JWS with this header and claims and a signature of the given bytes (or none).
pub fn unsigned_jws(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(header.to_string().as_bytes()),
        b64::encode(claims.to_string().as_bytes()),
        b64::encode(signature)
    )
}

/// The OAuth `error` Entra sends with each code (`sdk-wire.md` §6.4), written out here
/// independently of `wif_core::aadsts` so the test checks the catalogue rather than echoing it.
pub fn entra_error_of(code: u32) -> &'static str {
    match code {
        90002 | 900144 | 50027 | 700222 | 90061 | 900561 => "invalid_request",
        70003 => "unsupported_grant_type",
        700016 => "unauthorized_client",
        7000216 | 70025 | 700211 | 700212 | 700213 | 7002138 | 700024 | 700027 | 7000215
        | 7000222 => "invalid_client",
        70011 | 1002012 => "invalid_scope",
        500011 => "invalid_resource",
        other => panic!("no expected OAuth error written down for AADSTS{other}"),
    }
}

/// Checks everything an Entra error must carry (`sdk-wire.md` §6.3, §7.1) and returns the body:
/// status, `error`, `error_codes == [code]`, a description starting `AADSTS<code>: ` with the
/// trace id, correlation id and timestamp, those three as fields, the JSON content type, and no
/// `Retry-After`.
pub fn assert_entra_error(reply: &Reply, status: u16, code: u32) -> Value {
    let body = reply.json();
    let context = || format!("status {} body {body}", reply.status);
    assert_eq!(reply.status.as_u16(), status, "{}", context());
    assert_eq!(body["error"], entra_error_of(code), "{}", context());
    assert_eq!(
        body["error_codes"],
        serde_json::json!([code]),
        "{}",
        context()
    );
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{}",
        context()
    );
    for part in ["Trace ID: ", "Correlation ID: ", "Timestamp: "] {
        assert!(description.contains(part), "no '{part}' in {}", context());
    }
    for field in ["timestamp", "trace_id", "correlation_id"] {
        let value = body[field].as_str().unwrap_or_default();
        assert!(!value.is_empty(), "no '{field}' in {}", context());
        assert!(
            description.contains(value),
            "description lacks {field}: {}",
            context()
        );
    }
    for field in ["trace_id", "correlation_id"] {
        assert!(
            Uuid::parse_str(body[field].as_str().unwrap_or_default()).is_ok(),
            "{field} is not a GUID: {}",
            context()
        );
    }
    assert_eq!(
        reply.header("content-type"),
        Some("application/json; charset=utf-8"),
        "{}",
        context()
    );
    // Entra echoes the trace id as x-ms-request-id and the correlation id as client-request-id.
    assert_eq!(reply.header("x-ms-request-id"), body["trace_id"].as_str());
    assert_eq!(
        reply.header("client-request-id"),
        body["correlation_id"].as_str()
    );
    assert!(
        reply.headers.get(header::RETRY_AFTER).is_none(),
        "a {status} must not carry Retry-After"
    );
    body
}

/// The claims of a base64url JWT segment (header or payload), unverified.
pub fn decode_segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&b64::decode(part).unwrap()).unwrap()
}

/// The token audiences the harness's node serves besides the well-known ones.
pub fn served_resources() -> Vec<String> {
    vec![
        "https://vault.localhost:8443".to_owned(),
        "https://wif.test:8443/graph".to_owned(),
    ]
}
