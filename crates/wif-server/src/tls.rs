//! The HTTPS listener: rustls (aws-lc-rs provider) with ALPN `h2` and `http/1.1`, serving an
//! axum router through hyper-util's auto (HTTP/1.1 + HTTP/2) connection builder, with a
//! graceful shutdown that stops accepting and lets in-flight requests finish.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::pki::ServerIdentity;

/// A TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate chain PEM holds no certificate.
    #[error("the certificate file contains no PEM certificate")]
    NoCertificate,
    /// The key PEM holds no usable private key.
    #[error("the key file contains no PEM private key")]
    NoKey,
    /// rustls rejected the pair.
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The rustls server configuration for a certificate chain and key: TLS 1.2 and 1.3 on the
/// aws-lc-rs provider, ALPN h2 then http/1.1.
pub fn server_config(identity: &ServerIdentity) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(identity.chain_pem.as_bytes())
            .filter_map(Result::ok)
            .collect();
    if chain.is_empty() {
        return Err(TlsError::NoCertificate);
    }
    let key =
        PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).map_err(|_| TlsError::NoKey)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` over TLS until `shutdown` resolves, then drains connections:
/// in-flight requests get [`DRAIN_TIMEOUT`] to finish, after which the remaining connections
/// (for example an idle HTTP/2 client that keeps its connection open) are aborted, so the
/// state they hold is released and shutdown always completes.
pub async fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    let acceptor = TlsAcceptor::from(config);
    let graceful = GracefulShutdown::new();
    let builder = Builder::new(TokioExecutor::new());
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Reap finished connection tasks so the set stays as small as the open connections.
        while connections.try_join_next().is_some() {}
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    // Typically EMFILE; back off briefly instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let app = app.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        connections.spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) => {
                    tracing::debug!(%peer, error = %err, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let service = TowerToHyperService::new(app);
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(err) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%peer, error = %err, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the drain timeout; closing them");
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// A server certificate read from PEM files and read again when they change (cert-manager and
/// upstream's cert-controller both rotate the mounted Secret in place). A failed re-read keeps
/// the certificate in use and is logged; the next change is tried again.
#[derive(Debug)]
pub struct ReloadingCert {
    cert_path: std::path::PathBuf,
    key_path: std::path::PathBuf,
    current: arc_swap::ArcSwap<rustls::sign::CertifiedKey>,
    loaded_from: std::sync::Mutex<Vec<u8>>,
    reloads: std::sync::atomic::AtomicU64,
}

/// A certificate file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertFileError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The PEM contents are unusable.
    #[error("{path}: {source}")]
    Tls {
        /// The file.
        path: String,
        /// Why.
        source: TlsError,
    },
}

impl ReloadingCert {
    /// Reads the certificate chain and key once; fails when either is missing or unusable.
    pub fn load(
        cert_path: impl Into<std::path::PathBuf>,
        key_path: impl Into<std::path::PathBuf>,
    ) -> Result<Arc<Self>, CertFileError> {
        let cert_path = cert_path.into();
        let key_path = key_path.into();
        let (key, raw) = read_certified_key(&cert_path, &key_path)?;
        Ok(Arc::new(Self {
            cert_path,
            key_path,
            current: arc_swap::ArcSwap::from_pointee(key),
            loaded_from: std::sync::Mutex::new(raw),
            reloads: std::sync::atomic::AtomicU64::new(0),
        }))
    }

    /// Reads the files again; swaps the certificate in when their contents changed. Returns
    /// whether a new certificate is now served.
    pub fn reload(&self) -> Result<bool, CertFileError> {
        let (key, raw) = read_certified_key(&self.cert_path, &self.key_path)?;
        let Ok(mut seen) = self.loaded_from.lock() else {
            return Ok(false);
        };
        if *seen == raw {
            return Ok(false);
        }
        self.current.store(Arc::new(key));
        *seen = raw;
        self.reloads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(true)
    }

    /// How many times a changed certificate was swapped in.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Checks the files every `interval` until the task is dropped.
    pub fn watch(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match me.reload() {
                    Ok(true) => {
                        tracing::info!(cert = %me.cert_path.display(), "serving certificate reloaded")
                    }
                    Ok(false) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "certificate reload failed; still serving the previous one")
                    }
                }
            }
        })
    }

    /// A rustls server configuration that serves this certificate: TLS 1.3, and 1.2 too when
    /// `allow_tls12`, ALPN h2 then http/1.1.
    pub fn server_config(
        self: &Arc<Self>,
        allow_tls12: bool,
    ) -> Result<Arc<ServerConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let versions: &[&'static rustls::SupportedProtocolVersion] = if allow_tls12 {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13]
        };
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn rustls::server::ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl rustls::server::ResolvesServerCert for ReloadingCert {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn read_certified_key(
    cert_path: &std::path::Path,
    key_path: &std::path::Path,
) -> Result<(rustls::sign::CertifiedKey, Vec<u8>), CertFileError> {
    let read = |p: &std::path::Path| {
        std::fs::read(p).map_err(|source| CertFileError::Read {
            path: p.display().to_string(),
            source,
        })
    };
    let cert_pem = read(cert_path)?;
    let key_pem = read(key_path)?;
    let tls_err = |p: &std::path::Path, source: TlsError| CertFileError::Tls {
        path: p.display().to_string(),
        source,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .filter_map(Result::ok)
        .collect();
    if chain.is_empty() {
        return Err(tls_err(cert_path, TlsError::NoCertificate));
    }
    let key =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| tls_err(key_path, TlsError::NoKey))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let certified = rustls::sign::CertifiedKey::from_der(chain, key, &provider)
        .map_err(|e| tls_err(key_path, TlsError::Rustls(e)))?;
    let mut raw = cert_pem;
    raw.extend_from_slice(&key_pem);
    Ok((certified, raw))
}
