//! The sign-in log: every token request, successful or not, becomes one record with what was
//! presented, what matched and the result code (`signin.rs`).

use std::time::Duration;

use wif_testkit::fixture::SUBJECT;

use crate::harness::{EXCHANGE_AUDIENCE, Harness, SUBJECT_NS};

#[tokio::test]
async fn success_and_failure_each_leave_one_record() {
    let h = Harness::new().await;
    let ok_id = "11111111-2222-4333-8444-555555555555";
    let failed_id = "66666666-7777-4888-8999-aaaaaaaaaaaa";
    let issuer = h.issuer();
    let client_id = h.client_id();
    let identity = h.fixture.identity.resource_id();
    let tenant = h.fixture.tenant.id;

    let reply = h
        .call(&h.v2_valid().header("client-request-id", ok_id))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.json());
    let wrong_sa = h.minted(SUBJECT_NS, "wrong-sa", h.now(), Duration::ZERO);
    let reply = h
        .call(
            &h.v2(&wrong_sa)
                .set("scope", "https://management.azure.com/.default")
                .set("client-request-id", failed_id),
        )
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["correlation_id"], failed_id);

    let records = h.finish().await;
    assert_eq!(records.len(), 2, "{records:#?}");
    let ok = records
        .iter()
        .find(|r| r.correlation_id.to_string() == ok_id)
        .unwrap_or_else(|| panic!("no record for {ok_id}: {records:#?}"));
    assert_eq!(ok.result_code, 0);
    assert!(ok.is_success());
    assert_eq!(ok.error, None);
    assert_eq!(ok.credential.as_deref(), Some("fic-aks"));
    assert_eq!(ok.assertion_issuer.as_deref(), Some(issuer.as_str()));
    assert_eq!(ok.assertion_subject.as_deref(), Some(SUBJECT));
    assert_eq!(ok.assertion_audience.as_deref(), Some(EXCHANGE_AUDIENCE));
    assert_eq!(ok.resource.as_deref(), Some("https://vault.azure.net"));
    assert_eq!(ok.client_id, client_id);
    assert_eq!(ok.identity.as_deref(), Some(identity.as_str()));
    assert_eq!(ok.tenant_id, Some(tenant));

    let failed = records
        .iter()
        .find(|r| r.correlation_id.to_string() == failed_id)
        .unwrap_or_else(|| panic!("no record for {failed_id}: {records:#?}"));
    assert_eq!(failed.result_code, 700213);
    assert!(!failed.is_success());
    assert!(
        failed
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("invalid_client")),
        "{failed:?}"
    );
    assert_eq!(failed.credential, None);
    assert_eq!(failed.assertion_issuer.as_deref(), Some(issuer.as_str()));
    assert_eq!(
        failed.assertion_subject.as_deref(),
        Some("system:serviceaccount:default:wrong-sa")
    );
    assert_eq!(
        failed.assertion_audience.as_deref(),
        Some(EXCHANGE_AUDIENCE)
    );
    assert_eq!(
        failed.resource.as_deref(),
        Some("https://management.azure.com")
    );
    assert_eq!(failed.client_id, client_id);
    assert_ne!(failed.trace_id, ok.trace_id);
}

#[tokio::test]
async fn request_rejected_before_the_tenant_is_known_is_logged() {
    let h = Harness::new().await;
    let id = "0a0b0c0d-0e0f-4a1b-8c2d-3e4f5a6b7c8d";
    let mut call = h.v2_valid().header("x-ms-client-request-id", id);
    call.path = "/00000000-0000-4000-8000-000000000bad/oauth2/v2.0/token".into();
    let reply = h.call(&call).await;
    assert_eq!(reply.status, 400);
    let records = h.finish().await;
    assert_eq!(records.len(), 1, "{records:#?}");
    let r = &records[0];
    assert_eq!(r.result_code, 90002);
    assert_eq!(r.correlation_id.to_string(), id);
    assert_eq!(r.tenant, "00000000-0000-4000-8000-000000000bad");
    assert_eq!(r.tenant_id, None);
}
