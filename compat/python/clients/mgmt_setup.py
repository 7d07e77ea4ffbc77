"""The seeds' workload-identity set-up, done with the unmodified Azure management SDKs.

Usage: mgmt_setup.py ARM_URL SUBSCRIPTION RESOURCE_GROUP CLUSTER_RG CLUSTER VAULT_RG VAULT NAMESPACE SA

Credentials come from the environment (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
AZURE_AUTHORITY_HOST) through azure-identity's ClientSecretCredential, as a CI job would use them.
Prints one JSON line: the identity's client id, the issuer, the assignment id.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.models import RoleAssignmentCreateParameters
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.msi.models import FederatedIdentityCredential, Identity
from azure.mgmt.resource.resources import ResourceManagementClient


def main() -> int:
    arm, sub, rg, cluster_rg, cluster, vault_rg, vault, namespace, sa = sys.argv[1:10]
    credential = ClientSecretCredential(
        os.environ["AZURE_TENANT_ID"],
        os.environ["AZURE_CLIENT_ID"],
        os.environ["AZURE_CLIENT_SECRET"],
        authority=os.environ["AZURE_AUTHORITY_HOST"],
        # MSAL asks login.microsoftonline.com to vouch for any authority it does not know; the
        # documented switch for private clouds and Azure Stack turns that off.
        disable_instance_discovery=True,
    )
    kwargs = {"base_url": arm}
    resources = ResourceManagementClient(credential, sub, **kwargs)
    msi = ManagedServiceIdentityClient(credential, sub, **kwargs)
    auth = AuthorizationManagementClient(credential, sub, **kwargs)
    aks = ContainerServiceClient(credential, sub, **kwargs)

    resources.resource_groups.create_or_update(rg, {"location": "eastus"})
    identity = msi.user_assigned_identities.create_or_update(rg, "id-sdk", Identity(location="eastus"))

    # az aks show --query oidcIssuerProfile.issuerUrl
    issuer = aks.managed_clusters.get(cluster_rg, cluster).oidc_issuer_profile.issuer_url

    msi.federated_identity_credentials.create_or_update(
        rg,
        "id-sdk",
        "fic-sdk",
        FederatedIdentityCredential(
            issuer=issuer,
            subject=f"system:serviceaccount:{namespace}:{sa}",
            audiences=["api://AzureADTokenExchange"],
        ),
    )
    listed = [f.name for f in msi.federated_identity_credentials.list(rg, "id-sdk")]

    vault_id = f"/subscriptions/{sub}/resourceGroups/{vault_rg}/providers/Microsoft.KeyVault/vaults/{vault}"
    role = next(iter(auth.role_definitions.list(vault_id, filter="roleName eq 'Key Vault Secrets User'")))
    assignment = auth.role_assignments.create(
        vault_id,
        str(uuid.uuid4()),
        RoleAssignmentCreateParameters(
            role_definition_id=role.id,
            principal_id=identity.principal_id,
            principal_type="ServicePrincipal",
        ),
    )
    print(
        json.dumps(
            {
                "client_id": identity.client_id,
                "principal_id": identity.principal_id,
                "issuer": issuer,
                "credentials": listed,
                "role_definition_id": role.id,
                "assignment": assignment.id,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
