//! Everything that can go wrong in a token request, in domain terms. Each variant carries what
//! a user needs to fix it (the presented subject, the expected audience). It never carries a
//! wire code: [`crate::aadsts`] decides the AADSTS code, OAuth error and HTTP status once.

use crate::time::UnixTime;

/// A failed token request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// A required form parameter is absent or empty.
    #[error("the request is missing the parameter '{0}'")]
    MissingParameter(&'static str),
    /// The `grant_type` is not one the token service supports.
    #[error("unsupported grant type '{0}'")]
    UnsupportedGrantType(String),
    /// `client_credentials` without `client_assertion` (or a client secret).
    #[error("no client credential (client_assertion) was presented")]
    MissingClientCredential,
    /// The client secret matches none of the application's secrets (or the client is a
    /// managed identity, which has none).
    #[error("invalid client secret for '{0}'")]
    InvalidClientSecret(String),
    /// The client secret matched, but it is outside its validity window.
    #[error("the client secret of '{0}' has expired")]
    ExpiredClientSecret(String),
    /// A certificate assertion (`iss` = `sub` = the client id) names no registered certificate.
    #[error(
        "no certificate with thumbprint '{thumbprint}' is registered on application '{client}'"
    )]
    CertificateNotRegistered {
        /// The application.
        client: String,
        /// The `x5t#S256` or `x5t` the assertion named.
        thumbprint: String,
    },
    /// `client_assertion_type` is not the RFC 7523 JWT-bearer type.
    #[error("unsupported client_assertion_type '{0}'")]
    InvalidAssertionType(String),
    /// The tenant in the path is neither a known GUID nor a known domain.
    #[error("tenant '{0}' not found")]
    TenantNotFound(String),
    /// No managed identity or application with this client id in the tenant.
    #[error("application '{client_id}' not found in directory '{tenant}'")]
    ClientNotFound {
        /// The client id as presented.
        client_id: String,
        /// The tenant as presented.
        tenant: String,
    },
    /// The identity exists but has no federated identity credentials at all.
    #[error("client '{0}' has no federated identity credentials")]
    NoFederatedCredentials(String),
    /// The assertion is not a well-formed compact JWS with JSON claims.
    #[error("the client assertion is malformed: {0}")]
    MalformedAssertion(String),
    /// The assertion names an algorithm or key source wif refuses.
    #[error("the client assertion is not acceptable: {0}")]
    UnacceptableAssertion(String),
    /// The assertion was issued by Microsoft Entra itself.
    #[error("an Entra-issued token ('{0}') cannot be used as a federated assertion")]
    EntraIssuedAssertion(String),
    /// The issuer's discovery document or JWKS could not be fetched.
    #[error("could not fetch the keys of issuer '{issuer}': {reason}")]
    IssuerKeysUnavailable {
        /// The issuer.
        issuer: String,
        /// What failed (HTTP status, TLS, timeout, bad document).
        reason: String,
    },
    /// No key with this `kid` in the issuer's JWKS (after a refresh).
    #[error("no key with kid '{kid}' in the JWKS of issuer '{issuer}'")]
    KeyNotFound {
        /// The `kid` of the assertion.
        kid: String,
        /// The issuer.
        issuer: String,
    },
    /// The signature does not verify with the issuer's key.
    #[error("the client assertion signature does not verify")]
    InvalidSignature,
    /// Now is outside `[nbf, exp)` (with skew), or the lifetime is not acceptable.
    #[error(
        "the client assertion is not within its valid time range (now {now}, nbf {nbf}, exp {exp})"
    )]
    NotInTimeRange {
        /// The request time.
        now: UnixTime,
        /// `nbf` (or `iat`), or the epoch when absent.
        nbf: UnixTime,
        /// `exp`, or the epoch when absent.
        exp: UnixTime,
    },
    /// No federated credential of the client trusts the assertion's issuer.
    #[error("no federated credential trusts issuer '{0}'")]
    IssuerMismatch(String),
    /// Credentials trust the issuer, none trusts the subject.
    #[error("no federated credential trusts subject '{0}'")]
    SubjectMismatch(String),
    /// The subject matches a credential only when letter case is ignored.
    #[error("subject '{0}' matches a federated credential only case-insensitively")]
    SubjectCaseMismatch(String),
    /// Issuer and subject match; no credential trusts the audience.
    #[error("no federated credential trusts audience '{0}'")]
    AudienceMismatch(String),
    /// The v2 `scope` is not a single resource scope.
    #[error("the scope '{0}' is not valid")]
    InvalidScope(String),
    /// The v2 `scope` names a resource but lacks `/.default`.
    #[error("the scope '{0}' is not valid for client credentials: it must end in /.default")]
    ScopeNotDefault(String),
    /// The resource is not known in the tenant.
    #[error("resource '{resource}' not found in tenant '{tenant}'")]
    ResourceNotFound {
        /// The resource as presented.
        resource: String,
        /// The tenant as presented.
        tenant: String,
    },
    /// The token endpoint was called with a method other than POST (or OPTIONS).
    #[error("the token endpoint only accepts POST, not {0}")]
    MethodNotAllowed(String),
    /// The request body is not an urlencoded form, or too large.
    #[error("the request body is not valid: {0}")]
    InvalidRequestBody(String),
    /// Something inside wif failed; details are in the server log with the trace id.
    #[error("internal error")]
    Internal,
}
