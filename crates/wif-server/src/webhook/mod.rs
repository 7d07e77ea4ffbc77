//! The pod-mutating admission webhook, a drop-in for azure-workload-identity's (issue 6): the
//! mutation on raw JSON ([`mutate`]) and the AdmissionReview endpoint with health and metrics
//! ([`admission`]). The TLS server with certificate reload, the watch-backed service-account
//! cache and the warnings for unlabelled pods come next.

pub mod admission;
pub mod mutate;
