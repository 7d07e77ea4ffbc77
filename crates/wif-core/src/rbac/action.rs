//! Matching RBAC action strings against the patterns in role definitions.
//!
//! Azure compares operation strings case-insensitively, and a `*` in a pattern matches any run of
//! characters, `/` included (arm-surface.md §6.5 "Matching semantics"; the built-in roles rely on
//! it: `*/read`, `Microsoft.Authorization/*/read`, `Microsoft.KeyVault/vaults/secrets/*`).

/// A case-folded action pattern from a role definition (`Actions`, `DataActions` and their
/// `Not…` lists), ready to match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ActionPattern(String);

impl ActionPattern {
    pub(crate) fn new(pattern: &str) -> Self {
        Self(pattern.to_lowercase())
    }

    /// Whether `action` (already case-folded) matches this pattern.
    pub(crate) fn matches(&self, folded_action: &str) -> bool {
        glob(self.0.as_bytes(), folded_action.as_bytes())
    }
}

/// Case-folds an operation string once per check.
pub(crate) fn fold_action(action: &str) -> String {
    action.to_lowercase()
}

/// Wildcard match where `*` matches any (possibly empty) byte run. Greedy with one backtrack
/// point, so O(|pattern| × |text|) at worst and no recursion. Working on bytes is sound for
/// UTF-8 because `*` is ASCII and literal bytes must match exactly.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Position after the last `*` seen, and the text position it is currently matched up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match (pattern.get(p), text.get(t)) {
            (Some(b'*'), _) => {
                star = Some((p + 1, t));
                p += 1;
            }
            (Some(pc), Some(tc)) if pc == tc => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .unwrap_or_default()
        .iter()
        .all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn m(pattern: &str, action: &str) -> bool {
        ActionPattern::new(pattern).matches(&fold_action(action))
    }

    #[test]
    fn wildcards_match_like_azure() {
        let secret_get = "Microsoft.KeyVault/vaults/secrets/getSecret/action";
        assert!(m("*", secret_get));
        assert!(m("Microsoft.KeyVault/vaults/secrets/*", secret_get));
        assert!(m("Microsoft.KeyVault/vaults/*", secret_get));
        assert!(m(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/read"
        ));
        assert!(m("*/read", "Microsoft.Compute/virtualMachines/read"));
        assert!(m(
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(!m("*/read", "Microsoft.Compute/virtualMachines/write"));
        assert!(!m(
            "Microsoft.KeyVault/vaults/secrets/*",
            "Microsoft.KeyVault/vaults/keys/read"
        ));
        assert!(!m(
            "Microsoft.KeyVault/vaults/secrets/getSecret/action",
            "Microsoft.KeyVault/vaults/secrets/getSecret"
        ));
        assert!(!m(
            "Microsoft.KeyVault/vaults/*/read",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action"
        ));
    }

    #[test]
    fn matching_ignores_case() {
        assert!(m(
            "microsoft.keyvault/VAULTS/secrets/GETSECRET/action",
            "Microsoft.KeyVault/vaults/secrets/getSecret/action"
        ));
    }

    /// Reference: the same wildcard semantics as a regular expression-free recursive matcher.
    fn naive(p: &[u8], t: &[u8]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some((b'*', rest)) => {
                (0..=t.len()).any(|i| naive(rest, t.get(i..).unwrap_or_default()))
            }
            Some((c, rest)) => t
                .split_first()
                .is_some_and(|(d, trest)| c == d && naive(rest, trest)),
        }
    }

    proptest! {
        #[test]
        fn glob_agrees_with_naive_matcher(p in "[ab/*]{0,8}", t in "[ab/]{0,10}") {
            prop_assert_eq!(glob(p.as_bytes(), t.as_bytes()), naive(p.as_bytes(), t.as_bytes()));
        }
    }
}
