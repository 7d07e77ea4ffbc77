//! Fetching the keys of issuers wif does not host, the way Entra does: OIDC discovery
//! (`<issuer>/.well-known/openid-configuration`, OpenID Connect Discovery 1.0 §4) over HTTPS,
//! then the document's `jwks_uri`. Both must be https; the document's `issuer` must equal the
//! issuer asked for (§4.3); bodies are size-limited and requests time out, so a slow or hostile
//! issuer cannot hold a token request for long. Only issuers that a federated credential
//! already names are ever fetched (the token service checks that first).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use wif_jose::{FetchError, FetchedJwks, Jwks, JwksFetcher};

/// Largest discovery document accepted.
const MAX_DISCOVERY_BYTES: usize = 64 * 1024;
/// Largest JWKS accepted.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Discovery over HTTPS with reqwest (rustls on aws-lc-rs).
#[derive(Debug, Clone)]
pub struct HttpsJwksFetcher {
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

/// A rustls client configuration trusting the system roots (`SSL_CERT_FILE` and
/// `SSL_CERT_DIR` included) plus `extra_roots_pem`.
pub fn client_tls(extra_roots_pem: &[String]) -> Result<rustls::ClientConfig, FetchError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        let _ = roots.add(cert);
    }
    for pem in extra_roots_pem {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
            roots
                .add(cert)
                .map_err(|e| FetchError(format!("bad trusted CA: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

impl HttpsJwksFetcher {
    /// A fetcher trusting the system roots plus `extra_roots_pem` (wif's own CA, so issuers
    /// served by another wif node verify).
    pub fn new(extra_roots_pem: &[String]) -> Result<Self, FetchError> {
        let tls = client_tls(extra_roots_pem)?;
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .https_only(true)
            .redirect(reqwest::redirect::Policy::limited(3))
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .user_agent(concat!("wif/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError(e.to_string()))?;
        Ok(Self { client })
    }

    async fn get_limited(
        &self,
        url: &str,
        limit: usize,
    ) -> Result<(Vec<u8>, Option<Duration>), FetchError> {
        let mut resp = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| FetchError(format!("GET {url}: {}", describe(&e))))?;
        if !resp.status().is_success() {
            return Err(FetchError(format!(
                "GET {url}: HTTP {}",
                resp.status().as_u16()
            )));
        }
        let max_age = resp
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_max_age);
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError(format!("GET {url}: {}", describe(&e))))?
        {
            if body.len() + chunk.len() > limit {
                return Err(FetchError(format!(
                    "GET {url}: response larger than {limit} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((body, max_age))
    }
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        text.push_str(": ");
        text.push_str(&s.to_string());
        src = s.source();
    }
    text
}

/// `max-age=N` from a Cache-Control value (`no-store`/`no-cache` mean zero).
fn parse_max_age(value: &str) -> Option<Duration> {
    let mut out = None;
    for part in value.split(',') {
        let part = part.trim().to_ascii_lowercase();
        if part == "no-store" || part == "no-cache" {
            return Some(Duration::ZERO);
        }
        if let Some(n) = part.strip_prefix("max-age=") {
            out = n
                .trim_matches('"')
                .parse::<u64>()
                .ok()
                .map(Duration::from_secs);
        }
    }
    out
}

#[async_trait]
impl JwksFetcher for HttpsJwksFetcher {
    async fn fetch(&self, issuer: &str) -> Result<FetchedJwks, FetchError> {
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let (body, _) = self
            .get_limited(&discovery_url, MAX_DISCOVERY_BYTES)
            .await?;
        let doc: Discovery = serde_json::from_slice(&body)
            .map_err(|e| FetchError(format!("{discovery_url} is not a discovery document: {e}")))?;
        if doc.issuer != issuer {
            return Err(FetchError(format!(
                "{discovery_url} names issuer '{}', not '{issuer}'",
                doc.issuer
            )));
        }
        if !doc.jwks_uri.starts_with("https://") {
            return Err(FetchError(format!(
                "jwks_uri '{}' is not https",
                doc.jwks_uri
            )));
        }
        let (body, max_age) = self.get_limited(&doc.jwks_uri, MAX_JWKS_BYTES).await?;
        let jwks: Jwks = serde_json::from_slice(&body)
            .map_err(|e| FetchError(format!("{} is not a JWKS: {e}", doc.jwks_uri)))?;
        Ok(FetchedJwks { jwks, max_age })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_parsing() {
        assert_eq!(
            parse_max_age("public, max-age=3600"),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(parse_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(parse_max_age("private"), None);
    }
}
