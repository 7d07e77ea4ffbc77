//! The pod-mutating admission webhook, a drop-in for azure-workload-identity's (issue 6): the
//! mutation on raw JSON ([`mutate`]), the AdmissionReview endpoints with health and metrics
//! ([`admission`]), and where service accounts come from ([`accounts`]: a kube-rs reflector
//! with a fallback GET, or a fixed set). `wif webhook` serves them over TLS with certificate
//! reload ([`crate::tls::ReloadingCert`]).

pub mod accounts;
pub mod admission;
pub mod mutate;
