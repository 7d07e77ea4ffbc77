//! The pod-mutating admission webhook, a drop-in for azure-workload-identity's (issue 6). So far:
//! the mutation itself ([`mutate`]); the AdmissionReview server, the service-account cache, the
//! proxy-sidecar injection and the warnings for unlabelled pods come next.

pub mod mutate;
