//! `wif inject`: the webhook's mutation, offline, over multi-document YAML or JSON — for GitOps
//! repositories that want the injected manifests in review, or a CI check (`--check`) that they
//! already are. Pods and the pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets,
//! Jobs and CronJobs are mutated when their labels opt in (`azure.workload.identity/use: "true"`,
//! as the webhook's objectSelector requires). Service accounts come from the same input or from
//! `--service-account-file`. Unchanged documents are written back byte for byte (comments
//! included); changed ones are re-serialized.

use std::collections::BTreeMap;
use std::io::Read as _;

use serde_json::Value;
use wif_server::webhook::mutate::{
    MutationConfig, apply_patch, mutate, opted_in, service_account_name,
};

use crate::cli::InjectArgs;
use crate::error::{CliError, CliResult};

/// One input document: its text as read and its value.
struct Doc {
    raw: String,
    value: Option<Value>,
}

/// Splits a YAML stream on `---` document markers (JSON input is one document).
fn split(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            docs.push(std::mem::take(&mut cur));
            continue;
        }
        cur.push_str(line);
    }
    docs.push(cur);
    docs
}

fn parse(text: &str, source: &str) -> CliResult<Vec<Doc>> {
    split(text)
        .into_iter()
        .map(|raw| {
            let blank = raw
                .lines()
                .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
            let value = if blank {
                None
            } else {
                Some(
                    serde_yaml_ng::from_str::<Value>(&raw)
                        .map_err(|e| CliError::msg(format!("{source}: not YAML or JSON: {e}")))?,
                )
            };
            Ok(Doc { raw, value })
        })
        .collect()
}

fn kind(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or_default()
}

fn meta<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get("metadata")?.get(key)?.as_str()
}

/// (namespace, name) → annotations of every ServiceAccount in `files` (for `wif webhook
/// --service-account-file`); documents without a namespace are in `namespace`.
pub fn service_accounts_from_files(
    files: &[std::path::PathBuf],
    namespace: &str,
) -> CliResult<BTreeMap<(String, String), BTreeMap<String, String>>> {
    let mut accounts = BTreeMap::new();
    for f in files {
        let t = std::fs::read_to_string(f)
            .map_err(|e| CliError::msg(format!("cannot read {}: {e}", f.display())))?;
        accounts.extend(service_accounts(
            &parse(&t, &f.display().to_string())?,
            namespace,
        ));
    }
    Ok(accounts)
}

/// (namespace, name) → annotations of every ServiceAccount in `docs`.
fn service_accounts(
    docs: &[Doc],
    namespace: &str,
) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    docs.iter()
        .filter_map(|d| d.value.as_ref())
        .filter(|v| kind(v) == "ServiceAccount")
        .filter_map(|v| {
            let name = meta(v, "name")?.to_owned();
            let ns = meta(v, "namespace").unwrap_or(namespace).to_owned();
            let annotations = v
                .get("metadata")
                .and_then(|m| m.get("annotations"))
                .and_then(Value::as_object)
                .map(|a| {
                    a.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            Some(((ns, name), annotations))
        })
        .collect()
}

/// The JSON pointer of a workload's pod template, `""` for a Pod itself.
fn template_pointer(kind: &str) -> Option<&'static str> {
    match kind {
        "Pod" => Some(""),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => Some("/spec/template"),
        "CronJob" => Some("/spec/jobTemplate/spec/template"),
        _ => None,
    }
}

/// Mutates one document in place; `Ok(true)` when it changed.
fn inject_doc(
    v: &mut Value,
    accounts: &BTreeMap<(String, String), BTreeMap<String, String>>,
    namespace: &str,
    cfg: &MutationConfig,
    warnings: &mut Vec<String>,
) -> CliResult<bool> {
    let k = kind(v).to_owned();
    let Some(pointer) = template_pointer(&k) else {
        return Ok(false);
    };
    let ns = meta(v, "namespace").unwrap_or(namespace).to_owned();
    let workload = meta(v, "name").unwrap_or("(unnamed)").to_owned();
    let Some(template) = v.pointer_mut(pointer) else {
        return Ok(false);
    };
    if !opted_in(template) {
        return Ok(false);
    }
    let sa = service_account_name(template).to_owned();
    let annotations = accounts.get(&(ns.clone(), sa.clone())).ok_or_else(|| {
        CliError::msg(format!(
            "{k} {ns}/{workload}: serviceaccounts \"{sa}\" not found (the webhook would refuse the pod); \
             add the ServiceAccount to the input or pass --service-account-file"
        ))
    })?;
    // A template has no name yet; the webhook finds the injected volume again by its reserved
    // prefix, so the name only has to be stable here.
    let mut pod = template.clone();
    if !pointer.is_empty()
        && let Some(m) = pod.get_mut("metadata").and_then(Value::as_object_mut)
    {
        m.entry("generateName")
            .or_insert_with(|| Value::String(format!("{workload}-")));
    }
    let m = mutate(&pod, &sa, &ns, annotations, cfg)
        .map_err(|d| CliError::msg(format!("{k} {ns}/{workload}: {}", d.message)))?;
    warnings.extend(
        m.warnings
            .iter()
            .map(|w| format!("{k} {ns}/{workload}: {w}")),
    );
    if m.patch.is_empty() {
        return Ok(false);
    }
    apply_patch(template, &m.patch).map_err(CliError::msg)?;
    Ok(true)
}

/// `wif inject`; returns the exit code (1 under `--check` when something would change).
pub fn inject(args: InjectArgs) -> CliResult<u8> {
    let mut text = String::new();
    let mut sources = Vec::new();
    if args.file.is_empty() || args.file.iter().any(|f| f.as_os_str() == "-") {
        std::io::stdin().read_to_string(&mut text)?;
        sources.push(("<stdin>".to_owned(), std::mem::take(&mut text)));
    }
    for f in args.file.iter().filter(|f| f.as_os_str() != "-") {
        let t = std::fs::read_to_string(f)
            .map_err(|e| CliError::msg(format!("cannot read {}: {e}", f.display())))?;
        sources.push((f.display().to_string(), t));
    }
    let mut docs = Vec::new();
    for (name, t) in &sources {
        docs.extend(parse(t, name)?);
    }
    let mut accounts = service_accounts(&docs, &args.namespace);
    accounts.extend(service_accounts_from_files(
        &args.service_account_file,
        &args.namespace,
    )?);
    let cfg =
        crate::webhook::mutation_config(&args.mutation, args.mutation.native_sidecars, "info")?;
    let mut warnings = Vec::new();
    let mut changed = Vec::new();
    let mut out = Vec::new();
    for doc in &mut docs {
        let Some(v) = doc.value.as_mut() else {
            out.push(doc.raw.clone());
            continue;
        };
        if inject_doc(v, &accounts, &args.namespace, &cfg, &mut warnings)? {
            changed.push(format!(
                "{} {}",
                kind(v),
                meta(v, "name").unwrap_or("(unnamed)")
            ));
            out.push(serde_yaml_ng::to_string(v).map_err(|e| CliError::msg(e.to_string()))?);
        } else {
            out.push(doc.raw.clone());
        }
    }
    for w in &warnings {
        eprintln!("Warning: {w}");
    }
    if args.check {
        if changed.is_empty() {
            return Ok(0);
        }
        eprintln!(
            "wif inject --check: these would change: {}",
            changed.join(", ")
        );
        return Ok(1);
    }
    print!("{}", out.join("---\n"));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_split_on_markers_only() {
        assert_eq!(split("a: 1\n---\nb: 2\n"), ["a: 1\n", "b: 2\n"]);
        assert_eq!(split("a: '---'\n"), ["a: '---'\n"]);
        assert_eq!(split("--- \nb: 2\n").len(), 2);
    }

    #[test]
    fn templates_by_kind() {
        assert_eq!(
            template_pointer("CronJob"),
            Some("/spec/jobTemplate/spec/template")
        );
        assert_eq!(template_pointer("Deployment"), Some("/spec/template"));
        assert_eq!(template_pointer("Service"), None);
    }
}
