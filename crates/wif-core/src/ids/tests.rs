//! Tests of identifier parsing: shapes accepted and refused, and round trips.
use super::*;
use proptest::prelude::*;

#[test]
fn issuer_keeps_exact_text() {
    let a = Issuer::parse("https://h:8443/eastus/t/c/").unwrap();
    assert_eq!(a.as_str(), "https://h:8443/eastus/t/c/");
    assert_ne!(a, Issuer::parse("https://h:8443/eastus/t/c").unwrap());
    assert_eq!(
        a.discovery_url(),
        "https://h:8443/eastus/t/c/.well-known/openid-configuration"
    );
}

#[test]
fn issuer_rejects_bad_shapes() {
    for bad in [
        "http://h/",
        "https://h/?q=1",
        "https://h/#f",
        " https://h/",
        "not a url",
        "",
    ] {
        assert!(Issuer::parse(bad).is_err(), "{bad}");
    }
    assert!(Issuer::parse(&format!("https://h/{}", "a".repeat(600))).is_err());
}

#[test]
fn guids_parse_any_case() {
    let a = TenantId::parse("72F988BF-86F1-41AF-91AB-2D7CD011DB47").unwrap();
    assert_eq!(a.to_string(), "72f988bf-86f1-41af-91ab-2d7cd011db47");
    assert!(ClientId::parse("nope").is_err());
}

#[test]
fn tenant_ref_by_id_or_domain() {
    assert!(matches!(
        TenantRef::parse("72f988bf-86f1-41af-91ab-2d7cd011db47"),
        Ok(TenantRef::Id(_))
    ));
    match TenantRef::parse("Contoso.OnMicrosoft.com").unwrap() {
        TenantRef::Domain(d) => assert_eq!(d.as_str(), "contoso.onmicrosoft.com"),
        other => panic!("{other:?}"),
    }
    assert!(TenantRef::parse("common").is_err());
}

#[test]
fn scope_rules() {
    assert_eq!(
        Resource::from_scope("https://vault.azure.net/.default")
            .unwrap()
            .as_str(),
        "https://vault.azure.net"
    );
    assert_eq!(
        Resource::from_scope("https://management.azure.com//.default")
            .unwrap()
            .key(),
        "https://management.azure.com"
    );
    assert_eq!(
        Resource::from_scope("https://vault.azure.net/.default openid offline_access")
            .unwrap()
            .as_str(),
        "https://vault.azure.net"
    );
    assert!(matches!(
        Resource::from_scope("https://vault.azure.net/user_impersonation"),
        Err(ScopeError::NotDefault(_))
    ));
    assert!(matches!(Resource::from_scope(""), Err(ScopeError::Empty)));
    assert!(matches!(
        Resource::from_scope("a/.default b/.default"),
        Err(ScopeError::Invalid(_))
    ));
}

#[test]
fn subject_for_service_account() {
    let ns = Namespace::parse("default").unwrap();
    let sa = ServiceAccountName::parse("workload-sa").unwrap();
    assert_eq!(
        Subject::for_service_account(&ns, &sa).as_str(),
        "system:serviceaccount:default:workload-sa"
    );
}

#[test]
fn names_follow_arm_rules() {
    assert!(CredentialName::parse("fic-1").is_ok());
    assert!(CredentialName::parse("-fic").is_err());
    assert!(CredentialName::parse("ab").is_err());
    assert!(IdentityName::parse("id_workload").is_ok());
    assert!(ResourceGroupName::parse("rg.").is_err());
    assert_eq!(RegionName::parse("EastUS").unwrap().as_str(), "eastus");
    assert!(Namespace::parse("Default").is_err());
}

proptest! {
    #[test]
    fn issuer_roundtrips(path in "[a-z0-9/]{0,40}") {
        let s = format!("https://example.com/{path}");
        if let Ok(i) = Issuer::parse(&s) {
            prop_assert_eq!(Issuer::parse(&i.to_string()).unwrap(), i);
        }
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,80}") {
        let _ = Issuer::parse(&s);
        let _ = Subject::parse(&s);
        let _ = TenantRef::parse(&s);
        let _ = Resource::from_scope(&s);
        let _ = ResourceGroupName::parse(&s);
        let _ = CredentialName::parse(&s);
    }

    #[test]
    fn subject_roundtrips(s in "[!-~]{1,100}") {
        let sub = Subject::parse(&s).unwrap();
        prop_assert_eq!(Subject::parse(sub.as_str()).unwrap(), sub);
    }
}
