//! `wif up`: the ready file and `server.json`, serving over TLS, a clean stop on SIGTERM,
//! idempotent topology applies, the demo on an empty store, topology errors reported with their
//! line before anything is written, restarts on another port, and refusing private keys other
//! users can read.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::harness::{
    CLUSTER, IDENTITY, TENANT_DOMAIN, TENANT_ID, TOPOLOGY, Workspace, by_name, exchange, get_json,
    https_client, https_client_alpn, names, str_at,
};

/// How many signing keys the store holds, through `wif keys list`.
fn key_count(ws: &Workspace) -> usize {
    let run = ws
        .wif(["keys", "list", "--query", "length(@)", "-o", "tsv"])
        .success();
    run.stdout
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("not a count ({e}): {run}"))
}

/// The 1-based number of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line contains {needle:?}"))
        + 1
}

fn applied_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("topology applied"))
        .collect()
}

fn assert_uuid(value: &serde_json::Value, what: &str) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {value}"));
    uuid::Uuid::parse_str(text).unwrap_or_else(|e| panic!("{what} is not a GUID ({e}): {text}"));
}

#[tokio::test]
async fn up_serves_and_writes_ready_file() {
    let ws = Workspace::new();
    let topology = ws.write("topology.yaml", TOPOLOGY);
    let mut server = ws.up(Some(&topology));
    let ready = server.ready.clone();
    let port = server.port();
    assert_ne!(port, 0, "the ready file must name the port the OS picked");
    assert_eq!(server.authority(), format!("https://localhost:{port}"));

    assert_eq!(names(&ready, "tenants"), ["contoso"]);
    let tenant = by_name(&ready, "tenants", "contoso");
    assert_eq!(tenant["id"], TENANT_ID);
    assert_eq!(tenant["domain"], TENANT_DOMAIN);

    assert_eq!(names(&ready, "clusters"), ["aks-eastus", "aks-untrusted"]);
    for (name, region) in [("aks-eastus", "eastus"), ("aks-untrusted", "westeurope")] {
        let cluster = by_name(&ready, "clusters", name);
        assert_eq!(cluster["region"], region, "{cluster}");
        assert_eq!(cluster["tenant_id"], TENANT_ID, "{cluster}");
        // AKS's shape: https://<host>/<region>/<tenant id>/<cluster guid>/
        let issuer = str_at(cluster, "issuer");
        let prefix = format!("{}/{region}/{TENANT_ID}/", server.authority());
        let guid = issuer
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| panic!("issuer {issuer} is not {prefix}<guid>/"));
        uuid::Uuid::parse_str(guid).unwrap_or_else(|e| panic!("issuer {issuer}: {e}"));
    }

    assert_eq!(names(&ready, "identities"), ["id-workload"]);
    let identity = by_name(&ready, "identities", "id-workload");
    assert_eq!(identity["tenant_id"], TENANT_ID);
    assert_uuid(&identity["client_id"], "client_id");
    assert_uuid(&identity["principal_id"], "principal_id");
    let resource_id = str_at(identity, "resource_id");
    assert!(
        resource_id.starts_with("/subscriptions/")
            && resource_id.ends_with(
                "/resourcegroups/rg-identity/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-workload"
            ),
        "{resource_id}"
    );

    let ca = ws.data_dir().join("ca").join("ca.pem");
    assert_eq!(
        server.ca_path(),
        fs::canonicalize(&ca).expect("the CA exists")
    );
    let server_json = fs::read_to_string(ws.data_dir().join("server.json")).expect("server.json");
    assert_eq!(
        server_json, server.ready_text,
        "server.json must equal the ready file"
    );

    // TLS trusting only data/ca/ca.pem, with the certificate's name (localhost) matching.
    let client = https_client(&ca, port);
    let url = format!("{}/healthz", server.authority());
    let resp = client
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("body"), "ok");

    // HTTP/2 is negotiated through ALPN when the client offers it.
    let h2 = https_client_alpn(&ca, port, &[b"h2", b"http/1.1"]);
    let resp = h2
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url} over h2: {e:?}"));
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().await.expect("h2 body"), "ok");
    // The stop guard waits synchronously on this runtime's thread, where the client could not
    // answer the server's graceful HTTP/2 GOAWAY; close the connection first. (A client that
    // never closes is cut off after the server's drain timeout.)
    drop(h2);

    // The issuer the ready file names is the one served.
    let issuer = server.issuer(CLUSTER);
    let discovery = get_json(
        &client,
        &format!("{issuer}.well-known/openid-configuration"),
    )
    .await;
    assert_eq!(discovery["issuer"], issuer);
    assert_eq!(discovery["jwks_uri"], format!("{issuer}openid/v1/jwks"));

    server.stop_cleanly();
}

#[test]
fn up_with_the_same_file_twice_changes_nothing() {
    let ws = Workspace::new();
    let topology = ws.write("topology.yaml", TOPOLOGY);
    let mut first = ws.up(Some(&topology));
    first.stop_cleanly();
    let first_log = first.stderr();
    assert!(
        applied_lines(&first_log)
            .iter()
            .any(|l| l.contains("+ identity id-workload")),
        "the first apply must log what it created:\n{first_log}"
    );
    let keys = key_count(&ws);
    assert_eq!(keys, 3, "one key per tenant and per cluster");

    let mut second = ws.up(Some(&topology));
    second.stop_cleanly();
    let second_log = second.stderr();
    assert_eq!(
        applied_lines(&second_log),
        Vec::<&str>::new(),
        "the second apply must change nothing:\n{second_log}"
    );
    // Same tenants, clusters with the same issuers (still naming the first run's port), and
    // identities with the same client and principal ids.
    for list in ["tenants", "clusters", "identities"] {
        assert_eq!(second.ready[list], first.ready[list], "{list} changed");
    }
    assert_eq!(key_count(&ws), keys, "no key may be added");
}

#[tokio::test]
async fn restart_on_another_port_keeps_issuers_and_still_exchanges() {
    let ws = Workspace::new();
    let topology = ws.write("topology.yaml", TOPOLOGY);
    let mut first = ws.up(Some(&topology));
    first.stop_cleanly();
    let issuer = first.issuer(CLUSTER);

    let mut second = ws.up(Some(&topology));
    // Issuers are fixed when a cluster is created, so they still name the first port.
    assert_eq!(second.issuer(CLUSTER), issuer);
    if second.port() != first.port() {
        let log = second.stderr();
        assert!(
            log.contains("issuer is not served at the current address"),
            "a moved issuer must be reported:\n{log}"
        );
    }
    // The token service verifies its own clusters' tokens from the store, wherever it listens.
    let token = ws.mint(CLUSTER, "workload", &[]);
    let (status, body) = exchange(
        &second.client(),
        second.authority(),
        TENANT_ID,
        &second.client_id(IDENTITY),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    second.stop_cleanly();
}

#[test]
fn up_without_file_creates_the_demo_once() {
    let ws = Workspace::new();
    let mut first = ws.up(None);
    first.stop_cleanly();
    let ready = &first.ready;
    assert_eq!(names(ready, "tenants"), ["demo"]);
    assert_eq!(
        by_name(ready, "tenants", "demo")["domain"],
        "demo.onmicrosoft.com"
    );
    assert_eq!(names(ready, "clusters"), ["aks-demo"]);
    assert_eq!(names(ready, "identities"), ["id-demo-workload"]);
    assert!(!applied_lines(&first.stderr()).is_empty());

    let mut second = ws.up(None);
    second.stop_cleanly();
    let log = second.stderr();
    assert_eq!(applied_lines(&log), Vec::<&str>::new(), "{log}");
    for list in ["tenants", "clusters", "identities"] {
        assert_eq!(second.ready[list], first.ready[list], "{list} changed");
    }
}

#[test]
fn invalid_topology_is_rejected_with_line_before_any_change() {
    let ws = Workspace::new();
    let good = ws.write("topology.yaml", TOPOLOGY);
    let mut server = ws.up(Some(&good));
    server.stop_cleanly();
    let before = server.ready.clone();
    let keys_before = key_count(&ws);

    // A shape error: found while parsing, before the store is opened.
    let text = format!(
        "{TOPOLOGY}  - name: id-extra\n    tenant: contoso\n    resourceGroup: rg-identity\n    bogusField: 1\n"
    );
    let unknown_field = ws.write("unknown-field.yaml", &text);
    let run = ws.up_refused(Some(&unknown_field));
    let expected = format!(
        "{}:{}:",
        unknown_field.display(),
        line_of(&text, "bogusField")
    );
    assert!(run.stderr.contains(&expected), "want {expected:?}: {run}");
    assert!(run.stderr.contains("unknown field `bogusField`"), "{run}");

    // A reference error: found while planning, after a new cluster and a new identity that
    // would otherwise be created.
    let text = TOPOLOGY.replacen(
        "identities:\n",
        "  - name: aks-extra\n    tenant: contoso\n    region: eastus\n    resourceGroup: rg-aks\nidentities:\n",
        1,
    ) + "  - name: id-extra\n    tenant: contoso\n    resourceGroup: rg-identity\n    federatedCredentials:\n      - name: fic-extra\n        cluster: aks-nowhere\n        subject: system:serviceaccount:default:extra\n";
    let undeclared = ws.write("undeclared-cluster.yaml", &text);
    let run = ws.up_refused(Some(&undeclared));
    let expected = format!(
        "{}:{}:",
        undeclared.display(),
        line_of(&text, "cluster: aks-nowhere")
    );
    assert!(run.stderr.contains(&expected), "want {expected:?}: {run}");
    assert!(
        run.stderr
            .contains("credential 'fic-extra' names cluster 'aks-nowhere', which is not declared"),
        "{run}"
    );
    assert_eq!(applied_lines(&run.stderr), Vec::<&str>::new(), "{run}");

    // Nothing was written: no key for aks-extra, and a later `up` (without a file, so it
    // applies nothing, not even the demo on this non-empty store) sees the first topology.
    assert_eq!(key_count(&ws), keys_before);
    let mut after = ws.up(None);
    after.stop_cleanly();
    assert_eq!(applied_lines(&after.stderr()), Vec::<&str>::new());
    for list in ["tenants", "clusters", "identities"] {
        assert_eq!(after.ready[list], before[list], "{list} changed");
    }
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

#[test]
fn refuses_world_readable_key() {
    let ws = Workspace::new();
    let mut server = ws.up(None);
    server.stop_cleanly();

    let data = ws.data_dir();
    for key in [
        data.join("ca").join("ca.key"),
        data.join("keys").join("kek"),
    ] {
        let mode = fs::metadata(&key).expect("key file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{} is created private", key.display());
        chmod(&key, 0o644);
        let run = ws.up_refused(None);
        let fix = format!("chmod 600 {}", key.display());
        assert!(run.stderr.contains(&fix), "want {fix:?}: {run}");
        chmod(&key, 0o600);
    }

    // Private again, both are accepted.
    let mut server = ws.up(None);
    server.stop_cleanly();
}
