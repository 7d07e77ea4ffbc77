//! Evaluator tests: one per RBAC rule, and a property test against a naive linear evaluator.

use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::ids::PrincipalId;

const SUB: &str = "/subscriptions/00000000-0000-0000-0000-0000000000aa";
const GET: Operation<'static> =
    Operation::DataAction("Microsoft.KeyVault/vaults/secrets/getSecret/action");
const SET: Operation<'static> =
    Operation::DataAction("Microsoft.KeyVault/vaults/secrets/setSecret/action");
const DELETE: Operation<'static> =
    Operation::DataAction("Microsoft.KeyVault/vaults/secrets/delete");
const LIST: Operation<'static> =
    Operation::DataAction("Microsoft.KeyVault/vaults/secrets/readMetadata/action");

fn scope(s: &str) -> Scope {
    Scope::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}
fn rg() -> String {
    format!("{SUB}/resourceGroups/rg")
}
fn vault() -> String {
    format!("{}/providers/Microsoft.KeyVault/vaults/kv", rg())
}
fn secret(name: &str) -> Scope {
    scope(&format!("{}/secrets/{name}", vault()))
}
fn principal(n: u128) -> PrincipalId {
    PrincipalId::from_uuid(Uuid::from_u128(n))
}
fn assignment(n: u128, who: u128, role: Uuid, at: &str) -> RoleAssignment {
    RoleAssignment {
        id: Uuid::from_u128(n),
        principal_id: principal(who),
        role_definition_id: role,
        scope: scope(at),
        meta: Default::default(),
    }
}
fn authorizer(assignments: Vec<RoleAssignment>) -> Authorizer {
    Authorizer::new(built_in_roles(), assignments)
}

#[test]
fn built_in_roles_have_unique_ids_and_names() {
    let roles = built_in_roles();
    assert_eq!(roles.len(), 13);
    let ids: std::collections::HashSet<_> = roles.iter().map(|r| r.id).collect();
    let names: std::collections::HashSet<_> = roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!((ids.len(), names.len()), (13, 13));
    assert!(
        roles
            .iter()
            .any(|r| r.id == builtin::KEY_VAULT_SECRETS_USER && r.name == "Key Vault Secrets User")
    );
}

#[test]
fn no_assignment_is_denied_with_no_valid_rbac() {
    let d = authorizer(vec![]).check(&principal(1), GET, &secret("s"));
    assert_eq!(
        d,
        Decision::Denied {
            reason: DenyReason::NoValidRbac
        }
    );
    assert_eq!(d.assignment_id(), None);
    assert_eq!(DenyReason::NoValidRbac.as_str(), "DeniedWithNoValidRBAC");
}

#[test]
fn assignments_inherit_down_to_a_secret() {
    for at in [SUB.to_owned(), rg(), vault(), secret("s").to_string()] {
        let az = authorizer(vec![assignment(7, 1, builtin::KEY_VAULT_SECRETS_USER, &at)]);
        let d = az.check(&principal(1), GET, &secret("s"));
        assert_eq!(
            d,
            Decision::Allowed {
                assignment_id: Uuid::from_u128(7),
                role_name: "Key Vault Secrets User".to_owned(),
                scope: scope(&at),
            },
            "assigned at {at}"
        );
    }
}

#[test]
fn assignments_do_not_inherit_up_or_sideways() {
    let az = authorizer(vec![
        assignment(1, 1, builtin::KEY_VAULT_SECRETS_USER, secret("s").as_str()),
        assignment(
            2,
            2,
            builtin::KEY_VAULT_SECRETS_USER,
            &format!("{SUB}/resourceGroups/other"),
        ),
    ]);
    assert!(
        !az.check(&principal(1), GET, &secret("t")).is_allowed(),
        "sibling secret"
    );
    assert!(
        !az.check(&principal(1), GET, &scope(&vault())).is_allowed(),
        "parent vault"
    );
    assert!(
        !az.check(&principal(2), GET, &secret("s")).is_allowed(),
        "other resource group"
    );
    assert!(
        !az.check(&principal(3), GET, &secret("s")).is_allowed(),
        "other principal"
    );
}

#[test]
fn scopes_and_actions_compare_case_insensitively() {
    let az = authorizer(vec![assignment(
        1,
        1,
        builtin::KEY_VAULT_SECRETS_USER,
        &vault()
            .to_uppercase()
            .replace("SUBSCRIPTIONS", "subscriptions"),
    )]);
    let resource = scope(&format!(
        "{SUB}/resourcegroups/RG/providers/microsoft.keyvault/vaults/KV/secrets/S"
    ));
    let op = Operation::DataAction("MICROSOFT.KEYVAULT/vaults/secrets/GETSECRET/action");
    assert!(az.check(&principal(1), op, &resource).is_allowed());
}

#[test]
fn secrets_user_gets_but_cannot_set() {
    let az = authorizer(vec![assignment(
        1,
        1,
        builtin::KEY_VAULT_SECRETS_USER,
        &vault(),
    )]);
    assert!(az.check(&principal(1), GET, &secret("s")).is_allowed());
    assert!(az.check(&principal(1), LIST, &secret("s")).is_allowed());
    assert!(!az.check(&principal(1), SET, &secret("s")).is_allowed());
    assert!(!az.check(&principal(1), DELETE, &secret("s")).is_allowed());
}

#[test]
fn secrets_officer_sets_and_deletes() {
    let az = authorizer(vec![assignment(
        1,
        1,
        builtin::KEY_VAULT_SECRETS_OFFICER,
        &rg(),
    )]);
    for op in [GET, SET, DELETE, LIST] {
        assert!(
            az.check(&principal(1), op, &secret("s")).is_allowed(),
            "{op:?}"
        );
    }
    // Secrets only: no key operations.
    let sign = Operation::DataAction("Microsoft.KeyVault/vaults/keys/sign/action");
    assert!(!az.check(&principal(1), sign, &scope(&vault())).is_allowed());
}

#[test]
fn reader_owner_and_contributor_cannot_read_secrets() {
    for role in [
        builtin::READER,
        builtin::OWNER,
        builtin::CONTRIBUTOR,
        builtin::KEY_VAULT_READER,
    ] {
        let az = authorizer(vec![assignment(1, 1, role, SUB)]);
        assert!(
            !az.check(&principal(1), GET, &secret("s")).is_allowed(),
            "{role}"
        );
    }
    let az = authorizer(vec![assignment(1, 1, builtin::READER, SUB)]);
    assert!(
        az.check(
            &principal(1),
            Operation::Action("Microsoft.KeyVault/vaults/read"),
            &scope(&vault())
        )
        .is_allowed()
    );
    assert!(
        !az.check(
            &principal(1),
            Operation::Action("Microsoft.KeyVault/vaults/write"),
            &scope(&vault())
        )
        .is_allowed()
    );
}

#[test]
fn control_plane_star_never_grants_data_actions() {
    let az = authorizer(vec![assignment(1, 1, builtin::OWNER, SUB)]);
    assert!(
        az.check(
            &principal(1),
            Operation::Action("Microsoft.KeyVault/vaults/secrets/getSecret/action"),
            &secret("s")
        )
        .is_allowed()
    );
    assert!(!az.check(&principal(1), GET, &secret("s")).is_allowed());
}

#[test]
fn not_actions_subtract_for_contributor() {
    let az = authorizer(vec![assignment(1, 1, builtin::CONTRIBUTOR, SUB)]);
    let write_ra = Operation::Action("Microsoft.Authorization/roleAssignments/write");
    let read_ra = Operation::Action("Microsoft.Authorization/roleAssignments/read");
    assert!(
        !az.check(&principal(1), write_ra, &scope(&rg()))
            .is_allowed()
    );
    assert!(az.check(&principal(1), read_ra, &scope(&rg())).is_allowed());
    let uaa = authorizer(vec![assignment(
        2,
        1,
        builtin::USER_ACCESS_ADMINISTRATOR,
        SUB,
    )]);
    assert!(
        uaa.check(&principal(1), write_ra, &scope(&rg()))
            .is_allowed()
    );
}

fn custom_no_purge() -> RoleDefinition {
    RoleDefinition {
        id: Uuid::from_u128(0xc0),
        description: String::new(),
        name: "Secrets without purge".to_owned(),
        is_custom: true,
        permissions: vec![Permission {
            data_actions: vec!["Microsoft.KeyVault/vaults/secrets/*".to_owned()],
            not_data_actions: vec![
                "Microsoft.KeyVault/vaults/secrets/purge/action".to_owned(),
                "*/setSecret/*".to_owned(),
            ],
            ..Permission::default()
        }],
        assignable_scopes: vec![scope(SUB)],
    }
}

#[test]
fn not_data_actions_exclude_within_the_same_permission() {
    let role = custom_no_purge();
    let az = Authorizer::new(vec![role.clone()], vec![assignment(1, 1, role.id, SUB)]);
    let purge = Operation::DataAction("Microsoft.KeyVault/vaults/secrets/purge/action");
    assert!(az.check(&principal(1), GET, &secret("s")).is_allowed());
    assert!(!az.check(&principal(1), purge, &secret("s")).is_allowed());
    assert!(!az.check(&principal(1), SET, &secret("s")).is_allowed());
    // A second assignment granting purge through another role still allows it: NotDataActions
    // is not a deny.
    let az = Authorizer::new(
        vec![role.clone()].into_iter().chain(built_in_roles()),
        vec![
            assignment(1, 1, role.id, SUB),
            assignment(2, 1, builtin::KEY_VAULT_SECRETS_OFFICER, &vault()),
        ],
    );
    assert_eq!(
        az.check(&principal(1), purge, &secret("s")).assignment_id(),
        Some(Uuid::from_u128(2))
    );
}

#[test]
fn unknown_role_grants_nothing() {
    let az = authorizer(vec![assignment(1, 1, Uuid::from_u128(0xdead), SUB)]);
    assert!(!az.check(&principal(1), GET, &secret("s")).is_allowed());
}

#[test]
fn broadest_allowing_assignment_is_reported() {
    let az = authorizer(vec![
        assignment(1, 1, builtin::KEY_VAULT_SECRETS_USER, secret("s").as_str()),
        assignment(2, 1, builtin::KEY_VAULT_SECRETS_OFFICER, &rg()),
    ]);
    assert_eq!(
        az.check(&principal(1), GET, &secret("s")).assignment_id(),
        Some(Uuid::from_u128(2))
    );
}

// ---- property test: indexed evaluator == naive linear evaluator ----

/// Reference wildcard matcher, independent of `action::glob`.
fn naive_glob(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => {
            (0..=t.len()).any(|i| naive_glob(rest, t.get(i..).unwrap_or_default()))
        }
        Some((c, rest)) => t
            .split_first()
            .is_some_and(|(d, tr)| c == d && naive_glob(rest, tr)),
    }
}
fn naive_matches(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = action.to_lowercase().chars().collect();
    naive_glob(&p, &t)
}

fn naive_check(
    roles: &[RoleDefinition],
    assignments: &[RoleAssignment],
    who: &PrincipalId,
    op: Operation<'_>,
    resource: &Scope,
) -> Decision {
    let data = matches!(op, Operation::DataAction(_));
    let allows = |r: &RoleDefinition| {
        r.permissions.iter().any(|p| {
            let (grant, except) = if data {
                (&p.data_actions, &p.not_data_actions)
            } else {
                (&p.actions, &p.not_actions)
            };
            grant.iter().any(|g| naive_matches(g, op.as_str()))
                && !except.iter().any(|e| naive_matches(e, op.as_str()))
        })
    };
    assignments
        .iter()
        .enumerate()
        .filter(|(_, a)| a.principal_id == *who && resource.is_within(&a.scope))
        .filter_map(|(i, a)| {
            roles
                .iter()
                .find(|r| r.id == a.role_definition_id)
                .filter(|r| allows(r))
                .map(|r| (i, a, r))
        })
        .min_by_key(|(i, a, _)| (a.scope.depth(), *i))
        .map_or(
            Decision::Denied {
                reason: DenyReason::NoValidRbac,
            },
            |(_, a, r)| Decision::Allowed {
                assignment_id: a.id,
                role_name: r.name.clone(),
                scope: a.scope.clone(),
            },
        )
}

fn scope_texts() -> Vec<String> {
    vec![
        "/".to_owned(),
        SUB.to_owned(),
        "/subscriptions/00000000-0000-0000-0000-0000000000bb".to_owned(),
        rg(),
        format!("{SUB}/resourceGroups/rg2"),
        vault(),
        format!("{}/providers/Microsoft.KeyVault/vaults/kv2", rg()),
        secret("s").to_string(),
        secret("t").to_string(),
        format!(
            "{}/providers/Microsoft.Storage/storageAccounts/st/blobServices/default/containers/c",
            rg()
        ),
    ]
}

const OPS: &[(bool, &str)] = &[
    (true, "Microsoft.KeyVault/vaults/secrets/getSecret/action"),
    (true, "Microsoft.KeyVault/vaults/secrets/setSecret/action"),
    (true, "Microsoft.KeyVault/vaults/secrets/purge/action"),
    (
        true,
        "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
    ),
    (
        true,
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    ),
    (false, "Microsoft.KeyVault/vaults/read"),
    (false, "Microsoft.Authorization/roleAssignments/write"),
    (
        false,
        "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
    ),
    (
        false,
        "Microsoft.Storage/storageAccounts/blobServices/containers/read",
    ),
];

/// Flips the case of letters where `mask` has a bit set, to exercise case-insensitivity.
fn recase(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

proptest! {
    #[test]
    fn indexed_evaluator_agrees_with_naive(
        rows in proptest::collection::vec((0u128..3, 0usize..15, 0usize..10, any::<u64>()), 0..24),
        queries in proptest::collection::vec((0u128..4, 0usize..9, 0usize..10, any::<u64>()), 1..16),
    ) {
        let mut roles = built_in_roles();
        roles.push(custom_no_purge());
        let scopes = scope_texts();
        let role_ids: Vec<Uuid> = roles.iter().map(|r| r.id).chain([Uuid::from_u128(0xdead)]).collect();
        let assignments: Vec<RoleAssignment> = rows
            .iter()
            .enumerate()
            .map(|(i, &(who, role, at, mask))| RoleAssignment {
                id: Uuid::from_u128(i as u128 + 1),
                principal_id: principal(who),
                role_definition_id: role_ids.get(role).copied().unwrap_or_default(),
                scope: scope(&recase(scopes.get(at).map_or("/", String::as_str), mask)),
                meta: Default::default(),
            })
            .collect();
        let az = Authorizer::new(roles.clone(), assignments.clone());
        for (who, op, at, mask) in queries {
            let Some(&(data, text)) = OPS.get(op) else { continue };
            let text = recase(text, mask.rotate_left(7));
            let op = if data { Operation::DataAction(&text) } else { Operation::Action(&text) };
            let resource = scope(&recase(scopes.get(at).map_or("/", String::as_str), mask));
            let fast = az.check(&principal(who), op, &resource);
            let slow = naive_check(&roles, &assignments, &principal(who), op, &resource);
            prop_assert_eq!(fast, slow);
        }
    }
}
