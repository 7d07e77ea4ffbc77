//! The pod mutation of the azure-workload-identity webhook (`azwi-spec.md` §2.3–§2.8, v1.6.0),
//! computed on the raw JSON so fields this code does not know survive, as an RFC 6902 patch of
//! only the additions and replacements it needs. Applying the patch and mutating again yields an
//! empty patch (reinvocation is a no-op), and the injected volume is found again by its reserved
//! prefix and token projection rather than by the pod name alone (so a name set by another
//! webhook between invocations does not add a second volume — upstream's #1744).

use std::collections::BTreeMap;

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::{Value, json};

/// `azure.workload.identity/use` (pod label): exactly `"true"` opts the pod in.
pub const USE_LABEL: &str = "azure.workload.identity/use";
/// `azure.workload.identity/client-id` (service account).
pub const CLIENT_ID: &str = "azure.workload.identity/client-id";
/// `azure.workload.identity/tenant-id` (service account).
pub const TENANT_ID: &str = "azure.workload.identity/tenant-id";
/// `azure.workload.identity/service-account-token-expiration` (pod, then service account).
pub const TOKEN_EXPIRATION: &str = "azure.workload.identity/service-account-token-expiration";
/// `azure.workload.identity/skip-containers` (pod): `;`-separated container names.
pub const SKIP_CONTAINERS: &str = "azure.workload.identity/skip-containers";
/// The reserved prefix of the projected volume's name.
pub const VOLUME_PREFIX: &str = "azure-workload-identity-reserved-";
/// Where the volume is mounted.
pub const MOUNT_PATH: &str = "/var/run/secrets/azure/wi";
/// The token's path inside the volume.
pub const TOKEN_PATH: &str = "token/azure-identity-token";
/// `azure.workload.identity/inject-proxy-sidecar` (pod): present → the IMDS proxy is injected.
pub const INJECT_PROXY: &str = "azure.workload.identity/inject-proxy-sidecar";
/// `azure.workload.identity/proxy-sidecar-port` (pod), default 8000.
pub const PROXY_PORT: &str = "azure.workload.identity/proxy-sidecar-port";
/// The proxy sidecar's container name.
pub const PROXY_NAME: &str = "azwi-proxy";
/// The proxy-init container's name.
pub const PROXY_INIT_NAME: &str = "azwi-proxy-init";
/// The token lifetime bounds and default, in seconds.
pub const EXPIRATION_RANGE: (i64, i64, i64) = (3600, 86_400, 3600);

/// What the webhook is configured with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MutationConfig {
    /// The tenant injected when the service account names none (`AZURE_TENANT_ID`).
    pub tenant_id: String,
    /// `AZURE_AUTHORITY_HOST`, such as `https://login.microsoftonline.com/`.
    pub authority_host: String,
    /// The projected token's audience (`api://AzureADTokenExchange`).
    pub audience: String,
    /// The IMDS proxy sidecar's image.
    pub proxy_image: String,
    /// The proxy-init image (sets up the iptables redirect).
    pub proxy_init_image: String,
    /// Kubernetes ≥ 1.32: the proxy runs as a native sidecar (an init container with
    /// `restartPolicy: Always`) rather than as the first container.
    pub native_sidecars: bool,
    /// `--log-level` passed to the proxy.
    pub log_level: String,
    /// The custom token endpoint ("identity binding", `azwi-spec.md` §2.10), when configured.
    pub custom_endpoint: Option<CustomEndpoint>,
}

/// The default projected-token audience; a custom endpoint must use another.
pub const DEFAULT_AUDIENCE: &str = "api://AzureADTokenExchange";
/// Where the custom endpoint's CA lands inside the volume.
pub const CA_PATH: &str = "ca-cert/ca.crt";

/// The custom token endpoint's settings as given (flags and upstream's environment names).
#[derive(Clone, Copy, Debug, Default)]
pub struct CustomEndpointFlags<'a> {
    /// `--custom-token-endpoint-annotation-suffix`.
    pub suffix: &'a str,
    /// `--custom-token-endpoint-audience`.
    pub audience: &'a str,
    /// `AZURE_KUBERNETES_TOKEN_PROXY`.
    pub token_proxy: &'a str,
    /// `AZURE_KUBERNETES_SNI_NAME`.
    pub sni_name: &'a str,
    /// `AZURE_KUBERNETES_CA_DATA`.
    pub ca_data: &'a str,
    /// `AZURE_KUBERNETES_CA_CONFIGMAP_NAME`.
    pub ca_configmap: &'a str,
    /// `AZURE_KUBERNETES_CA_CTB_SIGNER_NAME`.
    pub ctb_signer: &'a str,
    /// `AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR` (JSON).
    pub ctb_label_selector: &'a str,
}

/// Pods annotated `azure.workload.identity/use-<suffix>: "true"` get a token for `audience`
/// and the `AZURE_KUBERNETES_*` variables, to reach a token proxy instead of Entra directly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomEndpoint {
    /// The pod annotation's key, `azure.workload.identity/use-<suffix>` (lower case).
    pub annotation: String,
    /// The projected token's audience for those pods.
    pub audience: String,
    /// `AZURE_KUBERNETES_TOKEN_PROXY`.
    pub token_proxy: String,
    /// `AZURE_KUBERNETES_SNI_NAME`.
    pub sni_name: String,
    /// `AZURE_KUBERNETES_CA_DATA` (PEM), exclusive with the two CA sources below.
    pub ca_data: String,
    /// A ConfigMap whose `ca.crt` is projected into the volume.
    pub ca_configmap: String,
    /// A ClusterTrustBundle signer whose bundle is projected into the volume.
    pub ctb_signer: String,
    /// The ClusterTrustBundle label selector (JSON `LabelSelector`), with the signer only.
    pub ctb_label_selector: Option<Value>,
}

impl CustomEndpoint {
    /// Validates the settings as upstream does at startup; the messages are upstream's.
    /// `Ok(None)` when neither the suffix nor the audience is set (the feature is off).
    pub fn new(flags: &CustomEndpointFlags<'_>) -> Result<Option<Self>, String> {
        let CustomEndpointFlags {
            suffix,
            audience,
            token_proxy,
            sni_name,
            ca_data,
            ca_configmap,
            ctb_signer,
            ctb_label_selector,
        } = *flags;
        match (suffix.is_empty(), audience.is_empty()) {
            (true, true) => return Ok(None),
            (true, false) => {
                return Err(
                    "custom token endpoint annotation suffix cannot be empty when audience is set"
                        .into(),
                );
            }
            (false, true) => {
                return Err(
                    "custom token endpoint audience cannot be empty when annotation suffix is set"
                        .into(),
                );
            }
            (false, false) => {}
        }
        if audience.eq_ignore_ascii_case(DEFAULT_AUDIENCE) {
            return Err(format!(
                "custom token endpoint audience cannot be equal to default audience \"{DEFAULT_AUDIENCE}\""
            ));
        }
        let annotation = format!(
            "azure.workload.identity/use-{}",
            suffix.to_ascii_lowercase()
        );
        if let Err(why) = qualified_name(&annotation) {
            return Err(format!(
                "custom token endpoint annotation key \"{annotation}\" is not valid: {why}"
            ));
        }
        let sources = [ca_data, ca_configmap, ctb_signer]
            .iter()
            .filter(|v| !v.is_empty())
            .count();
        if sources > 1 {
            return Err("only one of AZURE_KUBERNETES_CA_DATA, AZURE_KUBERNETES_CA_CONFIGMAP_NAME or AZURE_KUBERNETES_CA_CTB_SIGNER_NAME can be set".into());
        }
        let ctb_label_selector = if ctb_label_selector.is_empty() {
            None
        } else if ctb_signer.is_empty() {
            return Err("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR requires AZURE_KUBERNETES_CA_CTB_SIGNER_NAME".into());
        } else {
            Some(serde_json::from_str(ctb_label_selector).map_err(|e| {
                format!("AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR is not a JSON label selector: {e}")
            })?)
        };
        Ok(Some(Self {
            annotation,
            audience: audience.to_owned(),
            token_proxy: token_proxy.to_owned(),
            sni_name: sni_name.to_owned(),
            ca_data: ca_data.to_owned(),
            ca_configmap: ca_configmap.to_owned(),
            ctb_signer: ctb_signer.to_owned(),
            ctb_label_selector,
        }))
    }

    fn selected_by(&self, pod: &Value) -> bool {
        text(pod, &["metadata", "annotations", &self.annotation])
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

/// `AZURE_AUTHORITY_HOST` for an `AZURE_ENVIRONMENT` name, as upstream derives it at startup
/// (`azwi-spec.md` §2.11): case-insensitive cloud names, empty meaning public, and for
/// `AzureStackCloud` the `activeDirectoryEndpoint` of the JSON file `stack_file` names.
pub fn authority_for_environment(name: &str, stack_file: Option<&str>) -> Result<String, String> {
    let known = [
        ("AZUREPUBLICCLOUD", "https://login.microsoftonline.com/"),
        (
            "AZUREUSGOVERNMENTCLOUD",
            "https://login.microsoftonline.us/",
        ),
        ("AZURECHINACLOUD", "https://login.chinacloudapi.cn/"),
        ("AZUREGERMANCLOUD", "https://login.microsoftonline.de/"),
    ];
    let upper = if name.is_empty() {
        "AZUREPUBLICCLOUD".to_owned()
    } else {
        name.to_ascii_uppercase()
    };
    if let Some((_, host)) = known.iter().find(|(n, _)| *n == upper) {
        return Ok((*host).to_owned());
    }
    if upper == "AZURESTACKCLOUD" {
        let Some(path) = stack_file.filter(|p| !p.is_empty()) else {
            return Err("failed to get AAD endpoint: AzureStackCloud needs AZURE_ENVIRONMENT_FILEPATH, the path of the environment's JSON file".into());
        };
        let raw = std::fs::read_to_string(path)
            .map_err(|e| format!("failed to get AAD endpoint: cannot read {path}: {e}"))?;
        let v: Value = serde_json::from_str(&raw)
            .map_err(|e| format!("failed to get AAD endpoint: {path} is not JSON: {e}"))?;
        return v
            .get("activeDirectoryEndpoint")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                format!("failed to get AAD endpoint: {path} has no activeDirectoryEndpoint")
            });
    }
    Err(format!(
        "failed to get AAD endpoint: autorest/azure: There is no cloud environment matching the name \"{upper}\""
    ))
}

/// Kubernetes' `IsQualifiedName`: an optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 characters, alphanumeric at both ends, with `-`, `_` and `.` inside.
fn qualified_name(key: &str) -> Result<(), String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(p) = prefix
        && (p.is_empty()
            || p.len() > 253
            || !p.split('.').all(|l| {
                !l.is_empty()
                    && l.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !l.starts_with('-')
                    && !l.ends_with('-')
            }))
    {
        return Err("prefix part must be a lowercase RFC 1123 subdomain".into());
    }
    let ok_inner = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let ok_ends = name
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphanumeric())
        && name
            .bytes()
            .last()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if name.is_empty() || name.len() > 63 || !ok_inner || !ok_ends {
        return Err("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)".into());
    }
    Ok(())
}

/// The result of admitting a pod.
#[derive(Clone, Debug, PartialEq)]
pub struct Mutation {
    /// RFC 6902 operations (empty: nothing to change).
    pub patch: Vec<Value>,
    /// AdmissionReview `warnings`.
    pub warnings: Vec<String>,
}

/// A refused pod: the AdmissionReview `status.code` and `status.message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// HTTP-style code (400, 500).
    pub code: u16,
    /// The message, as upstream words it where upstream has one.
    pub message: String,
}

fn deny(message: impl Into<String>) -> Denial {
    Denial {
        code: 400,
        message: message.into(),
    }
}

/// Whether the pod (or pod template) carries `azure.workload.identity/use: "true"`, the label the
/// webhook's objectSelector matches.
pub fn opted_in(pod: &Value) -> bool {
    text(pod, &["metadata", "labels", USE_LABEL]) == Some("true")
}

/// The pod's service account: `spec.serviceAccountName`, or `default` when unset or empty.
pub fn service_account_name(pod: &Value) -> &str {
    text(pod, &["spec", "serviceAccountName"])
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
}

/// The volume name upstream v1.6.0 derives from the pod name: the reserved prefix and the first
/// 30 hex digits of SHA-256 of the name (`generateName + " (prefix)"` for unnamed pods).
pub fn volume_name(pod_name: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hash = digest(&SHA256, pod_name.as_bytes());
    let mut name = String::with_capacity(VOLUME_PREFIX.len() + 30);
    name.push_str(VOLUME_PREFIX);
    for b in hash.as_ref().iter().take(15) {
        for nibble in [b >> 4, b & 0x0f] {
            name.push(char::from(
                HEX.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    name
}

fn text<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str()
}

/// The token lifetime: the pod annotation, else the service account's, else 3600; 3600–86400.
fn expiration(pod: &Value, sa: &BTreeMap<String, String>) -> Result<i64, Denial> {
    let from_pod =
        text(pod, &["metadata", "annotations", TOKEN_EXPIRATION]).filter(|v| !v.is_empty());
    let from_sa = sa
        .get(TOKEN_EXPIRATION)
        .map(String::as_str)
        .filter(|v| !v.is_empty());
    let Some(raw) = from_pod.or(from_sa) else {
        return Ok(EXPIRATION_RANGE.2);
    };
    let v: i64 = raw.parse().map_err(|_| {
        deny(format!(
            "strconv.ParseInt: parsing \"{raw}\": invalid syntax"
        ))
    })?;
    if v < EXPIRATION_RANGE.0 || v > EXPIRATION_RANGE.1 {
        return Err(deny(format!(
            "token expiration {v} not valid. Expected value to be between {} and {}",
            EXPIRATION_RANGE.0, EXPIRATION_RANGE.1
        )));
    }
    Ok(v)
}

/// Is `v` the volume this webhook injects (by prefix and token projection)?
fn is_injected_volume(v: &Value) -> bool {
    v.get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.starts_with(VOLUME_PREFIX))
        && v.get("projected")
            .and_then(|p| p.get("sources"))
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter().any(|src| {
                    src.get("serviceAccountToken")
                        .and_then(|t| t.get("path"))
                        .and_then(Value::as_str)
                        == Some(TOKEN_PATH)
                })
            })
}

/// Mutates `pod` (the AdmissionRequest's raw object) for a pod in `namespace` whose service
/// account has `sa_annotations`.
pub fn mutate(
    pod: &Value,
    sa_name: &str,
    namespace: &str,
    sa_annotations: &BTreeMap<String, String>,
    cfg: &MutationConfig,
) -> Result<Mutation, Denial> {
    if pod.get("spec").and_then(Value::as_object).is_none() {
        return Err(deny(
            "the admission request's object is not a Pod: it has no spec",
        ));
    }
    // The proxy containers go in first, so they get the variables and the mount as well; the
    // later operations are relative to the pod with them.
    let mut patch = proxy_patch(pod, cfg)?;
    // Only a pod that gets the proxy needs a patched copy to work on (cloning costs more than
    // the whole mutation otherwise).
    let staged;
    let pod = if patch.is_empty() {
        pod
    } else {
        let mut copy = pod.clone();
        apply_patch(&mut copy, &patch).map_err(|e| Denial {
            code: 500,
            message: format!("injecting the proxy failed: {e}"),
        })?;
        staged = copy;
        &staged
    };
    let Some(spec) = pod.get("spec").and_then(Value::as_object) else {
        return Err(deny(
            "the admission request's object is not a Pod: it has no spec",
        ));
    };
    let pod_name = match text(pod, &["metadata", "name"]).filter(|n| !n.is_empty()) {
        Some(n) => n.to_owned(),
        None => format!(
            "{} (prefix)",
            text(pod, &["metadata", "generateName"]).unwrap_or_default()
        ),
    };
    let expiration = expiration(pod, sa_annotations)?;
    let client_id = sa_annotations.get(CLIENT_ID).cloned().unwrap_or_default();
    let tenant_id = sa_annotations
        .get(TENANT_ID)
        .cloned()
        .unwrap_or_else(|| cfg.tenant_id.clone());
    let skip: Vec<String> = text(pod, &["metadata", "annotations", SKIP_CONTAINERS])
        .map(|s| s.split(';').map(|c| c.trim().to_owned()).collect())
        .unwrap_or_default();
    let volumes = spec.get("volumes").and_then(Value::as_array);
    let volume = volumes
        .and_then(|vs| vs.iter().find(|v| is_injected_volume(v)))
        .and_then(|v| v.get("name").and_then(Value::as_str))
        .map_or_else(|| volume_name(&pod_name), str::to_owned);

    let custom = cfg.custom_endpoint.as_ref().filter(|c| c.selected_by(pod));
    let mut warnings = Vec::new();
    if let Some(raw) = text(pod, &["metadata", "annotations", PROXY_PORT])
        && text(pod, &["metadata", "annotations", INJECT_PROXY]).is_some()
        && raw.parse::<i32>().is_ok_and(|p| !(1..=65535).contains(&p))
    {
        warnings.push(format!(
            "{PROXY_PORT}={raw} is not a TCP port (1-65535); the proxy sidecar cannot listen on it"
        ));
    }
    if client_id.is_empty() {
        warnings.push(format!(
            "service account {namespace}/{sa_name} has no {CLIENT_ID} annotation, so no AZURE_CLIENT_ID is injected; \
             annotate it with the managed identity's client id"
        ));
    }
    let desired: Vec<(&str, String)> = [
        ("AZURE_CLIENT_ID", client_id.clone()),
        ("AZURE_TENANT_ID", tenant_id),
        (
            "AZURE_FEDERATED_TOKEN_FILE",
            format!("{MOUNT_PATH}/{TOKEN_PATH}"),
        ),
        ("AZURE_AUTHORITY_HOST", cfg.authority_host.clone()),
    ]
    .into_iter()
    .chain(custom.into_iter().flat_map(|c| {
        // Upstream also sets AZURE_KUBERNETES_CA_FILE in CA-data mode, which every azidentity
        // SDK rejects ("only one of ... can be specified"): here the file goes with a
        // projected CA only.
        let ca_file = if c.ca_data.is_empty() {
            format!("{MOUNT_PATH}/{CA_PATH}")
        } else {
            String::new()
        };
        [
            ("AZURE_KUBERNETES_TOKEN_PROXY", c.token_proxy.clone()),
            ("AZURE_KUBERNETES_SNI_NAME", c.sni_name.clone()),
            ("AZURE_KUBERNETES_CA_FILE", ca_file),
            ("AZURE_KUBERNETES_CA_DATA", c.ca_data.clone()),
        ]
    }))
    .filter(|(_, v)| !v.is_empty())
    .collect();
    let mount = json!({"name": volume, "mountPath": MOUNT_PATH, "readOnly": true});

    for list in ["initContainers", "containers"] {
        let Some(containers) = spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in containers.iter().enumerate() {
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            if skip.iter().any(|s| s == name) {
                continue;
            }
            let base = format!("/spec/{list}/{i}");
            container_env(
                c,
                &base,
                name,
                &desired,
                &client_id,
                &mut patch,
                &mut warnings,
            );
            container_mount(c, &base, &mount, &mut patch);
        }
    }
    let audience = custom.map_or(cfg.audience.as_str(), |c| c.audience.as_str());
    let mut sources = vec![json!({"serviceAccountToken": {
        "path": TOKEN_PATH, "expirationSeconds": expiration, "audience": audience}})];
    if let Some(c) = custom {
        if !c.ca_configmap.is_empty() {
            sources.push(json!({"configMap": {"name": c.ca_configmap,
                "items": [{"key": "ca.crt", "path": CA_PATH}], "optional": false}}));
        } else if !c.ctb_signer.is_empty() {
            let mut ctb = json!({"signerName": c.ctb_signer, "path": CA_PATH, "optional": false});
            if let (Some(sel), Some(o)) = (&c.ctb_label_selector, ctb.as_object_mut()) {
                o.insert("labelSelector".into(), sel.clone());
            }
            sources.push(json!({"clusterTrustBundle": ctb}));
        }
    }
    let wanted = json!({"name": volume, "projected": {"sources": sources}});
    match volumes {
        None => patch.push(op(
            "add",
            "/spec/volumes".into(),
            Value::Array(vec![wanted]),
        )),
        Some(vs) => match vs
            .iter()
            .position(|v| v.get("name").and_then(Value::as_str) == Some(&volume))
        {
            Some(i) if vs.get(i) != Some(&wanted) => {
                patch.push(op("replace", format!("/spec/volumes/{i}"), wanted))
            }
            Some(_) => {}
            None => patch.push(op("add", "/spec/volumes/-".into(), wanted)),
        },
    }
    Ok(Mutation { patch, warnings })
}

/// The proxy-init and proxy sidecar containers (`azwi-spec.md` §2.9), when the pod asks for them.
fn proxy_patch(pod: &Value, cfg: &MutationConfig) -> Result<Vec<Value>, Denial> {
    let annotations = pod.get("metadata").and_then(|m| m.get("annotations"));
    if annotations.and_then(|a| a.get(INJECT_PROXY)).is_none() {
        return Ok(Vec::new());
    }
    let spec = pod.get("spec");
    if spec
        .and_then(|s| s.get("hostNetwork"))
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Err(deny(
            "hostNetwork is set to true, cannot inject proxy sidecar",
        ));
    }
    let port: i32 = match annotations.and_then(|a| a.get(PROXY_PORT)).and_then(Value::as_str) {
        None => 8000,
        Some(raw) => raw.parse().map_err(|_| {
            deny(format!(
                "failed to parse proxy sidecar port: strconv.ParseInt: parsing \"{raw}\": invalid syntax"
            ))
        })?,
    };
    let named = |list: &str, name: &str| {
        spec.and_then(|s| s.get(list))
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.get("name").and_then(Value::as_str) == Some(name))
            })
    };
    let has_list = |list: &str| {
        spec.and_then(|s| s.get(list))
            .and_then(Value::as_array)
            .is_some()
    };
    let mut ops = Vec::new();
    if !named("initContainers", PROXY_INIT_NAME) {
        let init = json!({
            "name": PROXY_INIT_NAME, "image": cfg.proxy_init_image, "imagePullPolicy": "IfNotPresent",
            "securityContext": {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                                "privileged": true, "runAsNonRoot": false, "runAsUser": 0},
            "env": [{"name": "PROXY_PORT", "value": port.to_string()}],
        });
        ops.push(if has_list("initContainers") {
            op("add", "/spec/initContainers/-".into(), init)
        } else {
            op(
                "add",
                "/spec/initContainers".into(),
                Value::Array(vec![init]),
            )
        });
    }
    let target = if cfg.native_sidecars {
        "initContainers"
    } else {
        "containers"
    };
    if !named(target, PROXY_NAME) {
        let mut proxy = json!({
            "name": PROXY_NAME, "image": cfg.proxy_image, "imagePullPolicy": "IfNotPresent",
            "args": [format!("--proxy-port={port}"), format!("--log-level={}", cfg.log_level)],
            "ports": [{"containerPort": port}],
            "lifecycle": {"postStart": {"exec": {"command": [
                "/proxy", format!("--proxy-port={port}"), "--probe", format!("--log-level={}", cfg.log_level)]}}},
            "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                                "privileged": false, "readOnlyRootFilesystem": true, "runAsNonRoot": true},
        });
        if cfg.native_sidecars
            && let Some(obj) = proxy.as_object_mut()
        {
            obj.insert("restartPolicy".into(), json!("Always"));
        }
        // Prepended; a list the init-container op above just created exists by now.
        let exists = has_list(target) || (cfg.native_sidecars && !ops.is_empty());
        ops.push(if exists {
            op("add", format!("/spec/{target}/0"), proxy)
        } else {
            op("add", format!("/spec/{target}"), Value::Array(vec![proxy]))
        });
    }
    Ok(ops)
}

/// One RFC 6902 operation, built without `json!`'s serialize-to-`Value` copy of `value`.
fn op(kind: &str, path: String, value: Value) -> Value {
    let mut m = serde_json::Map::with_capacity(3);
    m.insert("op".into(), Value::String(kind.to_owned()));
    m.insert("path".into(), Value::String(path));
    m.insert("value".into(), value);
    Value::Object(m)
}

fn container_env(
    c: &Value,
    base: &str,
    name: &str,
    desired: &[(&str, String)],
    client_id: &str,
    patch: &mut Vec<Value>,
    warnings: &mut Vec<String>,
) {
    let env = c.get("env").and_then(Value::as_array);
    let has = |n: &str| {
        env.is_some_and(|e| {
            e.iter()
                .any(|x| x.get("name").and_then(Value::as_str) == Some(n))
        })
    };
    if let Some(existing) = env
        .and_then(|e| {
            e.iter()
                .find(|x| x.get("name").and_then(Value::as_str) == Some("AZURE_CLIENT_ID"))
        })
        .and_then(|x| x.get("value").and_then(Value::as_str))
        && !client_id.is_empty()
        && existing != client_id
    {
        warnings.push(format!(
            "container {name} sets AZURE_CLIENT_ID={existing}, not the service account's {client_id}; the container's value is kept"
        ));
    }
    let missing: Vec<Value> = desired
        .iter()
        .filter(|(n, _)| !has(n))
        .map(|(n, v)| {
            let mut e = serde_json::Map::with_capacity(2);
            e.insert("name".into(), Value::String((*n).to_owned()));
            e.insert("value".into(), Value::String(v.clone()));
            Value::Object(e)
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    if env.is_none() {
        patch.push(op("add", format!("{base}/env"), Value::Array(missing)));
    } else {
        for m in missing {
            patch.push(op("add", format!("{base}/env/-"), m));
        }
    }
}

fn container_mount(c: &Value, base: &str, mount: &Value, patch: &mut Vec<Value>) {
    let name = mount.get("name");
    match c.get("volumeMounts").and_then(Value::as_array) {
        None => patch.push(op(
            "add",
            format!("{base}/volumeMounts"),
            Value::Array(vec![mount.clone()]),
        )),
        Some(ms) => match ms.iter().position(|m| m.get("name") == name) {
            Some(i) if ms.get(i) != Some(mount) => patch.push(op(
                "replace",
                format!("{base}/volumeMounts/{i}"),
                mount.clone(),
            )),
            Some(_) => {}
            None => patch.push(op("add", format!("{base}/volumeMounts/-"), mount.clone())),
        },
    }
}

/// Applies the `add` / `replace` operations [`mutate`] produces (for tests and `wif inject`).
pub fn apply_patch(doc: &mut Value, patch: &[Value]) -> Result<(), String> {
    for op in patch {
        let kind = op.get("op").and_then(Value::as_str).unwrap_or_default();
        let path = op.get("path").and_then(Value::as_str).unwrap_or_default();
        let value = op.get("value").cloned().unwrap_or(Value::Null);
        let (parent, last) = path
            .rsplit_once('/')
            .ok_or_else(|| format!("bad path {path}"))?;
        let target = doc
            .pointer_mut(parent)
            .ok_or_else(|| format!("no parent for {path}"))?;
        match (kind, target) {
            ("add", Value::Array(a)) if last == "-" => a.push(value),
            ("add", Value::Array(a)) => {
                let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                if i > a.len() {
                    return Err(format!("index out of range in {path}"));
                }
                a.insert(i, value);
            }
            ("replace", Value::Array(a)) => {
                let i: usize = last.parse().map_err(|_| format!("bad index in {path}"))?;
                let slot = a.get_mut(i).ok_or_else(|| format!("no element {path}"))?;
                *slot = value;
            }
            ("add" | "replace", Value::Object(o)) => {
                o.insert(last.to_owned(), value);
            }
            _ => return Err(format!("cannot {kind} {path}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> MutationConfig {
        MutationConfig {
            tenant_id: "T".into(),
            authority_host: "https://login.microsoftonline.com/".into(),
            audience: "api://AzureADTokenExchange".into(),
            proxy_image: "wif/proxy:1".into(),
            proxy_init_image: "wif/proxy-init:1".into(),
            native_sidecars: false,
            log_level: "info".into(),
            custom_endpoint: None,
        }
    }

    fn sa(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn pod() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "quick-start", "x-unknown": {"kept": true}},
               "spec": {"serviceAccountName": "workload", "someFutureField": 1,
                        "containers": [{"name": "app", "image": "app"}]}})
    }

    fn mutated(p: &Value, s: &BTreeMap<String, String>) -> (Value, Mutation) {
        let m = mutate(p, "workload", "default", s, &cfg()).unwrap();
        let mut out = p.clone();
        apply_patch(&mut out, &m.patch).unwrap();
        (out, m)
    }

    #[test]
    fn upstream_volume_names() {
        assert_eq!(
            volume_name("quick-start"),
            "azure-workload-identity-reserved-a94beddb35177ade9c5d04f292b481"
        );
        assert_eq!(
            volume_name("nginx-7d9f8b6c5d- (prefix)"),
            "azure-workload-identity-reserved-134346cc2bb94ea8c9da2bb7137f2f"
        );
    }

    #[test]
    fn the_quick_start_pod_gets_env_mount_and_volume() {
        let (out, m) = mutated(&pod(), &sa(&[(CLIENT_ID, "C")]));
        assert!(m.warnings.is_empty());
        let env = &out["spec"]["containers"][0]["env"];
        let names: Vec<&str> = env
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "AZURE_CLIENT_ID",
                "AZURE_TENANT_ID",
                "AZURE_FEDERATED_TOKEN_FILE",
                "AZURE_AUTHORITY_HOST"
            ]
        );
        assert_eq!(
            env[2]["value"],
            "/var/run/secrets/azure/wi/token/azure-identity-token"
        );
        assert_eq!(env[1]["value"], "T");
        let vol = "azure-workload-identity-reserved-a94beddb35177ade9c5d04f292b481";
        assert_eq!(
            out["spec"]["containers"][0]["volumeMounts"][0],
            json!({"name": vol, "mountPath": MOUNT_PATH, "readOnly": true})
        );
        assert_eq!(
            out["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"],
            json!({"path": TOKEN_PATH, "expirationSeconds": 3600, "audience": "api://AzureADTokenExchange"})
        );
        assert_eq!(
            out["metadata"]["x-unknown"]["kept"], true,
            "unknown fields survive"
        );
        assert_eq!(out["spec"]["someFutureField"], 1);
        assert!(m.patch.iter().all(|op| op["op"] != "remove"));
    }

    #[test]
    fn reinvocation_changes_nothing_even_after_a_rename() {
        let s = sa(&[(CLIENT_ID, "C")]);
        let (once, _) = mutated(&pod(), &s);
        let again = mutate(&once, "workload", "default", &s, &cfg()).unwrap();
        assert_eq!(again.patch, Vec::<Value>::new());
        // Another webhook names the pod between invocations: the same volume is reused.
        let mut renamed = once.clone();
        renamed["metadata"]["name"] = json!("quick-start-x1");
        let again = mutate(&renamed, "workload", "default", &s, &cfg()).unwrap();
        assert_eq!(again.patch, Vec::<Value>::new());
    }

    #[test]
    fn existing_env_is_never_overwritten_and_a_difference_is_warned() {
        let mut p = pod();
        p["spec"]["containers"][0]["env"] = json!([{"name": "AZURE_CLIENT_ID", "value": "other"},
                                                    {"name": "AZURE_TENANT_ID", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]);
        let (out, m) = mutated(&p, &sa(&[(CLIENT_ID, "C")]));
        let env = out["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(env.len(), 4);
        assert_eq!(env[0]["value"], "other");
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("AZURE_CLIENT_ID=other")),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn tenant_annotation_client_id_and_skip_containers() {
        let mut p = pod();
        p["metadata"]["annotations"] = json!({SKIP_CONTAINERS: "sidecar; other;"});
        p["spec"]["initContainers"] = json!([{"name": "init"}]);
        p["spec"]["containers"] = json!([{"name": "app"}, {"name": "sidecar"}]);
        let (out, m) = mutated(&p, &sa(&[(TENANT_ID, "")]));
        assert!(
            m.warnings
                .iter()
                .any(|w| w.contains("no azure.workload.identity/client-id"))
        );
        let env = out["spec"]["containers"][0]["env"].as_array().unwrap();
        assert_eq!(
            env[0]["name"], "AZURE_FEDERATED_TOKEN_FILE",
            "no client id and an empty tenant annotation: neither injected"
        );
        assert!(
            out["spec"]["initContainers"][0]["env"].is_array(),
            "init containers too"
        );
        assert!(out["spec"]["containers"][1].get("env").is_none(), "skipped");
    }

    #[test]
    fn token_expiration_precedence_and_bounds() {
        let mut p = pod();
        let (out, _) = mutated(&p, &sa(&[(TOKEN_EXPIRATION, "7200")]));
        assert_eq!(
            out["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            7200
        );
        p["metadata"]["annotations"] = json!({TOKEN_EXPIRATION: "86400"});
        let (out, _) = mutated(&p, &sa(&[(TOKEN_EXPIRATION, "7200")]));
        assert_eq!(
            out["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"],
            86400
        );
        for (bad, msg) in [
            (
                "100",
                "token expiration 100 not valid. Expected value to be between 3600 and 86400",
            ),
            ("x", "strconv.ParseInt: parsing \"x\": invalid syntax"),
        ] {
            p["metadata"]["annotations"] = json!({TOKEN_EXPIRATION: bad});
            let d = mutate(&p, "workload", "default", &sa(&[]), &cfg()).unwrap_err();
            assert_eq!((d.code, d.message.as_str()), (400, msg));
        }
    }

    #[test]
    fn generate_name_pods_and_non_pods() {
        let mut p = pod();
        p["metadata"] = json!({"generateName": "nginx-7d9f8b6c5d-"});
        let (out, _) = mutated(&p, &sa(&[(CLIENT_ID, "C")]));
        assert_eq!(
            out["spec"]["volumes"][0]["name"],
            "azure-workload-identity-reserved-134346cc2bb94ea8c9da2bb7137f2f"
        );
        assert!(mutate(&json!("x"), "s", "n", &sa(&[]), &cfg()).is_err());
        assert!(mutate(&json!({"spec": 3}), "s", "n", &sa(&[]), &cfg()).is_err());
    }

    #[test]
    fn proxy_sidecar_and_init_are_injected_once() {
        let mut p = pod();
        p["metadata"]["annotations"] = json!({INJECT_PROXY: "false", PROXY_PORT: "8080"});
        let s = sa(&[(CLIENT_ID, "C")]);
        let (out, _) = mutated(&p, &s);
        let names = |list: &str| -> Vec<String> {
            out["spec"][list]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            names("containers"),
            ["azwi-proxy", "app"],
            "prepended, even with the value \"false\""
        );
        assert_eq!(names("initContainers"), ["azwi-proxy-init"]);
        assert_eq!(out["spec"]["containers"][0]["args"][0], "--proxy-port=8080");
        assert_eq!(
            out["spec"]["initContainers"][0]["env"][0],
            json!({"name": "PROXY_PORT", "value": "8080"})
        );
        assert!(
            out["spec"]["containers"][0]["env"].is_array(),
            "the proxy gets the variables too"
        );
        let again = mutate(&out, "workload", "default", &s, &cfg()).unwrap();
        assert_eq!(again.patch, Vec::<Value>::new());

        // Native sidecars: the proxy is the first init container, restartPolicy Always.
        let native = MutationConfig {
            native_sidecars: true,
            ..cfg()
        };
        let m = mutate(&p, "workload", "default", &s, &native).unwrap();
        let mut out = p.clone();
        apply_patch(&mut out, &m.patch).unwrap();
        assert_eq!(out["spec"]["initContainers"][0]["name"], "azwi-proxy");
        assert_eq!(out["spec"]["initContainers"][0]["restartPolicy"], "Always");
        assert_eq!(out["spec"]["initContainers"][1]["name"], "azwi-proxy-init");

        p["metadata"]["annotations"] = json!({INJECT_PROXY: "", PROXY_PORT: "x"});
        let d = mutate(&p, "workload", "default", &s, &cfg()).unwrap_err();
        assert_eq!(
            d.message,
            "failed to parse proxy sidecar port: strconv.ParseInt: parsing \"x\": invalid syntax"
        );
        p["metadata"]["annotations"] = json!({INJECT_PROXY: ""});
        p["spec"]["hostNetwork"] = json!(true);
        let d = mutate(&p, "workload", "default", &s, &cfg()).unwrap_err();
        assert_eq!(
            d.message,
            "hostNetwork is set to true, cannot inject proxy sidecar"
        );
    }

    #[test]
    fn authority_hosts_follow_the_cloud_name() {
        assert_eq!(
            authority_for_environment("", None).unwrap(),
            "https://login.microsoftonline.com/"
        );
        assert_eq!(
            authority_for_environment("azureusgovernmentcloud", None).unwrap(),
            "https://login.microsoftonline.us/"
        );
        assert_eq!(
            authority_for_environment("AzureChinaCloud", None).unwrap(),
            "https://login.chinacloudapi.cn/"
        );
        let err = authority_for_environment("Mars", None).unwrap_err();
        assert!(
            err.contains("no cloud environment matching the name \"MARS\""),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("stack.json");
        std::fs::write(
            &f,
            r#"{"activeDirectoryEndpoint": "https://adfs.local.azurestack.external/adfs/"}"#,
        )
        .unwrap();
        assert_eq!(
            authority_for_environment("AzureStackCloud", f.to_str()).unwrap(),
            "https://adfs.local.azurestack.external/adfs/"
        );
        assert!(authority_for_environment("AzureStackCloud", None).is_err());
    }

    fn custom() -> CustomEndpoint {
        CustomEndpoint::new(&CustomEndpointFlags {
            suffix: "identity-binding",
            audience: "api://AKSIdentityBinding",
            token_proxy: "https://kubernetes.default.svc",
            ca_configmap: "kube-root-ca.crt",
            ..Default::default()
        })
        .unwrap()
        .unwrap()
    }

    #[test]
    fn custom_endpoint_settings_are_validated_as_upstream() {
        assert_eq!(
            CustomEndpoint::new(&CustomEndpointFlags {
                ..Default::default()
            })
            .unwrap(),
            None
        );
        let flags = CustomEndpointFlags::default;
        let refused = [
            (
                CustomEndpointFlags {
                    audience: "a",
                    ..flags()
                },
                "suffix cannot be empty",
            ),
            (
                CustomEndpointFlags {
                    suffix: "x",
                    ..flags()
                },
                "audience cannot be empty",
            ),
            (
                CustomEndpointFlags {
                    suffix: "x",
                    audience: "API://AzureADTokenExchange",
                    ..flags()
                },
                "cannot be equal to default audience",
            ),
            (
                CustomEndpointFlags {
                    suffix: "bad suffix!",
                    audience: "a",
                    ..flags()
                },
                "is not valid",
            ),
            (
                CustomEndpointFlags {
                    suffix: "x",
                    audience: "a",
                    ca_data: "pem",
                    ca_configmap: "cm",
                    ..flags()
                },
                "only one of",
            ),
            (
                CustomEndpointFlags {
                    suffix: "x",
                    audience: "a",
                    ctb_label_selector: "{}",
                    ..flags()
                },
                "requires",
            ),
        ];
        for (given, needle) in refused {
            let err = CustomEndpoint::new(&given).unwrap_err();
            assert!(err.contains(needle), "{given:?}: {err}");
        }
        assert_eq!(
            custom().annotation,
            "azure.workload.identity/use-identity-binding"
        );
    }

    #[test]
    fn a_custom_endpoint_pod_gets_its_audience_variables_and_ca() {
        let cfg = MutationConfig {
            custom_endpoint: Some(custom()),
            ..cfg()
        };
        let mut p = pod();
        p["metadata"]["annotations"] =
            json!({"azure.workload.identity/use-identity-binding": "TRUE"});
        let m = mutate(&p, "workload", "default", &sa(&[(CLIENT_ID, "C")]), &cfg).unwrap();
        let mut out = p.clone();
        apply_patch(&mut out, &m.patch).unwrap();
        let env: Vec<&str> = out["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            env,
            [
                "AZURE_CLIENT_ID",
                "AZURE_TENANT_ID",
                "AZURE_FEDERATED_TOKEN_FILE",
                "AZURE_AUTHORITY_HOST",
                "AZURE_KUBERNETES_TOKEN_PROXY",
                "AZURE_KUBERNETES_CA_FILE"
            ]
        );
        let sources = &out["spec"]["volumes"][0]["projected"]["sources"];
        assert_eq!(
            sources[0]["serviceAccountToken"]["audience"],
            "api://AKSIdentityBinding"
        );
        assert_eq!(sources[1]["configMap"]["name"], "kube-root-ca.crt");
        assert_eq!(
            sources[1]["configMap"]["items"][0]["path"],
            "ca-cert/ca.crt"
        );
        // Pods without the annotation are untouched by the custom endpoint.
        let plain = mutate(
            &pod(),
            "workload",
            "default",
            &sa(&[(CLIENT_ID, "C")]),
            &cfg,
        )
        .unwrap();
        let mut out = pod();
        apply_patch(&mut out, &plain.patch).unwrap();
        assert_eq!(
            out["spec"]["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["audience"],
            "api://AzureADTokenExchange"
        );
        assert_eq!(
            out["spec"]["volumes"][0]["projected"]["sources"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
}
