//! The whole workload-identity path through the binary: `wif token` mints the assertion, the
//! running server exchanges it (RFC 7523 client assertion, Entra's v2.0 token endpoint), and
//! `wif signins list` shows what happened, in each output format.

use serde_json::Value;

use crate::harness::{
    CHANGE_TIMEOUT, CLUSTER, CREDENTIAL, IDENTITY, TENANT_ID, TOPOLOGY, Workspace, decode_jwt,
    exchange, wait_for,
};

/// `wif signins list -o json <extra…>`, parsed.
fn signins(ws: &Workspace, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["signins", "list", "-o", "json"];
    args.extend_from_slice(extra);
    let run = ws.wif(args).success();
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not a JSON array ({e}): {run}"))
}

#[tokio::test]
async fn exchange_with_minted_token_end_to_end() {
    let ws = Workspace::new();
    let topology = ws.write("topology.yaml", TOPOLOGY);
    let mut server = ws.up(Some(&topology));
    let client = server.client();
    let authority = server.authority().to_owned();
    let client_id = server.client_id(IDENTITY);
    let issuer = server.issuer(CLUSTER);

    let token = ws.mint(CLUSTER, "workload", &[]);
    let (status, body) = exchange(&client, &authority, TENANT_ID, &client_id, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer", "{body}");
    let access = decode_jwt(body["access_token"].as_str().expect("access_token"));
    assert_eq!(access.claims["tid"], TENANT_ID, "{}", access.claims);
    assert_eq!(
        access.claims["appid"],
        client_id.as_str(),
        "{}",
        access.claims
    );

    // The sign-in writer appends in the background: wait for the record.
    let rows = wait_for("the success in the sign-in log", CHANGE_TIMEOUT, || {
        let rows = signins(&ws, &[]);
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["result"], "success", "{row}");
    assert_eq!(row["credential"], CREDENTIAL, "{row}");
    assert_eq!(row["clientId"], client_id.as_str(), "{row}");
    assert_eq!(row["identity"], IDENTITY, "{row}");
    assert_eq!(row["issuer"], issuer.as_str(), "{row}");
    assert_eq!(
        row["subject"], "system:serviceaccount:default:workload",
        "{row}"
    );

    // A token for another service account: the identity trusts no such subject.
    let wrong = ws.mint(CLUSTER, "other", &[]);
    let (status, body) = exchange(&client, &authority, TENANT_ID, &client_id, &wrong).await;
    assert_eq!(status, 401, "{body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.starts_with("AADSTS700213"), "{body}");
    assert!(
        body["error_codes"]
            .as_array()
            .is_some_and(|codes| codes.iter().any(|c| c == 700_213)),
        "{body}"
    );

    let table = wait_for("the failure in the sign-in log", CHANGE_TIMEOUT, || {
        let run = ws
            .wif(["signins", "list", "--failed", "-o", "table"])
            .success();
        run.stdout.contains("AADSTS700213").then_some(run.stdout)
    });
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "a header, a rule and one failure:\n{table}");
    assert!(
        lines[0].starts_with("Time") && lines[0].contains("Result"),
        "{table}"
    );
    assert!(lines[1].chars().all(|c| c == '-' || c == ' '), "{table}");
    assert!(
        lines[2].contains("AADSTS700213")
            && lines[2].contains("system:serviceaccount:default:other"),
        "{table}"
    );

    let run = ws
        .wif(["signins", "list", "--query", "[].result", "-o", "tsv"])
        .success();
    let mut results: Vec<&str> = run.stdout.lines().collect();
    results.sort_unstable();
    assert_eq!(results, ["AADSTS700213", "success"], "{run}");
    assert!(run.stdout.ends_with('\n'), "{run}");

    server.stop_cleanly();
}
