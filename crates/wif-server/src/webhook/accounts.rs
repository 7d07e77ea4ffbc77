//! Where the webhook finds service accounts: on a cluster, a kube-rs reflector (one watch over
//! every ServiceAccount, as upstream's controller-runtime informer) with a bounded live GET when
//! the cache misses (the account may have been created a moment before the pod, upstream
//! PR #140); offline, a fixed set read from manifests.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt as _;
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client};

use super::admission::ServiceAccounts;

/// How long the fallback GET on a cache miss may take before the admission is refused.
pub const FALLBACK_TIMEOUT: Duration = Duration::from_secs(3);

/// Service accounts from a watch-backed cache, with a live GET on a miss.
#[derive(Clone)]
pub struct KubeServiceAccounts {
    client: Client,
    cache: Store<ServiceAccount>,
    fallback_timeout: Duration,
}

impl std::fmt::Debug for KubeServiceAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeServiceAccounts")
            .field("cached", &self.cache.state().len())
            .finish_non_exhaustive()
    }
}

impl KubeServiceAccounts {
    /// Starts the watch over every namespace's ServiceAccounts (the watch reconnects with
    /// backoff on its own) and returns the cache with the task driving it.
    pub fn start(client: Client) -> (Self, tokio::task::JoinHandle<()>) {
        let api: Api<ServiceAccount> = Api::all(client.clone());
        let (cache, writer) = reflector::store();
        let stream = watcher(api, watcher::Config::default())
            .default_backoff()
            .reflect(writer)
            .touched_objects();
        let task = tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                if let Err(err) = event {
                    tracing::warn!(error = %err, "service-account watch failed; retrying");
                }
            }
        });
        (
            Self {
                client,
                cache,
                fallback_timeout: FALLBACK_TIMEOUT,
            },
            task,
        )
    }

    /// Sets how long the fallback GET may take.
    #[must_use]
    pub fn with_fallback_timeout(mut self, timeout: Duration) -> Self {
        self.fallback_timeout = timeout;
        self
    }

    /// Resolves once the initial list has filled the cache.
    pub async fn ready(&self) -> bool {
        self.cache.wait_until_ready().await.is_ok()
    }

    /// How many accounts the cache holds.
    pub fn cached(&self) -> usize {
        self.cache.state().len()
    }
}

fn annotations_of(sa: &ServiceAccount) -> BTreeMap<String, String> {
    sa.metadata.annotations.clone().unwrap_or_default()
}

#[async_trait::async_trait]
impl ServiceAccounts for KubeServiceAccounts {
    async fn annotations(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        if let Some(sa) = self.cache.get(&ObjectRef::new(name).within(namespace)) {
            return Ok(Some(annotations_of(&sa)));
        }
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), namespace);
        match tokio::time::timeout(self.fallback_timeout, api.get_opt(name)).await {
            Ok(Ok(found)) => Ok(found.as_ref().map(annotations_of)),
            Ok(Err(err)) => Err(format!(
                "failed to get service account \"{namespace}/{name}\": {err}"
            )),
            Err(_) => Err(format!(
                "failed to get service account \"{namespace}/{name}\": the API server did not answer within {} s",
                self.fallback_timeout.as_secs()
            )),
        }
    }
}

/// A fixed set of service accounts (from manifests), for `wif webhook` without a cluster.
#[derive(Clone, Debug, Default)]
pub struct StaticServiceAccounts(pub BTreeMap<(String, String), BTreeMap<String, String>>);

#[async_trait::async_trait]
impl ServiceAccounts for StaticServiceAccounts {
    async fn annotations(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<BTreeMap<String, String>>, String> {
        Ok(self
            .0
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned())
    }
}

/// Whether the API server runs Kubernetes 1.32 or later, where upstream injects the proxy as a
/// native sidecar (`azwi-spec.md` §2.9). `major`/`minor` as `/version` reports them (`"28+"`).
pub fn supports_native_sidecars(major: &str, minor: &str) -> bool {
    let num = |s: &str| -> Option<u32> {
        s.trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()
    };
    match (num(major), num(minor)) {
        (Some(ma), Some(mi)) => (ma, mi) >= (1, 32),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_sidecars_from_version() {
        assert!(supports_native_sidecars("1", "32"));
        assert!(supports_native_sidecars("1", "33+"));
        assert!(!supports_native_sidecars("1", "31"));
        assert!(!supports_native_sidecars("1", "28+"));
        assert!(!supports_native_sidecars("", "x"));
        assert!(supports_native_sidecars("2", "0"));
    }
}
