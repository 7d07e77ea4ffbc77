//! ARM's error body (`{"error":{"code","message"}}`) and the small helpers every resource's
//! JSON shares.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An ARM error: status, `error.code` and `error.message`.
#[derive(Clone, Debug)]
pub struct ArmError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`.
    pub message: String,
    /// `WWW-Authenticate`, on 401.
    pub challenge: Option<String>,
}

impl ArmError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 404 `ResourceNotFound` in ARM's words.
    pub fn resource_not_found(kind: &str, name: &str, group: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{kind}/{name}' under resource group '{group}' was not found. For \
                 more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// 404 `ResourceGroupNotFound`.
    pub fn group_not_found(group: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceGroupNotFound",
            format!("Resource group '{group}' could not be found."),
        )
    }

    /// 404 `SubscriptionNotFound`.
    pub fn subscription_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "SubscriptionNotFound",
            format!("The subscription '{id}' could not be found."),
        )
    }
}

impl IntoResponse for ArmError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(c) = self.challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, c);
        }
        resp
    }
}

impl From<wif_store::StoreError> for ArmError {
    fn from(e: wif_store::StoreError) -> Self {
        use wif_store::StoreError as E;
        match e {
            E::Conflict(m) => Self::new(StatusCode::CONFLICT, "Conflict", m),
            E::NotFound(m) => Self::new(StatusCode::NOT_FOUND, "NotFound", m),
            E::Unavailable(m) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                format!(
                    "The directory store is unavailable ({m}); management writes are refused \
                     until it is back. Tokens keep being issued from the last snapshot."
                ),
            ),
            other => {
                tracing::error!(error = %other, "store failure on a management call");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "The store failed; see the server log.",
                )
            }
        }
    }
}

/// Tags as JSON.
pub fn tags_json(tags: &BTreeMap<String, String>) -> Value {
    json!(tags)
}

/// Tags from a request body (`tags` absent → `None`); ARM allows at most 50, names ≤ 512 and
/// values ≤ 256 characters.
pub fn tags_from(body: &Value) -> Result<Option<BTreeMap<String, String>>, ArmError> {
    let Some(tags) = body.get("tags") else {
        return Ok(None);
    };
    if tags.is_null() {
        return Ok(Some(BTreeMap::new()));
    }
    let Some(obj) = tags.as_object() else {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "'tags' must be an object of strings.",
        ));
    };
    if obj.len() > 50 {
        return Err(ArmError::bad_request(
            "InvalidTagCount",
            format!(
                "{} tags were given; a resource may have at most 50.",
                obj.len()
            ),
        ));
    }
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let Some(v) = v.as_str() else {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                format!("The value of tag '{k}' must be a string."),
            ));
        };
        if k.is_empty() || k.chars().count() > 512 || v.chars().count() > 256 {
            return Err(ArmError::bad_request(
                "InvalidTagNameCharacters",
                format!("Tag '{k}' is invalid: names are 1 to 512 characters, values at most 256."),
            ));
        }
        out.insert(k.clone(), v.to_owned());
    }
    Ok(Some(out))
}

/// The request body as a JSON object (an empty body is an empty object).
pub fn body_object(body: &[u8]) -> Result<Value, ArmError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: {e}."),
        )
    })?;
    if !v.is_object() {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The request content must be a JSON object.",
        ));
    }
    Ok(v)
}

/// A location as ARM accepts it: `West Europe` and `westeurope` are the same region.
pub fn location_from(body: &Value) -> Result<Option<wif_core::ids::RegionName>, ArmError> {
    let Some(loc) = body.get("location").and_then(Value::as_str) else {
        return Ok(None);
    };
    let compact: String = loc.chars().filter(|c| !c.is_whitespace()).collect();
    wif_core::ids::RegionName::parse(&compact)
        .map(Some)
        .map_err(|_| {
            ArmError::bad_request(
                "LocationNotAvailableForResourceType",
                format!("The provided location '{loc}' is not a valid region name."),
            )
        })
}

/// `{"value": [...]}`.
pub fn list(items: Vec<Value>) -> Value {
    json!({ "value": items })
}
