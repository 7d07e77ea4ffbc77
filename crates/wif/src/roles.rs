//! `wif role assignment list|create|delete` and `wif role definition list`: Azure RBAC on the
//! data directory's store, in the shapes `az role …` prints. A running server applies changes
//! within a second (its snapshot watcher), so they work with or without `wif up` running.

use serde_json::{Value, json};
use uuid::Uuid;
use wif_core::directory::DirectoryData;
use wif_core::ids::{PrincipalId, SecretName, VaultName};
use wif_core::random::new_uuid;
use wif_core::rbac::{
    Permission, RoleAssignment, RoleDefinition, Scope, built_in_roles, validate_custom_role,
};
use wif_server::rand::OsRandom;
use wif_store::model::Write;

use crate::cli::{
    RoleAssignmentCommand, RoleAssignmentCreateArgs, RoleAssignmentDeleteArgs,
    RoleAssignmentListArgs, RoleCommand, RoleDefinitionCommand, RoleDefinitionCreateArgs,
    RoleDefinitionListArgs,
};
use crate::datadir::DataDir;
use crate::error::{CliError, CliResult};
use crate::output::render;
use crate::up::open_store;

/// `wif role …`
pub async fn role(data: &DataDir, cmd: RoleCommand) -> CliResult {
    match cmd {
        RoleCommand::Assignment(RoleAssignmentCommand::List(args)) => list(data, args).await,
        RoleCommand::Assignment(RoleAssignmentCommand::Create(args)) => create(data, args).await,
        RoleCommand::Assignment(RoleAssignmentCommand::Delete(args)) => delete(data, args).await,
        RoleCommand::Definition(RoleDefinitionCommand::List(args)) => definitions(data, args).await,
        RoleCommand::Definition(RoleDefinitionCommand::Create(args)) => {
            create_definition(data, args).await
        }
        RoleCommand::Definition(RoleDefinitionCommand::Delete(args)) => {
            let (store, _) = open_store(data).await?;
            let dir = store.load_directory().await?;
            let role = find_role(&dir, &args.name)?;
            if !role.is_custom {
                return Err(CliError::msg(format!(
                    "'{}' is a built-in role; only custom roles can be deleted",
                    role.name
                )));
            }
            store.apply(&[Write::DeleteRoleDefinition(role.id)]).await?;
            eprintln!("deleted custom role '{}'", role.name);
            Ok(())
        }
    }
}

fn all_roles(dir: &DirectoryData) -> Vec<RoleDefinition> {
    built_in_roles()
        .into_iter()
        .chain(dir.role_definitions.iter().cloned())
        .collect()
}

/// A role by name (case-insensitive), GUID, or role definition id (either ARM form).
pub(crate) fn find_role(dir: &DirectoryData, text: &str) -> CliResult<RoleDefinition> {
    let text = text.trim();
    let guid = text
        .rsplit('/')
        .next()
        .and_then(|last| Uuid::parse_str(last).ok());
    all_roles(dir)
        .into_iter()
        .find(|r| Some(r.id) == guid || r.name.eq_ignore_ascii_case(text))
        .ok_or_else(|| {
            CliError::msg(format!(
                "role '{text}' does not exist; `wif role definition list -o table` lists the roles \
                 (built-in roles by name, such as 'Key Vault Secrets User')"
            ))
        })
}

/// A tenant by id or domain.
pub(crate) fn tenant_of(dir: &DirectoryData, text: &str) -> CliResult<wif_core::ids::TenantId> {
    let t = text.trim().to_ascii_lowercase();
    dir.tenants
        .iter()
        .find(|x| x.id.to_string() == t || x.domain.as_str() == t)
        .map(|x| x.id)
        .ok_or_else(|| CliError::msg(format!("no tenant with id or domain '{text}'")))
}

/// A principal from a managed identity's name, client id or principal id, an app
/// registration's display name or app id, or any object id.
fn find_principal(dir: &DirectoryData, text: &str) -> CliResult<PrincipalId> {
    let text = text.trim();
    if let Some(a) = dir.applications.iter().find(|a| {
        a.display_name == text
            || a.app_id.to_string() == text.to_ascii_lowercase()
            || a.principal_id.to_string() == text.to_ascii_lowercase()
    }) {
        return Ok(a.principal_id);
    }
    if let Some(m) = dir.identities.iter().find(|m| {
        m.name.as_str().eq_ignore_ascii_case(text)
            || m.client_id.to_string() == text.to_ascii_lowercase()
            || m.principal_id.to_string() == text.to_ascii_lowercase()
    }) {
        return Ok(m.principal_id);
    }
    PrincipalId::parse(text).map_err(|_| {
        CliError::msg(format!(
            "assignee '{text}' is not a managed identity's name, client id or principal id, nor an \
             object id"
        ))
    })
}

/// `--scope`, or `--vault` with an optional `--secret`.
fn resolve_scope(
    dir: &DirectoryData,
    scope: Option<&str>,
    vault: Option<&str>,
    secret: Option<&str>,
) -> CliResult<Option<Scope>> {
    let text = match (scope, vault) {
        (Some(_), Some(_)) => {
            return Err(CliError::msg("give either --scope or --vault, not both"));
        }
        (Some(s), None) => {
            if secret.is_some() {
                return Err(CliError::msg(
                    "--secret narrows --vault; with --scope, write the secret's scope in full",
                ));
            }
            s.to_owned()
        }
        (None, Some(v)) => {
            let name = VaultName::parse(v)?;
            let vault = dir
                .vaults
                .iter()
                .find(|x| x.name == name)
                .ok_or_else(|| CliError::msg(format!("vault '{name}' does not exist")))?;
            match secret {
                Some(s) => format!("{}/secrets/{}", vault.resource_id(), SecretName::parse(s)?),
                None => vault.resource_id(),
            }
        }
        (None, None) => {
            if secret.is_some() {
                return Err(CliError::msg("--secret needs --vault"));
            }
            return Ok(None);
        }
    };
    Scope::parse(&text)
        .map(Some)
        .map_err(|e| CliError::msg(format!("invalid --scope: {e}")))
}

/// The subscription segment of a scope, if it has one.
fn subscription_of(scope: &Scope) -> Option<&str> {
    let mut parts = scope.as_str().split('/').skip(1);
    match (parts.next(), parts.next()) {
        (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") => Some(id),
        _ => None,
    }
}

/// The role definition id ARM returns for an assignment at `scope`.
fn role_definition_id(scope: &Scope, role: Uuid) -> String {
    match subscription_of(scope) {
        Some(sub) => {
            format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role}")
        }
        None => format!("/providers/Microsoft.Authorization/roleDefinitions/{role}"),
    }
}

/// An assignment in the shape `az role assignment list` prints.
fn assignment_json(dir: &DirectoryData, a: &RoleAssignment) -> Value {
    let role_name = all_roles(dir)
        .into_iter()
        .find(|r| r.id == a.role_definition_id)
        .map(|r| r.name);
    let principal_name = dir
        .identities
        .iter()
        .find(|m| m.principal_id == a.principal_id)
        .map(|m| m.name.to_string())
        .or_else(|| {
            dir.applications
                .iter()
                .find(|x| x.principal_id == a.principal_id)
                .map(|x| x.display_name.clone())
        });
    let scope = a.scope.as_str();
    let prefix = if scope == "/" { "" } else { scope };
    json!({
        "id": format!("{prefix}/providers/Microsoft.Authorization/roleAssignments/{}", a.id),
        "name": a.id.to_string(),
        "principalId": a.principal_id.to_string(),
        "principalName": principal_name,
        "principalType": "ServicePrincipal",
        "roleDefinitionId": role_definition_id(&a.scope, a.role_definition_id),
        "roleDefinitionName": role_name,
        "scope": scope,
        "type": "Microsoft.Authorization/roleAssignments",
    })
}

async fn list(data: &DataDir, args: RoleAssignmentListArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let principal = args
        .assignee
        .as_deref()
        .map(|a| find_principal(&dir, a))
        .transpose()?;
    let role = args
        .role
        .as_deref()
        .map(|r| find_role(&dir, r))
        .transpose()?;
    let scope = resolve_scope(
        &dir,
        args.scope.as_deref(),
        args.vault.as_deref(),
        args.secret.as_deref(),
    )?;
    let rows: Vec<Value> = dir
        .role_assignments
        .iter()
        .filter(|a| principal.is_none_or(|p| a.principal_id == p))
        .filter(|a| role.as_ref().is_none_or(|r| a.role_definition_id == r.id))
        .filter(|a| match &scope {
            None => true,
            // az: at the scope and above it (inherited), or below it with --include-descendants?
            // wif lists what applies at the scope: the scope itself and its ancestors.
            Some(s) => s.is_within(&a.scope) || (args.include_descendants && a.scope.is_within(s)),
        })
        .map(|a| assignment_json(&dir, a))
        .collect();
    print!("{}", render(&json!(rows), &args.output)?);
    Ok(())
}

async fn create(data: &DataDir, args: RoleAssignmentCreateArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let principal = find_principal(&dir, &args.assignee)?;
    let role = find_role(&dir, &args.role)?;
    let scope = resolve_scope(
        &dir,
        args.scope.as_deref(),
        args.vault.as_deref(),
        args.secret.as_deref(),
    )?
    .ok_or_else(|| {
        CliError::msg("give the scope: --scope <ARM scope>, or --vault NAME [--secret NAME]")
    })?;
    if !role.assignable_scopes.iter().any(|s| scope.is_within(s)) {
        return Err(CliError::msg(format!(
            "role '{}' cannot be assigned at '{scope}'; its assignable scopes are {}",
            role.name,
            role.assignable_scopes
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let assignment = RoleAssignment {
        id: match args.name {
            Some(n) => Uuid::parse_str(&n)
                .map_err(|_| CliError::msg(format!("--name '{n}' is not a GUID")))?,
            None => new_uuid(&OsRandom),
        },
        principal_id: principal,
        role_definition_id: role.id,
        scope,
        meta: Default::default(),
    };
    store
        .apply(&[Write::PutRoleAssignment(assignment.clone())])
        .await?;
    let mut after = dir;
    after.role_assignments.push(assignment.clone());
    print!(
        "{}",
        render(&assignment_json(&after, &assignment), &args.output)?
    );
    Ok(())
}

async fn delete(data: &DataDir, args: RoleAssignmentDeleteArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let ids: Vec<Uuid> = if let Some(ids) = &args.ids {
        ids.iter()
            .map(|id| {
                id.rsplit('/')
                    .next()
                    .and_then(|g| Uuid::parse_str(g).ok())
                    .ok_or_else(|| {
                        CliError::msg(format!("'{id}' is not a role assignment id or GUID"))
                    })
            })
            .collect::<CliResult<_>>()?
    } else {
        let principal = args
            .assignee
            .as_deref()
            .map(|a| find_principal(&dir, a))
            .transpose()?;
        let role = args
            .role
            .as_deref()
            .map(|r| find_role(&dir, r))
            .transpose()?;
        let scope = resolve_scope(
            &dir,
            args.scope.as_deref(),
            args.vault.as_deref(),
            args.secret.as_deref(),
        )?;
        if principal.is_none() && role.is_none() && scope.is_none() {
            return Err(CliError::msg(
                "say which assignments to delete: --ids, or any of --assignee, --role, --scope/--vault",
            ));
        }
        dir.role_assignments
            .iter()
            .filter(|a| principal.is_none_or(|p| a.principal_id == p))
            .filter(|a| role.as_ref().is_none_or(|r| a.role_definition_id == r.id))
            .filter(|a| scope.as_ref().is_none_or(|s| a.scope.key() == s.key()))
            .map(|a| a.id)
            .collect()
    };
    if ids.is_empty() {
        return Err(CliError::msg("no role assignment matches"));
    }
    let writes: Vec<Write> = ids
        .iter()
        .map(|id| Write::DeleteRoleAssignment(*id))
        .collect();
    store.apply(&writes).await?;
    eprintln!("deleted {} role assignment(s)", ids.len());
    Ok(())
}

/// az's role definition JSON; keys are matched case-insensitively, as az does.
fn parse_definition(text: &str, existing: &DirectoryData) -> CliResult<RoleDefinition> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| CliError::msg(format!("--role-definition is not valid JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(CliError::msg("--role-definition must be a JSON object"));
    };
    let get = |key: &str| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    };
    let list = |key: &str| -> CliResult<Vec<String>> {
        match get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| CliError::msg(format!("'{key}' must be a list of strings")))
                })
                .collect(),
            Some(_) => Err(CliError::msg(format!("'{key}' must be a list of strings"))),
        }
    };
    let name = get("Name")
        .or_else(|| get("roleName"))
        .and_then(Value::as_str)
        .ok_or_else(|| CliError::msg("the role definition needs a 'Name'"))?
        .to_owned();
    let scopes = list("AssignableScopes")?
        .iter()
        .map(|s| {
            Scope::parse(s).map_err(|e| CliError::msg(format!("invalid assignable scope: {e}")))
        })
        .collect::<CliResult<Vec<_>>>()?;
    // Updating a custom role keeps its id; `Id` may name it explicitly.
    let id = match get("Id").and_then(Value::as_str) {
        Some(id) => id
            .rsplit('/')
            .next()
            .and_then(|g| Uuid::parse_str(g).ok())
            .ok_or_else(|| CliError::msg(format!("'Id' {id} is not a role definition GUID")))?,
        None => existing
            .role_definitions
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(&name))
            .map_or_else(|| new_uuid(&OsRandom), |r| r.id),
    };
    let role = RoleDefinition {
        id,
        name,
        description: get("Description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        is_custom: true,
        permissions: vec![Permission {
            actions: list("Actions")?,
            not_actions: list("NotActions")?,
            data_actions: list("DataActions")?,
            not_data_actions: list("NotDataActions")?,
        }],
        assignable_scopes: scopes,
    };
    validate_custom_role(&role)
        .map_err(|e| CliError::msg(format!("invalid role definition: {e}")))?;
    Ok(role)
}

async fn create_definition(data: &DataDir, args: RoleDefinitionCreateArgs) -> CliResult {
    let text = match args.role_definition.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::msg(format!("cannot read {path}: {e}")))?,
        None => args.role_definition.clone(),
    };
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let role = parse_definition(&text, &dir)?;
    store
        .apply(&[Write::PutRoleDefinition(role.clone())])
        .await?;
    print!("{}", render(&definition_json(&role), &args.output)?);
    Ok(())
}

fn definition_json(r: &RoleDefinition) -> Value {
    json!({
        "id": format!("/providers/Microsoft.Authorization/roleDefinitions/{}", r.id),
        "name": r.id.to_string(),
        "roleName": r.name,
        "description": r.description,
        "roleType": if r.is_custom { "CustomRole" } else { "BuiltInRole" },
        "permissions": r.permissions.iter().map(|p| json!({
            "actions": p.actions,
            "notActions": p.not_actions,
            "dataActions": p.data_actions,
            "notDataActions": p.not_data_actions,
        })).collect::<Vec<_>>(),
        "assignableScopes": r.assignable_scopes.iter().map(|s| s.as_str().to_owned()).collect::<Vec<_>>(),
        "type": "Microsoft.Authorization/roleDefinitions",
    })
}

async fn definitions(data: &DataDir, args: RoleDefinitionListArgs) -> CliResult {
    let (store, _) = open_store(data).await?;
    let dir = store.load_directory().await?;
    let rows: Vec<Value> = all_roles(&dir)
        .iter()
        .filter(|r| {
            args.name
                .as_deref()
                .is_none_or(|n| r.name.eq_ignore_ascii_case(n))
        })
        .filter(|r| !args.custom_role_only || r.is_custom)
        .map(definition_json)
        .collect();
    print!("{}", render(&json!(rows), &args.output)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_definition_id_follows_the_assignment_scope() {
        let s =
            Scope::parse("/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg")
                .unwrap();
        let id = role_definition_id(&s, wif_core::rbac::builtin::READER);
        assert_eq!(
            id,
            "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
        );
        assert!(role_definition_id(&Scope::root(), Uuid::nil()).starts_with("/providers/"));
    }

    #[test]
    fn roles_are_found_by_name_guid_or_id() {
        let dir = DirectoryData::default();
        for text in [
            "key vault secrets user",
            "4633458b-17de-408a-b874-0445c86b69e6",
            "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
        ] {
            assert_eq!(
                find_role(&dir, text).unwrap().name,
                "Key Vault Secrets User"
            );
        }
        assert!(
            find_role(&dir, "Wizard")
                .unwrap_err()
                .to_string()
                .contains("does not exist")
        );
    }
}
