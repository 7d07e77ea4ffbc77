//! `wif group`, `wif identity` (+ `federated-credential`) and `wif cluster`: az's verbs and shapes
//! on the store, and the token exchange they set up.

use serde_json::Value;

use crate::harness::{Workspace, str_at};

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn az_shaped_verbs_set_up_an_identity() {
    let ws = Workspace::new();
    let mut server = ws.up(None);
    ws.wif(["group", "create", "-n", "rg-cli", "-l", "West Europe"])
        .success();
    let run = ws
        .wif(["group", "create", "-n", "RG-CLI", "-l", "eastus"])
        .failure();
    assert!(run.stderr.contains("InvalidResourceGroupLocation"), "{run}");
    let run = ws
        .wif(["identity", "create", "-g", "rg-cli", "-n", "id-cli"])
        .success();
    let m = json(&run.stdout);
    assert_eq!(str_at(&m, "location"), "westeurope", "the group's location");
    let client = str_at(&m, "clientId").to_owned();
    let run = ws
        .wif([
            "identity", "show", "-g", "RG-cli", "-n", "ID-CLI", "--query", "clientId", "-o", "tsv",
        ])
        .success();
    assert_eq!(run.stdout.trim(), client);

    let run = ws
        .wif([
            "cluster",
            "show",
            "-g",
            "rg-demo",
            "-n",
            "aks-demo",
            "--query",
            "oidcIssuerProfile.issuerUrl",
            "-o",
            "tsv",
        ])
        .success();
    let issuer = run.stdout.trim().to_owned();
    assert!(
        issuer.starts_with("https://") && issuer.ends_with('/'),
        "{run}"
    );
    let fic = [
        "identity",
        "federated-credential",
        "create",
        "-g",
        "rg-cli",
        "--identity-name",
        "id-cli",
        "-n",
        "fic-cli",
        "--issuer",
        &issuer,
        "--subject",
        "system:serviceaccount:default:cli",
    ];
    let run = ws.wif(fic).success();
    assert_eq!(
        json(&run.stdout)["audiences"][0],
        "api://AzureADTokenExchange"
    );
    let run = ws
        .wif(fic.map(|a| if a == "fic-cli" { "fic-two" } else { a }))
        .failure();
    assert!(
        run.stderr
            .contains("Issuer and subject combination already exists"),
        "{run}"
    );
    let run = ws
        .wif([
            "identity",
            "federated-credential",
            "list",
            "-g",
            "rg-cli",
            "--identity-name",
            "id-cli",
            "--query",
            "[].name",
            "-o",
            "tsv",
        ])
        .success();
    assert_eq!(run.stdout.trim(), "fic-cli");
    let run = ws
        .wif(["identity", "list", "-g", "rg-cli", "-o", "json"])
        .success();
    assert_eq!(json(&run.stdout).as_array().map(Vec::len), Some(1));

    let run = ws
        .wif([
            "cluster",
            "update",
            "-g",
            "rg-demo",
            "-n",
            "aks-demo",
            "--disable-workload-identity",
        ])
        .success();
    assert_eq!(
        json(&run.stdout)["securityProfile"]["workloadIdentity"]["enabled"],
        false
    );
    ws.wif([
        "identity",
        "federated-credential",
        "delete",
        "-g",
        "rg-cli",
        "--identity-name",
        "id-cli",
        "-n",
        "fic-cli",
    ])
    .success();
    ws.wif(["identity", "delete", "-g", "rg-cli", "-n", "id-cli"])
        .success();
    let run = ws
        .wif(["identity", "show", "-g", "rg-cli", "-n", "id-cli"])
        .failure();
    assert!(run.stderr.contains("ResourceNotFound"), "{run}");
    ws.wif(["group", "delete", "-n", "rg-cli"]).success();
    let run = ws.wif(["group", "show", "-n", "rg-cli"]).failure();
    assert!(run.stderr.contains("ResourceGroupNotFound"), "{run}");
    server.stop_cleanly();
}

#[test]
fn certificates_are_made_and_registered() {
    let ws = Workspace::new();
    let mut server = ws.up(None);
    let run = ws
        .wif(["app", "create", "--display-name", "cert-app", "-o", "json"])
        .success();
    let app_id = str_at(&json(&run.stdout), "appId").to_owned();
    let pem = ws.path("cert-app.pem");
    let run = ws
        .wif([
            "app",
            "credential",
            "reset",
            "--id",
            "cert-app",
            "--create-cert",
            "--cert-file",
            pem.to_str().unwrap(),
            "-o",
            "json",
        ])
        .success();
    let out = json(&run.stdout);
    assert_eq!(str_at(&out, "appId"), app_id);
    assert!(out["password"].is_null(), "{run}");
    let text = std::fs::read_to_string(&pem).unwrap();
    assert!(
        text.contains("BEGIN CERTIFICATE") && text.contains("PRIVATE KEY"),
        "{text}"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&pem).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    // Registering the public certificate alone works as well (and replaces the first).
    let cert_only = ws.write(
        "cert-only.pem",
        &text[..text.find("-----BEGIN PRIVATE KEY").unwrap()],
    );
    ws.wif([
        "app",
        "credential",
        "reset",
        "--id",
        &app_id,
        "--cert",
        cert_only.to_str().unwrap(),
    ])
    .success();
    let run = ws
        .wif([
            "app",
            "credential",
            "reset",
            "--id",
            &app_id,
            "--cert",
            pem.to_str().unwrap().replace(".pem", ".nope").as_str(),
        ])
        .failure();
    assert!(run.stderr.contains("cannot read --cert"), "{run}");
    server.stop_cleanly();
}
