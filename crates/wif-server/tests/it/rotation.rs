//! Key rotation through the store, as `wif keys rotate` does it: put the new key, retire the old
//! one with a publication deadline, rebuild the snapshot. Tokens signed by the old key keep
//! verifying while it is published; after the deadline (moved to with the test clock) it is
//! gone from the key set and from verification.

use std::time::Duration;

use wif_core::time::UnixTime;
use wif_jose::Jwks;
use wif_store::model::{KeyOwner, SigningKeyRecord, Write};
use wif_testkit::fixture::{CLUSTER_KEY, TENANT_KEY};
use wif_testkit::rsa_key;

use crate::harness::{Harness, SUBJECT_NS, SUBJECT_SA, assert_entra_error, decode_segment};
use crate::token::verified_claims;

/// Test key 3 takes over from `old` for `owner`; `old` stays published for 48 h.
async fn rotate(h: &Harness, owner: KeyOwner, old: usize) -> UnixTime {
    let now = h.now();
    let publish_until = now.plus_secs(48 * 3600);
    let writes = vec![
        Write::PutSigningKey(
            SigningKeyRecord::seal(&rsa_key(3), owner, now, &h.fixture.kek).unwrap(),
        ),
        Write::RetireSigningKey {
            kid: rsa_key(old).kid().clone(),
            retired_at: now,
            publish_until,
        },
    ];
    h.fixture.store.apply(&writes).await.unwrap();
    h.rebuild_snapshot().await;
    publish_until
}

async fn published_kids(h: &Harness, path: &str) -> Vec<String> {
    let reply = h.get(path).await;
    assert_eq!(reply.status, 200, "{path}");
    let jwks: Jwks = serde_json::from_value(reply.json()).unwrap();
    jwks.keys.into_iter().filter_map(|k| k.kid).collect()
}

fn kid(n: usize) -> String {
    rsa_key(n).kid().as_str().to_owned()
}

#[tokio::test]
async fn cluster_key_rotation_keeps_old_assertions_valid_until_publication_ends() {
    let h = Harness::new().await;
    let guid = h.fixture.cluster.guid;
    let jwks_path = format!(
        "{}openid/v1/jwks",
        h.issuer().strip_prefix("https://wif.test:8443").unwrap()
    );
    // A long-lived assertion minted before the rotation, with the old key.
    let old_assertion = h.minted(SUBJECT_NS, SUBJECT_SA, h.now(), Duration::ZERO);
    assert_eq!(decode_segment(&old_assertion, 0)["kid"], kid(CLUSTER_KEY));

    h.clock.advance(60);
    let publish_until = rotate(&h, KeyOwner::Cluster(guid), CLUSTER_KEY).await;

    let reply = h.call(&h.v2(&old_assertion)).await;
    assert_eq!(
        reply.status,
        200,
        "old assertion after rotation: {}",
        reply.json()
    );
    let kids = published_kids(&h, &jwks_path).await;
    assert!(kids.contains(&kid(CLUSTER_KEY)), "{kids:?}");
    assert!(kids.contains(&kid(3)), "{kids:?}");
    assert_eq!(kids.len(), 2, "{kids:?}");

    // New assertions are signed with the snapshot's active key: the new one.
    let active = h
        .handle
        .load()
        .keys_of(&KeyOwner::Cluster(guid))
        .unwrap()
        .active
        .clone();
    assert_eq!(active.kid().as_str(), kid(3));
    let new_assertion = h.minted_with(&active, SUBJECT_NS, SUBJECT_SA, h.now(), Duration::ZERO);
    assert_eq!(decode_segment(&new_assertion, 0)["kid"], kid(3));
    let reply = h.call(&h.v2(&new_assertion)).await;
    assert_eq!(reply.status, 200, "{}", reply.json());

    // Past the deadline the old key is unpublished and no longer verifies anything.
    h.clock.set(publish_until.plus_secs(1));
    let kids = published_kids(&h, &jwks_path).await;
    assert_eq!(kids, [kid(3)]);
    let body = assert_entra_error(&h.call(&h.v2(&old_assertion)).await, 401, 700027);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&kid(CLUSTER_KEY)),
        "{body}"
    );
    // Even a fresh, in-date assertion signed by the retired key.
    let fresh_old = h.minted(SUBJECT_NS, SUBJECT_SA, h.now(), Duration::ZERO);
    assert_entra_error(&h.call(&h.v2(&fresh_old)).await, 401, 700027);
    // The new key keeps working.
    let renewed = h.minted_with(&active, SUBJECT_NS, SUBJECT_SA, h.now(), Duration::ZERO);
    let reply = h.call(&h.v2(&renewed)).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
}

#[tokio::test]
async fn tenant_key_rotation_keeps_issued_tokens_verifiable() {
    let h = Harness::new().await;
    let tid = h.fixture.tenant.id;
    let keys_path = format!("/{tid}/discovery/v2.0/keys");
    let reply = h.call(&h.v2_valid()).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let before = reply.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(decode_segment(&before, 0)["kid"], kid(TENANT_KEY));

    h.clock.advance(60);
    let publish_until = rotate(&h, KeyOwner::Tenant(tid), TENANT_KEY).await;

    // The token issued before the rotation still verifies against the published keys.
    let claims = verified_claims(&h, &tid.to_string(), &before).await;
    assert_eq!(claims["tid"], tid.to_string());
    let kids = published_kids(&h, &keys_path).await;
    assert!(
        kids.contains(&kid(TENANT_KEY)) && kids.contains(&kid(3)),
        "{kids:?}"
    );
    let common = published_kids(&h, "/common/discovery/v2.0/keys").await;
    assert!(
        common.contains(&kid(TENANT_KEY)) && common.contains(&kid(3)),
        "{common:?}"
    );

    // Tokens issued after it carry the new kid (and x5t) and verify too.
    let reply = h.call(&h.v2_valid()).await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let after = reply.json()["access_token"].as_str().unwrap().to_owned();
    let header = decode_segment(&after, 0);
    assert_eq!(header["kid"], kid(3));
    assert_eq!(header["x5t"], kid(3));
    verified_claims(&h, &tid.to_string(), &after).await;

    // Past the deadline only the new key is published.
    h.clock.set(publish_until.plus_secs(1));
    assert_eq!(published_kids(&h, &keys_path).await, [kid(3)]);
}
