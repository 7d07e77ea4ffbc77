"""How the management SDKs see wif's ARM errors: each case prints its exception type and code.

Usage: mgmt_errors.py ARM_URL SUBSCRIPTION (credentials as in mgmt_setup.py)
"""

from __future__ import annotations

import json
import os
import sys
import uuid

from azure.core.exceptions import HttpResponseError
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import Identity
from azure.mgmt.resource.resources import ResourceManagementClient


def outcome(call) -> dict:
    try:
        call()
    except HttpResponseError as e:
        return {"type": type(e).__name__, "status": e.status_code, "code": e.error.code if e.error else None}
    return {"type": "ok"}


def main() -> int:
    arm, sub = sys.argv[1:3]
    credential = ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"],
        os.environ["AZURE_CLIENT_ID"],
        os.environ["AZURE_CLIENT_SECRET"],
        authority=os.environ["AZURE_AUTHORITY_HOST"],
        # MSAL asks login.microsoftonline.com to vouch for any authority it does not know; the
        # documented switch for private clouds and Azure Stack turns that off.
        disable_instance_discovery=True,
    )
    msi = ManagedServiceIdentityClient(credential, sub, base_url=arm)
    auth = AuthorizationManagementClient(credential, sub, base_url=arm)
    resources = ResourceManagementClient(credential, sub, base_url=arm)
    scope = f"/subscriptions/{sub}/resourceGroups/rg-errors"
    resources.resource_groups.create_or_update("rg-errors", {"location": "eastus"})
    reader = next(iter(auth.role_definitions.list(scope, filter="roleName eq 'Reader'")))
    me = msi.user_assigned_identities.create_or_update("rg-errors", "id-errors", Identity(location="eastus"))
    params = RoleAssignmentCreateParameters(
        role_definition_id=reader.id, principal_id=me.principal_id, principal_type="ServicePrincipal"
    )
    auth.role_assignments.create(scope, str(uuid.uuid4()), params)
    cases = {
        "missing_identity": lambda: msi.user_assigned_identities.get("rg-errors", "nope"),
        "missing_group": lambda: msi.user_assigned_identities.get("rg-nope", "nope"),
        "duplicate_assignment": lambda: auth.role_assignments.create(scope, str(uuid.uuid4()), params),
        # The model's principal_type defaults to User; ARM refuses a wrong type, as Azure does.
        "wrong_principal_type": lambda: auth.role_assignments.create(
            scope, str(uuid.uuid4()), RoleAssignmentCreateParameters(role_definition_id=reader.id, principal_id=me.principal_id)
        ),
        "group_delete": lambda: resources.resource_groups.begin_delete("rg-errors").result(),
        "deleted_group": lambda: resources.resource_groups.get("rg-errors"),
    }
    print(json.dumps({name: outcome(call) for name, call in cases.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
