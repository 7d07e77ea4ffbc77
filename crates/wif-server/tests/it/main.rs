//! wif-server's one integration binary: the HTTP surface (token service, tenant discovery,
//! cluster issuers) through the composed router with `tower::ServiceExt::oneshot`, against the
//! testkit fixture with a test clock, a fake JWKS fetcher and a drainable sign-in log.
//!
//! Modules are `#[cfg(test)]` so clippy's allow-in-tests settings cover their helpers too.

#[cfg(test)]
mod arm;
#[cfg(test)]
mod discovery;
#[cfg(test)]
mod errors;
#[cfg(test)]
mod external;
#[cfg(test)]
mod golden;
#[cfg(test)]
mod graph;
#[cfg(test)]
mod harness;
#[cfg(test)]
mod issuer;
#[cfg(test)]
mod keyvault;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod proxy;
#[cfg(test)]
mod rotation;
#[cfg(test)]
mod service_accounts;
#[cfg(test)]
mod signins;
#[cfg(test)]
mod token;
#[cfg(test)]
mod webhook;
#[cfg(test)]
mod webhook_props;
