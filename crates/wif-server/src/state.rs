//! The state every router shares: the directory snapshot (the only thing the data plane reads
//! on the hot path), the injected clock and randomness, the public origin, the remote-JWKS
//! cache and the sign-in log sink. Cloning is cheap (everything is behind `Arc`).

use std::sync::Arc;
use std::time::Duration;

use wif_core::ids::{ClusterGuid, RegionName, TenantId};
use wif_core::{Clock, RandomSource};
use wif_jose::JwksCache;
use wif_store::snapshot::SnapshotHandle;

use crate::signin::SignInSink;

/// The public origin clients reach wif at, such as `https://localhost:8443`. Issuer URLs and
/// discovery documents are built from it, never from the request's `Host` header, so an
/// issuer stays the same string whichever name a client used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authority {
    origin: String,
    host_port: String,
}

impl Authority {
    /// `https://<host>[:<port>]`, omitting `:443`.
    pub fn new(host: &str, port: u16) -> Self {
        let host_port = if port == 443 {
            host.to_owned()
        } else {
            format!("{host}:{port}")
        };
        Self {
            origin: format!("https://{host_port}"),
            host_port,
        }
    }

    /// `https://host:port` (no trailing slash).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `host:port` as MSAL compares it.
    pub fn host_port(&self) -> &str {
        &self.host_port
    }

    /// The v1 token issuer of a tenant (Entra: `https://sts.windows.net/<tid>/`).
    pub fn tenant_v1_issuer(&self, tenant: &TenantId) -> String {
        format!("{}/{tenant}/", self.origin)
    }

    /// The v2 issuer of a tenant (Entra: `https://login.microsoftonline.com/<tid>/v2.0`).
    pub fn tenant_v2_issuer(&self, tenant: &TenantId) -> String {
        format!("{}/{tenant}/v2.0", self.origin)
    }

    /// A cluster issuer in AKS's shape: `https://<host>/<region>/<tenant>/<cluster-guid>/`.
    pub fn cluster_issuer(
        &self,
        region: &RegionName,
        tenant: &TenantId,
        guid: &ClusterGuid,
    ) -> String {
        format!("{}/{region}/{tenant}/{guid}/", self.origin)
    }
}

/// Token-service policy.
#[derive(Clone, Copy, Debug)]
pub struct StsPolicy {
    /// Lifetime of issued access tokens (Entra gives managed identities about 24 h).
    pub token_lifetime: Duration,
    /// Clock skew tolerated on assertion `nbf`/`exp`/`iat`.
    pub clock_skew: Duration,
}

impl Default for StsPolicy {
    fn default() -> Self {
        Self {
            token_lifetime: Duration::from_secs(24 * 3600),
            clock_skew: Duration::from_secs(300),
        }
    }
}

/// Shared state of the issuer and token-service routers.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The directory snapshot.
    pub snapshot: SnapshotHandle,
    /// The clock, read once per request.
    pub clock: Arc<dyn Clock>,
    /// Randomness for ids.
    pub rng: Arc<dyn RandomSource>,
    /// The public origin.
    pub authority: Authority,
    /// Keys of issuers wif does not host, by OIDC discovery.
    pub jwks: Arc<JwksCache>,
    /// The sign-in log.
    pub signins: SignInSink,
    /// Token-service policy.
    pub policy: StsPolicy,
}
