//! `wif role assignment …` and `wif role definition list` against the data directory's store.

use serde_json::Value;

use crate::harness::{Workspace, str_at};

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn role_assignments_list_create_and_delete() {
    let ws = Workspace::new();
    let mut server = ws.up(None);
    server.stop_cleanly();

    // The demo topology grants its identity "Key Vault Secrets User" on its vault.
    let run = ws
        .wif([
            "role",
            "assignment",
            "list",
            "--assignee",
            "id-demo-workload",
            "-o",
            "json",
        ])
        .success();
    let list = json(&run.stdout);
    let rows = list.as_array().expect("an array");
    assert_eq!(rows.len(), 1, "{run}");
    assert_eq!(
        str_at(&rows[0], "roleDefinitionName"),
        "Key Vault Secrets User"
    );
    assert!(str_at(&rows[0], "scope").ends_with("/providers/Microsoft.KeyVault/vaults/kv-demo"));
    assert!(str_at(&rows[0], "roleDefinitionId").ends_with(
        "/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6"
    ));
    assert_eq!(str_at(&rows[0], "principalType"), "ServicePrincipal");

    // A secret-scoped assignment; the same one twice is refused.
    let create = [
        "role",
        "assignment",
        "create",
        "--assignee",
        "id-demo-workload",
        "--role",
        "key vault reader",
        "--vault",
        "kv-demo",
        "--secret",
        "my-secret",
        "-o",
        "json",
    ];
    let run = ws.wif(create).success();
    let created = json(&run.stdout);
    assert!(
        str_at(&created, "scope").ends_with("/vaults/kv-demo/secrets/my-secret"),
        "{run}"
    );
    let run = ws.wif(create).failure();
    assert!(run.stderr.contains("already exists"), "{run}");

    // At the secret's scope, both apply (the vault one by inheritance).
    let run = ws
        .wif([
            "role",
            "assignment",
            "list",
            "--vault",
            "kv-demo",
            "--secret",
            "my-secret",
            "-o",
            "json",
        ])
        .success();
    assert_eq!(workload_rows(&run.stdout), 2, "{run}");
    // At the vault's scope, only the vault one, unless descendants are asked for.
    let run = ws
        .wif([
            "role",
            "assignment",
            "list",
            "--vault",
            "kv-demo",
            "-o",
            "json",
        ])
        .success();
    assert_eq!(workload_rows(&run.stdout), 1, "{run}");
    let run = ws
        .wif([
            "role",
            "assignment",
            "list",
            "--vault",
            "kv-demo",
            "--include-descendants",
            "-o",
            "json",
        ])
        .success();
    assert_eq!(workload_rows(&run.stdout), 2, "{run}");

    // Bad input says what is wrong.
    let run = ws
        .wif([
            "role",
            "assignment",
            "create",
            "--assignee",
            "id-demo-workload",
            "--role",
            "Wizard",
            "--vault",
            "kv-demo",
        ])
        .failure();
    assert!(run.stderr.contains("role 'Wizard' does not exist"), "{run}");
    let run = ws
        .wif([
            "role",
            "assignment",
            "create",
            "--assignee",
            "nobody",
            "--role",
            "Reader",
            "--vault",
            "kv-demo",
        ])
        .failure();
    assert!(run.stderr.contains("assignee 'nobody'"), "{run}");
    let run = ws
        .wif([
            "role",
            "assignment",
            "create",
            "--assignee",
            "id-demo-workload",
            "--role",
            "Reader",
            "--scope",
            "/nope",
        ])
        .failure();
    assert!(run.stderr.contains("invalid --scope"), "{run}");

    // Delete by id, then by filter.
    let id = str_at(&created, "id").to_owned();
    ws.wif(["role", "assignment", "delete", "--ids", &id])
        .success();
    ws.wif([
        "role",
        "assignment",
        "delete",
        "--assignee",
        "id-demo-workload",
        "--role",
        "Key Vault Secrets User",
        "--vault",
        "kv-demo",
    ])
    .success();
    let run = ws
        .wif(["role", "assignment", "list", "-o", "json"])
        .success();
    assert_eq!(workload_rows(&run.stdout), 0, "{run}");
    let run = ws
        .wif(["role", "assignment", "delete", "--ids", &id])
        .failure();
    assert!(
        run.stderr.contains("no role assignment matches") || run.stderr.contains("not found"),
        "{run}"
    );
}

#[test]
fn role_definitions_list_built_in_roles() {
    let ws = Workspace::new();
    let run = ws
        .wif([
            "role",
            "definition",
            "list",
            "--name",
            "Key Vault Secrets User",
            "-o",
            "json",
        ])
        .success();
    let list = json(&run.stdout);
    let role = &list[0];
    assert_eq!(str_at(role, "name"), "4633458b-17de-408a-b874-0445c86b69e6");
    assert_eq!(str_at(role, "roleType"), "BuiltInRole");
    assert_eq!(
        role["permissions"][0]["dataActions"][0],
        "Microsoft.KeyVault/vaults/secrets/getSecret/action"
    );
}

#[test]
fn custom_roles_are_created_updated_and_deleted() {
    let ws = Workspace::new();
    let mut server = ws.up(None);
    server.stop_cleanly();
    let role = r#"{"Name": "Secret Peeker", "Description": "Reads one kind of secret",
        "DataActions": ["Microsoft.KeyVault/vaults/secrets/getSecret/action"],
        "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000001"]}"#;
    let file = ws.write("role.json", role);
    let run = ws
        .wif([
            "role",
            "definition",
            "create",
            "--role-definition",
            &format!("@{}", file.display()),
            "-o",
            "json",
        ])
        .success();
    let created = json(&run.stdout);
    assert_eq!(str_at(&created, "roleType"), "CustomRole");
    assert_eq!(str_at(&created, "description"), "Reads one kind of secret");
    // Creating it again updates it in place (same id).
    let again = json(
        &ws.wif([
            "role",
            "definition",
            "create",
            "--role-definition",
            role,
            "-o",
            "json",
        ])
        .success()
        .stdout,
    );
    assert_eq!(created["name"], again["name"]);

    let bad = r#"{"Name": "Root", "Actions": ["*/read"], "AssignableScopes": ["/"]}"#;
    let run = ws
        .wif(["role", "definition", "create", "--role-definition", bad])
        .failure();
    assert!(run.stderr.contains("root scope"), "{run}");
    let run = ws.wif(["role", "definition", "create", "--role-definition", r#"{"Name": "Reader", "Actions": ["*/read"], "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000001"]}"#]).failure();
    assert!(run.stderr.contains("built-in role"), "{run}");

    let list = json(
        &ws.wif([
            "role",
            "definition",
            "list",
            "--custom-role-only",
            "-o",
            "json",
        ])
        .success()
        .stdout,
    );
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    let run = ws
        .wif(["role", "definition", "delete", "--name", "Reader"])
        .failure();
    assert!(run.stderr.contains("built-in role"), "{run}");
    ws.wif(["role", "definition", "delete", "--name", "secret peeker"])
        .success();
    let list = json(
        &ws.wif([
            "role",
            "definition",
            "list",
            "--custom-role-only",
            "-o",
            "json",
        ])
        .success()
        .stdout,
    );
    assert_eq!(list, Value::Array(vec![]));
}

/// Rows of an assignment list, leaving out the bootstrap administrator's Owner assignment
/// (inherited everywhere in its subscription).
fn workload_rows(stdout: &str) -> usize {
    json(stdout)
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter(|r| r["principalName"] != "wif-admin")
                .count()
        })
        .unwrap_or(0)
}
