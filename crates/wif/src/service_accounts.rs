//! Kubernetes service accounts of wif's clusters, from the command line: what `kubectl create
//! serviceaccount` and `kubectl annotate serviceaccount` do on a real cluster, so a workload set
//! up through the management API (or the az CLI) can be run with `wif run` without a topology
//! change.

use serde_json::json;
use wif_core::directory::ServiceAccount;
use wif_core::ids::{Namespace, ServiceAccountName};
use wif_core::random::new_uuid;
use wif_server::rand::OsRandom;
use wif_store::model::Write;

use crate::cli::{ServiceAccountAnnotateArgs, ServiceAccountCommand};
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};
use crate::output::render;
use crate::up::open_store;

/// `wif service-account …`
pub async fn service_account(data: &DataDir, cmd: ServiceAccountCommand) -> CliResult {
    match cmd {
        ServiceAccountCommand::Annotate(args) => annotate(data, args).await,
    }
}

/// `KEY=VALUE` sets, `KEY-` removes (kubectl's syntax).
fn parse_change(text: &str) -> CliResult<(String, Option<String>)> {
    if let Some((k, v)) = text.split_once('=') {
        if k.is_empty() {
            return Err(CliError::msg(format!("annotation '{text}' has no key")));
        }
        return Ok((k.to_owned(), Some(v.to_owned())));
    }
    match text.strip_suffix('-') {
        Some(k) if !k.is_empty() => Ok((k.to_owned(), None)),
        _ => Err(CliError::msg(format!(
            "annotation '{text}' must be KEY=VALUE (set) or KEY- (remove)"
        ))),
    }
}

async fn annotate(data: &DataDir, args: ServiceAccountAnnotateArgs) -> CliResult {
    let Some((ns, name)) = args.service_account.split_once('/') else {
        return Err(CliError::msg(format!(
            "'{}' must be NAMESPACE/NAME, e.g. default/workload",
            args.service_account
        )));
    };
    let namespace = Namespace::parse(ns)?;
    let name = ServiceAccountName::parse(name)?;
    let changes = args
        .annotations
        .iter()
        .map(|a| parse_change(a))
        .collect::<CliResult<Vec<_>>>()?;
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let cluster = dir
        .clusters
        .iter()
        .find(|c| c.name.as_str().eq_ignore_ascii_case(&args.cluster))
        .ok_or_else(|| CliError::msg(format!("no cluster named '{}'", args.cluster)))?;
    let existing = dir
        .service_accounts
        .iter()
        .find(|s| s.cluster == cluster.guid && s.namespace == namespace && s.name == name)
        .cloned();
    let mut sa = match existing {
        Some(sa) => sa,
        None => ServiceAccount {
            cluster: cluster.guid,
            namespace,
            name,
            uid: new_uuid(&OsRandom),
            annotations: Default::default(),
            created_at: wif_core::Clock::now(&wif_core::SystemClock),
        },
    };
    for (k, v) in changes {
        match v {
            Some(v) => {
                sa.annotations.insert(k, v);
            }
            None => {
                sa.annotations.remove(&k);
            }
        }
    }
    store.apply(&[Write::PutServiceAccount(sa.clone())]).await?;
    let out = json!({
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {
            "name": sa.name.as_str(),
            "namespace": sa.namespace.as_str(),
            "uid": sa.uid.to_string(),
            "annotations": sa.annotations,
        },
    });
    print!("{}", render(&out, &args.output)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_annotation_syntax() {
        assert_eq!(
            parse_change("a/b=c=d").unwrap(),
            ("a/b".to_owned(), Some("c=d".to_owned()))
        );
        assert_eq!(parse_change("a/b-").unwrap(), ("a/b".to_owned(), None));
        assert_eq!(
            parse_change("k=").unwrap(),
            ("k".to_owned(), Some(String::new()))
        );
        for bad in ["=v", "-", "plain"] {
            assert!(parse_change(bad).is_err(), "{bad}");
        }
    }
}
