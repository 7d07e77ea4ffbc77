//! The Entra-compatible token service: `/{tenant}/oauth2/v2.0/token` (and v1), tenant OIDC
//! discovery, token-signing keys and MSAL instance discovery, answering what the unmodified
//! Azure SDKs send (`../shared/spec/sdk-wire.md`) with Entra's bodies and AADSTS errors.

pub mod error;
pub mod exchange;
pub mod model;
pub mod routes;

pub use routes::router;
