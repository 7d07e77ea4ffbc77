//! `wif inject`: the webhook's mutation over manifests, offline.

use crate::harness::Workspace;

const MANIFESTS: &str = r#"# the app's service account
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  namespace: shop
  annotations:
    azure.workload.identity/client-id: 11111111-1111-4111-8111-111111111111
---
# untouched: not labelled
apiVersion: apps/v1
kind: Deployment
metadata: {name: plain, namespace: shop}
spec:
  template:
    metadata: {labels: {app: plain}}
    spec:
      serviceAccountName: app
      containers: [{name: web, image: nginx}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: shop, azure.workload.identity/use: "true"}
    spec:
      serviceAccountName: app
      containers: [{name: web, image: shop}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: shop}
spec:
  schedule: "0 1 * * *"
  jobTemplate:
    spec:
      template:
        metadata: {labels: {azure.workload.identity/use: "true"}}
        spec:
          serviceAccountName: app
          restartPolicy: Never
          containers: [{name: job, image: job}]
"#;

#[test]
fn inject_mutates_opted_in_templates_and_keeps_the_rest() {
    let ws = Workspace::new();
    let file = ws.write("app.yaml", MANIFESTS);
    let f = file.to_str().unwrap();
    let run = ws.wif(["inject", "-f", f, "--tenant-id", "t-1"]).success();
    let out = &run.stdout;
    assert!(
        out.starts_with("# the app's service account\n"),
        "unchanged documents keep their text: {out}"
    );
    assert!(out.contains("# untouched: not labelled"), "{out}");
    let docs: Vec<serde_json::Value> = out
        .split("---\n")
        .map(|d| serde_yaml_ng::from_str(d).unwrap())
        .collect();
    assert_eq!(docs.len(), 4);
    assert!(
        docs[1]["spec"]["template"]["spec"]["containers"][0]
            .get("env")
            .is_none()
    );
    let shop = &docs[2]["spec"]["template"]["spec"];
    assert_eq!(
        shop["containers"][0]["env"][0]["value"],
        "11111111-1111-4111-8111-111111111111"
    );
    assert_eq!(shop["containers"][0]["env"][1]["value"], "t-1");
    assert_eq!(
        shop["containers"][0]["volumeMounts"][0]["mountPath"],
        "/var/run/secrets/azure/wi"
    );
    assert!(
        shop["volumes"][0]["name"]
            .as_str()
            .unwrap()
            .starts_with("azure-workload-identity-reserved-")
    );
    let job = &docs[3]["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    assert_eq!(
        job["containers"][0]["env"][2]["name"],
        "AZURE_FEDERATED_TOKEN_FILE"
    );

    // --check: the original would change, the output would not (injecting twice is a no-op).
    let run = ws
        .wif(["inject", "-f", f, "--tenant-id", "t-1", "--check"])
        .failure();
    assert!(
        run.stderr.contains("Deployment shop") && run.stderr.contains("CronJob nightly"),
        "{run}"
    );
    let injected = ws.write("injected.yaml", out);
    ws.wif([
        "inject",
        "-f",
        injected.to_str().unwrap(),
        "--tenant-id",
        "t-1",
        "--check",
    ])
    .success();

    // A service account that is nowhere: refused, as the webhook refuses the pod.
    let lonely = ws.write(
        "lonely.yaml",
        &MANIFESTS[MANIFESTS.find("---\n").unwrap() + 4..],
    );
    let run = ws.wif(["inject", "-f", lonely.to_str().unwrap()]).failure();
    assert!(
        run.stderr.contains("serviceaccounts \"app\" not found"),
        "{run}"
    );
    let sa = ws.write("sa.yaml", &MANIFESTS[..MANIFESTS.find("---\n").unwrap()]);
    ws.wif([
        "inject",
        "-f",
        lonely.to_str().unwrap(),
        "--service-account-file",
        sa.to_str().unwrap(),
    ])
    .success();
}
