//! The AADSTS catalogue: for each [`ExchangeError`], the code, OAuth `error`, HTTP status and
//! message Microsoft Entra gives (texts from Entra responses quoted in issue threads; see
//! `../shared/spec/sdk-wire.md` §6.4 and `docs/errors.md`). Decided once, here; the STS's
//! `error.rs` only adds trace id, correlation id and timestamp and writes JSON.
//!
//! Statuses follow Entra: 401 for `invalid_client`, 400 otherwise, 500 for server errors. No
//! 4xx carries `Retry-After` (azure-core retries any status that does).

use crate::exchange::ExchangeError;

/// The OAuth 2.0 `error` value (RFC 6749 §5.2, plus Entra's use of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    /// `invalid_request`
    InvalidRequest,
    /// `invalid_client`
    InvalidClient,
    /// `unauthorized_client`
    UnauthorizedClient,
    /// `unsupported_grant_type`
    UnsupportedGrantType,
    /// `invalid_scope`
    InvalidScope,
    /// `invalid_resource`
    InvalidResource,
    /// `server_error`
    ServerError,
}

impl OAuthError {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidResource => "invalid_resource",
            Self::ServerError => "server_error",
        }
    }

    /// The HTTP status Entra sends with it.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::ServerError => 500,
            Self::InvalidRequest
            | Self::UnauthorizedClient
            | Self::UnsupportedGrantType
            | Self::InvalidScope
            | Self::InvalidResource => 400,
        }
    }
}

/// One AADSTS answer: code, OAuth error and the message (without the trace/correlation tail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aadsts {
    /// The numeric code (`700213`).
    pub code: u32,
    /// The OAuth error.
    pub error: OAuthError,
    /// The message after `AADSTSnnnn: `.
    pub message: String,
}

impl Aadsts {
    fn new(code: u32, error: OAuthError, message: impl Into<String>) -> Self {
        Self {
            code,
            error,
            message: message.into(),
        }
    }

    /// HTTP status.
    pub fn status(&self) -> u16 {
        self.error.status()
    }
}

const FIC_HINT: &str = "Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";

impl From<&ExchangeError> for Aadsts {
    fn from(err: &ExchangeError) -> Self {
        use ExchangeError::*;
        use OAuthError::{
            InvalidClient, InvalidRequest, InvalidResource, ServerError, UnauthorizedClient,
        };
        match err {
            MissingParameter(name) => Aadsts::new(
                900144,
                InvalidRequest,
                format!("The request body must contain the following parameter: '{name}'."),
            ),
            UnsupportedGrantType(grant) => Aadsts::new(
                70003,
                OAuthError::UnsupportedGrantType,
                format!("The app requested an unsupported grant type '{grant}'."),
            ),
            MissingClientCredential => Aadsts::new(
                7000216,
                InvalidClient,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            ),
            InvalidClientSecret(client) => Aadsts::new(
                7000215,
                InvalidClient,
                format!(
                    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client}'."
                ),
            ),
            ExpiredClientSecret(client) => Aadsts::new(
                7000222,
                InvalidClient,
                format!(
                    "The provided client secret keys for app '{client}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
                ),
            ),
            CertificateNotRegistered { client, thumbprint } => Aadsts::new(
                700027,
                InvalidClient,
                format!(
                    "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client}'.]"
                ),
            ),
            InvalidAssertionType(t) => Aadsts::new(
                50027,
                InvalidRequest,
                format!(
                    "JWT token is invalid or malformed. Unsupported client_assertion_type '{t}'; use 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."
                ),
            ),
            TenantNotFound(tenant) => Aadsts::new(
                90002,
                InvalidRequest,
                format!(
                    "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
                ),
            ),
            ClientNotFound { client_id, tenant } => Aadsts::new(
                700016,
                UnauthorizedClient,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
                ),
            ),
            NoFederatedCredentials(client) => Aadsts::new(
                70025,
                InvalidClient,
                format!("The client '{client}' has no configured federated identity credentials."),
            ),
            MalformedAssertion(reason) => Aadsts::new(
                50027,
                InvalidRequest,
                format!("JWT token is invalid or malformed. {reason}"),
            ),
            UnacceptableAssertion(reason) => Aadsts::new(
                50027,
                InvalidRequest,
                format!("JWT token is invalid or malformed. {reason}"),
            ),
            EntraIssuedAssertion(_) => Aadsts::new(
                700222,
                InvalidRequest,
                "AAD-issued tokens may not be used for federated identity flows.",
            ),
            IssuerKeysUnavailable { issuer, reason } => Aadsts::new(
                90061,
                InvalidRequest,
                format!(
                    "Request to External OIDC endpoint failed. Issuer: '{issuer}'. Reason: {reason}."
                ),
            ),
            KeyNotFound { kid, issuer } => Aadsts::new(
                700027,
                InvalidClient,
                format!(
                    "Client assertion failed signature validation. The key '{kid}' was not found in the keys of issuer '{issuer}'."
                ),
            ),
            InvalidSignature => Aadsts::new(
                700027,
                InvalidClient,
                "Client assertion failed signature validation.",
            ),
            NotInTimeRange { now, nbf, exp } => Aadsts::new(
                700024,
                InvalidClient,
                format!(
                    "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials .",
                    now.to_entra_iso(),
                    nbf.to_entra_iso(),
                    exp.to_entra_iso()
                ),
            ),
            IssuerMismatch(issuer) => Aadsts::new(
                700211,
                InvalidClient,
                format!(
                    "No matching federated identity record found for presented assertion issuer '{issuer}'. {FIC_HINT}"
                ),
            ),
            SubjectMismatch(subject) => Aadsts::new(
                700213,
                InvalidClient,
                format!(
                    "No matching federated identity record found for presented assertion subject '{subject}'. {FIC_HINT}"
                ),
            ),
            SubjectCaseMismatch(subject) => Aadsts::new(
                7002138,
                InvalidClient,
                format!(
                    "No matching federated identity record found for presented assertion subject '{subject}'. The subject matches with case-insensitive comparison, but not with case-sensitive comparison. {FIC_HINT}"
                ),
            ),
            AudienceMismatch(audience) => Aadsts::new(
                700212,
                InvalidClient,
                format!(
                    "No matching federated identity record found for presented assertion audience '{audience}'. {FIC_HINT}"
                ),
            ),
            InvalidScope(scope) => Aadsts::new(
                70011,
                OAuthError::InvalidScope,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
                ),
            ),
            ScopeNotDefault(scope) => Aadsts::new(
                1002012,
                OAuthError::InvalidScope,
                format!(
                    "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
                ),
            ),
            ResourceNotFound { resource, tenant } => Aadsts::new(
                500011,
                InvalidResource,
                format!(
                    "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
                ),
            ),
            MethodNotAllowed(method) => Aadsts::new(
                900561,
                InvalidRequest,
                format!(
                    "The endpoint only accepts POST, OPTIONS requests. Received a {method} request."
                ),
            ),
            InvalidRequestBody(reason) => Aadsts::new(
                900144,
                InvalidRequest,
                format!(
                    "The request body must be an application/x-www-form-urlencoded form: {reason}"
                ),
            ),
            Internal => Aadsts::new(
                50000,
                ServerError,
                "There was an error issuing a token or an issue with our sign-in service.",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::UnixTime;

    #[test]
    fn codes_and_statuses() {
        let cases: Vec<(ExchangeError, u32, &str, u16)> = vec![
            (
                ExchangeError::MissingParameter("client_id"),
                900144,
                "invalid_request",
                400,
            ),
            (
                ExchangeError::TenantNotFound("x".into()),
                90002,
                "invalid_request",
                400,
            ),
            (
                ExchangeError::ClientNotFound {
                    client_id: "c".into(),
                    tenant: "t".into(),
                },
                700016,
                "unauthorized_client",
                400,
            ),
            (
                ExchangeError::IssuerMismatch("i".into()),
                700211,
                "invalid_client",
                401,
            ),
            (
                ExchangeError::AudienceMismatch("a".into()),
                700212,
                "invalid_client",
                401,
            ),
            (
                ExchangeError::SubjectMismatch("s".into()),
                700213,
                "invalid_client",
                401,
            ),
            (
                ExchangeError::SubjectCaseMismatch("s".into()),
                7002138,
                "invalid_client",
                401,
            ),
            (
                ExchangeError::NotInTimeRange {
                    now: UnixTime::EPOCH,
                    nbf: UnixTime::EPOCH,
                    exp: UnixTime::EPOCH,
                },
                700024,
                "invalid_client",
                401,
            ),
            (
                ExchangeError::MalformedAssertion("x".into()),
                50027,
                "invalid_request",
                400,
            ),
            (
                ExchangeError::IssuerKeysUnavailable {
                    issuer: "i".into(),
                    reason: "r".into(),
                },
                90061,
                "invalid_request",
                400,
            ),
            (
                ExchangeError::InvalidScope("s".into()),
                70011,
                "invalid_scope",
                400,
            ),
            (
                ExchangeError::ResourceNotFound {
                    resource: "r".into(),
                    tenant: "t".into(),
                },
                500011,
                "invalid_resource",
                400,
            ),
            (
                ExchangeError::InvalidSignature,
                700027,
                "invalid_client",
                401,
            ),
            (
                ExchangeError::EntraIssuedAssertion("i".into()),
                700222,
                "invalid_request",
                400,
            ),
            (
                ExchangeError::UnsupportedGrantType("g".into()),
                70003,
                "unsupported_grant_type",
                400,
            ),
            (ExchangeError::Internal, 50000, "server_error", 500),
            (
                ExchangeError::MethodNotAllowed("GET".into()),
                900561,
                "invalid_request",
                400,
            ),
        ];
        for (err, code, error, status) in cases {
            let a = Aadsts::from(&err);
            assert_eq!(
                (a.code, a.error.as_str(), a.status()),
                (code, error, status),
                "{err:?}"
            );
        }
    }

    #[test]
    fn subject_message_names_the_subject() {
        let a = Aadsts::from(&ExchangeError::SubjectMismatch(
            "system:serviceaccount:a:b".into(),
        ));
        assert!(
            a.message
                .contains("presented assertion subject 'system:serviceaccount:a:b'")
        );
    }

    #[test]
    fn time_range_message_prints_epoch_for_missing_claims() {
        let a = Aadsts::from(&ExchangeError::NotInTimeRange {
            now: UnixTime::from_secs(1_717_501_228),
            nbf: UnixTime::EPOCH,
            exp: UnixTime::EPOCH,
        });
        assert!(a.message.starts_with("Client assertion is not within its valid time range. Current time: 2024-06-04T11:40:28.0000000Z, assertion valid from 1970-01-01T00:00:00.0000000Z"));
    }
}
