//! Federated identity credential matching: which of an identity's credentials, if any, trusts
//! a verified assertion. Entra compares issuer, subject and audience as exact, case-sensitive
//! strings (case-insensitive subject matching ended with the 2024/2025 breaking change, which
//! has its own code, AADSTS7002138). See `docs/errors.md` for the codes each failure maps to.

use crate::directory::FederatedIdentityCredential;

/// Why no credential matched, in the order wif checks: issuer, then subject, then audience.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchFailure {
    /// No credential trusts the assertion's issuer (AADSTS700211).
    Issuer,
    /// A credential trusts the issuer and the subject differs only in letter case
    /// (AADSTS7002138).
    SubjectCase,
    /// No credential with this issuer trusts the subject (AADSTS700213).
    Subject,
    /// Issuer and subject match, the audience does not (AADSTS700212).
    Audience,
}

/// Whether any credential trusts `issuer`. The token service checks this before it fetches
/// the issuer's keys, so an assertion can never make wif contact an issuer no credential
/// names (server-side request forgery).
pub fn trusts_issuer(credentials: &[&FederatedIdentityCredential], issuer: &str) -> bool {
    credentials.iter().any(|c| c.issuer.as_str() == issuer)
}

/// Finds the credential that trusts (`issuer`, `subject`, one of `audiences`).
pub fn match_credential<'a>(
    credentials: &[&'a FederatedIdentityCredential],
    issuer: &str,
    subject: &str,
    audiences: &[String],
) -> Result<&'a FederatedIdentityCredential, MatchFailure> {
    let by_issuer: Vec<&&FederatedIdentityCredential> = credentials
        .iter()
        .filter(|c| c.issuer.as_str() == issuer)
        .collect();
    if by_issuer.is_empty() {
        return Err(MatchFailure::Issuer);
    }
    let by_subject: Vec<&&FederatedIdentityCredential> = by_issuer
        .iter()
        .copied()
        .filter(|c| c.subject.as_str() == subject)
        .collect();
    if by_subject.is_empty() {
        let case_only = by_issuer
            .iter()
            .any(|c| c.subject.as_str().eq_ignore_ascii_case(subject));
        return Err(if case_only {
            MatchFailure::SubjectCase
        } else {
            MatchFailure::Subject
        });
    }
    by_subject
        .into_iter()
        .find(|c| {
            c.audiences
                .iter()
                .any(|a| audiences.iter().any(|presented| presented == a.as_str()))
        })
        .copied()
        .ok_or(MatchFailure::Audience)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Audience, ClientId, CredentialName, Issuer, Subject};
    use proptest::prelude::*;
    use uuid::Uuid;

    fn fic(name: &str, iss: &str, sub: &str, aud: &str) -> FederatedIdentityCredential {
        FederatedIdentityCredential {
            identity: ClientId::from_uuid(Uuid::nil()),
            name: CredentialName::parse(name).unwrap(),
            issuer: Issuer::parse(iss).unwrap(),
            subject: Subject::parse(sub).unwrap(),
            audiences: vec![Audience::parse(aud).unwrap()],
        }
    }

    const ISS: &str = "https://oidc.example/eastus/t/c/";
    const SUB: &str = "system:serviceaccount:default:workload";
    const AUD: &str = "api://AzureADTokenExchange";

    fn aud(a: &str) -> Vec<String> {
        vec![a.to_owned()]
    }

    #[test]
    fn exact_match_wins() {
        let a = fic("one", ISS, SUB, AUD);
        let creds = [&a];
        assert_eq!(
            match_credential(&creds, ISS, SUB, &aud(AUD))
                .unwrap()
                .name
                .as_str(),
            "one"
        );
    }

    #[test]
    fn issuer_trailing_slash_matters() {
        let a = fic("one", ISS, SUB, AUD);
        let creds = [&a];
        let no_slash = ISS.trim_end_matches('/');
        assert_eq!(
            match_credential(&creds, no_slash, SUB, &aud(AUD)),
            Err(MatchFailure::Issuer)
        );
        assert!(!trusts_issuer(&creds, no_slash));
        assert!(trusts_issuer(&creds, ISS));
    }

    #[test]
    fn subject_match_is_case_sensitive() {
        let a = fic("one", ISS, SUB, AUD);
        let creds = [&a];
        let upper = SUB.to_uppercase();
        assert_eq!(
            match_credential(&creds, ISS, &upper, &aud(AUD)),
            Err(MatchFailure::SubjectCase)
        );
        assert_eq!(
            match_credential(&creds, ISS, "system:serviceaccount:other:sa", &aud(AUD)),
            Err(MatchFailure::Subject)
        );
    }

    #[test]
    fn audience_match_is_case_sensitive() {
        let a = fic("one", ISS, SUB, AUD);
        let creds = [&a];
        assert_eq!(
            match_credential(&creds, ISS, SUB, &aud("api://azureadtokenexchange")),
            Err(MatchFailure::Audience)
        );
        // Any one of several presented audiences may match.
        let many = vec!["other".to_owned(), AUD.to_owned()];
        assert!(match_credential(&creds, ISS, SUB, &many).is_ok());
    }

    #[test]
    fn picks_the_credential_for_this_subject_among_many() {
        let a = fic("one", ISS, "system:serviceaccount:a:x", AUD);
        let b = fic("two", ISS, SUB, AUD);
        let c = fic("three", "https://other.example/", SUB, AUD);
        let creds = [&a, &b, &c];
        assert_eq!(
            match_credential(&creds, ISS, SUB, &aud(AUD))
                .unwrap()
                .name
                .as_str(),
            "two"
        );
    }

    /// A naive reference: the first credential equal on all three fields.
    fn naive<'a>(
        creds: &[&'a FederatedIdentityCredential],
        iss: &str,
        sub: &str,
        auds: &[String],
    ) -> Option<&'a FederatedIdentityCredential> {
        creds.iter().copied().find(|c| {
            c.issuer.as_str() == iss
                && c.subject.as_str() == sub
                && c.audiences
                    .iter()
                    .any(|a| auds.contains(&a.as_str().to_owned()))
        })
    }

    proptest! {
        #[test]
        fn agrees_with_naive_reference(
            rows in proptest::collection::vec((0u8..3, 0u8..3, 0u8..3), 0..8),
            q in (0u8..3, 0u8..3, 0u8..3),
        ) {
            let iss = |i: u8| format!("https://iss{i}.example/");
            let sub = |i: u8| if i == 2 { "SA".to_owned() } else { format!("sa{i}") };
            let au = |i: u8| format!("aud{i}");
            let owned: Vec<FederatedIdentityCredential> = rows
                .iter()
                .enumerate()
                .map(|(n, (i, s, a))| fic(&format!("fic{n}"), &iss(*i), &sub(*s), &au(*a)))
                .collect();
            let creds: Vec<&FederatedIdentityCredential> = owned.iter().collect();
            let got = match_credential(&creds, &iss(q.0), &sub(q.1), &[au(q.2)]).ok();
            let want = naive(&creds, &iss(q.0), &sub(q.1), &[au(q.2)]);
            prop_assert_eq!(got.map(|c| &c.name), want.map(|c| &c.name));
        }
    }
}
