//! Tests of topology parsing and planning.
use super::*;

#[derive(Debug)]
struct Counter(std::sync::atomic::AtomicU8);
impl RandomSource for Counter {
    fn fill(&self, dest: &mut [u8]) {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        dest.fill(n);
    }
}

const TOPO: &str = "apiVersion: wif/v1
tenants:
  - name: contoso
    id: 72f988bf-86f1-41af-91ab-2d7cd011db47
regions:
  - name: eastus
clusters:
  - name: aks-eastus
    tenant: contoso
    region: eastus
    resourceGroup: rg-aks
identities:
  - name: id-workload
    tenant: contoso
    resourceGroup: rg-identity
    federatedCredentials:
      - name: fic-aks
        cluster: aks-eastus
        subject: system:serviceaccount:default:workload
";

fn ctx<'a>(authority: &'a Authority, rng: &'a Counter) -> PlanContext<'a> {
    PlanContext {
        authority,
        rng,
        now: UnixTime::from_secs(1_800_000_000),
    }
}

fn apply(data: &mut DirectoryData, writes: &[Write]) {
    for w in writes {
        match w {
            Write::PutTenant(t) => {
                data.tenants.retain(|x| x.id != t.id);
                data.tenants.push(t.clone())
            }
            Write::PutSubscription(s) => {
                data.subscriptions.retain(|x| x.id != s.id);
                data.subscriptions.push(s.clone())
            }
            Write::PutRegion(r) => data.regions.push(r.clone()),
            Write::PutCluster(c) => {
                data.clusters.retain(|x| x.guid != c.guid);
                data.clusters.push(c.clone())
            }
            Write::PutIdentity(m) => {
                data.identities.retain(|x| x.client_id != m.client_id);
                data.identities.push(m.clone())
            }
            Write::PutCredential(c) => {
                data.credentials
                    .retain(|x| !(x.identity == c.identity && x.name == c.name));
                data.credentials.push(c.clone())
            }
            Write::PutServiceAccount(sa) => {
                data.service_accounts.retain(|x| {
                    !(x.cluster == sa.cluster && x.namespace == sa.namespace && x.name == sa.name)
                });
                data.service_accounts.push(sa.clone())
            }
            Write::PutVault(v) => {
                data.vaults.retain(|x| x.name != v.name);
                data.vaults.push(v.clone())
            }
            Write::PutRoleAssignment(a) => data.role_assignments.push(a.clone()),
            _ => {}
        }
    }
}

#[test]
fn applying_twice_changes_nothing() {
    let authority = Authority::new("localhost", 8443);
    let rng = Counter(Default::default());
    let topo = parse(TOPO, "t.yaml").unwrap();
    let mut data = DirectoryData::default();
    let first = plan(&topo, TOPO, "t.yaml", &data, &ctx(&authority, &rng)).unwrap();
    assert_eq!(first.changes.len(), 6, "{:?}", first.changes);
    apply(&mut data, &first.writes);
    let second = plan(&topo, TOPO, "t.yaml", &data, &ctx(&authority, &rng)).unwrap();
    assert!(second.writes.is_empty(), "{:?}", second.changes);
    let cluster = &data.clusters[0];
    assert!(
        cluster
            .issuer
            .as_str()
            .starts_with("https://localhost:8443/eastus/72f988bf-86f1-41af-91ab-2d7cd011db47/")
    );
    assert!(cluster.issuer.as_str().ends_with('/'));
    assert_eq!(data.credentials[0].issuer, cluster.issuer);
    assert_eq!(
        data.credentials[0].audiences,
        vec![Audience::token_exchange()]
    );
}

#[test]
fn unknown_cluster_reference_names_the_line() {
    let text = TOPO.replace("cluster: aks-eastus", "cluster: aks-nowhere");
    let topo = parse(&text, "t.yaml").unwrap();
    let authority = Authority::new("localhost", 8443);
    let rng = Counter(Default::default());
    let e = plan(
        &topo,
        &text,
        "t.yaml",
        &DirectoryData::default(),
        &ctx(&authority, &rng),
    )
    .unwrap_err();
    assert_eq!(e.line, 18, "{e}");
    assert!(e.to_string().contains("aks-nowhere"), "{e}");
}

#[test]
fn syntax_and_shape_errors_have_lines() {
    let e = parse("tenants:\n  - name: x\n    bogus: 1\n", "t.yaml").unwrap_err();
    assert_eq!(e.line, 3, "{e}");
    let e = parse("regions:\n  - name: \"not a region!\"\n", "t.yaml").unwrap_err();
    assert!(e.message.contains("region"), "{e}");
    let e = parse("apiVersion: wif/v9\n", "t.yaml").unwrap_err();
    assert_eq!(e.line, 1);
}

#[test]
fn duplicate_issuer_subject_is_rejected() {
    let text = format!(
        "{TOPO}      - name: fic-dup\n        cluster: aks-eastus\n        subject: system:serviceaccount:default:workload\n"
    );
    let topo = parse(&text, "t.yaml").unwrap();
    let authority = Authority::new("localhost", 8443);
    let rng = Counter(Default::default());
    let e = plan(
        &topo,
        &text,
        "t.yaml",
        &DirectoryData::default(),
        &ctx(&authority, &rng),
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("Issuer and subject combination already exists"),
        "{e}"
    );
}

const WORKLOADS: &str = "
    serviceAccounts:
      - namespace: default
        name: workload
        identity: id-workload
        annotations:
          azure.workload.identity/service-account-token-expiration: \"3600\"
vaults:
  - name: KV-Payments
    tenant: contoso
    resourceGroup: rg-kv
    softDeleteRetentionInDays: 7
    secrets:
      - name: db-password
        value: hunter2
      - name: from-env
        valueFrom:
          env: WIF_TOPOLOGY_TEST_SECRET
roleAssignments:
  - role: key vault secrets user
    identity: id-workload
    vault: kv-payments
  - role: acdd72a7-3385-48ef-bd42-f606fba81ae7
    principalId: 00000000-0000-0000-0000-0000000000aa
    vault: kv-payments
    secret: db-password
";

fn with_workloads() -> String {
    let mut text = TOPO.replace(
        "    resourceGroup: rg-aks\n",
        &format!(
            "    resourceGroup: rg-aks\n{}",
            WORKLOADS
                .split("vaults:")
                .next()
                .unwrap()
                .trim_start_matches('\n')
        ),
    );
    text.push_str("vaults:");
    text.push_str(WORKLOADS.split("vaults:").nth(1).unwrap());
    text
}

#[test]
fn service_accounts_vaults_secrets_and_assignments_plan_once() {
    let text = with_workloads().replace("WIF_TOPOLOGY_TEST_SECRET", "HOME");
    let topo = parse(&text, "t.yaml").unwrap();
    let authority = Authority::new("localhost", 8443);
    let rng = Counter(Default::default());
    let mut data = DirectoryData::default();
    let first = plan(&topo, &text, "t.yaml", &data, &ctx(&authority, &rng)).unwrap();
    apply(&mut data, &first.writes);

    let identity = &data.identities[0];
    let sa = &data.service_accounts[0];
    assert_eq!(
        sa.subject().as_str(),
        "system:serviceaccount:default:workload"
    );
    assert_eq!(
        sa.client_id_annotation(),
        Some(identity.client_id.to_string().as_str())
    );
    assert_eq!(sa.token_expiration_annotation(), Some("3600"));
    let vault = &data.vaults[0];
    assert_eq!(
        vault.name.as_str(),
        "kv-payments",
        "vault names are DNS labels"
    );
    assert_eq!(vault.retention_days, 7);
    assert_eq!(data.role_assignments.len(), 2);
    assert_eq!(data.role_assignments[0].principal_id, identity.principal_id);
    assert_eq!(data.role_assignments[0].scope.as_str(), vault.resource_id());
    assert!(
        data.role_assignments[1]
            .scope
            .as_str()
            .ends_with("/secrets/db-password")
    );
    assert_eq!(first.secrets.len(), 2);
    assert_eq!(first.secrets[0].value.0, "hunter2");
    assert!(
        !format!("{:?}", first.secrets).contains("hunter2"),
        "values never in Debug"
    );

    let second = plan(&topo, &text, "t.yaml", &data, &ctx(&authority, &rng)).unwrap();
    assert!(second.writes.is_empty(), "{:?}", second.changes);
}

#[test]
fn workload_reference_errors_name_the_line() {
    let cases = [
        (
            "identity: id-workload\n        annotations",
            "identity: id-nobody\n        annotations",
            "identity 'id-nobody'",
        ),
        (
            "role: key vault secrets user",
            "role: Key Vault Wizard",
            "role 'Key Vault Wizard' does not exist",
        ),
        (
            "    vault: kv-payments\n  - role",
            "    vault: kv-elsewhere\n  - role",
            "vault 'kv-elsewhere'",
        ),
        (
            "softDeleteRetentionInDays: 7",
            "softDeleteRetentionInDays: 5",
            "7 to 90",
        ),
        (
            "WIF_TOPOLOGY_TEST_SECRET",
            "WIF_TOPOLOGY_TEST_SECRET_UNSET_42",
            "is not set",
        ),
    ];
    for (from, to, needle) in cases {
        let base = if needle == "is not set" {
            with_workloads()
        } else {
            with_workloads().replace(
                "WIF_TOPOLOGY_TEST_SECRET
",
                "HOME
",
            )
        };
        let text = base.replace(from, to);
        assert!(text.contains(to), "case {needle}: the replacement applies");
        let topo = parse(&text, "t.yaml").unwrap();
        let authority = Authority::new("localhost", 8443);
        let rng = Counter(Default::default());
        let e = plan(
            &topo,
            &text,
            "t.yaml",
            &DirectoryData::default(),
            &ctx(&authority, &rng),
        )
        .unwrap_err();
        assert!(e.message.contains(needle), "{needle}: {e}");
        assert!(e.line > 0, "{needle}: {e}");
    }
}
