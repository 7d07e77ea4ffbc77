//! `wif run` (a process as a pod), `wif hosts` (the hosts block) and `wif keyvault secret …`
//! against the data directory, with the real binary.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::harness::{WIF, Workspace, str_at, wait_for};

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWS");
    let bytes = wif_jose::b64::decode(part).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

#[test]
fn run_gives_the_child_the_pods_environment_and_its_exit_status() {
    let ws = Workspace::new();
    let run = ws
        .wif([
            "run",
            "--cluster",
            "aks-demo",
            "--service-account",
            "default/workload",
            "--",
            "true",
        ])
        .failure();
    assert!(run.stderr.contains("`wif up` first"), "{run}");
    let mut server = ws.up(None);

    let script = "printf '%s\\n' \"$AZURE_CLIENT_ID\" \"$AZURE_TENANT_ID\" \"$AZURE_AUTHORITY_HOST\" \"$AZURE_FEDERATED_TOKEN_FILE\" \"$SSL_CERT_FILE\"; \
                  stat -c %a \"$AZURE_FEDERATED_TOKEN_FILE\"; stat -c %a \"$(dirname \"$AZURE_FEDERATED_TOKEN_FILE\")\"; cat \"$AZURE_FEDERATED_TOKEN_FILE\"";
    let run = ws
        .wif([
            "run",
            "--cluster",
            "aks-demo",
            "--service-account",
            "default/workload",
            "--pod",
            "web-0",
            "--",
            "sh",
            "-c",
            script,
        ])
        .success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{run}");
    let identity = &server.ready["identities"][0];
    assert_eq!(lines[0], str_at(identity, "client_id"));
    assert_eq!(lines[1], str_at(&server.ready["tenants"][0], "id"));
    assert_eq!(lines[2], format!("{}/", server.authority()));
    assert!(lines[3].ends_with("/azure-identity-token"), "{}", lines[3]);
    assert!(lines[4].ends_with("bundle.pem"));
    assert_eq!(
        (lines[5], lines[6]),
        ("600", "700"),
        "private file in a private directory"
    );
    assert!(
        !fs::exists(lines[3]).unwrap_or(true),
        "the token directory is removed afterwards"
    );
    let claims = payload(lines[7]);
    assert_eq!(claims["sub"], "system:serviceaccount:default:workload");
    assert_eq!(claims["aud"][0], "api://AzureADTokenExchange");
    assert_eq!(claims["kubernetes.io"]["pod"]["name"], "web-0");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );
    assert!(
        claims["iss"]
            .as_str()
            .unwrap()
            .starts_with(server.authority())
    );

    // The child's exit status is wif run's.
    let status = ws
        .wif([
            "run",
            "--cluster",
            "aks-demo",
            "--service-account",
            "default/workload",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .status;
    assert_eq!(status.code(), Some(3));
    let status = ws
        .wif([
            "run",
            "--cluster",
            "aks-demo",
            "--service-account",
            "default/workload",
            "--",
            "sh",
            "-c",
            "kill -KILL $$",
        ])
        .status;
    assert_eq!(status.code(), Some(128 + 9));

    // Errors that say what to do.
    let run = ws
        .wif([
            "run",
            "--cluster",
            "aks-demo",
            "--service-account",
            "default/nobody",
            "--",
            "true",
        ])
        .failure();
    assert!(
        run.stderr
            .contains("does not exist in cluster 'aks-demo' (it has: default/workload)"),
        "{run}"
    );
    let run = ws
        .wif([
            "run",
            "--cluster",
            "aks-demo",
            "--service-account",
            "workload",
            "--",
            "true",
        ])
        .failure();
    assert!(run.stderr.contains("NAMESPACE/NAME"), "{run}");
    let run = ws
        .wif([
            "run",
            "--cluster",
            "aks-demo",
            "--service-account",
            "default/workload",
            "--token-expiration",
            "1s",
            "--",
            "true",
        ])
        .failure();
    assert!(run.stderr.contains("10s to 48h"), "{run}");
    server.stop_cleanly();
}

#[test]
fn run_forwards_signals_and_refreshes_the_token() {
    let ws = Workspace::new();
    let mut server = ws.up(None);
    // The child records the token's iat every half second and exits 7 on SIGTERM.
    let log = ws.path("iats");
    let script = format!(
        "trap 'exit 7' TERM; while :; do cut -d. -f2 \"$AZURE_FEDERATED_TOKEN_FILE\" >> {}; sleep 0.5; done",
        log.display()
    );
    let mut child = Command::new(WIF)
        .arg("--data-dir")
        .arg(ws.data_dir())
        .args([
            "run",
            "--cluster",
            "aks-demo",
            "--service-account",
            "default/workload",
            "--token-expiration",
            "10s",
            "--",
            "sh",
            "-c",
            &script,
        ])
        .env_remove("WIF_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn wif run");
    // 10 s tokens are refreshed after 8 s: wait (bounded) until a second token was seen.
    let distinct = wait_for(
        "a refreshed token file",
        std::time::Duration::from_secs(30),
        || {
            let seen: std::collections::BTreeSet<String> = fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            (seen.len() >= 2).then_some(seen.len())
        },
    );
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("kill");
    let status = child.wait().expect("wait");
    assert!(
        distinct >= 2,
        "the token file was never replaced ({distinct} distinct tokens)"
    );
    assert_eq!(
        status.code(),
        Some(7),
        "SIGTERM reached the child, whose status is wif run's"
    );
    server.stop_cleanly();
}

#[test]
fn hosts_block_is_applied_replaced_and_removed() {
    let ws = Workspace::new();
    let mut server = ws.up(None);
    server.stop_cleanly();
    let file = ws.write("hosts", "127.0.0.1 localhost\n# keep me\n");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let f = file.to_str().unwrap();
    let run = ws.wif(["hosts"]).success();
    assert!(
        run.stdout.contains("127.0.0.1 kv-demo.vault.localhost\n"),
        "{run}"
    );
    assert!(!run.stdout.contains("vault.azure.net"), "{run}");
    ws.wif(["hosts", "--apply", "--file", f]).success();
    ws.wif(["hosts", "--apply", "--file", f, "--azure-names"])
        .success();
    let text = fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("127.0.0.1 localhost\n# keep me\n# BEGIN wif "),
        "{text}"
    );
    assert_eq!(
        text.matches("# BEGIN wif").count(),
        1,
        "replaced, not duplicated: {text}"
    );
    assert!(
        text.contains("127.0.0.1 login.microsoftonline.com\n")
            && text.contains("127.0.0.1 kv-demo.vault.azure.net\n")
    );
    assert_eq!(
        fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o644
    );
    ws.wif(["hosts", "--remove", "--file", f]).success();
    assert_eq!(
        fs::read_to_string(&file).unwrap(),
        "127.0.0.1 localhost\n# keep me\n"
    );
    ws.wif(["hosts", "--remove", "--file", f]).success();
}

#[test]
fn keyvault_secrets_from_the_cli() {
    let ws = Workspace::new();
    let mut server = ws.up(None);
    server.stop_cleanly();
    let show = |name: &str| {
        ws.wif([
            "keyvault",
            "secret",
            "show",
            "--vault-name",
            "kv-demo",
            "--name",
            name,
            "-o",
            "json",
        ])
    };
    let demo: Value = serde_json::from_str(&show("my-secret").success().stdout).unwrap();
    assert_eq!(
        demo["value"], "hello from wif",
        "the topology's secret was seeded"
    );

    let file = ws.write("pw", "s3cret");
    ws.wif([
        "keyvault",
        "secret",
        "set",
        "--vault-name",
        "kv-demo",
        "--name",
        "db",
        "--file",
        file.to_str().unwrap(),
        "--tags",
        "team=payments",
    ])
    .success();
    let db: Value = serde_json::from_str(&show("db").success().stdout).unwrap();
    assert_eq!(db["value"], "s3cret");
    assert_eq!(db["tags"]["team"], "payments");
    let list: Value = serde_json::from_str(
        &ws.wif([
            "keyvault",
            "secret",
            "list",
            "--vault-name",
            "kv-demo",
            "-o",
            "json",
        ])
        .success()
        .stdout,
    )
    .unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(2));
    assert!(
        list.to_string().find("s3cret").is_none(),
        "lists carry no values"
    );

    ws.wif([
        "keyvault",
        "secret",
        "delete",
        "--vault-name",
        "kv-demo",
        "--name",
        "db",
    ])
    .success();
    assert!(show("db").failure().stderr.contains("SecretNotFound"));
    let run = ws
        .wif([
            "keyvault",
            "secret",
            "set",
            "--vault-name",
            "kv-demo",
            "--name",
            "db",
            "--value",
            "x",
        ])
        .failure();
    assert!(run.stderr.contains("deleted but recoverable"), "{run}");
    ws.wif([
        "keyvault",
        "secret",
        "recover",
        "--vault-name",
        "kv-demo",
        "--name",
        "db",
    ])
    .success();
    show("db").success();
    ws.wif([
        "keyvault",
        "secret",
        "delete",
        "--vault-name",
        "kv-demo",
        "--name",
        "db",
    ])
    .success();
    ws.wif([
        "keyvault",
        "secret",
        "purge",
        "--vault-name",
        "kv-demo",
        "--name",
        "db",
    ])
    .success();
    let run = ws
        .wif([
            "keyvault",
            "secret",
            "recover",
            "--vault-name",
            "kv-demo",
            "--name",
            "db",
        ])
        .failure();
    assert!(run.stderr.contains("Deleted Secret not found"), "{run}");
    let run = ws
        .wif([
            "keyvault",
            "secret",
            "show",
            "--vault-name",
            "kv-nope",
            "--name",
            "db",
        ])
        .failure();
    assert!(
        run.stderr.contains("vault 'kv-nope' does not exist"),
        "{run}"
    );

    // The database never holds a value in plain text.
    let mut bytes = Vec::new();
    for name in ["wif.db", "wif.db-wal"] {
        bytes.extend(fs::read(ws.data_dir().join(name)).unwrap_or_default());
    }
    assert!(!bytes.is_empty(), "found the database");
    assert!(!String::from_utf8_lossy(&bytes).contains("hello from wif"));
    assert!(!String::from_utf8_lossy(&bytes).contains("s3cret"));
}
