"""The seeds' set-up done through the unmodified Azure management SDKs against wif's ARM API.

azure-mgmt-resource, azure-mgmt-msi, azure-mgmt-containerservice and azure-mgmt-authorization, with a
ClientSecretCredential for the bootstrap administrator `wif up` creates, create a resource group and an
identity, read the cluster's OIDC issuer URL, add the federated credential and assign "Key Vault Secrets
User" on the vault. A workload under `wif run`, whose service account is then annotated with the new
client id (what `kubectl annotate` does on AKS), reads the secret with the seeds' unmodified snippet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

from conftest import CLIENTS
from test_keyvault import KeyVaultWif, _ok, _serve

SUBSCRIPTION = "11111111-1111-4111-8111-111111111111"
SCRIPT_TIMEOUT_S = 120.0
LOGIN_WAIT_S = 10.0


@pytest.fixture(scope="module")
def mgmt(tmp_path_factory: pytest.TempPathFactory):
    """A local-names server with the Key Vault topology (its hosts block applied for the module)."""
    yield from _serve(tmp_path_factory, azure_names=False)


def fresh_admin(server: KeyVaultWif) -> dict[str, str]:
    """`wif app credential reset --id wif-admin`, once the running server accepts the new secret."""
    done = server.wif("app", "credential", "reset", "--id", "wif-admin", "-o", "json")
    login = json.loads(done.stdout)
    authority = server.ready["authority"].rstrip("/")
    # The CLI wrote the secret to the store; the server sees it at its next snapshot (about 1 s).
    deadline = time.monotonic() + LOGIN_WAIT_S
    while True:
        r = requests.post(
            f"{authority}/{login['tenant']}/oauth2/v2.0/token",
            data={"grant_type": "client_credentials", "client_id": login["appId"],
                  "client_secret": login["password"], "scope": "https://management.azure.com/.default"},
            verify=server.ready["ca_path"], timeout=10,
        )  # fmt: skip
        if r.status_code == 200:
            break
        assert time.monotonic() < deadline, f"the new admin secret never worked: {r.text}"
        time.sleep(0.2)
    return login


def _admin_env(server: KeyVaultWif) -> dict[str, str]:
    """A fresh secret for the bootstrap administrator, and the environment a CI job would have."""
    login = fresh_admin(server)
    authority = server.ready["authority"].rstrip("/")
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(server.home),
        "AZURE_TENANT_ID": login["tenant"],
        "AZURE_CLIENT_ID": login["appId"],
        "AZURE_CLIENT_SECRET": login["password"],
        "AZURE_AUTHORITY_HOST": authority,
        "REQUESTS_CA_BUNDLE": server.ready["ca_path"],
    }


def _script(server: KeyVaultWif, name: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-I", str(CLIENTS / name), *args],
        env=_admin_env(server), stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S,
    )  # fmt: skip
    assert done.returncode == 0, f"{name} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_seed_set_up_through_the_management_sdks(mgmt: KeyVaultWif) -> None:
    arm = mgmt.ready["authority"].rstrip("/") + "/"
    out = _script(mgmt, "mgmt_setup.py", arm, SUBSCRIPTION, "rg-sdk", "rg-aks", "aks-kv", "rg-kv", "kv-demo",
                  "default", "sdk-app")  # fmt: skip
    cluster = next(c for c in mgmt.ready["clusters"] if c["name"] == "aks-kv")
    assert out["issuer"] == cluster["issuer"], out
    assert out["credentials"] == ["fic-sdk"], out
    assert out["role_definition_id"] == (
        f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
        "4633458b-17de-408a-b874-0445c86b69e6"
    ), out

    mgmt.wif("service-account", "annotate", "--cluster", "aks-kv", "default/sdk-app",
             f"azure.workload.identity/client-id={out['client_id']}")  # fmt: skip
    _ok(mgmt.python_seed("sdk-app", url=mgmt.local_vault))


def test_arm_errors_map_to_the_sdk_exceptions(mgmt: KeyVaultWif) -> None:
    out = _script(mgmt, "mgmt_errors.py", mgmt.ready["authority"].rstrip("/") + "/", SUBSCRIPTION)
    assert out["missing_identity"] == {"type": "ResourceNotFoundError", "status": 404, "code": "ResourceNotFound"}, out
    assert out["missing_group"] == {"type": "ResourceNotFoundError", "status": 404, "code": "ResourceGroupNotFound"}
    assert out["duplicate_assignment"] == {"type": "ResourceExistsError", "status": 409, "code": "RoleAssignmentExists"}
    assert out["wrong_principal_type"] == {"type": "HttpResponseError", "status": 400, "code": "UnmatchedPrincipalType"}
    assert out["group_delete"] == {"type": "ok"}, "the long-running delete completes through the SDK's poller"
    assert out["deleted_group"]["code"] == "ResourceGroupNotFound", out


def test_certificate_credential_signs_in(mgmt: KeyVaultWif) -> None:
    """`wif app credential reset --create-cert` (like `az ad sp credential reset --create-cert`), then
    azure-identity's CertificateCredential signs a client assertion with it."""
    created = json.loads(mgmt.wif("app", "create", "--display-name", "cert-ci", "-o", "json").stdout)
    pem = mgmt.home / "cert-ci.pem"
    mgmt.wif("app", "credential", "reset", "--id", created["appId"], "--create-cert", "--cert-file", str(pem))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(mgmt.home),
        "AZURE_AUTHORITY_HOST": mgmt.ready["authority"].rstrip("/"),
        "REQUESTS_CA_BUNDLE": mgmt.ready["ca_path"],
    }
    argv = [sys.executable, "-I", str(CLIENTS / "cert_token.py"), created["tenant"], created["appId"], str(pem)]
    deadline = time.monotonic() + LOGIN_WAIT_S
    while True:  # the server sees the new certificate at its next snapshot
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=SCRIPT_TIMEOUT_S)
        if done.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    claims = json.loads(done.stdout.strip().splitlines()[-1])
    assert claims["appid"] == created["appId"] and claims["appidacr"] == "2", claims
    assert claims["aud"] == "https://management.azure.com", claims
