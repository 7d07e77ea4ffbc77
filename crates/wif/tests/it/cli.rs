//! The helper commands around a server: `wif env` (the variables the Azure SDKs read),
//! `wif ca path`, and the examples every command's help carries.

use std::collections::HashMap;
use std::fs;

use crate::harness::{Workspace, str_at};

/// `export NAME='value'` lines, unquoted into a map; panics on any other line.
fn exports(stdout: &str) -> HashMap<String, String> {
    stdout
        .lines()
        .map(|line| {
            let (name, quoted) = line
                .strip_prefix("export ")
                .and_then(|rest| rest.split_once('='))
                .unwrap_or_else(|| panic!("not an export line: {line:?}"));
            let value = quoted
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .filter(|v| !v.contains('\''))
                .unwrap_or_else(|| panic!("not a single-quoted value: {line:?}"));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

#[test]
fn env_prints_sdk_exports() {
    let ws = Workspace::new();
    let run = ws.wif(["env"]).failure();
    assert!(run.stderr.contains("`wif up`"), "{run}");

    let mut server = ws.up(None);
    let run = ws.wif(["env"]).success();
    let vars = exports(&run.stdout);
    let mut names: Vec<&str> = vars.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "AZURE_AUTHORITY_HOST",
            "AZURE_TENANT_ID",
            "NODE_EXTRA_CA_CERTS",
            "REQUESTS_CA_BUNDLE",
            "SSL_CERT_FILE"
        ],
        "{run}"
    );
    assert_eq!(vars["AZURE_AUTHORITY_HOST"], server.authority());
    let tenant = &server.ready["tenants"][0];
    assert_eq!(vars["AZURE_TENANT_ID"], str_at(tenant, "id"));
    let ca = server.ca_path();
    assert_eq!(vars["NODE_EXTRA_CA_CERTS"], ca.to_str().expect("utf-8"));
    // Python and OpenSSL replace their trust store with these, so they get a bundle that
    // holds wif's CA (after the system roots).
    assert_eq!(vars["REQUESTS_CA_BUNDLE"], vars["SSL_CERT_FILE"]);
    let bundle = fs::read_to_string(&vars["REQUESTS_CA_BUNDLE"]).expect("the bundle exists");
    let ca_pem = fs::read_to_string(&ca).expect("the CA exists");
    assert!(bundle.contains(ca_pem.trim()), "the bundle lacks wif's CA");

    // --tenant picks a tenant by domain.
    let run = ws
        .wif(["env", "--tenant", str_at(tenant, "domain")])
        .success();
    assert_eq!(
        exports(&run.stdout)["AZURE_TENANT_ID"],
        str_at(tenant, "id")
    );

    server.stop_cleanly();
}

#[test]
fn ca_path_prints_the_ca() {
    let ws = Workspace::new();
    let run = ws.wif(["ca", "path"]).failure();
    assert!(run.stderr.contains("`wif up`"), "{run}");

    let mut server = ws.up(None);
    let run = ws.wif(["ca", "path"]).success();
    let printed = run.stdout.strip_suffix('\n').unwrap_or(&run.stdout);
    let expected = fs::canonicalize(ws.data_dir().join("ca").join("ca.pem")).expect("the CA");
    assert_eq!(printed, expected.to_str().expect("utf-8"), "{run}");
    assert_eq!(server.ca_path(), expected);
    let pem = fs::read_to_string(printed).expect("an existing file");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    server.stop_cleanly();
}

#[test]
fn help_has_examples() {
    let ws = Workspace::new();
    for command in [
        &["up"][..],
        &["token"],
        &["keys", "rotate"],
        &["signins", "list"],
        &["env"],
    ] {
        let run = ws.wif(command.iter().copied().chain(["--help"])).success();
        assert!(run.stdout.contains("Example"), "{run}");
    }
}
