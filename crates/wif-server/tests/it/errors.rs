//! The hostile-input corpus of the token endpoint: one line per input, with the AADSTS code
//! and HTTP status Entra answers it with (`sdk-wire.md` §6.4). Each code has a test named for
//! the behaviour that runs its rows, so a new case is one line in [`CORPUS`].
//!
//! Order of checks (`sts/exchange.rs`): tenant → grant → client id → scope → client →
//! credential presented → assertion type → resource known → identity has credentials →
//! assertion parses → issuer is not Entra → a credential trusts the issuer → keys →
//! signature → time → subject/audience. Each row breaks exactly one step of an otherwise valid
//! request.

use std::time::Duration;

use serde_json::{Value, json};
use wif_core::time::UnixTime;
use wif_testkit::fixture::{CLUSTER_KEY, SUBJECT};
use wif_testkit::rsa_key;

use crate::harness::{
    Call, Harness, JWT_BEARER, SUBJECT_NS, SUBJECT_SA, VAULT_SCOPE, assert_entra_error,
    sign_rs256_raw, sign_rs256_text, unsigned_jws,
};

/// One hostile input: what it is, the code and status Entra answers, and the request.
struct Case {
    what: &'static str,
    code: u32,
    status: u16,
    call: fn(&Harness) -> Call,
}

const fn case(what: &'static str, code: u32, status: u16, call: fn(&Harness) -> Call) -> Case {
    Case {
        what,
        code,
        status,
        call,
    }
}

/// A valid request whose assertion has these claims, signed by the cluster key.
fn with_claims(h: &Harness, claims: &Value) -> Call {
    h.v2(&rsa_key(CLUSTER_KEY).sign_jwt(claims, &[]).unwrap())
}

/// The cluster claims with `name` replaced by `value` (or removed when `value` is null).
fn cluster_claims_with(h: &Harness, name: &str, value: Value) -> Value {
    let mut claims = h.cluster_claims();
    let map = claims.as_object_mut().unwrap();
    if value.is_null() {
        map.remove(name);
    } else {
        map.insert(name.to_owned(), value);
    }
    claims
}

fn cluster_kid() -> String {
    rsa_key(CLUSTER_KEY).kid().as_str().to_owned()
}

/// A valid assertion whose payload was replaced after signing (`sub` changed).
fn tampered(h: &Harness) -> String {
    let token = h.assertion();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims = crate::harness::decode_segment(&token, 1);
    claims["sub"] = json!("system:serviceaccount:kube-system:admin");
    format!(
        "{}.{}.{}",
        parts[0],
        wif_jose::b64::encode(claims.to_string().as_bytes()),
        parts[2]
    )
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn at(h: &Harness, offset: i64) -> UnixTime {
    h.now().plus_secs(offset)
}

#[rustfmt::skip]
const CORPUS: &[Case] = &[
    // 90002: the tenant segment names no tenant.
    case("unknown tenant GUID", 90002, 400, |h| Call { path: "/00000000-0000-4000-8000-000000000bad/oauth2/v2.0/token".into(), ..h.v2_valid() }),
    case("garbage tenant segment", 90002, 400, |h| Call { path: "/not_a_tenant!/oauth2/v2.0/token".into(), ..h.v2_valid() }),
    case("unknown tenant domain", 90002, 400, |h| Call { path: "/nobody.onmicrosoft.com/oauth2/v2.0/token".into(), ..h.v2_valid() }),
    case("unknown tenant on v1", 90002, 400, |h| Call { path: "/00000000-0000-4000-8000-000000000bad/oauth2/token".into(), ..h.v2_valid() }),
    // 900144: a required parameter is missing (or empty, which Entra treats the same).
    case("no grant_type", 900144, 400, |h| h.v2_valid().without("grant_type")),
    case("empty grant_type", 900144, 400, |h| h.v2_valid().set("grant_type", "")),
    case("no client_id", 900144, 400, |h| h.v2_valid().without("client_id")),
    case("no scope", 900144, 400, |h| h.v2_valid().without("scope")),
    case("no client_assertion_type", 900144, 400, |h| h.v2_valid().without("client_assertion_type")),
    case("empty body", 900144, 400, |h| h.v2_valid().raw("")),
    case("JSON body", 900144, 400, |h| h.v2_valid().raw(r#"{"grant_type":"client_credentials"}"#)),
    case("no resource on v1", 900144, 400, |h| Call { path: format!("/{}/oauth2/token", h.tid()), ..h.v2_valid() }),
    case("body over 64 KiB", 900144, 400, |h| h.v2_valid().set("claims", "x".repeat(70 * 1024))),
    // 70003: a grant other than client_credentials.
    case("grant_type=password", 70003, 400, |h| h.v2_valid().set("grant_type", "password")),
    case("grant_type=jwt-bearer", 70003, 400, |h| h.v2_valid().set("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")),
    // 700016: the client id names no identity of this tenant.
    case("unknown client GUID", 700016, 400, |h| h.v2_valid().set("client_id", "00000000-0000-4000-8000-00000000c1d0")),
    case("client id not a GUID", 700016, 400, |h| h.v2_valid().set("client_id", "id-workload")),
    case("identity of another tenant", 700016, 400, |h| h.v2_valid().set("client_id", h.foreign_identity.client_id.to_string())),
    // 7000216: no client credential at all.
    case("no client_assertion", 7000216, 401, |h| h.v2_valid().without("client_assertion")),
    case("empty client_assertion", 7000216, 401, |h| h.v2_valid().set("client_assertion", "")),
    // 50027: the assertion is not an acceptable JWT.
    case("garbage assertion", 50027, 400, |h| h.v2("this is not a token")),
    case("two-part JWT", 50027, 400, |h| { let t = h.assertion(); h.v2(&t[..t.rfind('.').unwrap()]) }),
    case("four-part JWT", 50027, 400, |h| h.v2(&format!("{}.e30", h.assertion()))),
    case("padded base64", 50027, 400, |h| { let t = h.assertion(); h.v2(&format!("{t}==")) }),
    case("alg none", 50027, 400, |h| h.v2(&unsigned_jws(&json!({"alg": "none", "typ": "JWT"}), &h.cluster_claims(), b""))),
    case("alg None (case)", 50027, 400, |h| h.v2(&unsigned_jws(&json!({"alg": "None"}), &h.cluster_claims(), b""))),
    case("alg HS256", 50027, 400, |h| h.v2(&unsigned_jws(&json!({"alg": "HS256", "kid": cluster_kid()}), &h.cluster_claims(), &[7; 32]))),
    case("alg rs256 (lower case)", 50027, 400, |h| h.v2(&sign_rs256_raw(CLUSTER_KEY, &json!({"alg": "rs256", "kid": cluster_kid()}), &h.cluster_claims()))),
    case("embedded jwk header", 50027, 400, |h| h.v2(&sign_rs256_raw(3, &json!({"alg": "RS256", "kid": cluster_kid(), "jwk": rsa_key(3).public_jwk()}), &h.cluster_claims()))),
    case("jku header", 50027, 400, |h| h.v2(&sign_rs256_raw(3, &json!({"alg": "RS256", "kid": cluster_kid(), "jku": "https://evil.test/jwks"}), &h.cluster_claims()))),
    case("crit header", 50027, 400, |h| h.v2(&sign_rs256_raw(CLUSTER_KEY, &json!({"alg": "RS256", "kid": cluster_kid(), "crit": ["exp"]}), &h.cluster_claims()))),
    case("no iss", 50027, 400, |h| with_claims(h, &cluster_claims_with(h, "iss", Value::Null))),
    case("no sub", 50027, 400, |h| with_claims(h, &cluster_claims_with(h, "sub", Value::Null))),
    case("no aud", 50027, 400, |h| with_claims(h, &cluster_claims_with(h, "aud", Value::Null))),
    case("repeated sub claim", 50027, 400, |h| { let c = h.cluster_claims().to_string(); let c = format!("{{\"sub\":\"system:serviceaccount:kube-system:admin\",{}", &c[1..]); h.v2(&sign_rs256_text(CLUSTER_KEY, &format!("{{\"alg\":\"RS256\",\"kid\":\"{}\"}}", cluster_kid()), &c)) }),
    case("repeated alg header", 50027, 400, |h| h.v2(&sign_rs256_text(CLUSTER_KEY, &format!("{{\"alg\":\"none\",\"alg\":\"RS256\",\"kid\":\"{}\"}}", cluster_kid()), &h.cluster_claims().to_string()))),
    case("kid a number", 50027, 400, |h| h.v2(&sign_rs256_raw(CLUSTER_KEY, &json!({"alg": "RS256", "kid": 7}), &h.cluster_claims()))),
    case("claims nested 5000 deep", 50027, 400, |h| h.v2(&sign_rs256_text(CLUSTER_KEY, &json!({"alg": "RS256", "kid": cluster_kid()}).to_string(), &format!("{{\"x\":{}{}}}", "[".repeat(5000), "]".repeat(5000))))),
    case("claims not an object", 50027, 400, |h| h.v2(&sign_rs256_raw(CLUSTER_KEY, &json!({"alg": "RS256", "kid": cluster_kid()}), &json!(["iss"])))),
    case("assertion over 16 KiB", 50027, 400, |h| with_claims(h, &cluster_claims_with(h, "pad", json!("p".repeat(17 * 1024))))),
    case("unknown client_assertion_type", 50027, 400, |h| h.v2_valid().set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")),
    // 700222: Entra's own tokens, whether or not a credential names the issuer.
    case("iss login.microsoftonline.com", 700222, 400, |h| with_claims(h, &cluster_claims_with(h, "iss", json!("https://login.microsoftonline.com/x/v2.0")))),
    case("iss sts.windows.net", 700222, 400, |h| with_claims(h, &cluster_claims_with(h, "iss", json!("https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/")))),
    case("iss login.microsoftonline.com, alg none", 700222, 400, |h| h.v2(&unsigned_jws(&json!({"alg": "none"}), &cluster_claims_with(h, "iss", json!("https://login.microsoftonline.com/x/v2.0")), b""))),
    // 700211: no credential trusts the issuer (compared exactly).
    case("untrusted issuer", 700211, 401, |h| with_claims(h, &cluster_claims_with(h, "iss", json!("https://evil.test/")))),
    case("issuer without trailing slash", 700211, 401, |h| { let i = h.issuer(); with_claims(h, &cluster_claims_with(h, "iss", json!(i.trim_end_matches('/')))) }),
    case("issuer with upper-case host", 700211, 401, |h| { let i = h.issuer().replace("wif.test", "WIF.test"); with_claims(h, &cluster_claims_with(h, "iss", json!(i))) }),
    // 700213: the subject matches no credential of the issuer.
    case("other service account", 700213, 401, |h| h.v2(&h.minted(SUBJECT_NS, "other", h.now(), secs(0)))),
    case("other namespace", 700213, 401, |h| h.v2(&h.minted("kube-system", SUBJECT_SA, h.now(), secs(0)))),
    case("subject with trailing space", 700213, 401, |h| with_claims(h, &cluster_claims_with(h, "sub", json!(format!("{SUBJECT} "))))),
    // 7002138: the subject matches only case-insensitively.
    case("subject differing in case", 7002138, 401, |h| with_claims(h, &cluster_claims_with(h, "sub", json!(SUBJECT.to_uppercase())))),
    // 700212: issuer and subject match, the audience does not.
    case("audience differing in case", 700212, 401, |h| with_claims(h, &cluster_claims_with(h, "aud", json!(["api://azureadtokenexchange"])))),
    case("other audience", 700212, 401, |h| with_claims(h, &cluster_claims_with(h, "aud", json!("https://kubernetes.default.svc")))),
    // 700024: outside the valid time range, beyond the 300 s skew.
    case("expired 400 s ago", 700024, 401, |h| h.v2(&h.minted(SUBJECT_NS, SUBJECT_SA, h.now(), secs(1000)))),
    case("expired exactly 300 s ago", 700024, 401, |h| h.v2(&h.minted(SUBJECT_NS, SUBJECT_SA, h.now(), secs(900)))),
    case("nbf 301 s in the future", 700024, 401, |h| h.v2(&h.minted(SUBJECT_NS, SUBJECT_SA, at(h, 301), secs(0)))),
    case("iat and nbf an hour ahead", 700024, 401, |h| h.v2(&h.minted(SUBJECT_NS, SUBJECT_SA, at(h, 3600), secs(0)))),
    case("no exp", 700024, 401, |h| with_claims(h, &cluster_claims_with(h, "exp", Value::Null))),
    case("exp a string", 700024, 401, |h| with_claims(h, &cluster_claims_with(h, "exp", json!("never")))),
    // 700027: the signature does not verify against the issuer's keys.
    case("signed by another key, right kid", 700027, 401, |h| h.v2(&sign_rs256_raw(3, &json!({"alg": "RS256", "kid": cluster_kid(), "typ": "JWT"}), &h.cluster_claims()))),
    case("signed by another key, its own kid", 700027, 401, |h| h.v2(&rsa_key(3).sign_jwt(&h.cluster_claims(), &[]).unwrap())),
    case("empty signature", 700027, 401, |h| { let t = h.assertion(); h.v2(&t[..=t.rfind('.').unwrap()]) }),
    case("tampered payload", 700027, 401, |h| h.v2(&tampered(h))),
    case("signature bytes zeroed", 700027, 401, |h| h.v2(&unsigned_jws(&json!({"alg": "RS256", "kid": cluster_kid()}), &h.cluster_claims(), &[0; 256]))),
    // 70011: not exactly one resource scope.
    case("two resource scopes", 70011, 400, |h| h.v2_valid().set("scope", "https://vault.azure.net/.default https://management.azure.com/.default")),
    case("scope only openid", 70011, 400, |h| h.v2_valid().set("scope", "openid")),
    // 1002012: a resource scope without /.default.
    case("scope without /.default", 1002012, 400, |h| h.v2_valid().set("scope", "https://vault.azure.net")),
    case("delegated scope", 1002012, 400, |h| h.v2_valid().set("scope", "https://vault.azure.net/user_impersonation")),
    // 500011: the resource is not one wif serves.
    case("unknown resource scope", 500011, 400, |h| h.v2_valid().set("scope", "https://unknown.example/.default")),
    case("unknown v1 resource", 500011, 400, |h| Call { path: format!("/{}/oauth2/token", h.tid()), ..h.v2_valid().without("scope").set("resource", "https://unknown.example") }),
    // 70025: the identity has no federated credentials.
    case("identity without credentials", 70025, 401, |h| h.v2_valid().set("client_id", h.fixture.bare_identity.client_id.to_string())),
];

/// Runs every corpus row with `code` against one harness and reports all mismatches at once.
async fn run_corpus(code: u32) {
    let h = Harness::new().await;
    let rows: Vec<&Case> = CORPUS.iter().filter(|c| c.code == code).collect();
    assert!(!rows.is_empty(), "the corpus has no row for AADSTS{code}");
    let mut failures = Vec::new();
    for row in rows {
        let call = (row.call)(&h);
        let reply = h.call(&call).await;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_entra_error(&reply, row.status, row.code);
        }));
        if outcome.is_err() {
            failures.push(format!(
                "{}: expected AADSTS{} / {}, got {} {}",
                row.what,
                row.code,
                row.status,
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        h.fetcher.calls(),
        0,
        "no corpus row may make the server fetch keys"
    );
}

#[tokio::test]
async fn unknown_tenant_is_aadsts90002() {
    run_corpus(90002).await;
}

#[tokio::test]
async fn missing_parameter_is_aadsts900144() {
    run_corpus(900144).await;
}

#[tokio::test]
async fn unsupported_grant_is_aadsts70003() {
    run_corpus(70003).await;
}

#[tokio::test]
async fn unknown_client_is_aadsts700016() {
    run_corpus(700016).await;
}

#[tokio::test]
async fn missing_client_assertion_is_aadsts7000216() {
    run_corpus(7000216).await;
}

#[tokio::test]
async fn malformed_or_unacceptable_assertion_is_aadsts50027() {
    run_corpus(50027).await;
}

#[tokio::test]
async fn entra_issued_assertion_is_aadsts700222() {
    run_corpus(700222).await;
}

#[tokio::test]
async fn untrusted_issuer_is_aadsts700211() {
    run_corpus(700211).await;
}

#[tokio::test]
async fn subject_mismatch_is_aadsts700213() {
    run_corpus(700213).await;
}

#[tokio::test]
async fn subject_differing_only_in_case_is_aadsts7002138() {
    run_corpus(7002138).await;
}

#[tokio::test]
async fn audience_mismatch_is_aadsts700212() {
    run_corpus(700212).await;
}

#[tokio::test]
async fn assertion_outside_time_range_is_aadsts700024() {
    run_corpus(700024).await;
}

#[tokio::test]
async fn bad_signature_is_aadsts700027() {
    run_corpus(700027).await;
}

#[tokio::test]
async fn more_than_one_scope_is_aadsts70011() {
    run_corpus(70011).await;
}

#[tokio::test]
async fn scope_without_default_suffix_is_aadsts1002012() {
    run_corpus(1002012).await;
}

#[tokio::test]
async fn unknown_resource_is_aadsts500011() {
    run_corpus(500011).await;
}

#[tokio::test]
async fn identity_without_credentials_is_aadsts70025() {
    run_corpus(70025).await;
}

#[tokio::test]
async fn expired_by_less_than_the_skew_still_succeeds() {
    let h = Harness::new().await;
    // iat = now - 700, exp = iat + 600 = now - 100: expired, but within the 300 s skew.
    let assertion = h.minted(SUBJECT_NS, SUBJECT_SA, h.now(), secs(700));
    let exp = crate::harness::decode_segment(&assertion, 1)["exp"].clone();
    assert_eq!(exp, h.now().as_secs() - 100);
    let reply = h.call(&h.v2(&assertion)).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    // Likewise an assertion issued 299 s in the future.
    let early = h.minted(SUBJECT_NS, SUBJECT_SA, at(&h, 299), secs(0));
    let reply = h.call(&h.v2(&early)).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
}

#[tokio::test]
async fn time_range_message_prints_epoch_for_missing_exp() {
    let h = Harness::new().await;
    let claims = cluster_claims_with(&h, "exp", Value::Null);
    let body = assert_entra_error(&h.call(&with_claims(&h, &claims)).await, 401, 700024);
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains("expiry time of assertion 1970-01-01T00:00:00.0000000Z"),
        "{description}"
    );
}

#[tokio::test]
async fn subject_mismatch_names_the_presented_subject() {
    let h = Harness::new().await;
    let call = h.v2(&h.minted(SUBJECT_NS, "wrong-sa", h.now(), secs(0)));
    let body = assert_entra_error(&h.call(&call).await, 401, 700213);
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description
            .contains("presented assertion subject 'system:serviceaccount:default:wrong-sa'"),
        "{description}"
    );
}

#[tokio::test]
async fn body_too_large_is_an_entra_json_error_not_plain_text() {
    let h = Harness::new().await;
    let big = format!(
        "grant_type=client_credentials&pad={}",
        "x".repeat(65 * 1024)
    );
    let call = Call::to(h.v2_path()).raw(big);
    let reply = h.call(&call).await;
    let body = assert_entra_error(&reply, 400, 900144);
    assert!(body["error_description"].as_str().unwrap().contains("form"));
    // Just under the limit is parsed as a form (and fails on the first missing parameter).
    let fits = format!(
        "grant_type=client_credentials&pad={}",
        "x".repeat(60 * 1024)
    );
    let reply = h.call(&Call::to(h.v2_path()).raw(fits)).await;
    let body = assert_entra_error(&reply, 400, 900144);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("'client_id'"),
        "{body}"
    );
}

#[tokio::test]
async fn error_timestamp_is_the_request_time() {
    let h = Harness::new().await;
    h.clock.advance(42);
    let body = assert_entra_error(
        &h.call(&h.v2_valid().set("grant_type", "password")).await,
        400,
        70003,
    );
    assert_eq!(body["timestamp"], h.now().to_entra_timestamp());
    assert_eq!(body["timestamp"], "2027-01-15 08:00:42Z");
}

#[tokio::test]
async fn valid_request_parts_are_accepted_in_any_order() {
    let h = Harness::new().await;
    let assertion = h.assertion();
    let body = format!(
        "client_assertion={assertion}&scope={}&client_assertion_type={}&client_id={}&grant_type=client_credentials",
        urlencode(VAULT_SCOPE),
        urlencode(JWT_BEARER),
        h.client_id()
    );
    let reply = h.call(&Call::to(h.v2_path()).raw(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Requests that break two steps at once, answered with the earlier step's code: the order of
/// checks documented in `sts/exchange.rs`, one line per adjacent pair.
#[rustfmt::skip]
const ORDER: &[Case] = &[
    case("unknown tenant, password grant", 90002, 400, |h| Call { path: "/00000000-0000-4000-8000-000000000bad/oauth2/v2.0/token".into(), ..h.v2_valid().set("grant_type", "password") }),
    case("password grant, no client_id", 70003, 400, |h| h.v2_valid().set("grant_type", "password").without("client_id")),
    case("no client_id, two scopes", 900144, 400, |h| h.v2_valid().without("client_id").set("scope", "a/.default b/.default")),
    case("two scopes, unknown client", 70011, 400, |h| h.v2_valid().set("scope", "a/.default b/.default").set("client_id", "nope")),
    case("unknown client, no assertion", 700016, 400, |h| h.v2_valid().set("client_id", "nope").without("client_assertion")),
    case("no assertion, no assertion type", 7000216, 401, |h| h.v2_valid().without("client_assertion").without("client_assertion_type")),
    case("bad assertion type, unknown resource", 50027, 400, |h| h.v2_valid().set("client_assertion_type", "saml").set("scope", "https://unknown.example/.default")),
    case("unknown resource, identity without credentials", 500011, 400, |h| h.v2_valid().set("scope", "https://unknown.example/.default").set("client_id", h.fixture.bare_identity.client_id.to_string())),
    case("identity without credentials, garbage assertion", 70025, 401, |h| h.v2("garbage").set("client_id", h.fixture.bare_identity.client_id.to_string())),
    case("Entra issuer, alg none", 700222, 400, |h| h.v2(&unsigned_jws(&json!({"alg": "none"}), &cluster_claims_with(h, "iss", json!("https://login.windows.net/x/")), b""))),
    case("alg none, untrusted issuer", 50027, 400, |h| h.v2(&unsigned_jws(&json!({"alg": "none"}), &cluster_claims_with(h, "iss", json!("https://evil.test/")), b""))),
    case("untrusted issuer, expired", 700211, 401, |h| { let mut c = cluster_claims_with(h, "iss", json!("https://evil.test/")); c["exp"] = json!(h.now().as_secs() - 3600); with_claims(h, &c) }),
    case("wrong key, expired", 700027, 401, |h| { let mut c = h.cluster_claims(); c["exp"] = json!(h.now().as_secs() - 3600); h.v2(&rsa_key(3).sign_jwt(&c, &[]).unwrap()) }),
    case("expired, wrong subject", 700024, 401, |h| { let mut c = cluster_claims_with(h, "sub", json!("system:serviceaccount:x:y")); c["exp"] = json!(h.now().as_secs() - 3600); with_claims(h, &c) }),
    case("expired, no sub", 700024, 401, |h| { let mut c = cluster_claims_with(h, "sub", Value::Null); c["exp"] = json!(h.now().as_secs() - 3600); with_claims(h, &c) }),
    case("wrong subject, wrong audience", 700213, 401, |h| { let mut c = cluster_claims_with(h, "sub", json!("system:serviceaccount:x:y")); c["aud"] = json!("other"); with_claims(h, &c) }),
];

#[tokio::test]
async fn checks_run_in_the_documented_order() {
    let h = Harness::new().await;
    let mut failures = Vec::new();
    for row in ORDER {
        let reply = h.call(&(row.call)(&h)).await;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            assert_entra_error(&reply, row.status, row.code);
        }));
        if outcome.is_err() {
            failures.push(format!(
                "{}: expected AADSTS{}, got {} {}",
                row.what,
                row.code,
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn get_on_token_endpoint_is_aadsts900561() {
    // Entra: "AADSTS900561: The endpoint only accepts POST, OPTIONS requests. Received a GET
    // request." (invalid_request, 400). STYLE.md §2: malformed requests fail in our format too.
    let h = Harness::new().await;
    for path in [h.v2_path(), format!("/{}/oauth2/token", h.tid())] {
        let reply = h.get(&path).await;
        assert_entra_error(&reply, 400, 900561);
    }
}

#[tokio::test]
async fn tenant_segment_with_invalid_utf8_is_aadsts90002() {
    // `sts/routes.rs` extracts the tenant with a bare `Path<String>` (token_v2 and token_v1), so
    // axum answers "Invalid URL: Invalid UTF-8 in `tenant`" as text/plain before the handler
    // runs: no Entra JSON, no correlation id, no sign-in record. A segment that decodes to valid
    // but unknown text (`%C3%A9`) already gets AADSTS90002.
    let h = Harness::new().await;
    for path in ["/%FF/oauth2/v2.0/token", "/%FF/oauth2/token"] {
        let reply = h
            .call(&Call {
                path: path.into(),
                ..h.v2_valid()
            })
            .await;
        assert_entra_error(&reply, 400, 90002);
    }
}
