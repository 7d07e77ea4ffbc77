//! `wif install webhook|server`: the Kubernetes manifests for running wif in a cluster, printed
//! (as `linkerd install` does) for `kubectl apply -f -` or a GitOps repository. Built from
//! k8s-openapi types, so every field is one the API server knows; cert-manager's Issuer and
//! Certificate (custom resources) are the only hand-built objects.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, ServiceReference,
    ValidatingWebhook, ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment, StatefulSet,
    StatefulSetSpec,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMap, ConfigMapEnvSource, ConfigMapVolumeSource, Container,
    ContainerPort, EmptyDirVolumeSource, EnvFromSource, HTTPGetAction, Namespace,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    Secret, SecretVolumeSource, SecurityContext, Service, ServiceAccount, ServicePort, ServiceSpec,
    Volume, VolumeMount, VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::{Value, json};
use wif_core::time::{Clock as _, SystemClock};
use wif_server::webhook::mutate::USE_LABEL;

use crate::cli::{InstallCommand, InstallServerArgs, InstallWebhookArgs};
use crate::error::{CliError, CliResult};

/// The label every object carries, so `kubectl delete -l` removes an installation.
const PART_OF: (&str, &str) = ("app.kubernetes.io/part-of", "wif");

/// `wif install …`
pub fn install(cmd: InstallCommand) -> CliResult {
    let docs = match cmd {
        InstallCommand::Webhook(a) => webhook(&a)?,
        InstallCommand::Server(a) => server(&a)?,
    };
    print!("{}", render(&docs)?);
    Ok(())
}

/// Multi-document YAML, one object per document.
fn render(docs: &[Value]) -> CliResult<String> {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(
            &serde_yaml_ng::to_string(d).map_err(|e| CliError::msg(format!("YAML: {e}")))?,
        );
    }
    Ok(out)
}

fn doc(o: &impl Serialize) -> CliResult<Value> {
    serde_json::to_value(o).map_err(|e| CliError::msg(format!("manifest: {e}")))
}

fn labels(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (PART_OF.0.to_owned(), PART_OF.1.to_owned()),
        ("app.kubernetes.io/name".to_owned(), component.to_owned()),
    ])
}

fn meta(name: &str, namespace: Option<&str>, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: Some(labels(component)),
        ..Default::default()
    }
}

fn selector(component: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(
            "app.kubernetes.io/name".to_owned(),
            component.to_owned(),
        )])),
        ..Default::default()
    }
}

fn namespace(name: &str) -> Namespace {
    let mut m = meta(name, None, "wif");
    // The restricted Pod Security Standard: wif's pods need nothing more.
    if let Some(l) = m.labels.as_mut() {
        for mode in ["enforce", "audit", "warn"] {
            l.insert(
                format!("pod-security.kubernetes.io/{mode}"),
                "restricted".into(),
            );
        }
    }
    Namespace {
        metadata: m,
        ..Default::default()
    }
}

fn restricted_container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(65532),
        run_as_group: Some(65532),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        fs_group: Some(65532),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn http_probe(
    scheme: &str,
    path: &str,
    port: i32,
    initial: i32,
    period: i32,
    failures: i32,
) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::Int(port),
            scheme: Some(scheme.into()),
            ..Default::default()
        }),
        initial_delay_seconds: Some(initial),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        ..Default::default()
    }
}

fn resources(cpu_req: &str, mem_req: &str, cpu_lim: &str, mem_lim: &str) -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), Quantity(cpu_req.into())),
            ("memory".into(), Quantity(mem_req.into())),
        ])),
        limits: Some(BTreeMap::from([
            ("cpu".into(), Quantity(cpu_lim.into())),
            ("memory".into(), Quantity(mem_lim.into())),
        ])),
        ..Default::default()
    }
}

fn port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.into()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// A Service `name` on port 443 to the pods' container port named `port_name`.
fn service_443(name: &str, ns: &str, port_name: &str) -> Service {
    Service {
        metadata: meta(name, Some(ns), name),
        spec: Some(ServiceSpec {
            selector: selector(name).match_labels,
            ports: Some(vec![ServicePort {
                name: Some(port_name.into()),
                port: 443,
                target_port: Some(IntOrString::String(port_name.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Spread replicas over nodes when the scheduler can.
fn spread(component: &str) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(selector(component)),
                        topology_key: "kubernetes.io/hostname".into(),
                        ..Default::default()
                    },
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

const WEBHOOK: &str = "wif-webhook";
const WEBHOOK_PORT: i32 = 9443;
const HEALTH_PORT: i32 = 9440;
const METRICS_PORT: i32 = 8095;

fn not_in_namespaces(ns: &str) -> LabelSelector {
    LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "kubernetes.io/metadata.name".into(),
            operator: "NotIn".into(),
            // The webhook's own pods must never wait for the webhook.
            values: Some(vec![ns.to_owned(), "kube-system".into()]),
        }]),
        ..Default::default()
    }
}

fn pods_create() -> Vec<RuleWithOperations> {
    vec![RuleWithOperations {
        api_groups: Some(vec![String::new()]),
        api_versions: Some(vec!["v1".into()]),
        operations: Some(vec!["CREATE".into()]),
        resources: Some(vec!["pods".into()]),
        scope: Some("Namespaced".into()),
    }]
}

fn client_config(ns: &str, path: &str, ca_bundle: Option<&str>) -> WebhookClientConfig {
    WebhookClientConfig {
        service: Some(ServiceReference {
            name: WEBHOOK.into(),
            namespace: ns.into(),
            path: Some(path.into()),
            port: Some(443),
        }),
        ca_bundle: ca_bundle.map(|p| ByteString(p.as_bytes().to_vec())),
        ..Default::default()
    }
}

fn webhook(a: &InstallWebhookArgs) -> CliResult<Vec<Value>> {
    let ns = a.namespace.as_str();
    let tenant = a.tenant_id.trim();
    if tenant.is_empty() {
        return Err(CliError::msg(
            "--tenant-id is required: the tenant injected as AZURE_TENANT_ID for service accounts without the tenant-id annotation",
        ));
    }
    let failure_policy = match a.failure_policy.as_str() {
        "Fail" | "Ignore" => a.failure_policy.clone(),
        other => {
            return Err(CliError::msg(format!(
                "--failure-policy must be Fail or Ignore, not {other:?}"
            )));
        }
    };
    if !(1..=30).contains(&a.timeout_seconds) {
        return Err(CliError::msg(
            "--timeout-seconds must be between 1 and 30 (the API server's limits)",
        ));
    }
    let dns = [
        format!("{WEBHOOK}.{ns}.svc"),
        format!("{WEBHOOK}.{ns}.svc.cluster.local"),
    ];
    let secret_name = format!("{WEBHOOK}-cert");
    let mut docs = vec![doc(&namespace(ns))?];
    docs.push(doc(&ServiceAccount {
        metadata: meta(WEBHOOK, Some(ns), WEBHOOK),
        automount_service_account_token: Some(true),
        ..Default::default()
    })?);
    docs.push(doc(&ClusterRole {
        metadata: meta(WEBHOOK, None, WEBHOOK),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["serviceaccounts".into()]),
            verbs: vec!["get".into(), "list".into(), "watch".into()],
            ..Default::default()
        }]),
        ..Default::default()
    })?);
    docs.push(doc(&ClusterRoleBinding {
        metadata: meta(WEBHOOK, None, WEBHOOK),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".into()),
            kind: "ClusterRole".into(),
            name: WEBHOOK.into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: WEBHOOK.into(),
            namespace: Some(ns.into()),
            ..Default::default()
        }]),
    })?);
    let config = BTreeMap::from([
        ("AZURE_TENANT_ID".to_owned(), tenant.to_owned()),
        ("AZURE_ENVIRONMENT".to_owned(), a.azure_environment.clone()),
        ("PROXY_IMAGE".to_owned(), a.proxy_image.clone()),
        ("PROXY_INIT_IMAGE".to_owned(), a.proxy_init_image.clone()),
    ]);
    docs.push(doc(&ConfigMap {
        metadata: meta(&format!("{WEBHOOK}-config"), Some(ns), WEBHOOK),
        data: Some(config),
        ..Default::default()
    })?);

    // Certificates: cert-manager issues and renews them and injects the CA into the webhook
    // configurations; or wif makes a CA now and prints it (re-run to rotate).
    let ca_bundle = match a.certs.as_str() {
        "cert-manager" => {
            docs.push(json!({
                "apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                "metadata": {"name": format!("{WEBHOOK}-selfsigned"), "namespace": ns, "labels": labels(WEBHOOK)},
                "spec": {"selfSigned": {}},
            }));
            docs.push(json!({
                "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                "metadata": {"name": format!("{WEBHOOK}-cert"), "namespace": ns, "labels": labels(WEBHOOK)},
                "spec": {
                    "secretName": secret_name, "dnsNames": dns, "duration": "8760h", "renewBefore": "720h",
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                    "issuerRef": {"name": format!("{WEBHOOK}-selfsigned"), "kind": "Issuer"},
                },
            }));
            None
        }
        "self-signed" => {
            let (ca, leaf) = wif_server::pki::ephemeral_ca_and_leaf(&dns, SystemClock.now())
                .map_err(|e| CliError::msg(format!("generating the webhook certificate: {e}")))?;
            docs.push(doc(&Secret {
                metadata: meta(&secret_name, Some(ns), WEBHOOK),
                type_: Some("kubernetes.io/tls".into()),
                string_data: Some(BTreeMap::from([
                    ("tls.crt".to_owned(), leaf.chain_pem),
                    ("tls.key".to_owned(), leaf.key_pem),
                    ("ca.crt".to_owned(), ca.clone()),
                ])),
                ..Default::default()
            })?);
            Some(ca)
        }
        other => {
            return Err(CliError::msg(format!(
                "--certs must be cert-manager or self-signed, not {other:?}"
            )));
        }
    };

    let mut args = vec![
        "webhook".to_owned(),
        "--webhook-cert-dir=/certs".to_owned(),
        format!("--listen=0.0.0.0:{WEBHOOK_PORT}"),
        format!("--health-addr=0.0.0.0:{HEALTH_PORT}"),
        format!("--metrics-addr=0.0.0.0:{METRICS_PORT}"),
        format!("--log-level={}", a.log_level),
    ];
    if let Some(h) = &a.authority_host {
        args.push(format!("--authority-host={h}"));
    }
    let container = Container {
        name: "webhook".into(),
        image: Some(a.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(args),
        env_from: Some(vec![EnvFromSource {
            config_map_ref: Some(ConfigMapEnvSource {
                name: format!("{WEBHOOK}-config"),
                optional: Some(false),
            }),
            ..Default::default()
        }]),
        ports: Some(vec![
            port("webhook", WEBHOOK_PORT),
            port("healthz", HEALTH_PORT),
            port("metrics", METRICS_PORT),
        ]),
        liveness_probe: Some(http_probe("HTTP", "/healthz", HEALTH_PORT, 15, 20, 6)),
        readiness_probe: Some(http_probe("HTTP", "/readyz", HEALTH_PORT, 5, 5, 3)),
        resources: Some(resources("100m", "32Mi", "1", "128Mi")),
        security_context: Some(restricted_container_security()),
        volume_mounts: Some(vec![VolumeMount {
            name: "certs".into(),
            mount_path: "/certs".into(),
            read_only: Some(true),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let mut pod_labels = labels(WEBHOOK);
    // The webhook's own pods are never mutated.
    pod_labels.insert(USE_LABEL.into(), "false".into());
    docs.push(doc(&Deployment {
        metadata: meta(WEBHOOK, Some(ns), WEBHOOK),
        spec: DeploymentSpec {
            replicas: Some(a.replicas),
            revision_history_limit: Some(5),
            selector: selector(WEBHOOK),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_unavailable: Some(IntOrString::Int(0)),
                    max_surge: Some(IntOrString::Int(1)),
                }),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(WEBHOOK.into()),
                    priority_class_name: Some("system-cluster-critical".into()),
                    node_selector: Some(BTreeMap::from([(
                        "kubernetes.io/os".into(),
                        "linux".into(),
                    )])),
                    affinity: Some(spread(WEBHOOK)),
                    security_context: Some(pod_security()),
                    containers: vec![container],
                    volumes: Some(vec![Volume {
                        name: "certs".into(),
                        secret: Some(SecretVolumeSource {
                            secret_name: Some(secret_name.clone()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        ..Default::default()
    })?);
    docs.push(doc(&service_443(WEBHOOK, ns, "webhook"))?);
    docs.push(doc(&PodDisruptionBudget {
        metadata: meta(WEBHOOK, Some(ns), WEBHOOK),
        spec: Some(PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(1)),
            selector: Some(selector(WEBHOOK)),
            ..Default::default()
        }),
        ..Default::default()
    })?);

    let inject_ca = |m: &mut ObjectMeta| {
        if a.certs == "cert-manager" {
            m.annotations = Some(BTreeMap::from([(
                "cert-manager.io/inject-ca-from".to_owned(),
                format!("{ns}/{WEBHOOK}-cert"),
            )]));
        }
    };
    let mut mwc_meta = meta(WEBHOOK, None, WEBHOOK);
    inject_ca(&mut mwc_meta);
    docs.push(doc(&MutatingWebhookConfiguration {
        metadata: mwc_meta,
        webhooks: Some(vec![MutatingWebhook {
            name: "mutation.azure-workload-identity.io".into(),
            admission_review_versions: vec!["v1".into(), "v1beta1".into()],
            client_config: client_config(ns, "/mutate-v1-pod", ca_bundle.as_deref()),
            failure_policy: Some(failure_policy),
            match_policy: Some("Equivalent".into()),
            // Only labelled pods ever wait on the webhook.
            object_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(USE_LABEL.into(), "true".into())])),
                ..Default::default()
            }),
            namespace_selector: Some(not_in_namespaces(ns)),
            reinvocation_policy: Some("IfNeeded".into()),
            rules: Some(pods_create()),
            side_effects: "None".into(),
            timeout_seconds: Some(a.timeout_seconds),
            ..Default::default()
        }]),
    })?);
    if !a.no_label_check {
        let mut vwc_meta = meta(&format!("{WEBHOOK}-label-check"), None, WEBHOOK);
        inject_ca(&mut vwc_meta);
        docs.push(doc(&ValidatingWebhookConfiguration {
            metadata: vwc_meta,
            webhooks: Some(vec![ValidatingWebhook {
                name: "label-check.wif.dev".into(),
                admission_review_versions: vec!["v1".into(), "v1beta1".into()],
                client_config: client_config(ns, "/warn-v1-pod", ca_bundle.as_deref()),
                // Advisory: it never blocks a pod, even while the webhook is down.
                failure_policy: Some("Ignore".into()),
                match_policy: Some("Equivalent".into()),
                object_selector: Some(LabelSelector {
                    match_expressions: Some(vec![LabelSelectorRequirement {
                        key: USE_LABEL.into(),
                        operator: "NotIn".into(),
                        values: Some(vec!["true".into()]),
                    }]),
                    ..Default::default()
                }),
                namespace_selector: Some(not_in_namespaces(ns)),
                rules: Some(pods_create()),
                side_effects: "None".into(),
                timeout_seconds: Some(2),
                ..Default::default()
            }]),
        })?);
    }
    Ok(docs)
}

const SERVER: &str = "wif-server";

fn server(a: &InstallServerArgs) -> CliResult<Vec<Value>> {
    let ns = a.namespace.as_str();
    let mut docs = vec![doc(&namespace(ns))?];
    docs.push(doc(&ServiceAccount {
        metadata: meta(SERVER, Some(ns), SERVER),
        automount_service_account_token: Some(false),
        ..Default::default()
    })?);
    let topology = match &a.topology {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| CliError::msg(format!("cannot read {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let mut args = vec![
        "--data-dir=/var/lib/wif".to_owned(),
        "up".to_owned(),
        "--listen=0.0.0.0:8443".to_owned(),
        format!("--host={}", a.host),
        "--ready-file=/tmp/ready.json".to_owned(),
    ];
    let mut mounts = vec![
        VolumeMount {
            name: "data".into(),
            mount_path: "/var/lib/wif".into(),
            ..Default::default()
        },
        VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..Default::default()
        },
    ];
    let mut volumes = vec![Volume {
        name: "tmp".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }];
    if let Some(t) = topology {
        docs.push(doc(&ConfigMap {
            metadata: meta(&format!("{SERVER}-topology"), Some(ns), SERVER),
            data: Some(BTreeMap::from([("topology.yaml".to_owned(), t)])),
            ..Default::default()
        })?);
        args.push("--file=/etc/wif/topology.yaml".into());
        mounts.push(VolumeMount {
            name: "topology".into(),
            mount_path: "/etc/wif".into(),
            read_only: Some(true),
            ..Default::default()
        });
        volumes.push(Volume {
            name: "topology".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: format!("{SERVER}-topology"),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let container = Container {
        name: "wif".into(),
        image: Some(a.image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(args),
        ports: Some(vec![port("https", 8443)]),
        liveness_probe: Some(http_probe("HTTPS", "/healthz", 8443, 10, 20, 6)),
        readiness_probe: Some(http_probe("HTTPS", "/healthz", 8443, 0, 5, 3)),
        resources: Some(resources("250m", "64Mi", "2", "512Mi")),
        security_context: Some(restricted_container_security()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    docs.push(doc(&StatefulSet {
        metadata: meta(SERVER, Some(ns), SERVER),
        spec: StatefulSetSpec {
            // The embedded store has one writer; several regions run one server each.
            replicas: Some(1),
            service_name: Some(SERVER.into()),
            selector: selector(SERVER),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(SERVER)),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(SERVER.into()),
                    automount_service_account_token: Some(false),
                    node_selector: Some(BTreeMap::from([(
                        "kubernetes.io/os".into(),
                        "linux".into(),
                    )])),
                    security_context: Some(pod_security()),
                    containers: vec![container],
                    volumes: Some(volumes),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("data".into()),
                    ..Default::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    storage_class_name: a.storage_class.clone(),
                    resources: Some(VolumeResourceRequirements {
                        requests: Some(BTreeMap::from([(
                            "storage".into(),
                            Quantity(a.storage_size.clone()),
                        )])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            ..Default::default()
        },
        ..Default::default()
    })?);
    docs.push(doc(&service_443(SERVER, ns, "https"))?);
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> InstallWebhookArgs {
        InstallWebhookArgs {
            namespace: "wif-system".into(),
            tenant_id: "t".into(),
            image: "ghcr.io/wif/wif:test".into(),
            azure_environment: "AzurePublicCloud".into(),
            authority_host: None,
            proxy_image: "p".into(),
            proxy_init_image: "pi".into(),
            replicas: 2,
            failure_policy: "Fail".into(),
            timeout_seconds: 10,
            certs: "cert-manager".into(),
            no_label_check: false,
            log_level: "info".into(),
        }
    }

    #[test]
    fn the_mutating_webhook_is_registered_as_upstream_with_wif_safety() {
        let docs = webhook(&args()).unwrap();
        let mwc = docs
            .iter()
            .find(|d| d["kind"] == "MutatingWebhookConfiguration")
            .unwrap();
        let w = &mwc["webhooks"][0];
        assert_eq!(w["objectSelector"]["matchLabels"][USE_LABEL], "true");
        assert_eq!(w["reinvocationPolicy"], "IfNeeded");
        assert_eq!(w["failurePolicy"], "Fail");
        assert_eq!(w["clientConfig"]["service"]["path"], "/mutate-v1-pod");
        assert_eq!(
            w["namespaceSelector"]["matchExpressions"][0]["values"],
            json!(["wif-system", "kube-system"])
        );
        assert_eq!(
            mwc["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "wif-system/wif-webhook-cert"
        );
        let vwc = docs
            .iter()
            .find(|d| d["kind"] == "ValidatingWebhookConfiguration")
            .unwrap();
        assert_eq!(vwc["webhooks"][0]["failurePolicy"], "Ignore");
        assert_eq!(
            vwc["webhooks"][0]["objectSelector"]["matchExpressions"][0]["operator"],
            "NotIn"
        );
    }

    #[test]
    fn self_signed_certificates_go_into_the_secret_and_the_ca_bundle() {
        let mut a = args();
        a.certs = "self-signed".into();
        a.no_label_check = true;
        let docs = webhook(&a).unwrap();
        assert!(
            !docs
                .iter()
                .any(|d| d["kind"] == "ValidatingWebhookConfiguration")
        );
        let secret = docs.iter().find(|d| d["kind"] == "Secret").unwrap();
        assert!(
            secret["stringData"]["tls.crt"]
                .as_str()
                .unwrap()
                .contains("BEGIN CERTIFICATE")
        );
        let mwc = docs
            .iter()
            .find(|d| d["kind"] == "MutatingWebhookConfiguration")
            .unwrap();
        // caBundle is base64 of the CA PEM, as ByteString serializes.
        assert!(
            mwc["webhooks"][0]["clientConfig"]["caBundle"]
                .as_str()
                .is_some_and(|b| b.starts_with("LS0tLS1CRUdJTi"))
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_fix() {
        let mut a = args();
        a.failure_policy = "Never".into();
        assert!(webhook(&a).is_err());
        let mut a = args();
        a.timeout_seconds = 31;
        assert!(webhook(&a).is_err());
        let mut a = args();
        a.tenant_id = " ".into();
        assert!(webhook(&a).is_err());
    }
}
