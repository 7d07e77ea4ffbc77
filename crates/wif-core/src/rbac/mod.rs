//! Azure RBAC as a pure evaluator: (principal, action or data action, resource scope) →
//! allowed by an assignment, or denied with Key Vault's reason.
//!
//! - [`Scope`]: a parsed ARM scope, compared case-insensitively, inherited downwards.
//! - [`RoleDefinition`] and [`built_in_roles`]: Azure's built-in roles with their real GUIDs.
//! - [`Authorizer`]: role assignments indexed by principal and scope; [`Authorizer::check`].
//!
//! Contracts: arm-surface.md §6.5 (role definitions and matching), §6.6 (role assignments),
//! §8 (Key Vault data actions), sdk-wire.md §2.4 (`ForbiddenByRbac`).

mod action;
mod eval;
mod roles;
mod scope;
#[cfg(test)]
mod tests;

pub use eval::{AssignmentMeta, Authorizer, Decision, DenyReason, Operation, RoleAssignment};
pub use roles::{
    InvalidRoleDefinition, Permission, RoleDefinition, built_in_roles, builtin,
    validate_custom_role,
};
pub use scope::{InvalidScope, SCOPE_MAX_LEN, Scope};
