//! Minting projected service-account tokens, as kubelet obtains them through the
//! `TokenRequest` API for a projected volume: RS256, signed by the cluster issuer's active
//! key, `aud` an array, `nbf` = `iat`, and the `kubernetes.io` binding object.

use std::time::Duration;

use wif_core::RandomSource;
use wif_core::claims::{KubernetesClaims, ObjectRef, ServiceAccountClaims};
use wif_core::directory::Cluster;
use wif_core::ids::{Namespace, ServiceAccountName, Subject};
use wif_core::random::new_uuid;
use wif_core::time::UnixTime;
use wif_jose::{SignError, SigningKey};

/// Shortest token lifetime Kubernetes allows for a projected token (10 minutes).
pub const MIN_EXPIRATION: Duration = Duration::from_secs(600);
/// Longest lifetime wif mints (48 h). Key rotation keeps retired cluster keys published this
/// long, so every token a retired key signed still verifies until it expires.
pub const MAX_EXPIRATION: Duration = Duration::from_secs(48 * 3600);

/// What to mint.
#[derive(Clone, Debug)]
pub struct ServiceAccountTokenRequest {
    /// Namespace.
    pub namespace: Namespace,
    /// Service account.
    pub service_account: ServiceAccountName,
    /// Audiences (`api://AzureADTokenExchange` for workload identity).
    pub audiences: Vec<String>,
    /// Lifetime.
    pub expiration: Duration,
    /// Moves `iat`/`nbf` into the past (to rehearse expiry).
    pub backdate: Duration,
    /// The pod the token is bound to, if any: (name, uid).
    pub pod: Option<(String, String)>,
    /// The service account's `metadata.uid`; derived from its name when `None`.
    pub service_account_uid: Option<String>,
    /// Allow lifetimes below Kubernetes' 10-minute minimum (down to 10 s), for expiry drills
    /// such as `wif run --token-expiration 15s`.
    pub drill: bool,
}

/// The shortest lifetime an expiry drill may ask for.
pub const MIN_DRILL_EXPIRATION: Duration = Duration::from_secs(10);

/// A token request outside Kubernetes' bounds.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// Lifetime not in [10 min, 48 h].
    #[error("expiration {0:?} is out of range: use between 10m and 48h")]
    Expiration(Duration),
    /// No audience.
    #[error("at least one audience is required")]
    NoAudience,
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// The uid of a service account the directory does not hold: derived from (cluster, namespace,
/// name), so it is stable across tokens, as a real object's uid is.
pub fn service_account_uid(cluster: &Cluster, ns: &Namespace, sa: &ServiceAccountName) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{}/{ns}/{sa}", cluster.guid).as_bytes(),
    );
    let mut bytes = [0u8; 16];
    for (dst, src) in bytes.iter_mut().zip(digest.as_ref()) {
        *dst = *src;
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Mints and signs one token.
pub fn mint_service_account_token(
    cluster: &Cluster,
    key: &SigningKey,
    req: &ServiceAccountTokenRequest,
    now: UnixTime,
    rng: &dyn RandomSource,
) -> Result<String, MintError> {
    let min = if req.drill {
        MIN_DRILL_EXPIRATION
    } else {
        MIN_EXPIRATION
    };
    if req.expiration < min || req.expiration > MAX_EXPIRATION {
        return Err(MintError::Expiration(req.expiration));
    }
    if req.audiences.is_empty() {
        return Err(MintError::NoAudience);
    }
    let iat = now.minus_secs(i64::try_from(req.backdate.as_secs()).unwrap_or(i64::MAX));
    let exp = iat.plus(req.expiration);
    let claims = ServiceAccountClaims {
        aud: req.audiences.clone(),
        exp: exp.as_secs(),
        iat: iat.as_secs(),
        iss: cluster.issuer.as_str().to_owned(),
        jti: new_uuid(rng).to_string(),
        nbf: iat.as_secs(),
        sub: Subject::for_service_account(&req.namespace, &req.service_account)
            .as_str()
            .to_owned(),
        kubernetes: KubernetesClaims {
            namespace: req.namespace.as_str().to_owned(),
            node: None,
            pod: req.pod.as_ref().map(|(name, uid)| ObjectRef {
                name: name.clone(),
                uid: uid.clone(),
            }),
            serviceaccount: ObjectRef {
                name: req.service_account.as_str().to_owned(),
                uid: req.service_account_uid.clone().unwrap_or_else(|| {
                    service_account_uid(cluster, &req.namespace, &req.service_account)
                }),
            },
        },
    };
    Ok(key.sign_jwt(&claims, &[])?)
}
