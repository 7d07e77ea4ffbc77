//! Wire structs of the token service. Field names and number-vs-string choices follow what
//! Entra sends and the SDKs parse (`../shared/spec/sdk-wire.md` §1.4, §4.5, §5.2, §7.1).

use serde::Serialize;

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The form fields the token endpoints read. Everything else (`claims`, `client_info`,
/// MSAL telemetry fields) is ignored, as Entra ignores it.
#[derive(Clone, Debug, Default)]
pub struct TokenForm {
    /// `grant_type`
    pub grant_type: Option<String>,
    /// `client_id`
    pub client_id: Option<String>,
    /// `client_assertion_type`
    pub client_assertion_type: Option<String>,
    /// `client_assertion`
    pub client_assertion: Option<String>,
    /// `client_secret`
    pub client_secret: Option<String>,
    /// `scope` (v2)
    pub scope: Option<String>,
    /// `resource` (v1)
    pub resource: Option<String>,
    /// `client-request-id` (MSAL sends it in the body)
    pub client_request_id: Option<String>,
}

impl TokenForm {
    /// Reads an urlencoded body. Empty values count as absent; the first occurrence of a
    /// repeated field wins.
    pub fn parse(body: &[u8]) -> Self {
        let mut form = TokenForm::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            let slot = match k.as_ref() {
                "grant_type" => &mut form.grant_type,
                "client_id" => &mut form.client_id,
                "client_assertion_type" => &mut form.client_assertion_type,
                "client_assertion" => &mut form.client_assertion,
                "client_secret" => &mut form.client_secret,
                "scope" => &mut form.scope,
                "resource" => &mut form.resource,
                "client-request-id" => &mut form.client_request_id,
                _ => continue,
            };
            if slot.is_none() && !v.is_empty() {
                *slot = Some(v.into_owned());
            }
        }
        form
    }
}

/// The v2.0 success body. Exactly these four fields: `expires_in` is a JSON integer (the
/// Rust SDK requires it), and no `expires_on`, `refresh_token`, `id_token` or `client_info`.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// `Bearer`
    pub token_type: &'static str,
    /// Seconds until expiry.
    pub expires_in: u64,
    /// Same as `expires_in`.
    pub ext_expires_in: u64,
    /// The JWT.
    pub access_token: String,
}

/// The v1.0 success body: Entra's v1 endpoint sends numbers as strings and adds
/// `expires_on`, `not_before` and `resource`.
#[derive(Debug, Serialize)]
pub struct TokenResponseV1 {
    /// `Bearer`
    pub token_type: &'static str,
    /// Seconds until expiry, as a string.
    pub expires_in: String,
    /// Same, as a string.
    pub ext_expires_in: String,
    /// Expiry, Unix seconds as a string.
    pub expires_on: String,
    /// Not before, Unix seconds as a string.
    pub not_before: String,
    /// The resource.
    pub resource: String,
    /// The JWT.
    pub access_token: String,
}

/// An Entra error body.
#[derive(Debug, Serialize)]
pub struct ErrorBody {
    /// OAuth error.
    pub error: &'static str,
    /// `AADSTSnnnn: message\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …`
    pub error_description: String,
    /// `[nnnn]` (the Rust SDK reads the code from here).
    pub error_codes: Vec<u32>,
    /// `2024-06-04 11:40:28Z`
    pub timestamp: String,
    /// Trace id (GUID).
    pub trace_id: String,
    /// Correlation id (GUID; the client's request id when it sent one).
    pub correlation_id: String,
    /// Where the code is explained.
    pub error_uri: String,
}
