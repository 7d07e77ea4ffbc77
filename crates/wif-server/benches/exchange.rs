//! Benchmarks of one token exchange (verify the assertion + match the credential + sign the
//! access token), next to the crypto ceiling measured in the same run: one RS256 sign and one
//! RS256 verify, which is all the irreducible work of an exchange (see `BENCHMARKS.md`).
//!
//! Run: `cargo bench -p wif-server --bench exchange`.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt;
use wif_core::claims::AccessTokenClaims;
use wif_core::ids::{Namespace, ServiceAccountName};
use wif_core::time::UnixTime;
use wif_jose::{
    CachePolicy, FetchError, FetchedJwks, JwksCache, JwksFetcher, KeySet, UnverifiedJwt,
};
use wif_server::issuer::mint::{ServiceAccountTokenRequest, mint_service_account_token};
use wif_server::state::{AppState, Authority, HostNames, StsPolicy};
use wif_server::sts::exchange::{Endpoint, exchange, new_log};
use wif_server::sts::model::TokenForm;
use wif_server::{app, signin};
use wif_store::model::KeyOwner;
use wif_store::snapshot::SnapshotHandle;
use wif_testkit::fixture::{CLUSTER_KEY, Fixture, TENANT_KEY};
use wif_testkit::{SeededRandom, TestClock, rsa_key};

#[derive(Debug)]
struct NoFetch;

#[async_trait::async_trait]
impl JwksFetcher for NoFetch {
    async fn fetch(&self, issuer: &str) -> Result<FetchedJwks, FetchError> {
        Err(FetchError(format!(
            "{issuer} is not reachable in benchmarks"
        )))
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let now = UnixTime::from_secs(1_800_000_000);
    let fixture = rt.block_on(Fixture::new(now)).unwrap();
    let snapshot = rt.block_on(fixture.snapshot()).unwrap();
    let handle = SnapshotHandle::new(snapshot);
    let (signins, _task) =
        rt.block_on(async { signin::spawn_writer(fixture.store.clone(), 1 << 16) });
    let state = AppState {
        snapshot: handle.clone(),
        clock: Arc::new(TestClock::at(now)),
        rng: Arc::new(SeededRandom::new(1)),
        authority: Authority::new("wif.test", 8443),
        names: HostNames::local(Authority::new("wif.test", 8443), 8443),
        jwks: Arc::new(JwksCache::new(Arc::new(NoFetch), CachePolicy::default())),
        signins,
        policy: StsPolicy::default(),
        keyvault: None,
        management: None,
    };
    let rng = SeededRandom::new(2);
    let request = ServiceAccountTokenRequest {
        namespace: Namespace::parse("default").unwrap(),
        service_account: ServiceAccountName::parse("workload").unwrap(),
        audiences: vec!["api://AzureADTokenExchange".into()],
        expiration: Duration::from_secs(3600),
        backdate: Duration::ZERO,
        pod: Some((
            "workload-0".into(),
            "0f0e0d0c-0b0a-4908-8706-050403020100".into(),
        )),
        service_account_uid: None,
        drill: false,
    };
    let assertion =
        mint_service_account_token(&fixture.cluster, &rsa_key(CLUSTER_KEY), &request, now, &rng)
            .unwrap();
    let body = format!(
        "grant_type=client_credentials&client_id={}&scope=https%3A%2F%2Fvault.azure.net%2F.default\
         &client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer\
         &client_assertion={assertion}",
        fixture.identity.client_id
    );
    let form = TokenForm::parse(body.as_bytes());
    let tenant = fixture.tenant.id.to_string();

    // The ceiling: the two RSA operations every exchange must do.
    let mut ceiling = c.benchmark_group("ceiling");
    let signer = rsa_key(TENANT_KEY);
    let claims = sample_claims();
    ceiling.bench_function("rs256_sign_cached_key", |b| {
        b.iter(|| signer.sign_jwt(&claims, &[]).unwrap())
    });
    let cluster_keys: Arc<KeySet> = handle
        .load()
        .keys_of(&KeyOwner::Cluster(fixture.cluster.guid))
        .unwrap()
        .key_set_at(now);
    ceiling.bench_function("rs256_verify_parsed_key", |b| {
        b.iter(|| {
            UnverifiedJwt::parse(&assertion)
                .unwrap()
                .verify(&cluster_keys)
                .unwrap()
        })
    });
    ceiling.finish();

    let mut group = c.benchmark_group("exchange");
    group.bench_function("verify_match_sign", |b| {
        b.iter(|| {
            let snap = handle.load();
            let mut log = new_log(
                &state,
                now,
                &tenant,
                &form,
                uuid::Uuid::nil(),
                uuid::Uuid::nil(),
            );
            rt.block_on(exchange(
                &state,
                &snap,
                &tenant,
                &form,
                Endpoint::V2,
                now,
                &mut log,
            ))
            .unwrap()
        })
    });
    let router = app::router(state.clone());
    let uri = format!("/{tenant}/oauth2/v2.0/token");
    group.bench_function("http_router_oneshot", |b| {
        b.iter(|| {
            let req = Request::post(&uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body.clone()))
                .unwrap();
            let resp = rt.block_on(router.clone().oneshot(req)).unwrap();
            assert_eq!(resp.status(), 200);
        })
    });
    group.finish();
}

fn sample_claims() -> AccessTokenClaims {
    AccessTokenClaims {
        aud: "https://vault.azure.net".into(),
        iss: "https://wif.test:8443/72f988bf-86f1-41af-91ab-2d7cd011db47/".into(),
        iat: 1_800_000_000,
        nbf: 1_800_000_000,
        exp: 1_800_086_400,
        aio: "a".repeat(64),
        appid: "00000000-0000-0000-0000-0000c11e001d".into(),
        appidacr: "2".into(),
        idp: "https://wif.test:8443/72f988bf-86f1-41af-91ab-2d7cd011db47/".into(),
        idtyp: "app".into(),
        oid: "00000000-0000-0000-0000-00000b1d001d".into(),
        rh: "0.b.".into(),
        sub: "00000000-0000-0000-0000-00000b1d001d".into(),
        tid: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        uti: "u".repeat(22),
        ver: "1.0".into(),
        xms_mirid: None,
        xms_tcdt: None,
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
