//! Role definitions, and the Azure built-in roles wif ships with their real names, GUIDs and
//! permission lists.
//!
//! Sources: arm-surface.md §6.5 (taken from the docs' built-in-roles pages) for Owner,
//! Contributor, Reader, the four Key Vault roles and Storage Blob Data Reader/Contributor. The
//! spec does not list User Access Administrator, Storage Blob Data Owner, Managed Identity
//! Operator or Managed Identity Contributor; those are written from Azure's published built-in
//! roles as we know them and marked so below, to be checked against a capture.

use serde::{Deserialize, Serialize};
use uuid::{Uuid, uuid};

use super::scope::Scope;

/// One entry of a role definition's `permissions` array. `not_actions` only subtracts from
/// `actions` of the same entry, and likewise for the data plane.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// Control-plane (ARM) operations granted.
    pub actions: Vec<String>,
    /// Control-plane operations removed from `actions`.
    pub not_actions: Vec<String>,
    /// Data-plane operations granted (Key Vault secrets, blobs). Never granted by `actions`.
    pub data_actions: Vec<String>,
    /// Data-plane operations removed from `data_actions`.
    pub not_data_actions: Vec<String>,
}

/// A role definition: built-in or custom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDefinition {
    /// The role's GUID, the trailing segment of its `id` (roles compare by this GUID).
    pub id: Uuid,
    /// `roleName`, for example `Key Vault Secrets User`.
    pub name: String,
    /// `description`.
    #[serde(default)]
    pub description: String,
    /// `type` is `CustomRole` rather than `BuiltInRole`.
    pub is_custom: bool,
    /// The `permissions` array.
    pub permissions: Vec<Permission>,
    /// Where the role may be assigned (`/` for built-in roles).
    pub assignable_scopes: Vec<Scope>,
}

/// GUIDs of the built-in roles wif ships.
pub mod builtin {
    use super::{Uuid, uuid};

    /// Owner.
    pub const OWNER: Uuid = uuid!("8e3af657-a8ff-443c-a75c-2fe8c4bcb635");
    /// Contributor.
    pub const CONTRIBUTOR: Uuid = uuid!("b24988ac-6180-42a0-ab88-20f7382dd24c");
    /// Reader.
    pub const READER: Uuid = uuid!("acdd72a7-3385-48ef-bd42-f606fba81ae7");
    /// User Access Administrator (GUID from Azure's published roles; not in the spec).
    pub const USER_ACCESS_ADMINISTRATOR: Uuid = uuid!("18d7d88d-d35e-4fb5-a5c3-7773c20a72d9");
    /// Key Vault Administrator.
    pub const KEY_VAULT_ADMINISTRATOR: Uuid = uuid!("00482a5a-887f-4fb3-b363-3b7fe8e74483");
    /// Key Vault Secrets User.
    pub const KEY_VAULT_SECRETS_USER: Uuid = uuid!("4633458b-17de-408a-b874-0445c86b69e6");
    /// Key Vault Secrets Officer.
    pub const KEY_VAULT_SECRETS_OFFICER: Uuid = uuid!("b86a8fe4-44ce-4948-aee5-eccb2c155cd7");
    /// Key Vault Reader.
    pub const KEY_VAULT_READER: Uuid = uuid!("21090545-7ca7-4776-b22c-e363652d74d2");
    /// Storage Blob Data Owner (GUID from Azure's published roles; not in the spec).
    pub const STORAGE_BLOB_DATA_OWNER: Uuid = uuid!("b7e6dc6d-f1e8-4753-8033-0f276bb0955b");
    /// Storage Blob Data Contributor.
    pub const STORAGE_BLOB_DATA_CONTRIBUTOR: Uuid = uuid!("ba92f5b4-2d11-453d-a403-e96b0029c9fe");
    /// Storage Blob Data Reader.
    pub const STORAGE_BLOB_DATA_READER: Uuid = uuid!("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1");
    /// Managed Identity Operator (GUID from Azure's published roles; not in the spec).
    pub const MANAGED_IDENTITY_OPERATOR: Uuid = uuid!("f1a07417-d97a-45cb-824c-7a7467783830");
    /// Managed Identity Contributor (GUID from Azure's published roles; not in the spec).
    pub const MANAGED_IDENTITY_CONTRIBUTOR: Uuid = uuid!("e40ec5ca-96e0-45a2-b4ff-59039f2c2b59");
}

/// The ten control-plane actions every Key Vault data role carries (arm-surface.md §6.5).
const KEY_VAULT_COMMON_ACTIONS: &[&str] = &[
    "Microsoft.Authorization/*/read",
    "Microsoft.Insights/alertRules/*",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    "Microsoft.Support/*",
    "Microsoft.KeyVault/checkNameAvailability/read",
    "Microsoft.KeyVault/deletedVaults/read",
    "Microsoft.KeyVault/locations/*/read",
    "Microsoft.KeyVault/vaults/*/read",
    "Microsoft.KeyVault/operations/read",
];

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn built_in(
    id: Uuid,
    name: &str,
    actions: &[&str],
    not_actions: &[&str],
    data_actions: &[&str],
) -> RoleDefinition {
    RoleDefinition {
        id,
        name: name.to_owned(),
        description: String::new(),
        is_custom: false,
        permissions: vec![Permission {
            actions: strings(actions),
            not_actions: strings(not_actions),
            data_actions: strings(data_actions),
            not_data_actions: Vec::new(),
        }],
        assignable_scopes: vec![Scope::root()],
    }
}

/// The built-in role definitions wif knows, with Azure's real names, GUIDs and permissions.
pub fn built_in_roles() -> Vec<RoleDefinition> {
    use builtin::*;
    const BLOB: &str = "Microsoft.Storage/storageAccounts/blobServices";
    let kv_data_role =
        |id, name, data: &[&str]| built_in(id, name, KEY_VAULT_COMMON_ACTIONS, &[], data);
    vec![
        built_in(OWNER, "Owner", &["*"], &[], &[]),
        built_in(
            CONTRIBUTOR,
            "Contributor",
            &["*"],
            &[
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
                "Microsoft.Blueprint/blueprintAssignments/write",
                "Microsoft.Blueprint/blueprintAssignments/delete",
                "Microsoft.Compute/galleries/share/action",
                "Microsoft.Purview/consents/write",
                "Microsoft.Purview/consents/delete",
                "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
                "Microsoft.Subscription/cancel/action",
                "Microsoft.Subscription/enable/action",
            ],
            &[],
        ),
        built_in(READER, "Reader", &["*/read"], &[], &[]),
        // Not in the spec: Azure's published definition.
        built_in(
            USER_ACCESS_ADMINISTRATOR,
            "User Access Administrator",
            &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
            &[],
            &[],
        ),
        kv_data_role(
            KEY_VAULT_ADMINISTRATOR,
            "Key Vault Administrator",
            &["Microsoft.KeyVault/vaults/*"],
        ),
        built_in(
            KEY_VAULT_SECRETS_USER,
            "Key Vault Secrets User",
            &[],
            &[],
            &[
                "Microsoft.KeyVault/vaults/secrets/getSecret/action",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
        ),
        kv_data_role(
            KEY_VAULT_SECRETS_OFFICER,
            "Key Vault Secrets Officer",
            &["Microsoft.KeyVault/vaults/secrets/*"],
        ),
        kv_data_role(
            KEY_VAULT_READER,
            "Key Vault Reader",
            &[
                "Microsoft.KeyVault/vaults/*/read",
                "Microsoft.KeyVault/vaults/secrets/readMetadata/action",
            ],
        ),
        // Not in the spec: Azure's published definition.
        built_in(
            STORAGE_BLOB_DATA_OWNER,
            "Storage Blob Data Owner",
            &[
                &format!("{BLOB}/containers/*"),
                &format!("{BLOB}/generateUserDelegationKey/action"),
            ],
            &[],
            &[&format!("{BLOB}/containers/blobs/*")],
        ),
        built_in(
            STORAGE_BLOB_DATA_CONTRIBUTOR,
            "Storage Blob Data Contributor",
            &[
                &format!("{BLOB}/containers/delete"),
                &format!("{BLOB}/containers/read"),
                &format!("{BLOB}/containers/write"),
                &format!("{BLOB}/generateUserDelegationKey/action"),
            ],
            &[],
            &[
                &format!("{BLOB}/containers/blobs/delete"),
                &format!("{BLOB}/containers/blobs/read"),
                &format!("{BLOB}/containers/blobs/move/action"),
                // Not in the spec's table; Azure's published role also carries it.
                &format!("{BLOB}/containers/blobs/add/action"),
                &format!("{BLOB}/containers/blobs/write"),
            ],
        ),
        built_in(
            STORAGE_BLOB_DATA_READER,
            "Storage Blob Data Reader",
            &[
                &format!("{BLOB}/containers/read"),
                &format!("{BLOB}/generateUserDelegationKey/action"),
            ],
            &[],
            &[&format!("{BLOB}/containers/blobs/read")],
        ),
        // Not in the spec; checked against the docs' built-in-roles page (Managed Identity Operator).
        built_in(
            MANAGED_IDENTITY_OPERATOR,
            "Managed Identity Operator",
            &[
                "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
                "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Support/*",
            ],
            &[],
            &[],
        ),
        // Not in the spec: Azure's published definition.
        built_in(
            MANAGED_IDENTITY_CONTRIBUTOR,
            "Managed Identity Contributor",
            &[
                "Microsoft.ManagedIdentity/userAssignedIdentities/read",
                "Microsoft.ManagedIdentity/userAssignedIdentities/write",
                "Microsoft.ManagedIdentity/userAssignedIdentities/delete",
                "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
                "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
                "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
                "Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action",
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Support/*",
            ],
            &[],
            &[],
        ),
    ]
}

/// Why a custom role definition cannot be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidRoleDefinition {
    /// `roleName` is empty or too long.
    #[error("the role name must be 1 to 512 characters")]
    Name,
    /// No action and no data action.
    #[error("a role must grant at least one action or data action")]
    Empty,
    /// `assignableScopes` is empty.
    #[error("a custom role needs at least one assignable scope, such as /subscriptions/<id>")]
    NoAssignableScope,
    /// `/` as an assignable scope.
    #[error(
        "a custom role cannot be assignable at the root scope '/'; use subscriptions or resource groups"
    )]
    RootAssignableScope,
    /// An operation string that is empty or contains whitespace.
    #[error(
        "'{0}' is not an operation: use names like Microsoft.KeyVault/vaults/secrets/getSecret/action, with * as a wildcard"
    )]
    Operation(String),
}

/// Checks a custom role definition as ARM does before storing it.
pub fn validate_custom_role(role: &RoleDefinition) -> Result<(), InvalidRoleDefinition> {
    let name = role.name.trim();
    if name.is_empty() || name.chars().count() > 512 {
        return Err(InvalidRoleDefinition::Name);
    }
    let all = || {
        role.permissions.iter().flat_map(|p| {
            p.actions
                .iter()
                .chain(&p.not_actions)
                .chain(&p.data_actions)
                .chain(&p.not_data_actions)
        })
    };
    if let Some(bad) = all().find(|a| a.is_empty() || a.chars().any(char::is_whitespace)) {
        return Err(InvalidRoleDefinition::Operation(bad.clone()));
    }
    if role
        .permissions
        .iter()
        .all(|p| p.actions.is_empty() && p.data_actions.is_empty())
    {
        return Err(InvalidRoleDefinition::Empty);
    }
    if role.assignable_scopes.is_empty() {
        return Err(InvalidRoleDefinition::NoAssignableScope);
    }
    if role.assignable_scopes.iter().any(|s| s.depth() == 0) {
        return Err(InvalidRoleDefinition::RootAssignableScope);
    }
    Ok(())
}

#[cfg(test)]
mod validation_tests {
    use super::*;

    fn role() -> RoleDefinition {
        RoleDefinition {
            id: Uuid::from_u128(1),
            name: "Secret Peeker".into(),
            description: String::new(),
            is_custom: true,
            permissions: vec![Permission {
                data_actions: vec!["Microsoft.KeyVault/vaults/secrets/getSecret/action".into()],
                ..Permission::default()
            }],
            assignable_scopes: vec![
                Scope::parse("/subscriptions/00000000-0000-0000-0000-000000000001").unwrap(),
            ],
        }
    }

    #[test]
    fn custom_roles_follow_arm_rules() {
        assert_eq!(validate_custom_role(&role()), Ok(()));
        let mut r = role();
        r.name = " ".into();
        assert_eq!(validate_custom_role(&r), Err(InvalidRoleDefinition::Name));
        let mut r = role();
        r.permissions = vec![Permission::default()];
        assert_eq!(validate_custom_role(&r), Err(InvalidRoleDefinition::Empty));
        let mut r = role();
        r.assignable_scopes.clear();
        assert_eq!(
            validate_custom_role(&r),
            Err(InvalidRoleDefinition::NoAssignableScope)
        );
        let mut r = role();
        r.assignable_scopes = vec![Scope::root()];
        assert_eq!(
            validate_custom_role(&r),
            Err(InvalidRoleDefinition::RootAssignableScope)
        );
        let mut r = role();
        r.permissions[0].not_data_actions = vec!["has space".into()];
        assert!(matches!(
            validate_custom_role(&r),
            Err(InvalidRoleDefinition::Operation(_))
        ));
    }
}
