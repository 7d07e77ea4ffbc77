//! The behaviour every [`Store`] backend must have, written once (STYLE §6; after SPIRE's
//! `datastore/sqltest/suite.go`). Each function takes a fresh, empty store and panics on the
//! first deviation. A backend's integration test runs all of them through
//! [`store_conformance_tests!`](crate::store_conformance_tests), so a new function here must
//! also be added to that macro's list.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test support: a failed expectation should fail the test loudly"
)]

mod directory;
mod integrity;
mod keyvault;
mod logs;
mod management;
mod workloads;

use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::directory::{
    Cluster, FederatedIdentityCredential, ManagedIdentity, Region, Subscription, Tenant,
};
use wif_core::ids::{
    Audience, ClientId, ClusterGuid, ClusterName, CredentialName, IdentityName, Issuer, KeyId,
    PrincipalId, RegionName, ResourceGroupName, Subject, SubscriptionId, TenantDomain, TenantId,
};

pub use directory::*;
pub use integrity::*;
pub use keyvault::*;
pub use logs::*;
pub use management::*;
pub use workloads::*;

use crate::model::{KeyOwner, SignInRecord, SigningKeyRecord, Write};
use crate::store::{Store, StoreError};

/// Generates one `#[tokio::test]` per conformance function. `$fixture` is an async function
/// (path) returning a value that dereferences to the backend's store; it is called once per
/// test and kept alive for the test's duration (for example a temporary directory).
///
/// Used in a backend's integration test module (it expands to `#[tokio::test]` functions, so
/// it is shown here rather than run as a doc test):
///
/// ```text
/// wif_store::store_conformance_tests!(crate::sqlite::fresh_store);
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($fixture:path) => {
        $crate::store_conformance_tests!(@each $fixture;
            revision_bumps_once_per_apply,
            empty_batch_changes_nothing,
            failed_batch_applies_nothing,
            batch_sees_its_own_earlier_writes,
            directory_round_trips_every_row,
            upserts_keep_creation_order,
            identity_name_is_unique_per_resource_group,
            credential_name_is_unique_per_identity,
            issuer_and_subject_are_unique_per_identity,
            at_most_twenty_credentials_per_identity,
            credential_needs_exactly_one_audience,
            cluster_issuer_is_unique,
            tenant_domain_is_unique,
            references_must_exist,
            deleting_tenant_with_resources_conflicts,
            deleting_absent_rows_is_not_found,
            deleting_identity_deletes_its_credentials,
            delete_credential_ignores_name_case,
            signing_keys_put_retire_and_list,
            sign_ins_do_not_bump_revision,
            sign_ins_are_newest_first_with_limit,
            sign_ins_filter_by_since_and_failure,
            sign_ins_filter_by_identity,
            sign_in_append_is_idempotent,
            workload_rows_round_trip,
            service_account_rules,
            vault_rules,
            role_assignment_rules,
            role_definition_rules,
            kv_versions_round_trip,
            kv_soft_delete_recover_purge_restore,
            kv_audit_filters,
            management_rows_round_trip,
            deleting_resource_group_deletes_its_resources,
            management_rules,
            activity_log_filters,
        );
    };
    (@each $fixture:path; $($name:ident,)*) => {
        $(
            #[::tokio::test]
            async fn $name() {
                let fixture = $fixture().await;
                $crate::conformance::$name(&*fixture).await;
            }
        )*
    };
}

// --- fixtures shared by the suite ---

fn guid(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

/// A tenant `n` with domain `t<n>.example`.
pub fn tenant(n: u128) -> Tenant {
    Tenant {
        id: TenantId::from_uuid(guid(0x1000 + n)),
        domain: TenantDomain::parse(&format!("t{n}.example")).unwrap(),
        display_name: format!("Tenant {n}"),
        created_at: UnixTime::from_secs(1_700_000_000),
    }
}

/// Subscription `n` of `tenant`.
pub fn subscription(n: u128, tenant: &Tenant) -> Subscription {
    Subscription {
        id: SubscriptionId::from_uuid(guid(0x2000 + n)),
        tenant: tenant.id,
        display_name: format!("Subscription {n}"),
    }
}

/// A region.
pub fn region(name: &str) -> Region {
    Region {
        name: RegionName::parse(name).unwrap(),
    }
}

/// Cluster `n` of `tenant`, with issuer `https://issuer.example/<n>/`.
pub fn cluster(n: u128, tenant: &Tenant) -> Cluster {
    Cluster {
        name: ClusterName::parse(&format!("aks-{n}")).unwrap(),
        guid: ClusterGuid::from_uuid(guid(0x4000 + n)),
        tenant: tenant.id,
        subscription: SubscriptionId::from_uuid(guid(0x2000)),
        resource_group: ResourceGroupName::parse("rg-aks").unwrap(),
        region: RegionName::parse("eastus").unwrap(),
        issuer: Issuer::parse(&format!("https://issuer.example/{n}/")).unwrap(),
        created_at: UnixTime::from_secs(1_700_000_100),
        oidc_issuer_enabled: true,
        workload_identity_enabled: true,
    }
}

/// Managed identity `n` of `tenant`, named `name` in resource group `group`.
pub fn identity(n: u128, tenant: &Tenant, name: &str, group: &str) -> ManagedIdentity {
    ManagedIdentity {
        name: IdentityName::parse(name).unwrap(),
        tenant: tenant.id,
        subscription: SubscriptionId::from_uuid(guid(0x2000)),
        resource_group: ResourceGroupName::parse(group).unwrap(),
        location: RegionName::parse("eastus").unwrap(),
        client_id: ClientId::from_uuid(guid(0x3000 + n)),
        principal_id: PrincipalId::from_uuid(guid(0x5000 + n)),
        created_at: UnixTime::from_secs(1_700_000_200),
        tags: Default::default(),
    }
}

/// A federated credential on `identity` trusting (`issuer`, `subject`, the exchange audience).
pub fn credential(
    identity: &ManagedIdentity,
    name: &str,
    issuer: &str,
    subject: &str,
) -> FederatedIdentityCredential {
    FederatedIdentityCredential {
        identity: identity.client_id,
        name: CredentialName::parse(name).unwrap(),
        issuer: Issuer::parse(issuer).unwrap(),
        subject: Subject::parse(subject).unwrap(),
        audiences: vec![Audience::token_exchange()],
    }
}

/// A signing key record (the sealed bytes are opaque to the store).
pub fn signing_key(kid: &str, owner: KeyOwner, created_at: i64) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: KeyId::parse(kid).unwrap(),
        owner,
        algorithm: "RS256".to_owned(),
        public_jwk: format!(r#"{{"kty":"RSA","kid":"{kid}","n":"AQAB","e":"AQAB"}}"#),
        sealed_private_key: kid.bytes().chain([0, 1, 2, 255]).collect(),
        created_at: UnixTime::from_secs(created_at),
        retired_at: None,
        publish_until: None,
    }
}

/// A sign-in record number `n` at `time`; `result_code` 0 is a success.
pub fn sign_in(n: u128, time: i64, client_id: &str, result_code: u32) -> SignInRecord {
    SignInRecord {
        id: guid(0x9000 + n),
        time: UnixTime::from_secs(time),
        tenant: "t1.example".to_owned(),
        tenant_id: Some(TenantId::from_uuid(guid(0x1001))),
        client_id: client_id.to_owned(),
        identity: None,
        credential: None,
        assertion_issuer: Some("https://issuer.example/1/".to_owned()),
        assertion_subject: Some("system:serviceaccount:default:sa".to_owned()),
        assertion_audience: Some("api://AzureADTokenExchange".to_owned()),
        resource: Some("https://vault.azure.net".to_owned()),
        result_code,
        error: (result_code != 0).then(|| format!("invalid_request: AADSTS{result_code}")),
        correlation_id: guid(0xa000 + n),
        trace_id: guid(0xb000 + n),
    }
}

/// A tenant with one subscription and one identity (`id-app` in `rg-app`), applied.
async fn seed(store: &dyn Store) -> (Tenant, ManagedIdentity) {
    let t = tenant(1);
    let m = identity(1, &t, "id-app", "rg-app");
    store
        .apply(&[
            Write::PutTenant(t.clone()),
            Write::PutSubscription(subscription(0, &t)),
            Write::PutIdentity(m.clone()),
        ])
        .await
        .unwrap();
    (t, m)
}

/// Asserts `result` is a [`StoreError::Conflict`] whose message contains `needle`.
#[track_caller]
fn assert_conflict<T: std::fmt::Debug>(result: Result<T, StoreError>, needle: &str) {
    match result {
        Err(StoreError::Conflict(message)) => {
            assert!(
                message.contains(needle),
                "conflict '{message}' lacks '{needle}'"
            )
        }
        other => panic!("expected a conflict containing '{needle}', got {other:?}"),
    }
}

/// Asserts `result` is a [`StoreError::NotFound`].
#[track_caller]
fn assert_not_found<T: std::fmt::Debug>(result: Result<T, StoreError>) {
    assert!(
        matches!(result, Err(StoreError::NotFound(_))),
        "expected not found, got {result:?}"
    );
}
