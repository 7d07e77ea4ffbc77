//! Cache behaviour against a fake fetcher that counts calls; time is injected, nothing sleeps.

use std::sync::atomic::AtomicUsize;

use tokio::sync::Notify;

use super::*;
use crate::testutil::{jwks, rsa_key, rsa_key2};

const ISS: &str = "https://issuer.example/t/c/";
const T0: UnixTime = UnixTime::from_secs(1_700_000_000);

fn at(secs: i64) -> UnixTime {
    T0.plus_secs(secs)
}

#[derive(Debug)]
struct FakeFetcher {
    response: Mutex<Result<FetchedJwks, FetchError>>,
    calls: AtomicUsize,
    /// When set, fetches wait until the gate is opened.
    gate: Option<Gate>,
}

#[derive(Debug, Default)]
struct Gate {
    opened: std::sync::atomic::AtomicBool,
    notify: Notify,
}

impl Gate {
    async fn pass(&self) {
        // Created before the check, so an `open` in between still wakes it (`notify_waiters`
        // reaches every `Notified` that exists when it is called).
        let notified = self.notify.notified();
        if !self.opened.load(Ordering::SeqCst) {
            notified.await;
        }
    }

    fn open(&self) {
        self.opened.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
}

impl FakeFetcher {
    fn new(jwks: Jwks) -> Self {
        Self {
            response: Mutex::new(Ok(FetchedJwks {
                jwks,
                max_age: None,
            })),
            calls: AtomicUsize::new(0),
            gate: None,
        }
    }

    fn failing() -> Self {
        let f = Self::new(Jwks::default());
        f.fail("connection refused");
        f
    }

    fn serve(&self, jwks: Jwks, max_age: Option<Duration>) {
        *self.response.lock().unwrap() = Ok(FetchedJwks { jwks, max_age });
    }

    fn fail(&self, reason: &str) {
        *self.response.lock().unwrap() = Err(FetchError(reason.to_owned()));
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl JwksFetcher for FakeFetcher {
    async fn fetch(&self, issuer: &str) -> Result<FetchedJwks, FetchError> {
        assert!(issuer.starts_with("https://"));
        self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some(gate) = &self.gate {
            gate.pass().await;
        }
        self.response.lock().unwrap().clone()
    }
}

fn cache(fetcher: &Arc<FakeFetcher>) -> JwksCache {
    JwksCache::new(
        Arc::clone(fetcher) as Arc<dyn JwksFetcher>,
        CachePolicy::default(),
    )
}

fn kid1() -> &'static str {
    rsa_key().kid().as_str()
}

fn kid2() -> &'static str {
    rsa_key2().kid().as_str()
}

#[tokio::test]
async fn fresh_entry_is_served_without_fetching() {
    let fetcher = Arc::new(FakeFetcher::new(jwks(&[rsa_key()])));
    let cache = cache(&fetcher);
    let keys = cache.keys(ISS, Some(kid1()), T0).await.unwrap();
    assert!(keys.get(kid1()).is_some());
    assert_eq!(cache.fetch_count(), 1);
    for secs in [1, 60, 299] {
        cache.keys(ISS, Some(kid1()), at(secs)).await.unwrap();
        cache.keys(ISS, None, at(secs)).await.unwrap();
    }
    assert_eq!(cache.fetch_count(), 1);
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn expired_entry_is_refetched() {
    let fetcher = Arc::new(FakeFetcher::new(jwks(&[rsa_key()])));
    let cache = cache(&fetcher);
    cache.keys(ISS, None, T0).await.unwrap();
    cache.keys(ISS, None, at(299)).await.unwrap();
    assert_eq!(cache.fetch_count(), 1);
    cache.keys(ISS, None, at(300)).await.unwrap();
    assert_eq!(cache.fetch_count(), 2);
}

#[tokio::test]
async fn max_age_is_clamped_to_the_policy() {
    let fetcher = Arc::new(FakeFetcher::new(Jwks::default()));
    fetcher.serve(jwks(&[rsa_key()]), Some(Duration::ZERO));
    let cache = cache(&fetcher);
    cache.keys(ISS, None, T0).await.unwrap();
    cache.keys(ISS, None, at(59)).await.unwrap();
    assert_eq!(cache.fetch_count(), 1, "min_ttl holds");
    fetcher.serve(jwks(&[rsa_key()]), Some(Duration::from_secs(30 * 86_400)));
    cache.keys(ISS, None, at(60)).await.unwrap();
    assert_eq!(cache.fetch_count(), 2);
    cache.keys(ISS, None, at(60 + 86_399)).await.unwrap();
    assert_eq!(cache.fetch_count(), 2);
    cache.keys(ISS, None, at(60 + 86_400)).await.unwrap();
    assert_eq!(cache.fetch_count(), 3, "max_ttl holds");
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let mut fake = FakeFetcher::new(jwks(&[rsa_key()]));
    fake.gate = Some(Gate::default());
    let fetcher = Arc::new(fake);
    let cache = Arc::new(cache(&fetcher));
    let callers: Vec<_> = (0..10)
        .map(|_| {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.keys(ISS, Some(kid1()), T0).await })
        })
        .collect();
    // Let every caller run until it blocks: one inside the fetcher, nine on the issuer's lock.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(fetcher.calls(), 1);
    // Open the gate for good: were the waiters not to re-check the entry, each would fetch now
    // and the count below would be 10.
    fetcher.gate.as_ref().unwrap().open();
    for caller in callers {
        assert!(caller.await.unwrap().unwrap().get(kid1()).is_some());
    }
    assert_eq!(cache.fetch_count(), 1);
    assert_eq!(fetcher.calls(), 1);
}

#[tokio::test]
async fn stale_keys_are_served_while_the_issuer_is_down_then_not() {
    let fetcher = Arc::new(FakeFetcher::new(jwks(&[rsa_key()])));
    let cache = cache(&fetcher);
    cache.keys(ISS, Some(kid1()), T0).await.unwrap();
    fetcher.fail("HTTP 503");
    // Expired at T0+300; stale copies may be served until T0+300+6h.
    let stale = cache.keys(ISS, Some(kid1()), at(3_600)).await.unwrap();
    assert!(stale.get(kid1()).is_some());
    assert_eq!(cache.fetch_count(), 2);
    // An unknown kid is not in the stale copy either: that is an outage, not a missing key.
    assert!(matches!(
        cache.keys(ISS, Some(kid2()), at(3_601)).await,
        Err(CacheError::Unavailable { .. })
    ));
    let last_stale = at(300 + 6 * 3_600 - 1);
    cache.keys(ISS, Some(kid1()), last_stale).await.unwrap();
    match cache
        .keys(ISS, Some(kid1()), at(300 + 6 * 3_600 + 10))
        .await
    {
        Err(CacheError::Unavailable { issuer, reason }) => {
            assert_eq!(issuer, ISS);
            assert_eq!(reason, "HTTP 503");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn unknown_kid_refetch_is_rate_limited() {
    let fetcher = Arc::new(FakeFetcher::new(jwks(&[rsa_key()])));
    let cache = cache(&fetcher);
    cache.keys(ISS, Some(kid1()), T0).await.unwrap();
    // The issuer rotates: the new key is published after our fetch.
    fetcher.serve(jwks(&[rsa_key(), rsa_key2()]), None);
    for secs in [1, 10, 29] {
        match cache.keys(ISS, Some(kid2()), at(secs)).await {
            Err(CacheError::KeyNotFound { kid }) => assert_eq!(kid, kid2()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(cache.fetch_count(), 1);
    let keys = cache.keys(ISS, Some(kid2()), at(30)).await.unwrap();
    assert!(keys.get(kid2()).is_some());
    assert_eq!(cache.fetch_count(), 2);
    // A made-up kid right after: refused without asking the issuer again.
    assert!(matches!(
        cache.keys(ISS, Some("made-up"), at(31)).await,
        Err(CacheError::KeyNotFound { .. })
    ));
    assert_eq!(cache.fetch_count(), 2);
    // Once the interval has passed, one refetch, then KeyNotFound for real.
    assert!(matches!(
        cache.keys(ISS, Some("made-up"), at(60)).await,
        Err(CacheError::KeyNotFound { .. })
    ));
    assert_eq!(cache.fetch_count(), 3);
}

#[tokio::test]
async fn unknown_kid_on_a_cold_cache_fetches_once() {
    let fetcher = Arc::new(FakeFetcher::new(jwks(&[rsa_key()])));
    let cache = cache(&fetcher);
    for secs in [0, 1] {
        assert!(matches!(
            cache.keys(ISS, Some("made-up"), at(secs)).await,
            Err(CacheError::KeyNotFound { .. })
        ));
    }
    assert_eq!(cache.fetch_count(), 1);
}

#[tokio::test]
async fn failed_fetch_is_remembered_for_negative_ttl() {
    let fetcher = Arc::new(FakeFetcher::failing());
    let cache = cache(&fetcher);
    for secs in [0, 5, 9] {
        assert!(matches!(
            cache.keys(ISS, None, at(secs)).await,
            Err(CacheError::Unavailable { .. })
        ));
    }
    assert_eq!(cache.fetch_count(), 1);
    fetcher.serve(jwks(&[rsa_key()]), None);
    cache.keys(ISS, None, at(10)).await.unwrap();
    assert_eq!(cache.fetch_count(), 2);
}

#[tokio::test]
async fn issuers_are_cached_separately_and_bounded() {
    let fetcher = Arc::new(FakeFetcher::new(jwks(&[rsa_key()])));
    let cache = cache(&fetcher).with_max_issuers(2);
    let (a, b, c) = (
        "https://a.example",
        "https://b.example",
        "https://c.example",
    );
    cache.keys(a, None, T0).await.unwrap();
    cache.keys(b, None, T0).await.unwrap();
    cache.keys(a, None, T0).await.unwrap();
    assert_eq!(cache.fetch_count(), 2);
    // c evicts b, the least recently used.
    cache.keys(c, None, T0).await.unwrap();
    assert_eq!(cache.issuer_count(), 2);
    cache.keys(a, None, T0).await.unwrap();
    assert_eq!(cache.fetch_count(), 3);
    cache.keys(b, None, T0).await.unwrap();
    assert_eq!(cache.fetch_count(), 4);
}

#[test]
fn policy_defaults() {
    let p = CachePolicy::default();
    assert_eq!(p.min_ttl, Duration::from_secs(60));
    assert_eq!(p.default_ttl, Duration::from_secs(300));
    assert_eq!(p.max_ttl, Duration::from_secs(86_400));
    assert_eq!(p.max_stale, Duration::from_secs(21_600));
    assert_eq!(p.unknown_kid_min_interval, Duration::from_secs(30));
    assert_eq!(p.negative_ttl, Duration::from_secs(10));
}
