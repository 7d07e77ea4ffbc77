//! The authorizer: given a principal, an operation and the resource scope it targets, find a
//! role assignment that allows it, or say why none does.
//!
//! Rules (Azure RBAC, arm-surface.md §6.5–§6.6, §8): an assignment applies at its scope and every
//! scope below it; a role allows an operation if one of its permission entries matches it in the
//! right plane (`actions` for control-plane operations, `data_actions` for data-plane ones) and
//! that same entry's `not_…` list does not. Deny assignments and ABAC conditions are not modelled.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::action::{ActionPattern, fold_action};
use super::roles::{Permission, RoleDefinition};
use super::scope::Scope;
use crate::ids::PrincipalId;

/// A role assignment: `principal_id` holds the role `role_definition_id` at `scope`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAssignment {
    /// The assignment's GUID (its `name`).
    pub id: Uuid,
    /// Who holds the role (a service principal's object id).
    pub principal_id: PrincipalId,
    /// The role's GUID (the trailing segment of `roleDefinitionId`).
    pub role_definition_id: Uuid,
    /// Where the role applies; it is inherited by every scope below.
    pub scope: Scope,
    /// What ARM keeps about the assignment besides what authorization needs.
    #[serde(default)]
    pub meta: AssignmentMeta,
}

/// The descriptive properties of a role assignment ARM returns (they never change a decision:
/// conditions are kept but not evaluated, see `docs/rbac.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentMeta {
    /// `principalType`: `ServicePrincipal`, `User`, `Group`, `ForeignGroup` or `Device`.
    pub principal_type: Option<String>,
    /// `description`.
    pub description: Option<String>,
    /// `condition` (ABAC), kept as given.
    pub condition: Option<String>,
    /// `conditionVersion`.
    pub condition_version: Option<String>,
    /// `createdOn`.
    pub created_on: Option<crate::time::UnixTime>,
    /// `createdBy`: the object id of the caller that created it.
    pub created_by: Option<String>,
}

/// What is being attempted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation<'a> {
    /// A control-plane (ARM) operation such as `Microsoft.KeyVault/vaults/read`.
    Action(&'a str),
    /// A data-plane operation such as `Microsoft.KeyVault/vaults/secrets/getSecret/action`.
    DataAction(&'a str),
}

impl Operation<'_> {
    /// The operation string.
    pub fn as_str(&self) -> &str {
        match self {
            Operation::Action(a) | Operation::DataAction(a) => a,
        }
    }
}

/// Why an operation was denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyReason {
    /// No assignment of the principal at or above the resource grants the operation: Key Vault's
    /// `DecisionReason: 'DeniedWithNoValidRBAC'` with `Assignment: (not found)`.
    NoValidRbac,
}

impl DenyReason {
    /// The `DecisionReason` text Key Vault writes in its `ForbiddenByRbac` message.
    pub fn as_str(&self) -> &'static str {
        match self {
            DenyReason::NoValidRbac => "DeniedWithNoValidRBAC",
        }
    }
}

/// The outcome of [`Authorizer::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by this assignment.
    Allowed {
        /// The assignment that allowed it.
        assignment_id: Uuid,
        /// The name of the assigned role.
        role_name: String,
        /// The scope the assignment sits at (the resource or one of its ancestors).
        scope: Scope,
    },
    /// Denied.
    Denied {
        /// Why.
        reason: DenyReason,
    },
}

impl Decision {
    /// Whether the operation is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }

    /// The allowing assignment's id, or `None`, which Key Vault writes as
    /// `Assignment: (not found)`.
    pub fn assignment_id(&self) -> Option<Uuid> {
        match self {
            Decision::Allowed { assignment_id, .. } => Some(*assignment_id),
            Decision::Denied { .. } => None,
        }
    }
}

/// One permission entry, case-folded and ready to match.
#[derive(Clone, Debug)]
struct CompiledPermission {
    actions: Vec<ActionPattern>,
    not_actions: Vec<ActionPattern>,
    data_actions: Vec<ActionPattern>,
    not_data_actions: Vec<ActionPattern>,
}

impl CompiledPermission {
    fn new(p: &Permission) -> Self {
        let compile = |list: &[String]| list.iter().map(|s| ActionPattern::new(s)).collect();
        Self {
            actions: compile(&p.actions),
            not_actions: compile(&p.not_actions),
            data_actions: compile(&p.data_actions),
            not_data_actions: compile(&p.not_data_actions),
        }
    }

    fn allows(&self, data_plane: bool, folded: &str) -> bool {
        let (grant, except) = if data_plane {
            (&self.data_actions, &self.not_data_actions)
        } else {
            (&self.actions, &self.not_actions)
        };
        grant.iter().any(|p| p.matches(folded)) && !except.iter().any(|p| p.matches(folded))
    }
}

#[derive(Clone, Debug)]
struct CompiledRole {
    name: String,
    permissions: Vec<CompiledPermission>,
}

impl CompiledRole {
    fn allows(&self, data_plane: bool, folded: &str) -> bool {
        self.permissions
            .iter()
            .any(|p| p.allows(data_plane, folded))
    }
}

/// An assignment as the index holds it.
#[derive(Clone, Debug)]
struct Indexed {
    id: Uuid,
    role: Uuid,
    scope: Scope,
}

/// Role definitions and assignments, indexed by principal and then by case-folded scope, so a
/// check looks only at the assignments of that principal on the resource's ancestors: its cost
/// does not grow with the total number of assignments.
#[derive(Clone, Debug, Default)]
pub struct Authorizer {
    roles: HashMap<Uuid, CompiledRole>,
    by_principal: HashMap<PrincipalId, HashMap<String, Vec<Indexed>>>,
}

impl Authorizer {
    /// Builds the index. An assignment whose role is not among `roles` grants nothing (ARM refuses
    /// to create one with `RoleDefinitionDoesNotExist`; a role deleted later leaves it inert).
    pub fn new(
        roles: impl IntoIterator<Item = RoleDefinition>,
        assignments: impl IntoIterator<Item = RoleAssignment>,
    ) -> Self {
        let roles = roles
            .into_iter()
            .map(|r| {
                let compiled = CompiledRole {
                    name: r.name,
                    permissions: r.permissions.iter().map(CompiledPermission::new).collect(),
                };
                (r.id, compiled)
            })
            .collect();
        let mut by_principal: HashMap<PrincipalId, HashMap<String, Vec<Indexed>>> = HashMap::new();
        for a in assignments {
            by_principal
                .entry(a.principal_id)
                .or_default()
                .entry(a.scope.key().to_owned())
                .or_default()
                .push(Indexed {
                    id: a.id,
                    role: a.role_definition_id,
                    scope: a.scope,
                });
        }
        Self {
            roles,
            by_principal,
        }
    }

    /// Decides whether `principal` may perform `operation` on `resource`.
    ///
    /// When several assignments allow it, the one at the broadest scope wins, and among those
    /// the one given first to [`Authorizer::new`], so the answer is deterministic.
    pub fn check(
        &self,
        principal: &PrincipalId,
        operation: Operation<'_>,
        resource: &Scope,
    ) -> Decision {
        let denied = Decision::Denied {
            reason: DenyReason::NoValidRbac,
        };
        let Some(by_scope) = self.by_principal.get(principal) else {
            return denied;
        };
        let data_plane = matches!(operation, Operation::DataAction(_));
        let folded = fold_action(operation.as_str());
        for key in resource.ancestor_keys() {
            for a in by_scope.get(key).into_iter().flatten() {
                if let Some(role) = self.roles.get(&a.role)
                    && role.allows(data_plane, &folded)
                {
                    return Decision::Allowed {
                        assignment_id: a.id,
                        role_name: role.name.clone(),
                        scope: a.scope.clone(),
                    };
                }
            }
        }
        denied
    }
}
