//! The one place that writes token-service errors: Entra's JSON error body with the AADSTS
//! code decided by `wif_core::aadsts`, the trace and correlation ids and the timestamp, and
//! the right status. No 4xx carries `Retry-After` (azure-core retries any status that does).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use uuid::Uuid;
use wif_core::aadsts::Aadsts;
use wif_core::exchange::ExchangeError;
use wif_core::time::UnixTime;

use super::model::ErrorBody;

/// A token-service failure on its way to the wire.
#[derive(Debug)]
pub struct StsError {
    /// The domain error.
    pub error: ExchangeError,
    /// Trace id of the request.
    pub trace_id: Uuid,
    /// Correlation id of the request.
    pub correlation_id: Uuid,
    /// Request time.
    pub now: UnixTime,
    /// The public origin (for `error_uri`).
    pub origin: String,
}

impl StsError {
    /// The Entra body for this error.
    pub fn body(&self) -> (u16, ErrorBody) {
        let a = Aadsts::from(&self.error);
        let timestamp = self.now.to_entra_timestamp();
        let description = format!(
            "AADSTS{}: {}\r\nTrace ID: {}\r\nCorrelation ID: {}\r\nTimestamp: {}",
            a.code, a.message, self.trace_id, self.correlation_id, timestamp
        );
        (
            a.status(),
            ErrorBody {
                error: a.error.as_str(),
                error_description: description,
                error_codes: vec![a.code],
                timestamp,
                trace_id: self.trace_id.to_string(),
                correlation_id: self.correlation_id.to_string(),
                error_uri: format!("{}/error?code={}", self.origin, a.code),
            },
        )
    }
}

impl IntoResponse for StsError {
    fn into_response(self) -> Response {
        let (status, body) = self.body();
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, axum::Json(body)).into_response();
        super::routes::entra_headers(resp.headers_mut(), self.trace_id, self.correlation_id);
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        resp
    }
}
