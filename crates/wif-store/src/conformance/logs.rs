//! Signing keys and the sign-in log.

use wif_core::UnixTime;
use wif_core::ids::{ClusterGuid, KeyId, TenantId};

use super::{guid, sign_in, signing_key};
use crate::model::{KeyOwner, SignInQuery, Write};
use crate::store::Store;

/// Keys are upserted by kid, listed oldest first with retired ones included, and retiring
/// sets both instants; each of these writes bumps the revision.
pub async fn signing_keys_put_retire_and_list(store: &dyn Store) {
    let tenant = KeyOwner::Tenant(TenantId::from_uuid(guid(0x1001)));
    let cluster = KeyOwner::Cluster(ClusterGuid::from_uuid(guid(0x4001)));
    let newer = signing_key("kid-newer", tenant, 2_000);
    let older = signing_key("kid-older", tenant, 1_000);
    let other = signing_key("kid-cluster", cluster, 1_500);
    store
        .apply(&[
            Write::PutSigningKey(newer.clone()),
            Write::PutSigningKey(older.clone()),
            Write::PutSigningKey(other.clone()),
        ])
        .await
        .unwrap();
    assert_eq!(
        store.signing_keys().await.unwrap(),
        vec![older.clone(), other.clone(), newer.clone()]
    );

    let revision = store
        .apply(&[Write::RetireSigningKey {
            kid: older.kid.clone(),
            retired_at: UnixTime::from_secs(2_000),
            publish_until: UnixTime::from_secs(5_000),
        }])
        .await
        .unwrap();
    assert_eq!(revision, 2);
    let keys = store.signing_keys().await.unwrap();
    let retired = keys.iter().find(|k| k.kid == older.kid).unwrap();
    assert_eq!(retired.retired_at, Some(UnixTime::from_secs(2_000)));
    assert_eq!(retired.publish_until, Some(UnixTime::from_secs(5_000)));
    assert!(retired.is_retired());
    assert_eq!(retired.sealed_private_key, older.sealed_private_key);
    assert_eq!(keys.len(), 3);

    // Upsert by kid replaces the record.
    let mut replaced = signing_key("kid-cluster", cluster, 1_500);
    replaced.public_jwk = r#"{"kty":"RSA","kid":"kid-cluster","n":"bmV3","e":"AQAB"}"#.to_owned();
    replaced.sealed_private_key = vec![9; 40];
    store
        .apply(&[Write::PutSigningKey(replaced.clone())])
        .await
        .unwrap();
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 3);
    assert!(keys.contains(&replaced));
    assert_eq!(
        keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
        vec![
            KeyId::parse("kid-older").unwrap(),
            KeyId::parse("kid-cluster").unwrap(),
            KeyId::parse("kid-newer").unwrap()
        ]
    );
}

/// Appending sign-ins does not bump the directory revision.
pub async fn sign_ins_do_not_bump_revision(store: &dyn Store) {
    let before = store.revision().await.unwrap();
    store
        .append_sign_ins(&[sign_in(1, 100, "c", 0), sign_in(2, 101, "c", 700213)])
        .await
        .unwrap();
    store.append_sign_ins(&[]).await.unwrap();
    assert_eq!(store.revision().await.unwrap(), before);
    let all = store.sign_ins(&SignInQuery::default()).await.unwrap();
    assert_eq!(all.len(), 2);
}

/// Results are newest first (by time, then by append order) and `limit` keeps the newest.
pub async fn sign_ins_are_newest_first_with_limit(store: &dyn Store) {
    let a = sign_in(1, 100, "c", 0);
    let b = sign_in(2, 300, "c", 0);
    let c = sign_in(3, 200, "c", 0);
    let d = sign_in(4, 300, "c", 0);
    store
        .append_sign_ins(&[a.clone(), b.clone()])
        .await
        .unwrap();
    store
        .append_sign_ins(&[c.clone(), d.clone()])
        .await
        .unwrap();
    let all = store.sign_ins(&SignInQuery::default()).await.unwrap();
    assert_eq!(all, vec![d.clone(), b.clone(), c.clone(), a]);
    let query = SignInQuery {
        limit: 2,
        ..Default::default()
    };
    assert_eq!(store.sign_ins(&query).await.unwrap(), vec![d, b]);
}

/// `since` keeps entries at or after it; `failed_only` keeps non-zero result codes.
pub async fn sign_ins_filter_by_since_and_failure(store: &dyn Store) {
    let ok_old = sign_in(1, 100, "c", 0);
    let failed_old = sign_in(2, 150, "c", 700213);
    let ok_new = sign_in(3, 200, "c", 0);
    let failed_new = sign_in(4, 250, "c", 70021);
    store
        .append_sign_ins(&[
            ok_old,
            failed_old.clone(),
            ok_new.clone(),
            failed_new.clone(),
        ])
        .await
        .unwrap();
    let since = SignInQuery {
        since: Some(UnixTime::from_secs(200)),
        ..Default::default()
    };
    assert_eq!(
        store.sign_ins(&since).await.unwrap(),
        vec![failed_new.clone(), ok_new]
    );
    let failed = SignInQuery {
        failed_only: true,
        ..Default::default()
    };
    assert_eq!(
        store.sign_ins(&failed).await.unwrap(),
        vec![failed_new.clone(), failed_old]
    );
    let both = SignInQuery {
        since: Some(UnixTime::from_secs(200)),
        failed_only: true,
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.sign_ins(&both).await.unwrap(), vec![failed_new]);
}

/// The identity filter matches the presented client id, or the matched identity's ARM id or
/// name, case-insensitively.
pub async fn sign_ins_filter_by_identity(store: &dyn Store) {
    let arm_id = "/subscriptions/00000000-0000-0000-0000-000000002000/resourcegroups/rg-App/\
                  providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-App";
    let client = "00000000-0000-0000-0000-000000003001";
    let mut matched = sign_in(1, 100, client, 0);
    matched.identity = Some(arm_id.to_owned());
    let unmatched = sign_in(2, 200, &client.to_uppercase(), 700016);
    let unrelated = sign_in(3, 300, "00000000-0000-0000-0000-00000000ffff", 700016);
    let mut other_identity = sign_in(4, 400, "not-a-guid", 0);
    other_identity.identity = Some(arm_id.replace("id-App", "id-other"));
    store
        .append_sign_ins(&[
            matched.clone(),
            unmatched.clone(),
            unrelated,
            other_identity,
        ])
        .await
        .unwrap();
    let by = |text: &str| SignInQuery {
        identity: Some(text.to_owned()),
        ..Default::default()
    };
    assert_eq!(
        store.sign_ins(&by(client)).await.unwrap(),
        vec![unmatched.clone(), matched.clone()]
    );
    assert_eq!(
        store.sign_ins(&by(&arm_id.to_uppercase())).await.unwrap(),
        vec![matched.clone()]
    );
    assert_eq!(store.sign_ins(&by("ID-APP")).await.unwrap(), vec![matched]);
    assert!(store.sign_ins(&by("id")).await.unwrap().is_empty());
    assert!(store.sign_ins(&by("rg-app")).await.unwrap().is_empty());
}

/// Appending a record whose id is already logged keeps the first one (retries are safe).
pub async fn sign_in_append_is_idempotent(store: &dyn Store) {
    let first = sign_in(1, 100, "c", 0);
    store
        .append_sign_ins(std::slice::from_ref(&first))
        .await
        .unwrap();
    let mut again = first.clone();
    again.result_code = 50000;
    store
        .append_sign_ins(&[again, sign_in(2, 50, "c", 0)])
        .await
        .unwrap();
    let all = store.sign_ins(&SignInQuery::default()).await.unwrap();
    assert_eq!(all, vec![first, sign_in(2, 50, "c", 0)]);
}
