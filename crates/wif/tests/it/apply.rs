//! `wif apply`: the plan, confirmation, idempotence, `--prune`, and a failed apply that changes
//! nothing.

use crate::harness::Workspace;

const BASE: &str = r#"
apiVersion: wif/v1
tenants:
  - name: contoso
    id: 72f988bf-86f1-41af-91ab-2d7cd011db47
    domain: contoso.onmicrosoft.com
    subscriptions:
      - {id: 33333333-3333-4333-8333-333333333333, name: Apply}
regions:
  - name: eastus
clusters:
  - name: aks-apply
    tenant: contoso
    region: eastus
    resourceGroup: rg-aks
    serviceAccounts:
      - {namespace: default, name: app, identity: id-app}
identities:
  - {name: id-app, tenant: contoso, resourceGroup: rg-id,
     federatedCredentials: [{name: fic-app, cluster: aks-apply, subject: "system:serviceaccount:default:app"}]}
"#;

const EXTRA: &str = r#"
  - {name: id-extra, tenant: contoso, resourceGroup: rg-id,
     federatedCredentials: [{name: fic-extra, cluster: aks-apply, subject: "system:serviceaccount:default:extra"}]}
roleAssignments:
  - {role: Reader, identity: id-extra, scope: /subscriptions/33333333-3333-4333-8333-333333333333}
"#;

#[test]
fn apply_shows_a_plan_applies_once_and_prunes() {
    let ws = Workspace::new();
    let base = ws.write("base.yaml", BASE);
    let mut server = ws.up(Some(&base));
    let more = ws.write("more.yaml", &format!("{BASE}{EXTRA}"));
    let base_arg = base.to_str().unwrap();
    let more_arg = more.to_str().unwrap();

    // A plan, without --yes and without a terminal: refused, nothing changed.
    let run = ws.wif(["apply", "-f", more_arg]).failure();
    assert!(run.stdout.contains("+ identity id-extra"), "{run}");
    assert!(run.stdout.contains("Plan: "), "{run}");
    assert!(run.stderr.contains("--yes"), "{run}");
    let run = ws.wif(["apply", "-f", more_arg, "--dry-run"]).success();
    assert!(run.stdout.contains("+ identity id-extra"), "{run}");

    let run = ws.wif(["apply", "-f", more_arg, "--yes"]).success();
    assert!(run.stdout.contains("Applied:"), "{run}");
    let run = ws.wif(["apply", "-f", more_arg, "--yes"]).success();
    assert!(
        run.stdout.contains("No changes."),
        "applying twice is a no-op: {run}"
    );

    // Back to the base file: without --prune nothing goes; with it, id-extra and its role do.
    let run = ws.wif(["apply", "-f", base_arg, "--yes"]).success();
    assert!(run.stdout.contains("No changes."), "{run}");
    let run = ws
        .wif(["apply", "-f", base_arg, "--prune", "--dry-run"])
        .success();
    assert!(run.stdout.contains("- identity id-extra"), "{run}");
    assert!(run.stdout.contains("- role assignment"), "{run}");
    assert!(
        !run.stdout.contains("id-app"),
        "declared things stay: {run}"
    );
    assert!(
        !run.stdout.contains("wif-admin"),
        "the bootstrap administrator is never pruned: {run}"
    );
    ws.wif(["apply", "-f", base_arg, "--prune", "--yes"])
        .success();
    let run = ws
        .wif(["apply", "-f", base_arg, "--prune", "--yes"])
        .success();
    assert!(run.stdout.contains("No changes."), "{run}");
    let run = ws
        .wif(["role", "assignment", "list", "-o", "json"])
        .success();
    assert!(!run.stdout.contains("Reader"), "{run}");

    // A file that breaks a rule fails whole.
    let broken = ws.write(
        "broken.yaml",
        &format!(
            "{BASE}{}",
            r#"
  - {name: id-two, tenant: contoso, resourceGroup: rg-id,
     federatedCredentials: [{name: a, cluster: aks-apply, subject: "s"}]}
"#
        ),
    );
    let run = ws
        .wif(["apply", "-f", broken.to_str().unwrap(), "--yes"])
        .failure();
    assert!(!run.stderr.is_empty(), "{run}");
    let run = ws.wif(["apply", "-f", base_arg, "--yes"]).success();
    assert!(
        run.stdout.contains("No changes."),
        "nothing of the broken file landed: {run}"
    );
    server.stop_cleanly();
}
