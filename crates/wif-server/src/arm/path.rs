//! ARM request paths, parsed the way ARM reads them: keywords (`subscriptions`,
//! `resourceGroups`, `providers`, namespaces and types) case-insensitively, names kept as sent.
//! A role assignment or definition path ends in `/providers/Microsoft.Authorization/...` after
//! any scope, including a resource's own id.

/// What an ARM path addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `/tenants`.
    Tenants,
    /// `/subscriptions`.
    Subscriptions,
    /// `/subscriptions/{id}`.
    Subscription(String),
    /// `/subscriptions/{id}/resourcegroups`.
    ResourceGroups(String),
    /// `/subscriptions/{id}/resourcegroups/{name}`.
    ResourceGroup(String, String),
    /// `/subscriptions/{id}/operationresults/{op}`: a long-running operation's Location.
    OperationResult(String, String),
    /// `/subscriptions/{id}/providers/{namespace}` (and `/register`): provider registration.
    Provider(String, String),
    /// A provider resource, or a collection of them.
    Resource(ResourcePath),
    /// `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`.
    RoleAssignments {
        /// The scope (`/` for the root).
        scope: String,
        /// The assignment's name (a GUID), or `None` for the collection.
        name: Option<String>,
    },
    /// `{scope}/providers/Microsoft.Authorization/roleDefinitions[/{name}]`.
    RoleDefinitions {
        /// The scope (`/` for the root).
        scope: String,
        /// The definition's name (a GUID), or `None` for the collection.
        name: Option<String>,
    },
}

/// `/subscriptions/{s}[/resourceGroups/{g}]/providers/{ns}/{type}[/{name}[/{child}[/{childName}]]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    /// Subscription id as sent.
    pub subscription: String,
    /// Resource group as sent (`None` for a subscription-wide list).
    pub resource_group: Option<String>,
    /// Provider namespace as sent.
    pub namespace: String,
    /// Resource type as sent.
    pub kind: String,
    /// Resource name.
    pub name: Option<String>,
    /// Child resource type and optional name.
    pub child: Option<(String, Option<String>)>,
}

impl ResourcePath {
    /// `namespace/type` in lower case, for matching.
    pub fn kind_key(&self) -> String {
        format!("{}/{}", self.namespace, self.kind).to_ascii_lowercase()
    }
}

fn is(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Parses a request path (without the query). `None`: ARM has no such route.
pub fn parse(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    // The last `providers/Microsoft.Authorization` wins: the scope before it may itself be a
    // resource id with its own `providers` segment.
    let auth_at = (0..segs.len()).rev().find(|&i| {
        segs.get(i).is_some_and(|s| is(s, "providers"))
            && segs
                .get(i + 1)
                .is_some_and(|s| is(s, "Microsoft.Authorization"))
    });
    if let Some(i) = auth_at {
        let scope = match segs.get(..i) {
            Some([]) | None => "/".to_owned(),
            Some(parts) => format!("/{}", parts.join("/")),
        };
        let kind = segs.get(i + 2)?;
        let name = segs.get(i + 3).map(|s| (*s).to_owned());
        if segs.len() > i + 4 {
            return None;
        }
        return if is(kind, "roleAssignments") {
            Some(Target::RoleAssignments { scope, name })
        } else if is(kind, "roleDefinitions") {
            Some(Target::RoleDefinitions { scope, name })
        } else {
            None
        };
    }
    match segs.as_slice() {
        [t] if is(t, "tenants") => Some(Target::Tenants),
        [s] if is(s, "subscriptions") => Some(Target::Subscriptions),
        [s, id] if is(s, "subscriptions") => Some(Target::Subscription((*id).to_owned())),
        [s, id, g] if is(s, "subscriptions") && is(g, "resourcegroups") => {
            Some(Target::ResourceGroups((*id).to_owned()))
        }
        [s, id, g, name] if is(s, "subscriptions") && is(g, "resourcegroups") => {
            Some(Target::ResourceGroup((*id).to_owned(), (*name).to_owned()))
        }
        [s, id, o, op] if is(s, "subscriptions") && is(o, "operationresults") => {
            Some(Target::OperationResult((*id).to_owned(), (*op).to_owned()))
        }
        [s, id, p, ns] | [s, id, p, ns, _]
            if is(s, "subscriptions")
                && is(p, "providers")
                && segs.get(4).is_none_or(|r| is(r, "register")) =>
        {
            Some(Target::Provider((*id).to_owned(), (*ns).to_owned()))
        }
        [s, id, p, ns, kind, rest @ ..] if is(s, "subscriptions") && is(p, "providers") => {
            resource((*id).to_owned(), None, ns, kind, rest)
        }
        [s, id, g, rg, p, ns, kind, rest @ ..]
            if is(s, "subscriptions") && is(g, "resourcegroups") && is(p, "providers") =>
        {
            resource((*id).to_owned(), Some((*rg).to_owned()), ns, kind, rest)
        }
        _ => None,
    }
}

fn resource(
    subscription: String,
    resource_group: Option<String>,
    namespace: &str,
    kind: &str,
    rest: &[&str],
) -> Option<Target> {
    let (name, child) = match rest {
        [] => (None, None),
        [name] => (Some(*name), None),
        [name, child] => (Some(*name), Some(((*child).to_owned(), None))),
        [name, child, child_name] => (
            Some(*name),
            Some(((*child).to_owned(), Some((*child_name).to_owned()))),
        ),
        _ => return None,
    };
    Some(Target::Resource(ResourcePath {
        subscription,
        resource_group,
        namespace: namespace.to_owned(),
        kind: kind.to_owned(),
        name: name.map(str::to_owned),
        child,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(
            parse("/subscriptions/s/resourcegroups/RG"),
            Some(Target::ResourceGroup("s".into(), "RG".into()))
        );
        assert_eq!(
            parse("/SUBSCRIPTIONS/s/resourceGroups/RG/"),
            Some(Target::ResourceGroup("s".into(), "RG".into()))
        );
        assert_eq!(parse("/subscriptions"), Some(Target::Subscriptions));
        assert_eq!(parse("/tenants"), Some(Target::Tenants));
    }

    #[test]
    fn provider_resources_and_children() {
        let t = parse(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1/federatedIdentityCredentials/f1",
        );
        let Some(Target::Resource(r)) = t else {
            panic!("{t:?}")
        };
        assert_eq!(
            r.kind_key(),
            "microsoft.managedidentity/userassignedidentities"
        );
        assert_eq!(r.resource_group.as_deref(), Some("rg"));
        assert_eq!(r.name.as_deref(), Some("id1"));
        assert_eq!(
            r.child,
            Some(("federatedIdentityCredentials".into(), Some("f1".into())))
        );
        let t =
            parse("/subscriptions/s/providers/Microsoft.ManagedIdentity/userAssignedIdentities");
        let Some(Target::Resource(r)) = t else {
            panic!("{t:?}")
        };
        assert_eq!(r.resource_group, None);
        assert_eq!(r.name, None);
        assert_eq!(
            parse("/subscriptions/s/providers/Microsoft.KeyVault"),
            Some(Target::Provider("s".into(), "Microsoft.KeyVault".into()))
        );
        assert_eq!(
            parse("/subscriptions/s/providers/Microsoft.KeyVault/register"),
            Some(Target::Provider("s".into(), "Microsoft.KeyVault".into()))
        );
    }

    #[test]
    fn authorization_after_any_scope() {
        assert_eq!(
            parse(
                "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleAssignments/g1"
            ),
            Some(Target::RoleAssignments {
                scope: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv"
                    .into(),
                name: Some("g1".into())
            })
        );
        assert_eq!(
            parse("/providers/Microsoft.Authorization/roleDefinitions"),
            Some(Target::RoleDefinitions {
                scope: "/".into(),
                name: None
            })
        );
        assert_eq!(
            parse("/providers/microsoft.authorization/roleassignments/a/b"),
            None
        );
    }

    #[test]
    fn unknown_shapes_are_none() {
        assert_eq!(parse("/"), None);
        assert_eq!(parse("/foo"), None);
        assert_eq!(parse("/subscriptions/s/unknown"), None);
        assert_eq!(
            parse("/subscriptions/s/resourceGroups/rg/providers/A/b/c/d/e/f"),
            None
        );
    }
}
