//! The webhook's service-account cache against a mocked API server: the initial list fills the
//! cache (hit, no GET), a miss falls back to one live GET, watch events update and delete.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use wif_server::webhook::accounts::KubeServiceAccounts;
use wif_server::webhook::admission::ServiceAccounts;

#[derive(Clone)]
struct Mock {
    accounts: Arc<Mutex<BTreeMap<(String, String), Value>>>,
    events: broadcast::Sender<String>,
    gets: Arc<AtomicUsize>,
    watches: Arc<AtomicUsize>,
}

fn sa(ns: &str, name: &str, rv: u64, client_id: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ServiceAccount",
           "metadata": {"name": name, "namespace": ns, "resourceVersion": rv.to_string(),
                        "uid": format!("uid-{ns}-{name}"),
                        "annotations": {"azure.workload.identity/client-id": client_id}}})
}

async fn list(State(m): State<Mock>, Query(q): Query<BTreeMap<String, String>>) -> Response {
    if q.get("watch").is_some_and(|w| w == "true" || w == "1") {
        let rx = m.events.subscribe();
        m.watches.fetch_add(1, Ordering::SeqCst);
        let stream = tokio_stream_from(rx);
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap();
    }
    let items: Vec<Value> = m.accounts.lock().unwrap().values().cloned().collect();
    axum::Json(json!({"apiVersion": "v1", "kind": "ServiceAccountList",
                      "metadata": {"resourceVersion": "10"}, "items": items}))
    .into_response()
}

fn tokio_stream_from(
    rx: broadcast::Receiver<String>,
) -> impl futures_util::Stream<Item = Result<String, std::io::Error>> {
    futures_util::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(line) => Some((Ok(line), rx)),
            Err(_) => None,
        }
    })
}

async fn one(State(m): State<Mock>, Path((ns, name)): Path<(String, String)>) -> Response {
    m.gets.fetch_add(1, Ordering::SeqCst);
    if ns == "slow" {
        // Longer than the cache's fallback timeout (2 s), still bounded.
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    match m.accounts.lock().unwrap().get(&(ns, name.clone())) {
        Some(v) => axum::Json(v.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                              "status": "Failure", "reason": "NotFound", "code": 404,
                              "message": format!("serviceaccounts \"{name}\" not found"),
                              "details": {"name": name, "kind": "serviceaccounts"}})),
        )
            .into_response(),
    }
}

async fn start() -> (Mock, KubeServiceAccounts) {
    let (events, _) = broadcast::channel(16);
    let mock = Mock {
        accounts: Arc::default(),
        events,
        gets: Arc::default(),
        watches: Arc::default(),
    };
    mock.accounts
        .lock()
        .unwrap()
        .insert(("shop".into(), "app".into()), sa("shop", "app", 5, "C1"));
    let app = Router::new()
        .route("/api/v1/serviceaccounts", get(list))
        .route("/api/v1/namespaces/{ns}/serviceaccounts/{name}", get(one))
        .with_state(mock.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = kube::Config::new(format!("http://{addr}").parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let (cache, _task) = KubeServiceAccounts::start(client);
    let cache = cache.with_fallback_timeout(Duration::from_secs(2));
    tokio::time::timeout(Duration::from_secs(10), cache.ready())
        .await
        .expect("the initial list fills the cache");
    (mock, cache)
}

async fn client_id(cache: &KubeServiceAccounts, ns: &str, name: &str) -> Option<String> {
    cache
        .annotations(ns, name)
        .await
        .unwrap()
        .map(|a| a["azure.workload.identity/client-id"].clone())
}

/// Polls (bounded: 100 × 50 ms) until `cond` holds on the cache.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..100 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn push(mock: &Mock, kind: &str, object: Value) {
    let watches = Arc::clone(&mock.watches);
    eventually("the watch is connected", || {
        watches.load(Ordering::SeqCst) > 0
    })
    .await;
    mock.events
        .send(format!("{}\n", json!({"type": kind, "object": object})))
        .unwrap();
}

#[tokio::test]
async fn a_listed_account_is_a_cache_hit_without_a_get() {
    let (mock, cache) = start().await;
    assert_eq!(cache.cached(), 1);
    assert_eq!(
        client_id(&cache, "shop", "app").await.as_deref(),
        Some("C1")
    );
    assert_eq!(mock.gets.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_miss_falls_back_to_one_get() {
    let (mock, cache) = start().await;
    // Created on the API server, but the watch has not delivered it yet.
    mock.accounts
        .lock()
        .unwrap()
        .insert(("shop".into(), "new".into()), sa("shop", "new", 11, "C2"));
    assert_eq!(
        client_id(&cache, "shop", "new").await.as_deref(),
        Some("C2")
    );
    assert_eq!(mock.gets.load(Ordering::SeqCst), 1);
    // Absent everywhere: not found, which the webhook turns into a denial.
    assert_eq!(cache.annotations("shop", "ghost").await.unwrap(), None);
    assert_eq!(mock.gets.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn watch_events_update_and_delete_cached_accounts() {
    let (mock, cache) = start().await;
    push(&mock, "MODIFIED", sa("shop", "app", 12, "C9")).await;
    let probe = cache.clone();
    let mut last = String::new();
    for _ in 0..100 {
        last = client_id(&probe, "shop", "app").await.unwrap_or_default();
        if last == "C9" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last, "C9", "the MODIFIED event reached the cache");
    assert_eq!(mock.gets.load(Ordering::SeqCst), 0);

    mock.accounts.lock().unwrap().clear();
    push(&mock, "DELETED", sa("shop", "app", 13, "C9")).await;
    let c = cache.clone();
    eventually("the DELETED event empties the cache", || c.cached() == 0).await;
    assert_eq!(cache.annotations("shop", "app").await.unwrap(), None);
}

#[tokio::test]
async fn a_slow_fallback_get_is_a_bounded_error_not_a_hang() {
    let (_mock, cache) = start().await;
    let err = cache.annotations("slow", "app").await.unwrap_err();
    assert!(err.contains("did not answer within 2 s"), "{err}");
}
