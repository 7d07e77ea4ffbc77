//! `wif token`: the projected service-account token file kubelet would write (KEP-1205 bound
//! tokens: RS256, `aud` an array, `nbf` = `iat`, the `kubernetes.io` object), written
//! atomically and privately, with Kubernetes' lifetime bounds, with or without a running server.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use serde_json::{Value, json};

use crate::harness::{CLUSTER, TOPOLOGY, Workspace, decode_jwt, get_json, now, verify_with};

fn assert_uuid(value: &Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{what} is not a GUID ({e}): {text}"));
}

/// Asserts the claims of a default `wif token` for `default/workload`, minted between `t0` and
/// `t1`; returns them.
fn assert_workload_claims(token: &str, issuer: &str, t0: i64, t1: i64) -> Value {
    let jwt = decode_jwt(token);
    assert_eq!(jwt.header["alg"], "RS256", "{}", jwt.header);
    assert!(jwt.header["kid"].is_string(), "{}", jwt.header);
    let c = jwt.claims;
    assert_eq!(c["iss"], issuer, "{c}");
    assert_eq!(c["sub"], "system:serviceaccount:default:workload", "{c}");
    assert_eq!(c["aud"], json!(["api://AzureADTokenExchange"]), "{c}");
    let iat = c["iat"].as_i64().expect("iat");
    let exp = c["exp"].as_i64().expect("exp");
    let nbf = c["nbf"].as_i64().expect("nbf");
    assert!((t0..=t1).contains(&iat), "iat {iat} not in [{t0}, {t1}]");
    assert_eq!(exp - iat, 3600, "the default lifetime is 1h: {c}");
    assert_eq!(nbf, iat, "{c}");
    assert_uuid(&c["jti"], "jti");
    let k8s = &c["kubernetes.io"];
    assert_eq!(k8s["namespace"], "default", "{c}");
    assert_eq!(k8s["serviceaccount"]["name"], "workload", "{c}");
    assert_uuid(&k8s["serviceaccount"]["uid"], "serviceaccount uid");
    c
}

fn token_args<'a>(cluster: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "token",
        "--cluster",
        cluster,
        "--namespace",
        "default",
        "--service-account",
        "workload",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test]
async fn token_file_is_private_atomic_and_has_no_newline() {
    let ws = Workspace::new();
    let topology = ws.write("topology.yaml", TOPOLOGY);
    let mut server = ws.up(Some(&topology));
    let issuer = server.issuer(CLUSTER);
    let client = server.client();
    let jwks = get_json(&client, &format!("{issuer}openid/v1/jwks")).await;

    // A world-readable file already at --out is replaced by a new private file, never
    // rewritten in place.
    let out_dir = ws.path("tokens");
    fs::create_dir(&out_dir).expect("mkdir");
    let out = out_dir.join("token");
    fs::write(&out, "stale contents\n").expect("write");
    fs::set_permissions(&out, fs::Permissions::from_mode(0o644)).expect("chmod");
    let stale_inode = fs::metadata(&out).expect("stat").ino();
    let t0 = now();
    let run = ws.wif(token_args(
        CLUSTER,
        &["--out", out.to_str().expect("utf-8")],
    ));
    run.success();
    let t1 = now();
    let meta = fs::metadata(&out).expect("stat");
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_ne!(
        meta.ino(),
        stale_inode,
        "written to a new file renamed over the old"
    );
    let leftovers: Vec<_> = fs::read_dir(&out_dir)
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["token"], "no temporary file may remain");
    let token = fs::read_to_string(&out).expect("read");
    assert_eq!(token, token.trim(), "no surrounding whitespace or newline");
    let claims = assert_workload_claims(&token, &issuer, t0, t1);
    assert!(claims["kubernetes.io"].get("pod").is_none(), "{claims}");
    verify_with(&token, &jwks).expect("signed by the issuer's published key");
    let sa_uid = claims["kubernetes.io"]["serviceaccount"]["uid"].clone();

    // --pod binds it to a pod.
    let c = decode_jwt(&ws.mint(CLUSTER, "workload", &["--pod", "p1"])).claims;
    assert_eq!(c["kubernetes.io"]["pod"]["name"], "p1", "{c}");
    assert_uuid(&c["kubernetes.io"]["pod"]["uid"], "pod uid");
    assert_eq!(
        c["kubernetes.io"]["serviceaccount"]["uid"], sa_uid,
        "stable per account"
    );

    // --backdate moves iat back: with 2h back and 1h of life it has already expired.
    let c = decode_jwt(&ws.mint(
        CLUSTER,
        "workload",
        &["--backdate", "2h", "--expiration", "1h"],
    ))
    .claims;
    let (iat, exp) = (
        c["iat"].as_i64().expect("iat"),
        c["exp"].as_i64().expect("exp"),
    );
    assert_eq!(exp - iat, 3600, "{c}");
    assert!(exp < now(), "exp {exp} must be in the past: {c}");

    // Kubernetes' bounds: 10 minutes to 48 hours.
    for bad in ["5m", "49h"] {
        let run = ws
            .wif(token_args(CLUSTER, &["--expiration", bad]))
            .failure();
        assert!(
            run.stderr.contains("out of range") && run.stderr.contains("between 10m and 48h"),
            "{run}"
        );
        assert_eq!(run.stdout, "", "no token on failure: {run}");
    }

    let run = ws.wif(token_args("aks-nowhere", &[])).failure();
    assert!(
        run.stderr.contains("cluster 'aks-nowhere' not found"),
        "{run}"
    );
    assert!(
        run.stderr.contains("known clusters:")
            && run.stderr.contains("aks-eastus")
            && run.stderr.contains("aks-untrusted"),
        "{run}"
    );

    // With no server running, tokens come from the store alone.
    server.stop_cleanly();
    let t0 = now();
    let token = ws.mint(CLUSTER, "workload", &[]);
    let t1 = now();
    assert_workload_claims(&token, &issuer, t0, t1);
    verify_with(&token, &jwks).expect("signed by the same key");
}
