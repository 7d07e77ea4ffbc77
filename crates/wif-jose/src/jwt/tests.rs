//! Tests for parsing and verifying tokens: the round trips, then one test per refusal.

use aws_lc_rs::hmac;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::testutil::{ec_key, key_set, rsa_key, rsa_key2};
use crate::{Jwk, SigningKey};

fn claims() -> Value {
    json!({
        "iss": "https://issuer.example/t/c/",
        "sub": "system:serviceaccount:default:workload",
        "aud": ["api://AzureADTokenExchange"],
        "exp": 1_700_000_600,
        "nbf": 1_700_000_000,
    })
}

/// A token with exactly this header and claims, signed by `key` with `alg` (which may differ
/// from the header's, to build mismatches).
fn hand_built(key: &SigningKey, alg: Algorithm, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64::encode(header.to_string().as_bytes()),
        b64::encode(claims.to_string().as_bytes())
    );
    let sig = key.sign_raw(alg, input.as_bytes()).unwrap();
    format!("{input}.{}", b64::encode(&sig))
}

fn raw_token(header: &str, claims: &str, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64::encode(header.as_bytes()),
        b64::encode(claims.as_bytes()),
        b64::encode(sig)
    )
}

fn verify(token: &str, keys: &KeySet) -> Result<VerifiedJwt, VerifyError> {
    UnverifiedJwt::parse(token).unwrap().verify(keys)
}

#[test]
fn rs256_round_trip() {
    let token = rsa_key().sign_jwt(&claims(), &[]).unwrap();
    let jwt = UnverifiedJwt::parse(&token).unwrap();
    assert_eq!(jwt.header().alg, "RS256");
    assert_eq!(jwt.header().kid.as_deref(), Some(rsa_key().kid().as_str()));
    assert_eq!(jwt.header().typ.as_deref(), Some("JWT"));
    assert_eq!(jwt.header().has_embedded_key, None);
    assert_eq!(jwt.issuer(), Some("https://issuer.example/t/c/"));
    let verified = jwt
        .verify(&key_set(&[rsa_key(), rsa_key2(), ec_key()]))
        .unwrap();
    assert_eq!(verified.algorithm(), Algorithm::Rs256);
    assert_eq!(Value::Object(verified.claims().clone()), claims());

    #[derive(serde::Deserialize)]
    struct Typed {
        sub: String,
        exp: i64,
    }
    let typed: Typed = verified.claims_as().unwrap();
    assert_eq!(typed.sub, "system:serviceaccount:default:workload");
    assert_eq!(typed.exp, 1_700_000_600);
    assert!(matches!(
        verified.claims_as::<Vec<u8>>(),
        Err(ParseError::BadJson {
            part: JwtPart::Claims,
            ..
        })
    ));
}

#[test]
fn es256_round_trip() {
    let token = ec_key().sign_jwt(&claims(), &[]).unwrap();
    let verified = verify(&token, &key_set(&[rsa_key(), ec_key()])).unwrap();
    assert_eq!(verified.algorithm(), Algorithm::Es256);
    assert_eq!(verified.header().alg, "ES256");
}

#[test]
fn verifies_ps256_with_an_rsa_key_that_declares_no_alg() {
    let header = json!({"alg": "PS256", "kid": rsa_key().kid().as_str()});
    let token = hand_built(rsa_key(), Algorithm::Ps256, &header, &claims());
    let mut jwk = rsa_key().public_jwk();
    jwk.alg = None;
    let keys = KeySet::from_jwks(&crate::Jwks { keys: vec![jwk] });
    assert_eq!(verify(&token, &keys).unwrap().algorithm(), Algorithm::Ps256);

    // A key that declares RS256 is not used for PS256 (RFC 7517 §4.4).
    assert_eq!(
        verify(&token, &key_set(&[rsa_key()])).unwrap_err(),
        VerifyError::KeyAlgorithmMismatch {
            alg: Algorithm::Ps256,
            kty: "RSA"
        }
    );
    // A PKCS#1 v1.5 signature under a PS256 header does not verify.
    let mixed = hand_built(rsa_key(), Algorithm::Rs256, &header, &claims());
    assert_eq!(
        verify(&mixed, &keys).unwrap_err(),
        VerifyError::InvalidSignature
    );
}

#[test]
fn kid_may_be_omitted_only_when_the_issuer_has_one_key() {
    let header = json!({"alg": "RS256"});
    let token = hand_built(rsa_key(), Algorithm::Rs256, &header, &claims());
    assert!(verify(&token, &key_set(&[rsa_key()])).is_ok());
    assert_eq!(
        verify(&token, &key_set(&[rsa_key(), rsa_key2()])).unwrap_err(),
        VerifyError::MissingKeyId
    );
    assert_eq!(
        verify(&token, &KeySet::default()).unwrap_err(),
        VerifyError::MissingKeyId
    );
}

#[test]
fn rejects_alg_none() {
    let token = format!(
        "{}.{}.",
        b64::encode(br#"{"alg":"none"}"#),
        b64::encode(claims().to_string().as_bytes())
    );
    assert_eq!(
        verify(&token, &key_set(&[rsa_key()])).unwrap_err(),
        VerifyError::UnsupportedAlgorithm("none".to_owned())
    );
}

#[test]
fn rejects_hs256_keyed_with_the_public_key() {
    // The classic confusion: HMAC keyed with the RSA public key that the verifier holds.
    let kid = rsa_key().kid().as_str();
    let header = format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#);
    let claims = claims().to_string();
    let input = format!(
        "{}.{}",
        b64::encode(header.as_bytes()),
        b64::encode(claims.as_bytes())
    );
    let public = serde_json::to_vec(&rsa_key().public_jwk()).unwrap();
    let mac = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &public),
        input.as_bytes(),
    );
    let token = format!("{input}.{}", b64::encode(mac.as_ref()));
    assert_eq!(
        verify(&token, &key_set(&[rsa_key()])).unwrap_err(),
        VerifyError::UnsupportedAlgorithm("HS256".to_owned())
    );
}

#[test]
fn rejects_unknown_algorithms() {
    for alg in ["RS512", "rs256", "EdDSA", ""] {
        let header = json!({"alg": alg, "kid": rsa_key().kid().as_str()});
        let token = hand_built(rsa_key(), Algorithm::Rs256, &header, &claims());
        assert_eq!(
            verify(&token, &key_set(&[rsa_key()])).unwrap_err(),
            VerifyError::UnsupportedAlgorithm(alg.to_owned()),
            "{alg}"
        );
    }
}

#[test]
fn rejects_embedded_key_sources() {
    let jwk = serde_json::to_value(rsa_key().public_jwk()).unwrap();
    for (member, value) in [
        ("jwk", jwk),
        ("jku", json!("https://attacker.example/jwks")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        ("x5c", json!(["MIIB"])),
    ] {
        let mut header = json!({"alg": "RS256", "kid": rsa_key().kid().as_str()});
        header[member] = value;
        let token = hand_built(rsa_key(), Algorithm::Rs256, &header, &claims());
        let jwt = UnverifiedJwt::parse(&token).unwrap();
        assert_eq!(jwt.header().has_embedded_key, Some(member));
        assert_eq!(
            jwt.verify(&key_set(&[rsa_key()])).unwrap_err(),
            VerifyError::EmbeddedKey(member)
        );
    }
}

#[test]
fn rejects_unknown_kid() {
    let token = rsa_key2().sign_jwt(&claims(), &[]).unwrap();
    assert_eq!(
        verify(&token, &key_set(&[rsa_key(), ec_key()])).unwrap_err(),
        VerifyError::KeyNotFound {
            kid: rsa_key2().kid().to_string()
        }
    );
}

#[test]
fn rejects_tampered_payload() {
    let token = rsa_key().sign_jwt(&claims(), &[]).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let mut evil = claims();
    evil["sub"] = json!("system:serviceaccount:kube-system:admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64::encode(evil.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        verify(&forged, &key_set(&[rsa_key()])).unwrap_err(),
        VerifyError::InvalidSignature
    );
}

#[test]
fn rejects_tampered_signature() {
    for key in [rsa_key(), ec_key()] {
        let token = key.sign_jwt(&claims(), &[]).unwrap();
        let (input, sig) = token.rsplit_once('.').unwrap();
        let mut sig = b64::decode(sig).unwrap();
        sig[10] ^= 0x01;
        let forged = format!("{input}.{}", b64::encode(&sig));
        assert_eq!(
            verify(&forged, &key_set(&[key])).unwrap_err(),
            VerifyError::InvalidSignature
        );
        let truncated = format!("{input}.{}", b64::encode(&sig[..sig.len() - 1]));
        assert_eq!(
            verify(&truncated, &key_set(&[key])).unwrap_err(),
            VerifyError::InvalidSignature
        );
    }
}

#[test]
fn rejects_rs256_header_naming_an_ec_key() {
    let header = json!({"alg": "RS256", "kid": ec_key().kid().as_str()});
    let token = hand_built(rsa_key(), Algorithm::Rs256, &header, &claims());
    assert_eq!(
        verify(&token, &key_set(&[rsa_key(), ec_key()])).unwrap_err(),
        VerifyError::KeyAlgorithmMismatch {
            alg: Algorithm::Rs256,
            kty: "EC"
        }
    );
}

#[test]
fn rejects_es256_header_naming_an_rsa_key() {
    let mut rsa_jwk: Jwk = rsa_key().public_jwk();
    rsa_jwk.alg = None;
    let header = json!({"alg": "ES256", "kid": rsa_key().kid().as_str()});
    let token = hand_built(ec_key(), Algorithm::Es256, &header, &claims());
    let keys = KeySet::from_jwks(&crate::Jwks {
        keys: vec![rsa_jwk],
    });
    assert_eq!(
        verify(&token, &keys).unwrap_err(),
        VerifyError::KeyAlgorithmMismatch {
            alg: Algorithm::Es256,
            kty: "RSA"
        }
    );
}

#[test]
fn rejects_signature_by_another_key() {
    let header = json!({"alg": "RS256", "kid": rsa_key().kid().as_str()});
    let token = hand_built(rsa_key2(), Algorithm::Rs256, &header, &claims());
    assert_eq!(
        verify(&token, &key_set(&[rsa_key(), rsa_key2()])).unwrap_err(),
        VerifyError::InvalidSignature
    );
}

#[test]
fn rejects_oversize_token_before_decoding() {
    let token = "a".repeat(MAX_TOKEN_LEN + 1);
    assert!(matches!(
        UnverifiedJwt::parse(&token),
        Err(ParseError::TooLarge { len, max: MAX_TOKEN_LEN }) if len == MAX_TOKEN_LEN + 1
    ));
}

#[test]
fn rejects_wrong_part_counts() {
    let token = rsa_key().sign_jwt(&claims(), &[]).unwrap();
    let (two, _) = token.rsplit_once('.').unwrap();
    for bad in [
        two.to_owned(),
        format!("{token}.AAAA"),
        format!("{token}."),
        String::new(),
        "abc".to_owned(),
    ] {
        assert!(
            matches!(UnverifiedJwt::parse(&bad), Err(ParseError::NotThreeParts)),
            "{bad}"
        );
    }
}

#[test]
fn rejects_bad_base64_in_each_part() {
    let token = rsa_key().sign_jwt(&claims(), &[]).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        (
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
            JwtPart::Header,
        ),
        (
            format!("{}.{}+.{}", parts[0], parts[1], parts[2]),
            JwtPart::Claims,
        ),
        (
            format!("{}.{}.{} ", parts[0], parts[1], parts[2]),
            JwtPart::Signature,
        ),
    ];
    for (bad, expected) in cases {
        match UnverifiedJwt::parse(&bad) {
            Err(ParseError::BadBase64 { part, .. }) => assert_eq!(part, expected),
            other => panic!("{expected}: {other:?}"),
        }
    }
    assert!(matches!(
        UnverifiedJwt::parse(&format!(".{}.{}", parts[1], parts[2])),
        Err(ParseError::EmptyPart {
            part: JwtPart::Header
        })
    ));
}

#[test]
fn rejects_non_object_header_or_claims() {
    for claims in ["[1,2]", "\"sub\"", "42", "null", "true"] {
        let token = raw_token(r#"{"alg":"RS256"}"#, claims, b"sig");
        assert!(
            matches!(
                UnverifiedJwt::parse(&token),
                Err(ParseError::NotAnObject {
                    part: JwtPart::Claims
                })
            ),
            "{claims}"
        );
    }
    let token = raw_token("[]", "{}", b"sig");
    assert!(matches!(
        UnverifiedJwt::parse(&token),
        Err(ParseError::NotAnObject {
            part: JwtPart::Header
        })
    ));
    let token = raw_token(r#"{"alg":"RS256"}"#, "{\"sub\":", b"sig");
    assert!(matches!(
        UnverifiedJwt::parse(&token),
        Err(ParseError::BadJson {
            part: JwtPart::Claims,
            ..
        })
    ));
    let token = raw_token(r#"{"alg":"RS256"} x"#, "{}", b"sig");
    assert!(matches!(
        UnverifiedJwt::parse(&token),
        Err(ParseError::BadJson {
            part: JwtPart::Header,
            ..
        })
    ));
}

#[test]
fn rejects_crit_header() {
    let token = raw_token(
        r#"{"alg":"RS256","crit":["exp"],"exp":1}"#,
        r#"{"sub":"s"}"#,
        b"sig",
    );
    assert!(matches!(
        UnverifiedJwt::parse(&token),
        Err(ParseError::CriticalHeader)
    ));
}

#[test]
fn rejects_duplicate_members() {
    let token = raw_token(
        r#"{"alg":"RS256"}"#,
        r#"{"sub":"good","sub":"evil"}"#,
        b"sig",
    );
    match UnverifiedJwt::parse(&token) {
        Err(ParseError::DuplicateMember { part, member }) => {
            assert_eq!(part, JwtPart::Claims);
            assert_eq!(member, "sub");
        }
        other => panic!("{other:?}"),
    }
    let token = raw_token(r#"{"alg":"RS256","alg":"none"}"#, "{}", b"sig");
    assert!(matches!(
        UnverifiedJwt::parse(&token),
        Err(ParseError::DuplicateMember {
            part: JwtPart::Header,
            ..
        })
    ));
}

#[test]
fn rejects_missing_alg_and_mistyped_header_members() {
    for (header, expected) in [
        (r#"{"kid":"k"}"#, "alg"),
        (r#"{"alg":256}"#, "alg"),
        (r#"{"alg":"RS256","kid":7}"#, "kid"),
        (r#"{"alg":"RS256","typ":null}"#, "typ"),
    ] {
        let result = UnverifiedJwt::parse(&raw_token(header, "{}", b"sig"));
        match (result, expected) {
            (Err(ParseError::MissingAlgorithm), "alg") => {}
            (Err(ParseError::BadHeaderMember(member)), _) => assert_eq!(member, expected),
            (other, _) => panic!("{header}: {other:?}"),
        }
    }
}

#[test]
fn debug_omits_the_signature() {
    let token = rsa_key().sign_jwt(&claims(), &[]).unwrap();
    let text = format!("{:?}", UnverifiedJwt::parse(&token).unwrap());
    let sig = token.rsplit('.').next().unwrap();
    assert!(!text.contains(sig));
    assert!(text.contains("RS256"));
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(text in "\\PC{0,300}") {
        let _ = UnverifiedJwt::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_three_base64url_parts(
        text in "[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,80}\\.[A-Za-z0-9_-]{0,80}"
    ) {
        if let Ok(jwt) = UnverifiedJwt::parse(&text) {
            let _ = jwt.verify(&KeySet::default());
        }
    }

    #[test]
    fn parse_never_panics_on_encoded_json_like_parts(
        header in "[{}\\[\\]\":,a-z0-9 ]{0,60}",
        claims in "[{}\\[\\]\":,a-z0-9 ]{0,60}",
        sig in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let _ = UnverifiedJwt::parse(&raw_token(&header, &claims, &sig));
    }
}
