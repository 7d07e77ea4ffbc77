//! `Microsoft.Authorization`: role definitions (built-in and custom) and role assignments at
//! any scope, with ARM's filters and error codes (`arm-surface.md` §6.5–§6.6).

use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;
use wif_core::UnixTime;
use wif_core::ids::PrincipalId;
use wif_core::rbac::{
    AssignmentMeta, Permission, RoleAssignment, RoleDefinition, Scope, built_in_roles,
    validate_custom_role,
};
use wif_store::model::Write;
use wif_store::snapshot::Snapshot;

use super::metadata::method_not_allowed;
use super::wire::{ArmError, list};
use super::{Ctx, reply};

const ASSIGNMENTS: &str = "Microsoft.Authorization/roleAssignments";
const DEFINITIONS: &str = "Microsoft.Authorization/roleDefinitions";

fn parse_scope(scope: &str) -> Result<Scope, ArmError> {
    Scope::parse(scope).map_err(|e| {
        ArmError::bad_request(
            "InvalidResourceId",
            format!("'{scope}' is not a valid scope: {e}"),
        )
    })
}

/// The subscription a scope is in, if any.
fn subscription_in(scope: &Scope) -> Option<String> {
    let s = scope.as_str();
    let mut parts = s.trim_start_matches('/').split('/');
    match (parts.next(), parts.next()) {
        (Some(k), Some(id)) if k.eq_ignore_ascii_case("subscriptions") => Some(id.to_owned()),
        _ => None,
    }
}

/// A role definition's id as ARM returns it under `scope`: subscription-qualified when the
/// scope is in a subscription, tenant-level otherwise.
pub fn definition_id(scope: &Scope, role: Uuid) -> String {
    match subscription_in(scope) {
        Some(sub) => format!("/subscriptions/{sub}/providers/{DEFINITIONS}/{role}"),
        None => format!("/providers/{DEFINITIONS}/{role}"),
    }
}

/// The role GUID of a `roleDefinitionId` in either form (or a bare GUID).
pub fn role_guid(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id.trim_end_matches('/').rsplit('/').next()?).ok()
}

fn definition_json(scope: &Scope, r: &RoleDefinition) -> Value {
    json!({
        "id": definition_id(scope, r.id),
        "name": r.id.to_string(),
        "type": DEFINITIONS,
        "properties": {
            "roleName": r.name,
            "type": if r.is_custom { "CustomRole" } else { "BuiltInRole" },
            "description": r.description,
            "assignableScopes": r.assignable_scopes.iter().map(Scope::as_str).collect::<Vec<_>>(),
            "permissions": r.permissions.iter().map(|p| json!({
                "actions": p.actions,
                "notActions": p.not_actions,
                "dataActions": p.data_actions,
                "notDataActions": p.not_data_actions,
            })).collect::<Vec<_>>(),
            "createdOn": null,
            "updatedOn": null,
            "createdBy": null,
            "updatedBy": null,
        },
    })
}

/// Every role visible at `scope`: the built-in ones, and custom ones assignable at or above it.
fn roles_at(snap: &Snapshot, scope: &Scope) -> Vec<RoleDefinition> {
    built_in_roles()
        .into_iter()
        .chain(
            snap.directory
                .data()
                .role_definitions
                .iter()
                .filter(|r| {
                    r.assignable_scopes
                        .iter()
                        .any(|a| scope.is_within(a) || a.is_within(scope))
                })
                .cloned(),
        )
        .collect()
}

/// A `$filter` clause `name eq 'value'` (quotes doubled inside the value, as OData escapes).
pub(crate) fn eq_filter(filter: &str, name: &str) -> Option<String> {
    let f = filter.trim();
    let rest = f
        .get(..name.len())
        .filter(|p| p.eq_ignore_ascii_case(name))
        .and_then(|_| f.get(name.len()..))?
        .trim_start();
    let rest = rest
        .get(..2)
        .filter(|op| op.eq_ignore_ascii_case("eq"))
        .and_then(|_| rest.get(2..))?
        .trim();
    let inner = rest.strip_prefix('\'')?.strip_suffix('\'')?;
    Some(inner.replace("''", "'"))
}

/// `{scope}/providers/Microsoft.Authorization/roleDefinitions[/{id}]`.
pub async fn definitions(
    ctx: &mut Ctx,
    scope: &str,
    name: Option<&str>,
) -> Result<Response, ArmError> {
    let parsed = parse_scope(scope)?;
    let Some(name) = name else {
        if ctx.method != Method::GET {
            return Err(method_not_allowed(ctx));
        }
        let filter = ctx.query("$filter").map(str::to_owned);
        let mut roles = roles_at(&ctx.snap, &parsed);
        if let Some(f) = &filter {
            if let Some(role_name) = eq_filter(f, "roleName") {
                roles.retain(|r| r.name.eq_ignore_ascii_case(&role_name));
            } else if let Some(kind) = eq_filter(f, "type") {
                let custom = kind.eq_ignore_ascii_case("CustomRole");
                roles.retain(|r| r.is_custom == custom);
            } else {
                return Err(ArmError::bad_request(
                    "InvalidFilter",
                    format!(
                        "The filter '{f}' is not supported; use roleName eq '<name>' or type eq \
                         'BuiltInRole'|'CustomRole'."
                    ),
                ));
            }
        }
        let items = roles.iter().map(|r| definition_json(&parsed, r)).collect();
        return Ok(reply(StatusCode::OK, list(items)));
    };
    let id = Uuid::parse_str(name).map_err(|_| {
        ArmError::bad_request(
            "InvalidRoleDefinitionId",
            format!("The role definition ID '{name}' is not valid. It must be a GUID."),
        )
    })?;
    let not_found = || {
        ArmError::new(
            StatusCode::NOT_FOUND,
            "RoleDefinitionDoesNotExist",
            format!(
                "The specified role definition with ID '{}' does not exist.",
                id.simple()
            ),
        )
    };
    match ctx.method {
        Method::GET => {
            let r = ctx
                .snap
                .directory
                .role_definition(&id)
                .ok_or_else(not_found)?;
            Ok(reply(StatusCode::OK, definition_json(&parsed, &r)))
        }
        Method::PUT => {
            ctx.authorize(&format!("{DEFINITIONS}/write"), scope)?;
            let role = custom_role_from(id, &ctx.json()?)?;
            if built_in_roles().iter().any(|b| b.id == id) {
                return Err(ArmError::bad_request(
                    "RoleDefinitionUpdateNotPermitted",
                    "Built-in role definitions cannot be changed.",
                ));
            }
            let created = ctx
                .write(|snap| {
                    let created = snap.directory.role_definition(&id).is_none();
                    Ok((vec![Write::PutRoleDefinition(role.clone())], created))
                })
                .await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(reply(status, definition_json(&parsed, &role)))
        }
        Method::DELETE => {
            ctx.authorize(&format!("{DEFINITIONS}/delete"), scope)?;
            let removed = ctx
                .write(|snap| {
                    let Some(r) = snap.directory.role_definition(&id).filter(|r| r.is_custom)
                    else {
                        return Ok((vec![], None));
                    };
                    if snap
                        .directory
                        .data()
                        .role_assignments
                        .iter()
                        .any(|a| a.role_definition_id == id)
                    {
                        return Err(ArmError::new(
                            StatusCode::CONFLICT,
                            "RoleDefinitionHasAssignments",
                            "There are existing role assignments referencing this role; delete \
                             them first.",
                        ));
                    }
                    Ok((vec![Write::DeleteRoleDefinition(id)], Some(r)))
                })
                .await?;
            Ok(match removed {
                Some(r) => reply(StatusCode::OK, definition_json(&parsed, &r)),
                None => StatusCode::NO_CONTENT.into_response(),
            })
        }
        _ => Err(method_not_allowed(ctx)),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn custom_role_from(id: Uuid, body: &Value) -> Result<RoleDefinition, ArmError> {
    let props = body.get("properties").cloned().unwrap_or(json!({}));
    let bad = |m: String| ArmError::bad_request("InvalidRoleDefinition", m);
    let name = props
        .get("roleName")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("properties.roleName is required.".to_owned()))?;
    let permissions = props
        .get("permissions")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| Permission {
                    actions: strings(p.get("actions")),
                    not_actions: strings(p.get("notActions")),
                    data_actions: strings(p.get("dataActions")),
                    not_data_actions: strings(p.get("notDataActions")),
                })
                .collect()
        })
        .unwrap_or_default();
    let assignable_scopes = strings(props.get("assignableScopes"))
        .iter()
        .map(|s| parse_scope(s))
        .collect::<Result<Vec<_>, _>>()?;
    let role = RoleDefinition {
        id,
        name: name.to_owned(),
        description: props
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        is_custom: true,
        permissions,
        assignable_scopes,
    };
    validate_custom_role(&role).map_err(|e| bad(e.to_string()))?;
    Ok(role)
}

fn assignment_json(a: &RoleAssignment) -> Value {
    let meta = &a.meta;
    json!({
        "id": format!("{}/providers/{ASSIGNMENTS}/{}", scope_prefix(&a.scope), a.id),
        "name": a.id.to_string(),
        "type": ASSIGNMENTS,
        "properties": {
            "roleDefinitionId": definition_id(&a.scope, a.role_definition_id),
            "principalId": a.principal_id.to_string(),
            "principalType": meta.principal_type.as_deref().unwrap_or("ServicePrincipal"),
            "scope": a.scope.as_str(),
            "condition": meta.condition,
            "conditionVersion": meta.condition_version,
            "description": meta.description,
            "createdOn": meta.created_on.map(UnixTime::to_rfc3339),
            "updatedOn": meta.created_on.map(UnixTime::to_rfc3339),
            "createdBy": meta.created_by,
            "updatedBy": meta.created_by,
            "delegatedManagedIdentityResourceId": null,
        },
    })
}

/// The scope as a path prefix (`""` for the root).
fn scope_prefix(scope: &Scope) -> &str {
    let s = scope.as_str();
    if s == "/" { "" } else { s }
}

/// A principal id without dashes, as ARM's messages print it.
fn compact(id: &str) -> String {
    id.replace('-', "")
}

/// `{scope}/providers/Microsoft.Authorization/roleAssignments[/{name}]`.
pub async fn assignments(
    ctx: &mut Ctx,
    scope: &str,
    name: Option<&str>,
) -> Result<Response, ArmError> {
    let parsed = parse_scope(scope)?;
    let Some(name) = name else {
        if ctx.method != Method::GET {
            return Err(method_not_allowed(ctx));
        }
        ctx.authorize(&format!("{ASSIGNMENTS}/read"), scope)?;
        return list_assignments(ctx, &parsed);
    };
    let id = Uuid::parse_str(name).map_err(|_| {
        ArmError::bad_request(
            "InvalidRoleAssignmentId",
            format!("The role assignment ID '{name}' is not valid. The role assignment ID must be a GUID."),
        )
    })?;
    let find = |snap: &Snapshot| -> Option<RoleAssignment> {
        snap.directory
            .data()
            .role_assignments
            .iter()
            .find(|a| a.id == id && a.scope.key() == parsed.key())
            .cloned()
    };
    match ctx.method {
        Method::GET => {
            ctx.authorize(&format!("{ASSIGNMENTS}/read"), scope)?;
            let a = find(&ctx.snap).ok_or_else(|| {
                ArmError::new(
                    StatusCode::NOT_FOUND,
                    "RoleAssignmentNotFound",
                    format!("The role assignment '{name}' is not found."),
                )
            })?;
            Ok(reply(StatusCode::OK, assignment_json(&a)))
        }
        Method::DELETE => {
            ctx.authorize(&format!("{ASSIGNMENTS}/delete"), scope)?;
            let removed = ctx
                .write(|snap| {
                    Ok(match find(snap) {
                        Some(a) => (vec![Write::DeleteRoleAssignment(a.id)], Some(a)),
                        None => (vec![], None),
                    })
                })
                .await?;
            Ok(match removed {
                Some(a) => reply(StatusCode::OK, assignment_json(&a)),
                None => StatusCode::NO_CONTENT.into_response(),
            })
        }
        Method::PUT => {
            ctx.authorize(&format!("{ASSIGNMENTS}/write"), scope)?;
            put_assignment(ctx, &parsed, id).await
        }
        _ => Err(method_not_allowed(ctx)),
    }
}

async fn put_assignment(ctx: &mut Ctx, scope: &Scope, id: Uuid) -> Result<Response, ArmError> {
    let body = ctx.json()?;
    let props = body.get("properties").cloned().unwrap_or(json!({}));
    let text = |k: &str| props.get(k).and_then(Value::as_str).map(str::to_owned);
    let role_text = text("roleDefinitionId").ok_or_else(|| {
        ArmError::bad_request(
            "InvalidRoleAssignmentRequest",
            "properties.roleDefinitionId is required.",
        )
    })?;
    let principal_text = text("principalId").ok_or_else(|| {
        ArmError::bad_request(
            "InvalidRoleAssignmentRequest",
            "properties.principalId is required.",
        )
    })?;
    let role = role_guid(&role_text).ok_or_else(|| {
        ArmError::bad_request(
            "InvalidRoleDefinitionId",
            format!("The role definition ID '{role_text}' is not valid."),
        )
    })?;
    let principal_type = text("principalType");
    let condition = text("condition");
    let condition_version = text("conditionVersion");
    if condition_version.is_some() && condition.is_none() {
        return Err(ArmError::bad_request(
            "InvalidRoleAssignmentRequest",
            "conditionVersion is only valid together with condition.",
        ));
    }
    let tenant = ctx.caller.tenant;
    let meta = AssignmentMeta {
        principal_type: None,
        description: text("description"),
        condition,
        condition_version: condition_version.or(None),
        created_on: Some(ctx.now),
        created_by: Some(ctx.caller.oid.clone()),
    };
    let scope = scope.clone();
    let (a, created) = ctx
        .write(|snap| {
            let principal = PrincipalId::parse(&principal_text)
                .ok()
                .filter(|p| {
                    snap.directory
                        .principal(p)
                        .is_some_and(|x| x.tenant() == tenant)
                })
                .ok_or_else(|| {
                    ArmError::bad_request(
                        "PrincipalNotFound",
                        format!(
                            "Principal {} does not exist in the directory {tenant}. Check that \
                             you have the correct principal ID. If you are creating this \
                             principal and then immediately assigning a role, this error might \
                             be related to a replication delay. In this case, set the role \
                             assignment principalType property to a value, such as \
                             ServicePrincipal, User, or Group.  See \
                             https://aka.ms/docs-principaltype",
                            compact(&principal_text)
                        ),
                    )
                })?;
            if let Some(t) = &principal_type
                && !t.eq_ignore_ascii_case("ServicePrincipal")
            {
                return Err(ArmError::bad_request(
                    "UnmatchedPrincipalType",
                    format!(
                        "The PrincipalId '{}' has type 'ServicePrincipal' , which is different \
                         from specified PrinciaplType '{t}'.",
                        compact(&principal_text)
                    ),
                ));
            }
            let definition = snap.directory.role_definition(&role).ok_or_else(|| {
                ArmError::bad_request(
                    "RoleDefinitionDoesNotExist",
                    format!(
                        "The specified role definition with ID '{}' does not exist.",
                        role.simple()
                    ),
                )
            })?;
            if !definition
                .assignable_scopes
                .iter()
                .any(|a| scope.is_within(a))
            {
                return Err(ArmError::new(
                    StatusCode::FORBIDDEN,
                    "RoleAssignmentScopeNotAssignable",
                    format!(
                        "The role '{}' cannot be assigned at scope '{}': it is assignable only \
                         at {}.",
                        definition.name,
                        scope.as_str(),
                        definition
                            .assignable_scopes
                            .iter()
                            .map(Scope::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            let all = &snap.directory.data().role_assignments;
            let same_name = all.iter().find(|a| a.id == id);
            if let Some(old) = same_name
                && (old.principal_id != principal
                    || old.role_definition_id != role
                    || old.scope.key() != scope.key())
            {
                return Err(ArmError::new(
                    StatusCode::CONFLICT,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to \
                     be updated.",
                ));
            }
            if let Some(other) = all.iter().find(|a| {
                a.id != id
                    && a.principal_id == principal
                    && a.role_definition_id == role
                    && a.scope.key() == scope.key()
            }) {
                return Err(ArmError::new(
                    StatusCode::CONFLICT,
                    "RoleAssignmentExists",
                    format!(
                        "The role assignment already exists. The ID of the existing role \
                         assignment is {}.",
                        other.id.simple()
                    ),
                ));
            }
            let mut meta = meta.clone();
            meta.principal_type = Some("ServicePrincipal".to_owned());
            if let Some(old) = same_name {
                meta.created_on = old.meta.created_on.or(meta.created_on);
                meta.created_by = old.meta.created_by.clone().or(meta.created_by);
            }
            let a = RoleAssignment {
                id,
                principal_id: principal,
                role_definition_id: role,
                scope: scope.clone(),
                meta,
            };
            Ok((
                vec![Write::PutRoleAssignment(a.clone())],
                (a, same_name.is_none()),
            ))
        })
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(reply(status, assignment_json(&a)))
}

/// `assignedTo('{id}')`.
fn assigned_to(filter: &str) -> Option<String> {
    let f = filter.trim();
    let inner = f
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case("assignedTo("))
        .and_then(|_| f.get(11..))?
        .strip_suffix(')')?
        .trim();
    Some(inner.strip_prefix('\'')?.strip_suffix('\'')?.to_owned())
}

fn list_assignments(ctx: &Ctx, scope: &Scope) -> Result<Response, ArmError> {
    let filter = ctx.query("$filter").map(str::to_owned);
    let all = &ctx.snap.directory.data().role_assignments;
    let near = |a: &&RoleAssignment| a.scope.is_within(scope) || scope.is_within(&a.scope);
    let items: Vec<Value> = match filter.as_deref().map(str::trim) {
        None | Some("") => all.iter().filter(near).map(assignment_json).collect(),
        Some(f) if f.eq_ignore_ascii_case("atScope()") => all
            .iter()
            .filter(|a| scope.is_within(&a.scope))
            .map(assignment_json)
            .collect(),
        Some(f) => {
            let principal = eq_filter(f, "principalId").or_else(|| assigned_to(f));
            let Some(principal) = principal else {
                return Err(ArmError::bad_request(
                    "InvalidFilter",
                    format!(
                        "The filter '{f}' is not supported; use atScope(), principalId eq \
                         '<id>' or assignedTo('<id>')."
                    ),
                ));
            };
            let principal = PrincipalId::parse(&principal).map_err(|_| {
                ArmError::bad_request("InvalidFilter", format!("'{principal}' is not a GUID."))
            })?;
            all.iter()
                .filter(near)
                .filter(|a| a.principal_id == principal)
                .map(assignment_json)
                .collect()
        }
    };
    Ok(reply(StatusCode::OK, list(items)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        assert_eq!(
            eq_filter("roleName eq 'Key Vault Secrets User'", "roleName").as_deref(),
            Some("Key Vault Secrets User")
        );
        assert_eq!(
            eq_filter("rolename EQ 'O''Brien'", "roleName").as_deref(),
            Some("O'Brien")
        );
        assert_eq!(eq_filter("roleName eq Owner", "roleName"), None);
        assert_eq!(eq_filter("type eq 'CustomRole'", "roleName"), None);
        assert_eq!(assigned_to("assignedTo('abc')").as_deref(), Some("abc"));
        assert_eq!(assigned_to("assignedTo(abc)"), None);
    }

    #[test]
    fn role_guid_from_either_form() {
        let g = "4633458b-17de-408a-b874-0445c86b69e6";
        for id in [
            format!("/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/{g}"),
            format!("/providers/Microsoft.Authorization/roleDefinitions/{g}"),
            g.to_owned(),
        ] {
            assert_eq!(role_guid(&id).map(|u| u.to_string()).as_deref(), Some(g));
        }
        assert_eq!(role_guid("/providers/x/roleDefinitions/nope"), None);
    }

    #[test]
    fn definition_ids_follow_the_scope() {
        let role = Uuid::from_u128(1);
        let sub =
            Scope::parse("/subscriptions/00000000-0000-0000-0000-000000000009/resourceGroups/rg")
                .unwrap();
        assert_eq!(
            definition_id(&sub, role),
            "/subscriptions/00000000-0000-0000-0000-000000000009/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000001"
        );
        assert_eq!(
            definition_id(&Scope::root(), role),
            "/providers/Microsoft.Authorization/roleDefinitions/00000000-0000-0000-0000-000000000001"
        );
    }
}
