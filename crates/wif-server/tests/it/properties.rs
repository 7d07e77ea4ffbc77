//! Properties of the token endpoints over arbitrary input: whatever the body, the answer is a
//! success or an Entra error, never a 5xx and never a panic (STYLE.md §7). The case count is
//! bounded so the suite stays fast; `PROPTEST_CASES` raises it for a longer run.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;
use wif_jose::b64;

use crate::harness::{Call, Harness, JWT_BEARER, VAULT_SCOPE, assert_entra_error};

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 64;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// What the server must answer with: 200, or an Entra error that passes every wire check.
fn check(reply: &crate::harness::Reply) -> Result<(), TestCaseError> {
    prop_assert!(
        reply.status.as_u16() < 500,
        "{} {}",
        reply.status,
        String::from_utf8_lossy(&reply.body)
    );
    if reply.status != 200 {
        let code = reply.json()["error_codes"][0].as_u64();
        prop_assert!(code.is_some(), "{}", String::from_utf8_lossy(&reply.body));
        let code = u32::try_from(code.unwrap_or_default()).unwrap_or_default();
        assert_entra_error(reply, reply.status.as_u16(), code);
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A token path: the fixture tenant (by id or domain) or anything, on either endpoint.
fn path(tid: String) -> impl Strategy<Value = String> {
    let tenant = prop_oneof![
        3 => Just(tid),
        1 => Just("contoso.onmicrosoft.com".to_owned()),
        1 => "[a-zA-Z0-9.-]{1,40}",
    ];
    let endpoint = prop_oneof![Just("oauth2/v2.0/token"), Just("oauth2/token")];
    (tenant, endpoint).prop_map(|(t, e)| format!("/{t}/{e}"))
}

/// A client assertion: random text, random base64url parts, JSON of random shape, or a valid
/// assertion with one character changed.
fn assertion(valid: String) -> impl Strategy<Value = String> {
    let segment = "[A-Za-z0-9_-]{0,80}";
    let json_value = prop_oneof![
        Just(json!(null)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,20}".prop_map(|s| json!(s)),
        Just(json!(["api://AzureADTokenExchange"])),
        Just(json!({"nested": [1, 2, {"x": true}]})),
    ];
    let claim_names = prop_oneof![
        Just("iss"),
        Just("sub"),
        Just("aud"),
        Just("exp"),
        Just("nbf"),
        Just("iat"),
        Just("kid"),
        Just("alg"),
        Just("jwk"),
        Just("crit"),
    ];
    let object = proptest::collection::vec((claim_names, json_value), 0..8).prop_map(|members| {
        let mut map = serde_json::Map::new();
        for (k, v) in members {
            map.insert(k.to_owned(), v);
        }
        serde_json::Value::Object(map)
    });
    let valid_len = valid.len();
    prop_oneof![
        "\\PC{0,200}",
        (segment, segment, segment).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (
            object.clone(),
            object,
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(h, c, s)| format!(
                "{}.{}.{}",
                b64::encode(h.to_string().as_bytes()),
                b64::encode(c.to_string().as_bytes()),
                b64::encode(&s)
            )),
        (0..valid_len, "[A-Za-z0-9_.=+/ -]").prop_map(move |(i, c)| {
            let mut s = valid.clone();
            if s.is_char_boundary(i) && s.is_char_boundary(i + 1) {
                s.replace_range(i..=i, &c);
            }
            s
        }),
    ]
}

/// Form fields: the known ones with valid or arbitrary values, and arbitrary others.
fn fields(client_id: String, valid: String) -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("grant_type".to_owned()),
        Just("client_id".to_owned()),
        Just("scope".to_owned()),
        Just("resource".to_owned()),
        Just("client_assertion_type".to_owned()),
        Just("client_assertion".to_owned()),
        Just("client_secret".to_owned()),
        Just("client-request-id".to_owned()),
        "[a-zA-Z_-]{1,16}",
    ];
    let value = prop_oneof![
        Just("client_credentials".to_owned()),
        Just(client_id),
        Just(VAULT_SCOPE.to_owned()),
        Just("https://vault.azure.net".to_owned()),
        Just(JWT_BEARER.to_owned()),
        assertion(valid),
        "\\PC{0,64}",
    ];
    proptest::collection::vec((name, value), 0..12)
}

#[test]
fn arbitrary_bytes_never_cause_a_server_error() {
    let rt = runtime();
    let h = rt.block_on(Harness::new());
    let paths = path(h.tid());
    let bodies = proptest::collection::vec(any::<u8>(), 0..4096);
    TestRunner::new(config())
        .run(&(paths, bodies), |(path, body)| {
            let reply = rt.block_on(h.call(&Call::to(path).raw(body)));
            check(&reply)
        })
        .unwrap();
}

#[test]
fn arbitrary_forms_never_cause_a_server_error() {
    let rt = runtime();
    let h = rt.block_on(Harness::new());
    let strategy = (path(h.tid()), fields(h.client_id(), h.assertion()));
    TestRunner::new(config())
        .run(&strategy, |(path, fields)| {
            let call = Call {
                fields,
                ..Call::to(path)
            };
            let reply = rt.block_on(h.call(&call));
            check(&reply)
        })
        .unwrap();
}

#[test]
fn complete_requests_with_arbitrary_assertions_never_cause_a_server_error() {
    let rt = runtime();
    let h = rt.block_on(Harness::new());
    let strategy = assertion(h.assertion());
    TestRunner::new(config())
        .run(&strategy, |assertion| {
            let reply = rt.block_on(h.call(&h.v2(&assertion)));
            check(&reply)
        })
        .unwrap();
}
