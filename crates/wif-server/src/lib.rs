//! wif-server: the HTTP services of wif as axum routers, and what serves them.
//!
//! - [`issuer`]: cluster OIDC issuers (KEP-1393 discovery) and service-account token minting;
//! - [`sts`]: the Entra-compatible token service;
//! - [`keyvault`]: the Key Vault secrets data plane, one origin per vault;
//! - [`pki`] and [`tls`]: the local CA and the HTTPS listener;
//! - [`oidc_fetch`]: OIDC discovery of issuers wif does not host;
//! - [`signin`]: the sign-in log writer;
//! - [`app`]: composition and layers.

pub mod app;
pub mod arm;
pub mod bearer;
pub mod graph;
pub mod issuer;
pub mod keyvault;
pub mod oidc_fetch;
pub mod pki;
pub mod proxy;
pub mod rand;
pub mod signin;
pub mod state;
pub mod sts;
pub mod tls;
pub mod webhook;
