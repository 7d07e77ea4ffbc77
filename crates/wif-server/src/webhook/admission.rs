//! `POST /mutate-v1-pod`: AdmissionReview v1 (and v1beta1) in, the mutation's JSON patch (or a
//! denial in `status`) out, plus `/healthz`, `/readyz` and Prometheus `/metrics` with upstream's
//! `azwi_mutation_request` histogram. Service accounts come from a [`ServiceAccounts`] source
//! (a watch-backed cache on a real cluster).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};

use super::mutate::{Denial, MutationConfig, USE_LABEL, mutate, opted_in, service_account_name};

/// Where the webhook looks service accounts up.
#[async_trait::async_trait]
pub trait ServiceAccounts: Send + Sync + std::fmt::Debug {
    /// The annotations of `namespace/name`; `Ok(None)` when it does not exist.
    async fn annotations(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, String>;
}

/// Upstream's histogram buckets (seconds).
const BUCKETS: &[f64] = &[
    0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01, 0.02, 0.03, 0.04, 0.05,
    0.06, 0.07, 0.08, 0.09, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.5, 2.0, 2.5, 3.0,
];

/// Request counts and latencies by outcome.
#[derive(Debug, Default)]
pub struct Metrics {
    by_outcome: [Outcome; 3],
}

#[derive(Debug, Default)]
struct Outcome {
    count: AtomicU64,
    sum_micros: AtomicU64,
    buckets: [AtomicU64; 32],
}

const OUTCOMES: [&str; 3] = ["mutated", "denied", "error"];

impl Metrics {
    fn observe(&self, outcome: usize, seconds: f64) {
        let Some(o) = self.by_outcome.get(outcome) else {
            return;
        };
        o.count.fetch_add(1, Ordering::Relaxed);
        o.sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        for (b, limit) in o.buckets.iter().zip(BUCKETS) {
            if seconds <= *limit {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP azwi_mutation_request Distribution of how long it took for the azure-workload-identity mutation request\n\
             # TYPE azwi_mutation_request histogram\n",
        );
        let mut total = String::from(
            "# HELP wif_webhook_requests_total Admission requests by outcome\n# TYPE wif_webhook_requests_total counter\n",
        );
        for (name, o) in OUTCOMES.iter().zip(&self.by_outcome) {
            let labels = format!("outcome=\"{name}\",service_name=\"webhook\"");
            for (b, limit) in o.buckets.iter().zip(BUCKETS) {
                out.push_str(&format!(
                    "azwi_mutation_request_bucket{{{labels},le=\"{limit}\"}} {}\n",
                    b.load(Ordering::Relaxed)
                ));
            }
            let count = o.count.load(Ordering::Relaxed);
            out.push_str(&format!(
                "azwi_mutation_request_bucket{{{labels},le=\"+Inf\"}} {count}\n\
                 azwi_mutation_request_sum{{{labels}}} {}\n\
                 azwi_mutation_request_count{{{labels}}} {count}\n",
                o.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
            ));
            total.push_str(&format!(
                "wif_webhook_requests_total{{outcome=\"{name}\"}} {count}\n"
            ));
        }
        out + &total
    }
}

/// The webhook's state.
#[derive(Clone, Debug)]
pub struct WebhookState {
    /// The mutation's settings.
    pub config: Arc<MutationConfig>,
    /// Service accounts.
    pub accounts: Arc<dyn ServiceAccounts>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
}

/// The webhook's routes.
pub fn router(state: WebhookState) -> Router {
    Router::new()
        .route("/mutate-v1-pod", post(review))
        .route("/warn-v1-pod", post(label_check))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn metrics(State(st): State<WebhookState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
        .into_response()
}

fn answer(api_version: &str, uid: &str, response: Value) -> Response {
    let mut r = response;
    if let Some(o) = r.as_object_mut() {
        o.insert("uid".into(), json!(uid));
    }
    axum::Json(json!({"apiVersion": api_version, "kind": "AdmissionReview", "response": r}))
        .into_response()
}

fn denied(api_version: &str, uid: &str, d: &Denial) -> Response {
    answer(
        api_version,
        uid,
        json!({"allowed": false, "status": {"code": d.code, "message": d.message}}),
    )
}

async fn review(State(st): State<WebhookState>, body: Bytes) -> Response {
    let started = Instant::now();
    let (outcome, resp) = handle(&st, &body).await;
    st.metrics.observe(outcome, started.elapsed().as_secs_f64());
    resp
}

/// The parts of an AdmissionReview the webhook reads; the rest is skipped unparsed.
#[derive(serde::Deserialize)]
struct Review<'a> {
    #[serde(rename = "apiVersion", borrow, default)]
    api_version: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    request: Option<ReviewRequest<'a>>,
}

#[derive(serde::Deserialize)]
struct ReviewRequest<'a> {
    #[serde(borrow, default)]
    uid: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    namespace: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    object: Option<Value>,
}

/// Handles one review; returns the outcome index (for metrics) and the answer.
async fn handle(st: &WebhookState, body: &[u8]) -> (usize, Response) {
    let Ok(review) = serde_json::from_slice::<Review<'_>>(body) else {
        return (
            2,
            (
                StatusCode::BAD_REQUEST,
                "the body is not an AdmissionReview (JSON)",
            )
                .into_response(),
        );
    };
    let api_version = review
        .api_version
        .as_deref()
        .unwrap_or("admission.k8s.io/v1")
        .to_owned();
    let Some(request) = review.request else {
        return (
            2,
            (
                StatusCode::BAD_REQUEST,
                "the AdmissionReview has no request",
            )
                .into_response(),
        );
    };
    let uid = request.uid.as_deref().unwrap_or_default();
    let Some(pod) = request.object.as_ref().filter(|o| o.is_object()) else {
        return (
            1,
            denied(
                &api_version,
                uid,
                &Denial {
                    code: 400,
                    message:
                        "couldn't get version/kind; json parse error: the request has no object"
                            .into(),
                },
            ),
        );
    };
    let namespace = request
        .namespace
        .as_deref()
        .or_else(|| {
            pod.get("metadata")
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
        })
        .unwrap_or("default")
        .to_owned();
    let sa = service_account_name(pod).to_owned();
    let annotations = match st.accounts.annotations(&namespace, &sa).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            return (
                1,
                denied(
                    &api_version,
                    uid,
                    &Denial {
                        code: 400,
                        message: format!("serviceaccounts \"{sa}\" not found"),
                    },
                ),
            );
        }
        Err(e) => {
            return (
                1,
                denied(
                    &api_version,
                    uid,
                    &Denial {
                        code: 400,
                        message: e,
                    },
                ),
            );
        }
    };
    match mutate(pod, &sa, &namespace, &annotations, &st.config) {
        Err(d) => (1, denied(&api_version, uid, &d)),
        Ok(m) => {
            let patch = (!m.patch.is_empty()).then(|| {
                base64::engine::general_purpose::STANDARD
                    .encode(serde_json::to_vec(&m.patch).unwrap_or_default())
            });
            let out = Allowed {
                api_version: &api_version,
                kind: "AdmissionReview",
                response: AllowedResponse {
                    uid,
                    allowed: true,
                    patch_type: patch.as_ref().map(|_| "JSONPatch"),
                    patch,
                    warnings: (!m.warnings.is_empty()).then_some(m.warnings.as_slice()),
                },
            };
            (0, axum::Json(out).into_response())
        }
    }
}

/// An allowing AdmissionReview answer, serialized straight from borrowed parts (the hot path).
#[derive(serde::Serialize)]
struct Allowed<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    kind: &'static str,
    response: AllowedResponse<'a>,
}

#[derive(serde::Serialize)]
struct AllowedResponse<'a> {
    uid: &'a str,
    allowed: bool,
    #[serde(rename = "patchType", skip_serializing_if = "Option::is_none")]
    patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<&'a [String]>,
}

/// `POST /warn-v1-pod`: registered as a *validating* webhook for pods **without** the label
/// (`failurePolicy: Ignore`, short timeout), it always allows, and warns when the pod's service
/// account carries a client id — the pod almost certainly wanted workload identity and will
/// silently get none (the most common mistake in the seeds and upstream's issues).
async fn label_check(State(st): State<WebhookState>, body: Bytes) -> Response {
    let Ok(review) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            "the body is not an AdmissionReview (JSON)",
        )
            .into_response();
    };
    let api_version = review
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("admission.k8s.io/v1")
        .to_owned();
    let request = review.get("request");
    let uid = request
        .and_then(|r| r.get("uid"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut response = json!({"allowed": true});
    if let Some(warning) = match request {
        Some(r) => missing_label_warning(&st, r).await,
        None => None,
    } && let Some(o) = response.as_object_mut()
    {
        o.insert("warnings".into(), json!([warning]));
    }
    answer(&api_version, uid, response)
}

async fn missing_label_warning(st: &WebhookState, request: &Value) -> Option<String> {
    let pod = request.get("object")?;
    if opted_in(pod) {
        return None;
    }
    let namespace = request
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or("default");
    let sa = service_account_name(pod);
    let annotations = st.accounts.annotations(namespace, sa).await.ok()??;
    let client_id = annotations.get(super::mutate::CLIENT_ID)?;
    let name = pod
        .get("metadata")
        .and_then(|m| m.get("name").or_else(|| m.get("generateName")))
        .and_then(Value::as_str)
        .unwrap_or("(unnamed)");
    Some(format!(
        "pod {name} uses service account {namespace}/{sa}, which has {}={client_id}, but the pod lacks the label {USE_LABEL}: \"true\", \
         so it gets no workload identity; add the label to the pod (template) labels",
        super::mutate::CLIENT_ID
    ))
}
