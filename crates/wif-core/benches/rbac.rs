//! The RBAC evaluator with one million role assignments: a decision must cost the same as with
//! ten (the index is by principal, then by scope), and building the index must stay practical.
//!
//! Run: `cargo bench -p wif-core --bench rbac`. Numbers for this machine are in BENCHMARKS.md.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs,
    reason = "benchmark set-up"
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use uuid::Uuid;
use wif_core::ids::PrincipalId;
use wif_core::rbac::{Authorizer, Operation, RoleAssignment, Scope, built_in_roles, builtin};

const ASSIGNMENTS: usize = 1_000_000;
const PRINCIPALS: u128 = 100_000;
const SUB: &str = "/subscriptions/00000000-0000-0000-0000-00000000000a";
const GET: &str = "Microsoft.KeyVault/vaults/secrets/getSecret/action";

fn vault(n: usize) -> String {
    format!(
        "{SUB}/resourceGroups/rg-{}/providers/Microsoft.KeyVault/vaults/kv-{n}",
        n % 1000
    )
}

/// One million assignments over 100,000 principals and 10,000 vaults (with a secret-scoped one
/// every tenth), plus the three principals the checks ask about.
fn assignments() -> Vec<RoleAssignment> {
    let roles = [
        builtin::KEY_VAULT_SECRETS_USER,
        builtin::READER,
        builtin::KEY_VAULT_SECRETS_OFFICER,
        builtin::CONTRIBUTOR,
    ];
    let mut out = Vec::with_capacity(ASSIGNMENTS + 3);
    for i in 0..ASSIGNMENTS {
        let scope = if i % 10 == 0 {
            format!("{}/secrets/s{}", vault(i % 10_000), i % 7)
        } else {
            vault(i % 10_000)
        };
        out.push(RoleAssignment {
            id: Uuid::from_u128(i as u128 + 1),
            principal_id: PrincipalId::from_uuid(Uuid::from_u128(
                0x1_0000_0000 + (i as u128 % PRINCIPALS),
            )),
            role_definition_id: roles[i % roles.len()],
            scope: Scope::parse(&scope).unwrap(),
            meta: Default::default(),
        });
    }
    // The subjects of the checks: one allowed on the vault, one on the resource group, one with
    // only unrelated assignments.
    let special = [
        (1, vault(42)),
        (2, format!("{SUB}/resourceGroups/rg-42")),
        (3, vault(43)),
    ];
    for (n, scope) in special {
        out.push(RoleAssignment {
            id: Uuid::from_u128(0xffff_0000 + n),
            principal_id: PrincipalId::from_uuid(Uuid::from_u128(n)),
            role_definition_id: builtin::KEY_VAULT_SECRETS_USER,
            scope: Scope::parse(&scope).unwrap(),
            meta: Default::default(),
        });
    }
    out
}

fn bench(c: &mut Criterion) {
    let list = assignments();
    let started = Instant::now();
    let authorizer = Authorizer::new(built_in_roles(), list.clone());
    eprintln!(
        "rbac: indexed {} assignments in {:.2?}",
        list.len(),
        started.elapsed()
    );
    let small = Authorizer::new(built_in_roles(), list[ASSIGNMENTS..].to_vec());
    let secret = Scope::parse(&format!("{}/secrets/db", vault(42))).unwrap();
    let p = |n: u128| PrincipalId::from_uuid(Uuid::from_u128(n));
    let mut g = c.benchmark_group("rbac_check");
    for (name, authz) in [("1M", &authorizer), ("3", &small)] {
        g.bench_function(format!("allowed_at_vault/{name}"), |b| {
            b.iter(|| black_box(authz.check(&p(1), Operation::DataAction(GET), black_box(&secret))))
        });
        g.bench_function(format!("allowed_by_rg/{name}"), |b| {
            b.iter(|| black_box(authz.check(&p(2), Operation::DataAction(GET), black_box(&secret))))
        });
        g.bench_function(format!("denied/{name}"), |b| {
            b.iter(|| black_box(authz.check(&p(3), Operation::DataAction(GET), black_box(&secret))))
        });
    }
    g.finish();
    assert!(
        authorizer
            .check(&p(1), Operation::DataAction(GET), &secret)
            .is_allowed()
    );
    assert!(
        authorizer
            .check(&p(2), Operation::DataAction(GET), &secret)
            .is_allowed()
    );
    assert!(
        !authorizer
            .check(&p(3), Operation::DataAction(GET), &secret)
            .is_allowed()
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = bench
}
criterion_main!(benches);
