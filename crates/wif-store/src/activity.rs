//! The activity log: one record per management write (ARM or Graph), allowed or refused, like
//! Azure's activity log. Records are appended in batches and never change.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use wif_core::UnixTime;

/// One management write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityRecord {
    /// Record id.
    pub id: Uuid,
    /// When the request was decided.
    pub time: UnixTime,
    /// `oid` of the caller, if it authenticated.
    pub caller: Option<String>,
    /// `appid` of the caller, if it authenticated.
    pub caller_app: Option<String>,
    /// The operation, as an RBAC action (`Microsoft.ManagedIdentity/userAssignedIdentities/write`).
    pub operation: String,
    /// The resource id the request named.
    pub resource: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// The error code, when it failed.
    pub error: Option<String>,
    /// `x-ms-correlation-request-id` of the request.
    pub correlation_id: Uuid,
}

/// Which activity records to list; results are newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityQuery {
    /// Only records at or after this time.
    pub since: Option<UnixTime>,
    /// Only failed requests (status ≥ 400).
    pub failed_only: bool,
    /// At most this many; `0` means no limit.
    pub limit: usize,
}
