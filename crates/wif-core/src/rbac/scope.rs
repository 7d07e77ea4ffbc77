//! ARM scopes: the nodes of the tree that Azure RBAC assignments hang on and inherit down.
//!
//! A scope is the tenant root `/`, a subscription, a resource group, or a resource (possibly a
//! child resource such as a Key Vault secret). ARM matches every path segment
//! case-insensitively (arm-surface.md §6.1: clients send both `resourceGroups` and
//! `resourcegroups`), so a [`Scope`] keeps the text as presented for display and compares on a
//! case-folded key. Management groups are out of scope for wif.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Longest scope text accepted, checked before any other work.
pub const SCOPE_MAX_LEN: usize = 2048;

/// Why a scope was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidScope {
    /// The text is longer than [`SCOPE_MAX_LEN`].
    #[error("scope is {len} characters long; at most {SCOPE_MAX_LEN} are allowed")]
    TooLong {
        /// Length of the presented text.
        len: usize,
    },
    /// The scope does not start with `/`.
    #[error("scope '{0}' must start with '/'")]
    NotAbsolute(String),
    /// Two slashes in a row, or a trailing slash.
    #[error("scope '{0}' has an empty path segment")]
    EmptySegment(String),
    /// The first segment is not `subscriptions` (management groups are not supported).
    #[error("scope '{0}' must start with /subscriptions/{{subscriptionId}}")]
    NotUnderSubscription(String),
    /// The subscription segment is not a GUID.
    #[error("'{0}' is not a subscription GUID")]
    InvalidSubscriptionId(String),
    /// A keyword (`resourceGroups`, `providers`) or a resource type has no name after it.
    #[error("scope '{scope}' ends after '{segment}' without a name")]
    MissingName {
        /// The whole scope.
        scope: String,
        /// The segment that needed a name after it.
        segment: String,
    },
    /// A segment where `resourceGroups` or `providers` was expected.
    #[error(
        "scope '{scope}' has unexpected segment '{segment}'; expected resourceGroups or providers"
    )]
    UnexpectedSegment {
        /// The whole scope.
        scope: String,
        /// The unexpected segment.
        segment: String,
    },
}

/// A parsed ARM scope. Equality, hashing and [`Scope::is_within`] ignore case, as ARM does;
/// [`Display`](fmt::Display) shows the text as presented.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope {
    /// The presented text, without a trailing slash.
    text: String,
    /// `text` case-folded: the comparison key.
    key: String,
    /// Where each ancestor scope ends, root first; the last one is this scope itself. The root
    /// scope `/` ends at 0.
    ends: Vec<End>,
}

/// Byte offsets of one ancestor's end in `Scope::text` and in `Scope::key`.
#[derive(Clone, Copy, Debug)]
struct End {
    text: usize,
    key: usize,
}

impl Scope {
    /// The tenant root scope `/` (built-in roles are assignable there).
    pub fn root() -> Self {
        Self {
            text: String::new(),
            key: String::new(),
            ends: vec![End { text: 0, key: 0 }],
        }
    }

    /// Parses `/`, `/subscriptions/{guid}`, `/subscriptions/{guid}/resourceGroups/{rg}` or a
    /// resource id `…/providers/{namespace}/{type}/{name}[/{childType}/{childName}]…` (also
    /// directly under a subscription).
    pub fn parse(s: &str) -> Result<Self, InvalidScope> {
        if s.len() > SCOPE_MAX_LEN {
            return Err(InvalidScope::TooLong { len: s.len() });
        }
        let Some(rest) = s.strip_prefix('/') else {
            return Err(InvalidScope::NotAbsolute(s.to_owned()));
        };
        if rest.is_empty() {
            return Ok(Self::root());
        }
        // Each segment is preceded by a '/', so its end offset in `s` is start + len.
        let mut segs = Vec::new();
        let mut offset = 1;
        for seg in rest.split('/') {
            if seg.is_empty() {
                return Err(InvalidScope::EmptySegment(s.to_owned()));
            }
            offset += seg.len();
            segs.push((seg, offset));
            offset += 1;
        }
        let missing = |segment: &str| InvalidScope::MissingName {
            scope: s.to_owned(),
            segment: segment.to_owned(),
        };
        let mut it = segs.into_iter().peekable();
        let mut ends = vec![0];
        match it.next() {
            Some((kw, _)) if kw.eq_ignore_ascii_case("subscriptions") => {}
            _ => return Err(InvalidScope::NotUnderSubscription(s.to_owned())),
        }
        let Some((sub, end)) = it.next() else {
            return Err(missing("subscriptions"));
        };
        if Uuid::parse_str(sub).is_err() {
            return Err(InvalidScope::InvalidSubscriptionId(sub.to_owned()));
        }
        ends.push(end);
        if let Some(&(kw, _)) = it.peek()
            && kw.eq_ignore_ascii_case("resourceGroups")
        {
            it.next();
            let Some((_rg, end)) = it.next() else {
                return Err(missing(kw));
            };
            ends.push(end);
        }
        if let Some((kw, _)) = it.next() {
            if !kw.eq_ignore_ascii_case("providers") {
                return Err(InvalidScope::UnexpectedSegment {
                    scope: s.to_owned(),
                    segment: kw.to_owned(),
                });
            }
            let Some((namespace, _)) = it.next() else {
                return Err(missing(kw));
            };
            // Then (type, name) pairs: the resource, then its children.
            let mut last = namespace;
            while let Some((ty, _)) = it.next() {
                let Some((_name, end)) = it.next() else {
                    return Err(missing(ty));
                };
                ends.push(end);
                last = ty;
            }
            if last == namespace {
                return Err(missing(namespace));
            }
        }
        // Fold each ancestor's tail separately, so the offsets stay right even where
        // lower-casing changes a non-ASCII character's byte length.
        let mut key = String::with_capacity(s.len());
        let mut pairs = Vec::with_capacity(ends.len());
        let mut prev = 0;
        for end in ends {
            key.push_str(&s.get(prev..end).unwrap_or_default().to_lowercase());
            pairs.push(End {
                text: end,
                key: key.len(),
            });
            prev = end;
        }
        Ok(Self {
            text: s.to_owned(),
            key,
            ends: pairs,
        })
    }

    /// The scope text as presented (`/` for the root).
    pub fn as_str(&self) -> &str {
        if self.text.is_empty() {
            "/"
        } else {
            &self.text
        }
    }

    /// The case-folded comparison key (`""` for the root).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How many ancestors this scope has (0 for the root, 1 for a subscription, …).
    pub fn depth(&self) -> usize {
        self.ends.len().saturating_sub(1)
    }

    /// Whether `self` is `ancestor` or lies below it: an assignment at `ancestor` applies to
    /// `self`. Inheritance goes down only, never up or sideways.
    pub fn is_within(&self, ancestor: &Scope) -> bool {
        ancestor.depth() <= self.depth()
            && self.ends.get(ancestor.depth()).map(|e| e.key) == Some(ancestor.key.len())
            && self.key.starts_with(&ancestor.key)
    }

    /// This scope and every scope above it, from the root `/` down to `self`.
    pub fn ancestors(&self) -> impl Iterator<Item = Scope> + '_ {
        self.ends.iter().enumerate().map(|(i, end)| Scope {
            text: self.text.get(..end.text).unwrap_or_default().to_owned(),
            key: self.key.get(..end.key).unwrap_or_default().to_owned(),
            ends: self.ends.get(..=i).unwrap_or_default().to_vec(),
        })
    }

    /// The case-folded keys of this scope and its ancestors, root first, without allocating.
    pub fn ancestor_keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.ends
            .iter()
            .map(|end| self.key.get(..end.key).unwrap_or_default())
    }
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Scope {}
impl Hash for Scope {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl FromStr for Scope {
    type Err = InvalidScope;
    fn from_str(s: &str) -> Result<Self, InvalidScope> {
        Self::parse(s)
    }
}
impl TryFrom<String> for Scope {
    type Error = InvalidScope;
    fn try_from(s: String) -> Result<Self, InvalidScope> {
        Self::parse(&s)
    }
}
impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.as_str().to_owned()
    }
}
impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000001";

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn parses_each_level() {
        assert_eq!(Scope::parse("/").map(|s| s.depth()), Ok(0));
        assert_eq!(scope(SUB).depth(), 1);
        assert_eq!(scope(&format!("{SUB}/resourceGroups/rg")).depth(), 2);
        let secret =
            format!("{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/secrets/s");
        assert_eq!(scope(&secret).depth(), 4);
        let sub_level = format!("{SUB}/providers/Microsoft.Authorization/roleDefinitions/x");
        assert_eq!(scope(&sub_level).depth(), 2);
    }

    #[test]
    fn rejects_malformed_scopes_with_the_reason() {
        type Expect = fn(&InvalidScope) -> bool;
        let cases: &[(&str, Expect)] = &[
            ("subscriptions/x", |e| {
                matches!(e, InvalidScope::NotAbsolute(_))
            }),
            ("/managementGroups/m", |e| {
                matches!(e, InvalidScope::NotUnderSubscription(_))
            }),
            ("/subscriptions/not-a-guid", |e| {
                matches!(e, InvalidScope::InvalidSubscriptionId(_))
            }),
            ("/subscriptions", |e| {
                matches!(e, InvalidScope::MissingName { .. })
            }),
            (
                "/subscriptions/00000000-0000-0000-0000-000000000001/",
                |e| matches!(e, InvalidScope::EmptySegment(_)),
            ),
            (
                "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups",
                |e| matches!(e, InvalidScope::MissingName { .. }),
            ),
            (
                "/subscriptions/00000000-0000-0000-0000-000000000001/foo/bar",
                |e| matches!(e, InvalidScope::UnexpectedSegment { .. }),
            ),
            (
                "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.KeyVault",
                |e| matches!(e, InvalidScope::MissingName { .. }),
            ),
            (
                "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.KeyVault/vaults",
                |e| matches!(e, InvalidScope::MissingName { .. }),
            ),
        ];
        for (input, check) in cases {
            let err = Scope::parse(input).err();
            assert!(err.as_ref().is_some_and(check), "{input}: {err:?}");
        }
        let long = format!("{SUB}/resourceGroups/{}", "a".repeat(SCOPE_MAX_LEN));
        assert!(matches!(
            Scope::parse(&long),
            Err(InvalidScope::TooLong { .. })
        ));
    }

    #[test]
    fn compares_case_insensitively_and_displays_as_presented() {
        let a = scope(&format!(
            "{SUB}/resourceGroups/RG/providers/Microsoft.KeyVault/vaults/V"
        ));
        let b = scope(&format!(
            "{}/resourcegroups/rg/providers/microsoft.keyvault/VAULTS/v",
            SUB.to_uppercase()
        ));
        assert_eq!(a, b);
        assert!(a.is_within(&b) && b.is_within(&a));
        assert!(a.to_string().contains("resourceGroups/RG"));
    }

    #[test]
    fn is_within_goes_down_only() {
        let sub = scope(SUB);
        let rg = scope(&format!("{SUB}/resourceGroups/rg"));
        let rg2 = scope(&format!("{SUB}/resourceGroups/rg2"));
        let rg_prefix = scope(&format!("{SUB}/resourceGroups/r"));
        let vault = scope(&format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"
        ));
        let secret = scope(&format!("{}/secrets/s", vault.as_str()));
        assert!(secret.is_within(&vault) && secret.is_within(&rg) && secret.is_within(&sub));
        assert!(secret.is_within(&Scope::root()));
        assert!(!vault.is_within(&secret));
        assert!(!rg.is_within(&vault));
        assert!(!secret.is_within(&rg2));
        assert!(
            !rg.is_within(&rg_prefix),
            "a name prefix is not an ancestor"
        );
    }

    #[test]
    fn ancestors_run_from_root_to_self() {
        let secret = scope(&format!(
            "{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/secrets/s"
        ));
        let got: Vec<String> = secret.ancestors().map(|s| s.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "/".to_owned(),
                SUB.to_owned(),
                format!("{SUB}/resourceGroups/rg"),
                format!("{SUB}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v"),
                secret.to_string(),
            ]
        );
        for a in secret.ancestors() {
            assert!(secret.is_within(&a));
        }
        assert_eq!(secret.ancestor_keys().count(), secret.ancestors().count());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,200}") {
            let _ = Scope::parse(&s);
        }

        #[test]
        fn display_round_trips(rg in "[A-Za-z0-9ÄÖ_.-]{1,12}", v in "[A-Za-zİ0-9-]{1,12}") {
            let s = scope(&format!("{SUB}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{v}/secrets/x"));
            let again = scope(&s.to_string());
            prop_assert_eq!(&again, &s);
            prop_assert_eq!(again.depth(), 4);
            for a in s.ancestors() {
                prop_assert!(s.is_within(&a));
            }
        }
    }
}
