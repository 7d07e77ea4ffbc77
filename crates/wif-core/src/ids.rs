//! Identifiers on the trust chain. Raw text becomes one of these types where it enters (a
//! handler, a CLI argument, a topology file, a store row); past that point, holding the type
//! proves the value is valid. Each compares the way its contract does: issuer, subject and
//! audience exactly and case-sensitively (Entra's federated-credential rules), GUIDs as GUIDs,
//! DNS-style names in lower case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Why an identifier was rejected; the message says what shape was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} '{value}': {reason}")]
pub struct InvalidId {
    /// Which identifier (for example `issuer`).
    pub kind: &'static str,
    /// The rejected text, truncated for display.
    pub value: String,
    /// What the value must look like.
    pub reason: &'static str,
}

impl InvalidId {
    fn new(kind: &'static str, value: &str, reason: &'static str) -> Self {
        let value: String = value.chars().take(200).collect();
        Self {
            kind,
            value,
            reason,
        }
    }
}

/// Defines a string newtype with `parse`, `FromStr`, `TryFrom<String>`, `as_str`, `Display`
/// and serde through `try_from`, so deserialising cannot skip the check.
macro_rules! string_id {
    ($(#[$m:meta])* $name:ident, $check:path) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Parses and validates the text.
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                $check(s).map(Self)
            }
            /// The text as given (normalised where the contract says so).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// Defines a GUID newtype (parsed to [`Uuid`], printed lower-case hyphenated, as Azure does).
macro_rules! guid_id {
    ($(#[$m:meta])* $name:ident, $kind:literal) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// Parses a GUID in any of the usual spellings (case-insensitive, braces allowed).
            pub fn parse(s: &str) -> Result<Self, InvalidId> {
                Uuid::parse_str(s.trim_matches(|c| c == '{' || c == '}'))
                    .map(Self)
                    .map_err(|_| InvalidId::new($kind, s, "expected a GUID such as 00000000-0000-0000-0000-000000000000"))
            }
            /// Wraps a GUID.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }
            /// The GUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }
        impl FromStr for $name {
            type Err = InvalidId;
            fn from_str(s: &str) -> Result<Self, InvalidId> {
                Self::parse(s)
            }
        }
        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(s: String) -> Result<Self, InvalidId> {
                Self::parse(&s)
            }
        }
        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0.to_string()
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }
    };
}

guid_id!(
    /// A Microsoft Entra tenant (directory) id.
    TenantId,
    "tenant id"
);
guid_id!(
    /// An application (client) id: a managed identity's `clientId` or an app registration's `appId`.
    ClientId,
    "client id"
);
guid_id!(
    /// A service principal's object id (`principalId` of a managed identity; `oid` in tokens).
    PrincipalId,
    "principal id"
);
guid_id!(
    /// An Azure subscription id.
    SubscriptionId,
    "subscription id"
);
guid_id!(
    /// The GUID that names an AKS cluster in its issuer URL.
    ClusterGuid,
    "cluster id"
);

/// Federated-credential fields are at most 600 characters (Entra's documented limit).
pub const FIC_FIELD_MAX: usize = 600;

fn check_issuer(s: &str) -> Result<String, InvalidId> {
    const K: &str = "issuer";
    if s.is_empty() || s.len() > FIC_FIELD_MAX {
        return Err(InvalidId::new(K, s, "must be 1 to 600 characters"));
    }
    if s.trim() != s {
        return Err(InvalidId::new(
            K,
            s,
            "must not have leading or trailing whitespace",
        ));
    }
    let url = url::Url::parse(s).map_err(|_| InvalidId::new(K, s, "must be an absolute URL"))?;
    if url.scheme() != "https" {
        return Err(InvalidId::new(K, s, "must be an https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(InvalidId::new(K, s, "must not have a query or fragment"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(InvalidId::new(K, s, "must have a host"));
    }
    Ok(s.to_owned())
}

string_id!(
    /// An OIDC issuer URL as presented. Entra compares issuers as exact, case-sensitive strings
    /// (a missing trailing slash is the classic AKS mistake), so the original text is kept and
    /// only its shape is checked: https, no query or fragment, at most 600 characters.
    Issuer,
    check_issuer
);

impl Issuer {
    /// The OIDC discovery URL: `<issuer>/.well-known/openid-configuration` (OIDC Discovery §4,
    /// with exactly one slash between the issuer and the well-known path).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.0.trim_end_matches('/')
        )
    }
}

fn check_fic_text(kind: &'static str, s: &str) -> Result<String, InvalidId> {
    if s.is_empty() || s.len() > FIC_FIELD_MAX {
        return Err(InvalidId::new(kind, s, "must be 1 to 600 characters"));
    }
    if s.trim() != s {
        return Err(InvalidId::new(
            kind,
            s,
            "must not have leading or trailing whitespace",
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(InvalidId::new(
            kind,
            s,
            "must not contain control characters",
        ));
    }
    Ok(s.to_owned())
}

fn check_subject(s: &str) -> Result<String, InvalidId> {
    check_fic_text("subject", s)
}

fn check_audience(s: &str) -> Result<String, InvalidId> {
    check_fic_text("audience", s)
}

string_id!(
    /// A federated credential's subject (`sub`), compared exactly and case-sensitively.
    Subject,
    check_subject
);
string_id!(
    /// A federated credential's audience (`aud`), compared exactly and case-sensitively.
    Audience,
    check_audience
);

impl Audience {
    /// `api://AzureADTokenExchange`, the audience Entra recommends and AKS projects.
    pub fn token_exchange() -> Self {
        Self("api://AzureADTokenExchange".to_owned())
    }
}

impl Subject {
    /// The subject kubelet puts in a projected token: `system:serviceaccount:<ns>:<name>`.
    pub fn for_service_account(ns: &Namespace, sa: &ServiceAccountName) -> Self {
        Self(format!("system:serviceaccount:{ns}:{sa}"))
    }
}

fn check_key_id(s: &str) -> Result<String, InvalidId> {
    if s.is_empty() || s.len() > 256 || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(InvalidId::new(
            "key id",
            s,
            "must be 1 to 256 printable ASCII characters",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// A JWK key id (`kid`); wif's own are RFC 7638 thumbprints.
    KeyId,
    check_key_id
);

fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn check_region(s: &str) -> Result<String, InvalidId> {
    let lower = s.to_ascii_lowercase();
    if !is_dns_label(&lower, 40) || !lower.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(InvalidId::new(
            "region",
            s,
            "must be 1 to 40 letters, digits or hyphens starting with a letter, like eastus",
        ));
    }
    Ok(lower)
}

string_id!(
    /// An Azure region name such as `eastus` (case-insensitive; kept in lower case).
    RegionName,
    check_region
);

fn check_tenant_domain(s: &str) -> Result<String, InvalidId> {
    let lower = s.to_ascii_lowercase();
    let ok =
        lower.len() <= 253 && lower.contains('.') && lower.split('.').all(|l| is_dns_label(l, 63));
    if !ok {
        return Err(InvalidId::new(
            "tenant domain",
            s,
            "must be a DNS name such as contoso.onmicrosoft.com",
        ));
    }
    Ok(lower)
}

string_id!(
    /// A tenant's verified domain (`contoso.onmicrosoft.com`), case-insensitive.
    TenantDomain,
    check_tenant_domain
);

/// How a request names a tenant: by GUID or by one of its domains (Entra accepts both).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TenantRef {
    /// By tenant id.
    Id(TenantId),
    /// By verified domain.
    Domain(TenantDomain),
}

impl TenantRef {
    /// Parses a tenant path segment.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        if let Ok(id) = TenantId::parse(s) {
            return Ok(Self::Id(id));
        }
        TenantDomain::parse(s)
            .map(Self::Domain)
            .map_err(|_| InvalidId::new("tenant", s, "expected a tenant GUID or domain name"))
    }
}

impl fmt::Display for TenantRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(id) => id.fmt(f),
            Self::Domain(d) => d.fmt(f),
        }
    }
}

fn check_cluster_name(s: &str) -> Result<String, InvalidId> {
    let ok = !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        return Err(InvalidId::new(
            "cluster name",
            s,
            "must be 1 to 63 letters, digits, hyphens or underscores, starting and ending with a letter or digit",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// An AKS cluster name (ARM rules: 1–63 characters; compared case-insensitively by ARM).
    ClusterName,
    check_cluster_name
);

fn check_identity_name(s: &str) -> Result<String, InvalidId> {
    let ok = (3..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        return Err(InvalidId::new(
            "identity name",
            s,
            "must be 3 to 128 letters, digits, hyphens or underscores, starting with a letter or digit",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// A user-assigned managed identity's name.
    IdentityName,
    check_identity_name
);

fn check_credential_name(s: &str) -> Result<String, InvalidId> {
    let ok = (3..=120).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        return Err(InvalidId::new(
            "federated identity credential name",
            s,
            "must be 3 to 120 letters, digits, hyphens or underscores, starting with a letter or digit",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// A federated identity credential's name (3–120 characters, `[A-Za-z0-9][A-Za-z0-9_-]*`).
    CredentialName,
    check_credential_name
);

fn check_resource_group(s: &str) -> Result<String, InvalidId> {
    let ok = (1..=90).contains(&s.len())
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'))
        && !s.ends_with('.');
    if !ok {
        return Err(InvalidId::new(
            "resource group name",
            s,
            "must be 1 to 90 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// A resource group name (ARM treats it case-insensitively; the original casing is kept).
    ResourceGroupName,
    check_resource_group
);

fn check_namespace(s: &str) -> Result<String, InvalidId> {
    if !is_dns_label(s, 63) {
        return Err(InvalidId::new(
            "namespace",
            s,
            "must be a DNS-1123 label: 1 to 63 lower-case letters, digits or '-'",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// A Kubernetes namespace (DNS-1123 label).
    Namespace,
    check_namespace
);

fn check_service_account(s: &str) -> Result<String, InvalidId> {
    let ok = s.len() <= 253 && s.split('.').all(|l| is_dns_label(l, 63));
    if !ok {
        return Err(InvalidId::new(
            "service account name",
            s,
            "must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.'",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// A Kubernetes service account name (DNS-1123 subdomain).
    ServiceAccountName,
    check_service_account
);

fn check_vault_name(s: &str) -> Result<String, InvalidId> {
    let ok = (3..=24).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !s.contains("--");
    if !ok {
        return Err(InvalidId::new(
            "vault name",
            s,
            "must be 3 to 24 letters, digits or single hyphens, starting with a letter and ending with a letter or digit",
        ));
    }
    Ok(s.to_ascii_lowercase())
}

string_id!(
    /// A Key Vault name: the first label of the vault's host name, so it is kept in lower case
    /// (vault names are globally unique and compared case-insensitively, like DNS).
    VaultName,
    check_vault_name
);

fn check_secret_name(s: &str) -> Result<String, InvalidId> {
    let ok =
        (1..=127).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        return Err(InvalidId::new(
            "secret name",
            s,
            "must be 1 to 127 letters, digits or hyphens",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// A Key Vault secret name (1–127 letters, digits and hyphens; Key Vault compares names
    /// case-insensitively and keeps the casing of the first version).
    SecretName,
    check_secret_name
);

fn check_storage_account_name(s: &str) -> Result<String, InvalidId> {
    let ok = (3..=24).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !ok {
        return Err(InvalidId::new(
            "storage account name",
            s,
            "must be 3 to 24 lower-case letters or digits",
        ));
    }
    Ok(s.to_owned())
}

string_id!(
    /// A storage account name: 3–24 lower-case letters and digits, globally unique (it is the
    /// first label of the account's host names).
    StorageAccountName,
    check_storage_account_name
);

/// The resource a token is for, from a v2 `scope` (`<resource>/.default`) or a v1 `resource`.
/// Kept as presented (minus the `/.default` suffix); lookups compare without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resource(String);

impl Resource {
    /// Parses a v1 `resource` parameter: an absolute URI (`https://vault.azure.net`,
    /// `api://...`) or an application id GUID.
    pub fn parse(s: &str) -> Result<Self, InvalidId> {
        if s.is_empty() || s.len() > 1024 || s.trim() != s || s.chars().any(char::is_whitespace) {
            return Err(InvalidId::new(
                "resource",
                s,
                "must be a URI or application id",
            ));
        }
        if Uuid::parse_str(s).is_ok() || url::Url::parse(s).is_ok() {
            return Ok(Self(s.to_owned()));
        }
        Err(InvalidId::new(
            "resource",
            s,
            "must be a URI or application id",
        ))
    }

    /// Parses a v2 `scope` for the client-credentials grant: exactly one `<resource>/.default`.
    pub fn from_scope(scope: &str) -> Result<Self, ScopeError> {
        let mut parts = scope.split_whitespace();
        let first = parts.next().ok_or(ScopeError::Empty)?;
        // MSAL adds the OIDC scopes to every request it makes; they do not name a resource.
        let rest: Vec<&str> = parts
            .filter(|p| !matches!(*p, "openid" | "profile" | "offline_access"))
            .collect();
        let first = if matches!(first, "openid" | "profile" | "offline_access") {
            match rest.first() {
                Some(s) if rest.len() == 1 => *s,
                _ => return Err(ScopeError::Invalid(scope.to_owned())),
            }
        } else if rest.is_empty() {
            first
        } else {
            return Err(ScopeError::Invalid(scope.to_owned()));
        };
        let Some(resource) = first.strip_suffix("/.default") else {
            return Err(ScopeError::NotDefault(first.to_owned()));
        };
        Self::parse(resource).map_err(|_| ScopeError::Invalid(scope.to_owned()))
    }

    /// The resource as presented.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lookup key: lower case, no trailing slash (`https://vault.azure.net/` and
    /// `https://Vault.azure.net` name the same resource).
    pub fn key(&self) -> String {
        self.0.trim_end_matches('/').to_ascii_lowercase()
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a v2 `scope` cannot be used for an app-only (client-credentials) token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// No scope at all.
    #[error("the scope is empty")]
    Empty,
    /// Not a single resource scope.
    #[error("the scope '{0}' is not valid")]
    Invalid(String),
    /// A resource scope without `/.default`.
    #[error("the scope '{0}' does not end in /.default")]
    NotDefault(String),
}

#[cfg(test)]
mod tests;
