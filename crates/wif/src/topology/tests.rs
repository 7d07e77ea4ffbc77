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
