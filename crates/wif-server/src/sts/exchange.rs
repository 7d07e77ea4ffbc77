//! The token exchange: one client-credentials request with a federated client assertion
//! (RFC 7523 §2.2) becomes an Entra-shaped access token, or exactly one [`ExchangeError`].
//!
//! Order of checks (Entra's, with one deliberate change):
//! tenant → grant → client id → scope/resource → client → credential presented → assertion
//! type → resource known → client has federated credentials → assertion parses → issuer is
//! not Entra → **some credential trusts the issuer** → issuer keys → signature → time →
//! subject/audience match. The issuer check comes before any key fetch so an assertion can
//! never make wif fetch from an issuer no credential names (request forgery); Entra's codes
//! are unchanged by this except that an untrusted issuer is reported (700211) before expiry.

use std::sync::Arc;

use serde_json::Value;
use wif_core::claims::AccessTokenClaims;
use wif_core::directory::{Application, FederatedIdentityCredential, ManagedIdentity, Tenant};
use wif_core::exchange::ExchangeError;
use wif_core::fic::{MatchFailure, match_credential, trusts_issuer};
use wif_core::ids::{ClientId, Resource, ScopeError, TenantRef};
use wif_core::random::{new_token_id, new_uuid};
use wif_core::time::UnixTime;
use wif_jose::{Algorithm, CacheError, KeySet, UnverifiedJwt, VerifyError};
use wif_store::model::{KeyOwner, SignInRecord};
use wif_store::snapshot::Snapshot;

use super::model::{JWT_BEARER, TokenForm};
use crate::state::AppState;

/// Which token endpoint was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/oauth2/token` with `resource`.
    V1,
    /// `/oauth2/v2.0/token` with `scope`.
    V2,
}

/// A minted access token.
#[derive(Debug)]
pub struct Issued {
    /// The JWT.
    pub access_token: String,
    /// Lifetime in seconds from now.
    pub expires_in: u64,
    /// `nbf`.
    pub not_before: UnixTime,
    /// `exp`.
    pub expires_on: UnixTime,
    /// The resource as the token's `aud`.
    pub resource: String,
}

/// Entra's own token issuers: their tokens may not be used as federated assertions.
const ENTRA_ISSUER_HOSTS: &[&str] = &[
    "login.microsoftonline.com",
    "login.windows.net",
    "login.microsoft.com",
    "sts.windows.net",
];

/// Longest assertion accepted (a projected token is about 1 KiB).
pub const MAX_ASSERTION_LEN: usize = 16 * 1024;

/// Runs one exchange against `snap`, filling `log` as facts become known.
pub async fn exchange(
    st: &AppState,
    snap: &Snapshot,
    tenant_segment: &str,
    form: &TokenForm,
    endpoint: Endpoint,
    now: UnixTime,
    log: &mut SignInRecord,
) -> Result<Issued, ExchangeError> {
    let tenant = find_tenant(snap, tenant_segment)?;
    log.tenant_id = Some(tenant.id);

    let grant = form
        .grant_type
        .as_deref()
        .ok_or(ExchangeError::MissingParameter("grant_type"))?;
    if grant != "client_credentials" {
        return Err(ExchangeError::UnsupportedGrantType(grant.to_owned()));
    }
    let client_text = form
        .client_id
        .as_deref()
        .ok_or(ExchangeError::MissingParameter("client_id"))?;
    let resource = requested_resource(form, endpoint)?;
    log.resource = Some(resource.as_str().to_owned());

    let client = find_client(snap, tenant, client_text, tenant_segment)?;
    log.identity = Some(client.log_name());

    let assertion = match (&form.client_assertion, &form.client_secret) {
        (Some(a), _) => a.as_str(),
        (None, Some(secret)) => {
            check_secret(&client, client_text, secret, now)?;
            if !snap.directory.is_known_resource(&resource.key()) {
                return Err(ExchangeError::ResourceNotFound {
                    resource: resource.as_str().to_owned(),
                    tenant: tenant_segment.to_owned(),
                });
            }
            log.credential = Some("client_secret".to_owned());
            return mint(st, snap, tenant, &client, &resource, now, true);
        }
        (None, None) => return Err(ExchangeError::MissingClientCredential),
    };
    match form.client_assertion_type.as_deref() {
        None => return Err(ExchangeError::MissingParameter("client_assertion_type")),
        Some(JWT_BEARER) => {}
        Some(other) => return Err(ExchangeError::InvalidAssertionType(other.to_owned())),
    }
    if !snap.directory.is_known_resource(&resource.key()) {
        return Err(ExchangeError::ResourceNotFound {
            resource: resource.as_str().to_owned(),
            tenant: tenant_segment.to_owned(),
        });
    }
    if let Client::Application(app) = &client
        && is_certificate_assertion(assertion, client_text)
    {
        verify_certificate_assertion(st, app, assertion, tenant, now, log)?;
        log.credential = Some("certificate".to_owned());
        return mint(st, snap, tenant, &client, &resource, now, false);
    }
    let credentials = snap.directory.credentials(&client.client_id());
    if credentials.is_empty() {
        return Err(ExchangeError::NoFederatedCredentials(
            client_text.to_owned(),
        ));
    }

    let verified_claims = verify_assertion(st, snap, assertion, &credentials, now, log).await?;
    let matched = match_assertion(&credentials, &verified_claims, log)?;
    log.credential = Some(matched.name.as_str().to_owned());

    mint(st, snap, tenant, &client, &resource, now, false)
}

/// The confidential client a request names: a managed identity or an app registration.
enum Client<'a> {
    Identity(&'a ManagedIdentity),
    Application(&'a Application),
}

impl Client<'_> {
    fn client_id(&self) -> ClientId {
        match self {
            Self::Identity(m) => m.client_id,
            Self::Application(a) => a.app_id,
        }
    }

    /// How the sign-in log names it: the identity's ARM id, or `/applications/<appId>`.
    fn log_name(&self) -> String {
        match self {
            Self::Identity(m) => m.resource_id(),
            Self::Application(a) => format!("/applications/{}", a.app_id),
        }
    }
}

/// Thumbprints compare as bytes: RFC 7515 says base64url, but MSAL Python sends standard base64
/// with padding (Entra accepts both).
fn same_thumbprint(presented: &str, stored: &str) -> bool {
    let norm = |s: &str| -> String {
        s.trim_end_matches('=')
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                other => other,
            })
            .collect()
    };
    norm(presented) == norm(stored)
}

/// A certificate assertion is issued by the client about itself: `iss` = `sub` = client id.
fn is_certificate_assertion(assertion: &str, client: &str) -> bool {
    UnverifiedJwt::parse(assertion).is_ok_and(|jwt| {
        let c = jwt.unverified_claims();
        let is = |k: &str| {
            c.get(k)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(client))
        };
        is("iss") && is("sub")
    })
}

/// Verifies a client certificate assertion (RFC 7523 §2.2 with a registered certificate): the
/// certificate named by `x5t#S256` or `x5t`, its validity, the signature, the audience (this
/// tenant's token endpoint) and the time window.
fn verify_certificate_assertion(
    st: &AppState,
    app: &Application,
    assertion: &str,
    tenant: &Tenant,
    now: UnixTime,
    log: &mut SignInRecord,
) -> Result<(), ExchangeError> {
    let jwt = UnverifiedJwt::parse(assertion)
        .map_err(|e| ExchangeError::MalformedAssertion(format!("{e}.")))?;
    let header = jwt.header();
    let thumbprint = header
        .x5t_s256
        .clone()
        .or_else(|| header.x5t.clone())
        .unwrap_or_default();
    log.assertion_issuer = Some(app.app_id.to_string());
    let cert = app
        .certificates
        .iter()
        .find(|c| {
            header
                .x5t_s256
                .as_deref()
                .is_some_and(|t| same_thumbprint(t, &c.x5t_s256))
                || header
                    .x5t
                    .as_deref()
                    .is_some_and(|t| same_thumbprint(t, &c.x5t))
        })
        .filter(|c| c.start <= now && now < c.end)
        .ok_or_else(|| ExchangeError::CertificateNotRegistered {
            client: app.app_id.to_string(),
            thumbprint: thumbprint.clone(),
        })?;
    let jwk: wif_jose::Jwk = serde_json::from_str(&cert.public_jwk).map_err(|e| {
        tracing::error!(error = %e, "a stored certificate key does not parse");
        ExchangeError::Internal
    })?;
    let key = wif_jose::VerifyingKey::from_jwk(&jwk).map_err(|e| {
        tracing::error!(error = %e, "a stored certificate key is unusable");
        ExchangeError::Internal
    })?;
    let mut keys = KeySet::default();
    keys.insert(header.kid.clone().unwrap_or_default(), key);
    let verified = jwt.verify(&keys).map_err(|e| match e {
        VerifyError::InvalidSignature | VerifyError::KeyAlgorithmMismatch { .. } => {
            ExchangeError::InvalidSignature
        }
        other => ExchangeError::UnacceptableAssertion(format!("{other}.")),
    })?;
    let claims = verified.claims();
    check_time(claims, now, st.policy.clock_skew.as_secs())?;
    let endpoints: Vec<String> = st
        .names
        .authorities
        .iter()
        .flat_map(|a| {
            [tenant.id.to_string(), tenant.domain.as_str().to_owned()]
                .into_iter()
                .flat_map(move |t| {
                    [
                        format!("{}/{t}/oauth2/v2.0/token", a.origin()),
                        format!("{}/{t}/oauth2/token", a.origin()),
                    ]
                })
        })
        .collect();
    let auds = audiences(claims.get("aud")).unwrap_or_default();
    log.assertion_audience = Some(auds.join(" "));
    if !auds
        .iter()
        .any(|a| endpoints.iter().any(|e| e.eq_ignore_ascii_case(a)))
    {
        return Err(ExchangeError::UnacceptableAssertion(format!(
            "The client assertion's audience must be this tenant's token endpoint, such as '{}'; it is '{}'.",
            endpoints.first().map(String::as_str).unwrap_or_default(),
            auds.join(" ")
        )));
    }
    Ok(())
}

/// Checks a client secret: only app registrations have them, and a matching secret must be
/// within its validity window.
fn check_secret(
    client: &Client<'_>,
    client_text: &str,
    presented: &str,
    now: UnixTime,
) -> Result<(), ExchangeError> {
    let Client::Application(app) = client else {
        return Err(ExchangeError::InvalidClientSecret(client_text.to_owned()));
    };
    let matched = app
        .secrets
        .iter()
        .find(|s| wif_store::secrets::matches(s, presented))
        .ok_or_else(|| ExchangeError::InvalidClientSecret(client_text.to_owned()))?;
    if now < matched.start || now >= matched.end {
        return Err(ExchangeError::ExpiredClientSecret(client_text.to_owned()));
    }
    Ok(())
}

fn find_tenant<'a>(snap: &'a Snapshot, segment: &str) -> Result<&'a Tenant, ExchangeError> {
    TenantRef::parse(segment)
        .ok()
        .and_then(|r| snap.directory.tenant(&r))
        .ok_or_else(|| ExchangeError::TenantNotFound(segment.to_owned()))
}

fn requested_resource(form: &TokenForm, endpoint: Endpoint) -> Result<Resource, ExchangeError> {
    match endpoint {
        Endpoint::V2 => {
            let scope = form
                .scope
                .as_deref()
                .ok_or(ExchangeError::MissingParameter("scope"))?;
            Resource::from_scope(scope).map_err(|e| match e {
                ScopeError::NotDefault(s) => ExchangeError::ScopeNotDefault(s),
                ScopeError::Empty | ScopeError::Invalid(_) => {
                    ExchangeError::InvalidScope(scope.to_owned())
                }
            })
        }
        Endpoint::V1 => {
            let resource = form
                .resource
                .as_deref()
                .ok_or(ExchangeError::MissingParameter("resource"))?;
            Resource::parse(resource).map_err(|_| ExchangeError::ResourceNotFound {
                resource: resource.to_owned(),
                tenant: String::new(),
            })
        }
    }
}

fn find_client<'a>(
    snap: &'a Snapshot,
    tenant: &Tenant,
    client_text: &str,
    tenant_segment: &str,
) -> Result<Client<'a>, ExchangeError> {
    let not_found = || ExchangeError::ClientNotFound {
        client_id: client_text.to_owned(),
        tenant: tenant_segment.to_owned(),
    };
    let client = ClientId::parse(client_text).map_err(|_| not_found())?;
    if let Some(m) = snap
        .directory
        .identity(&client)
        .filter(|m| m.tenant == tenant.id)
    {
        return Ok(Client::Identity(m));
    }
    snap.directory
        .application(&client)
        .filter(|a| a.tenant == tenant.id)
        .map(Client::Application)
        .ok_or_else(not_found)
}

/// The verified claims the match needs.
struct AssertionClaims {
    issuer: String,
    subject: String,
    audiences: Vec<String>,
}

async fn verify_assertion(
    st: &AppState,
    snap: &Snapshot,
    assertion: &str,
    credentials: &[&FederatedIdentityCredential],
    now: UnixTime,
    log: &mut SignInRecord,
) -> Result<AssertionClaims, ExchangeError> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(ExchangeError::MalformedAssertion(format!(
            "The assertion is {} bytes; at most {MAX_ASSERTION_LEN} are accepted.",
            assertion.len()
        )));
    }
    let jwt = UnverifiedJwt::parse(assertion)
        .map_err(|e| ExchangeError::MalformedAssertion(format!("{e}.")))?;
    let issuer = jwt
        .issuer()
        .ok_or_else(|| {
            ExchangeError::MalformedAssertion("The assertion has no 'iss' claim.".into())
        })?
        .to_owned();
    log.assertion_issuer = Some(issuer.clone());
    if let Some(sub) = jwt.unverified_claims().get("sub").and_then(Value::as_str) {
        log.assertion_subject = Some(sub.to_owned());
    }
    log.assertion_audience = audiences(jwt.unverified_claims().get("aud")).map(|a| a.join(" "));

    if is_entra_issuer(&issuer) {
        return Err(ExchangeError::EntraIssuedAssertion(issuer));
    }
    // Refuse bad algorithms and embedded keys before any key fetch.
    let header = jwt.header();
    if Algorithm::parse(&header.alg).is_none() {
        return Err(ExchangeError::UnacceptableAssertion(format!(
            "The signing algorithm '{}' is not supported; use RS256, PS256 or ES256.",
            header.alg
        )));
    }
    if let Some(member) = header.has_embedded_key {
        return Err(ExchangeError::UnacceptableAssertion(format!(
            "The assertion header carries its own key source '{member}'; keys come only from the issuer's JWKS."
        )));
    }
    if !trusts_issuer(credentials, &issuer) {
        return Err(ExchangeError::IssuerMismatch(issuer));
    }

    let keys = issuer_keys(st, snap, &issuer, header.kid.as_deref(), now).await?;
    let verified = jwt.verify(&keys).map_err(|e| match e {
        VerifyError::KeyNotFound { kid } => ExchangeError::KeyNotFound {
            kid,
            issuer: issuer.clone(),
        },
        VerifyError::InvalidSignature | VerifyError::KeyAlgorithmMismatch { .. } => {
            ExchangeError::InvalidSignature
        }
        other => ExchangeError::UnacceptableAssertion(format!("{other}.")),
    })?;
    let claims = verified.claims();

    check_time(claims, now, st.policy.clock_skew.as_secs())?;
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ExchangeError::MalformedAssertion("The assertion has no 'sub' claim.".into())
        })?
        .to_owned();
    let audiences = audiences(claims.get("aud")).ok_or_else(|| {
        ExchangeError::MalformedAssertion("The assertion has no 'aud' claim.".into())
    })?;
    Ok(AssertionClaims {
        issuer,
        subject,
        audiences,
    })
}

fn is_entra_issuer(issuer: &str) -> bool {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .is_some_and(|host| {
            ENTRA_ISSUER_HOSTS
                .iter()
                .any(|h| host == *h || host.ends_with(&format!(".{h}")))
        })
}

/// `aud` as a list: a string or an array of strings (RFC 7519 §4.1.3).
fn audiences(aud: Option<&Value>) -> Option<Vec<String>> {
    match aud? {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => {
            let v: Vec<String> = items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect();
            (!v.is_empty()).then_some(v)
        }
        _ => None,
    }
}

/// The keys of `issuer`: from the snapshot when wif hosts it, else by OIDC discovery.
async fn issuer_keys(
    st: &AppState,
    snap: &Snapshot,
    issuer: &str,
    kid: Option<&str>,
    now: UnixTime,
) -> Result<Arc<KeySet>, ExchangeError> {
    if let Some(cluster) = snap.directory.cluster_by_issuer(issuer) {
        return Ok(snap
            .keys_of(&KeyOwner::Cluster(cluster.guid))
            .map(|k| k.key_set_at(now))
            .unwrap_or_default());
    }
    st.jwks.keys(issuer, kid, now).await.map_err(|e| match e {
        CacheError::Unavailable { issuer, reason } => {
            ExchangeError::IssuerKeysUnavailable { issuer, reason }
        }
        CacheError::KeyNotFound { kid } => ExchangeError::KeyNotFound {
            kid,
            issuer: issuer.to_owned(),
        },
    })
}

/// A NumericDate claim (integers, or finite decimals truncated, per RFC 7519 §2).
fn numeric_date(claims: &serde_json::Map<String, Value>, name: &str) -> Option<UnixTime> {
    let v = claims.get(name)?;
    if let Some(i) = v.as_i64() {
        return Some(UnixTime::from_secs(i));
    }
    v.as_f64()
        .filter(|f| f.is_finite() && f.abs() < 1e15)
        .map(|f| UnixTime::from_secs(f.trunc() as i64))
}

fn check_time(
    claims: &serde_json::Map<String, Value>,
    now: UnixTime,
    skew: u64,
) -> Result<(), ExchangeError> {
    let skew = i64::try_from(skew).unwrap_or(300);
    let exp = numeric_date(claims, "exp");
    let nbf = numeric_date(claims, "nbf");
    let iat = numeric_date(claims, "iat");
    let valid_from = nbf.or(iat).unwrap_or(UnixTime::EPOCH);
    let fail = || ExchangeError::NotInTimeRange {
        now,
        nbf: valid_from,
        exp: exp.unwrap_or(UnixTime::EPOCH),
    };
    let exp = exp.ok_or_else(fail)?;
    let not_yet = now.plus_secs(skew) < valid_from;
    let issued_in_future = iat.is_some_and(|i| i > now.plus_secs(skew));
    let expired = now.minus_secs(skew) >= exp;
    if not_yet || issued_in_future || expired {
        return Err(fail());
    }
    Ok(())
}

fn match_assertion<'a>(
    credentials: &[&'a FederatedIdentityCredential],
    claims: &AssertionClaims,
    log: &mut SignInRecord,
) -> Result<&'a FederatedIdentityCredential, ExchangeError> {
    log.assertion_subject = Some(claims.subject.clone());
    log.assertion_audience = Some(claims.audiences.join(" "));
    match_credential(
        credentials,
        &claims.issuer,
        &claims.subject,
        &claims.audiences,
    )
    .map_err(|f| match f {
        MatchFailure::Issuer => ExchangeError::IssuerMismatch(claims.issuer.clone()),
        MatchFailure::SubjectCase => ExchangeError::SubjectCaseMismatch(claims.subject.clone()),
        MatchFailure::Subject => ExchangeError::SubjectMismatch(claims.subject.clone()),
        MatchFailure::Audience => ExchangeError::AudienceMismatch(claims.audiences.join(" ")),
    })
}

/// Entra backdates `iat`/`nbf` of issued tokens by five minutes to absorb clock skew.
const ISSUE_BACKDATE_SECS: i64 = 300;

fn mint(
    st: &AppState,
    snap: &Snapshot,
    tenant: &Tenant,
    client: &Client<'_>,
    resource: &Resource,
    now: UnixTime,
    by_secret: bool,
) -> Result<Issued, ExchangeError> {
    let Some(keys) = snap.keys_of(&KeyOwner::Tenant(tenant.id)) else {
        tracing::error!(tenant = %tenant.id, "tenant has no signing key");
        return Err(ExchangeError::Internal);
    };
    let lifetime = st.policy.token_lifetime.as_secs();
    let issued_at = now.minus_secs(ISSUE_BACKDATE_SECS);
    let expires_on = now.plus_secs(i64::try_from(lifetime).unwrap_or(86_400));
    let issuer = st.authority.tenant_v1_issuer(&tenant.id);
    let (principal, app_id, mirid) = match client {
        Client::Identity(m) => (m.principal_id, m.client_id, Some(m.resource_id())),
        Client::Application(a) => (a.principal_id, a.app_id, None),
    };
    // appidacr: 1 for a client secret, 2 for a certificate or federated assertion.
    let appidacr = if by_secret { "1" } else { "2" };
    let principal = principal.to_string();
    let rng = st.rng.as_ref();
    let claims = AccessTokenClaims {
        aud: resource.as_str().to_owned(),
        iss: issuer.clone(),
        iat: issued_at.as_secs(),
        nbf: issued_at.as_secs(),
        exp: expires_on.as_secs(),
        aio: new_token_id(rng, 48),
        appid: app_id.to_string(),
        appidacr: appidacr.to_owned(),
        idp: issuer,
        idtyp: "app".to_owned(),
        oid: principal.clone(),
        rh: format!("0.{}.", new_token_id(rng, 36)),
        sub: principal,
        tid: tenant.id.to_string(),
        uti: new_token_id(rng, 16),
        ver: "1.0".to_owned(),
        xms_mirid: mirid,
        xms_tcdt: Some(tenant.created_at.as_secs()),
    };
    let kid = keys.active.kid().as_str().to_owned();
    let access_token = keys
        .active
        .sign_jwt(&claims, &[("x5t", kid.as_str())])
        .map_err(|e| {
            tracing::error!(error = %e, "signing an access token failed");
            ExchangeError::Internal
        })?;
    Ok(Issued {
        access_token,
        expires_in: lifetime,
        not_before: issued_at,
        expires_on,
        resource: resource.as_str().to_owned(),
    })
}

/// A fresh sign-in record for a request.
pub fn new_log(
    st: &AppState,
    now: UnixTime,
    tenant: &str,
    form: &TokenForm,
    correlation_id: uuid::Uuid,
    trace_id: uuid::Uuid,
) -> SignInRecord {
    SignInRecord::arriving(
        (new_uuid(st.rng.as_ref()), correlation_id, trace_id),
        now,
        tenant,
        form.client_id.as_deref().unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn time_window_with_skew() {
        let now = UnixTime::from_secs(10_000);
        let ok = claims(json!({"exp": 10_100, "nbf": 9_000, "iat": 9_000}));
        assert!(check_time(&ok, now, 300).is_ok());
        let expired = claims(json!({"exp": 9_600, "nbf": 6_000}));
        assert!(check_time(&expired, now, 300).is_err());
        let within_skew = claims(json!({"exp": 9_800, "nbf": 6_000}));
        assert!(check_time(&within_skew, now, 300).is_ok());
        let future = claims(json!({"exp": 20_000, "nbf": 10_400}));
        assert!(check_time(&future, now, 300).is_err());
        let no_exp = claims(json!({"nbf": 9_000}));
        match check_time(&no_exp, now, 300) {
            Err(ExchangeError::NotInTimeRange { exp, .. }) => assert_eq!(exp, UnixTime::EPOCH),
            other => panic!("{other:?}"),
        }
        let float = claims(json!({"exp": 10_100.5, "nbf": 9_000.2}));
        assert!(check_time(&float, now, 300).is_ok());
    }

    #[test]
    fn thumbprints_in_either_base64() {
        assert!(same_thumbprint(
            "WIW7pDeIMmEQAySsIs8FPwI4BE8=",
            "WIW7pDeIMmEQAySsIs8FPwI4BE8"
        ));
        assert!(same_thumbprint("a+b/c==", "a-b_c"));
        assert!(!same_thumbprint("abc", "abd"));
    }

    #[test]
    fn entra_issuers_are_recognised() {
        assert!(is_entra_issuer("https://login.microsoftonline.com/t/v2.0"));
        assert!(is_entra_issuer("https://sts.windows.net/t/"));
        assert!(!is_entra_issuer("https://oidc.prod-aks.azure.com/t/c/"));
        assert!(!is_entra_issuer("not a url"));
    }

    #[test]
    fn audience_forms() {
        assert_eq!(audiences(Some(&json!("a"))), Some(vec!["a".to_owned()]));
        assert_eq!(
            audiences(Some(&json!(["a", "b"]))),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(audiences(Some(&json!([]))), None);
        assert_eq!(audiences(Some(&json!(5))), None);
        assert_eq!(audiences(None), None);
    }
}
