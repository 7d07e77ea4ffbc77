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
    entra: bool,
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
            entra: false,
        }
    }

    /// wif answering as Entra's public-cloud authority, `https://login.microsoftonline.com`
    /// (`wif up --azure-names`). Its v1 tokens carry Entra's own v1 issuer,
    /// `https://sts.windows.net/<tid>/`.
    pub fn entra() -> Self {
        Self {
            entra: true,
            ..Self::new(ENTRA_HOST, 443)
        }
    }

    /// Whether this is [`Authority::entra`].
    pub fn is_entra(&self) -> bool {
        self.entra
    }

    /// `https://host:port` (no trailing slash).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `host:port` as MSAL compares it.
    pub fn host_port(&self) -> &str {
        &self.host_port
    }

    /// The v1 token issuer of a tenant: `<origin>/<tid>/`, or Entra's
    /// `https://sts.windows.net/<tid>/` for [`Authority::entra`].
    pub fn tenant_v1_issuer(&self, tenant: &TenantId) -> String {
        if self.entra {
            format!("https://sts.windows.net/{tenant}/")
        } else {
            format!("{}/{tenant}/", self.origin)
        }
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

/// The names wif answers as, besides the canonical [`Authority`].
///
/// Local names (the default): the authority is `https://localhost:<port>` and a vault is
/// `https://<vault>.vault.localhost:<port>`. With `wif up --azure-names`, wif also answers as
/// `https://login.microsoftonline.com` and `https://<vault>.vault.azure.net` on port 443.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostNames {
    /// Every authority wif answers as. The first is the canonical one (the same as
    /// [`AppState::authority`]); a request whose `Host` names none of them is answered as the
    /// canonical one.
    pub authorities: Vec<Authority>,
    /// DNS suffixes vaults are served under, each with the port clients use with it (443 is
    /// omitted from URLs): a request for `<vault>.<suffix>[:port]` reaches that vault.
    pub vault_suffixes: Vec<VaultSuffix>,
}

/// A DNS suffix vaults are served under, such as `vault.localhost` on port 8443.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VaultSuffix {
    /// The suffix without a leading dot, in lower case: `vault.localhost`, `vault.azure.net`.
    pub suffix: String,
    /// The port clients use (443 for Azure names).
    pub port: u16,
}

impl VaultSuffix {
    /// The challenge resource for vaults under this suffix: `https://<suffix>[:port]`. The
    /// vault host ends with `.` + this host, so every SDK's challenge-resource check passes
    /// (Python also compares the port, which is why it is included when not 443).
    pub fn resource(&self) -> String {
        if self.port == 443 {
            format!("https://{}", self.suffix)
        } else {
            format!("https://{}:{}", self.suffix, self.port)
        }
    }
}

impl HostNames {
    /// Local names only: the authority and `vault.localhost` on its port.
    pub fn local(authority: Authority, port: u16) -> Self {
        Self {
            authorities: vec![authority],
            vault_suffixes: vec![VaultSuffix {
                suffix: "vault.localhost".to_owned(),
                port,
            }],
        }
    }
}

/// Entra's public-cloud authority host.
pub const ENTRA_HOST: &str = "login.microsoftonline.com";

impl HostNames {
    /// Local names plus Azure names: wif also answers as `login.microsoftonline.com` and serves
    /// vaults as `<vault>.vault.azure.net`, both on port 443.
    pub fn with_azure_names(mut self) -> Self {
        self.authorities.push(Authority::entra());
        self.vault_suffixes.push(VaultSuffix {
            suffix: "vault.azure.net".to_owned(),
            port: 443,
        });
        self
    }

    /// The authority a request for `host` (without port) is answered as: one of
    /// [`HostNames::authorities`] by host name, else the canonical one. A `Host` header never
    /// makes wif put an arbitrary name into issuers.
    pub fn authority_for_host(&self, host: &str) -> Option<&Authority> {
        self.authorities.iter().skip(1).find(|a| {
            a.host_port()
                .split(':')
                .next()
                .is_some_and(|h| h.eq_ignore_ascii_case(host.trim_end_matches('.')))
        })
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
    /// Every name wif answers as (authorities and vault suffixes).
    pub names: HostNames,
    /// Keys of issuers wif does not host, by OIDC discovery.
    pub jwks: Arc<JwksCache>,
    /// The sign-in log.
    pub signins: SignInSink,
    /// Token-service policy.
    pub policy: StsPolicy,
    /// The Key Vault data plane's store, key and audit log (`None`: Key Vault is not served).
    pub keyvault: Option<crate::keyvault::KeyVaultState>,
    /// The management API's store access (`None`: ARM and Graph are not served).
    pub management: Option<crate::arm::ManagementState>,
}
