"""The seeds' az CLI set-up against wif, with the real az (azure-cli 2.91.0, compat/azcli/.venv).

`az cloud register` reads wif's /metadata/endpoints; `az login --service-principal` works with the bootstrap
administrator's secret and, as the seeds' CI snippet does, with a projected token (`--federated-token`); then
`az account show`, `az identity create`, `az identity federated-credential create`, `az role assignment create
--assignee <client-id>` (through wif's Graph), `az aks show --query oidcIssuerProfile.issuerUrl` and `az keyvault
secret list` all succeed, and a workload whose service account names the new identity reads the secret.

The az binary comes from WIF_AZ (scripts/test.sh builds the venv and sets it); without it the module is skipped,
except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLIENTS, HERE, _tail
from test_keyvault import KeyVaultWif, _ok, _serve
from test_management import fresh_admin

TOPOLOGY = HERE.parent / "azcli" / "topology.yaml"
SUBSCRIPTION = "22222222-2222-4222-8222-222222222222"
AZ_TIMEOUT_S = 240.0


def _az_binary() -> str:
    path = os.environ.get("WIF_AZ", "").strip()
    if not path:
        message = "WIF_AZ is not set (scripts/test.sh installs the az CLI into compat/azcli/.venv and sets it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory):
    yield from _serve(tmp_path_factory, azure_names=False, topology=TOPOLOGY, cluster="aks-cli")


class Az:
    def __init__(self, binary: str, server: KeyVaultWif, config: Path) -> None:
        self.binary, self.server = binary, server
        ca = server.ready["ca_path"]
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(server.home),
            "AZURE_CONFIG_DIR": str(config),
            "AZURE_CORE_COLLECT_TELEMETRY": "false",
            "AZURE_CORE_INSTANCE_DISCOVERY": "false",
            "AZURE_CORE_SURVEY_MESSAGE": "false",
            "AZURE_CORE_NO_COLOR": "true",
            "REQUESTS_CA_BUNDLE": ca,
            "SSL_CERT_FILE": ca,
        }

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [self.binary, *args], env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=AZ_TIMEOUT_S,
        )  # fmt: skip
        if done.returncode != 0:
            shown = ["<secret>" if i and args[i - 1] in ("-p", "--federated-token") else a for i, a in enumerate(args)]
            pytest.fail(
                f"az {' '.join(shown)} exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}\n"
                f"wif:\n{_tail(self.server.stderr_log)}",
                pytrace=False,
            )
        return done.stdout

    def json(self, *args: str):
        return json.loads(self(*args, "-o", "json"))


def test_the_seeds_az_set_up(cli: KeyVaultWif, tmp_path: Path) -> None:
    az = Az(_az_binary(), cli, tmp_path / "azure")
    authority = cli.ready["authority"].rstrip("/")
    tenant = cli.ready["tenants"][0]["id"]

    az("cloud", "register", "-n", "WifLocal", "--endpoint-resource-manager", f"{authority}/")
    az("cloud", "set", "-n", "WifLocal")

    # The bootstrap administrator, with a client secret.
    admin = fresh_admin(cli)
    az("login", "--service-principal", "-u", admin["appId"], "-p", admin["password"], "--tenant", tenant)
    assert az.json("account", "show")["id"] == SUBSCRIPTION

    # The seeds' CI login: a projected service-account token as the client assertion.
    token = cli.wif("token", "--cluster", "aks-cli", "--namespace", "ci", "--service-account", "deployer").stdout
    deployer = next(i for i in cli.ready["identities"] if i["name"] == "id-deployer")
    az("login", "--service-principal", "-u", deployer["client_id"], "--federated-token", token.strip(),
       "--tenant", tenant)  # fmt: skip
    account = az.json("account", "show")
    assert account["id"] == SUBSCRIPTION and account["user"]["name"] == deployer["client_id"], account

    az("group", "create", "-n", "rg-cli", "-l", "eastus")
    identity = az.json("identity", "create", "-g", "rg-cli", "-n", "id-cli")
    assert identity["location"] == "eastus", identity
    issuer = az("aks", "show", "-g", "rg-aks", "-n", "aks-cli", "--query", "oidcIssuerProfile.issuerUrl",
                "-o", "tsv").strip()  # fmt: skip
    assert issuer == next(c["issuer"] for c in cli.ready["clusters"] if c["name"] == "aks-cli")
    fic = az.json("identity", "federated-credential", "create", "-g", "rg-cli", "--identity-name", "id-cli",
                  "-n", "fic-cli", "--issuer", issuer, "--subject", "system:serviceaccount:default:cli-app")  # fmt: skip
    assert fic["subject"] == "system:serviceaccount:default:cli-app", fic
    vault_id = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv-cli"
    assignment = az.json("role", "assignment", "create", "--assignee", identity["clientId"],
                         "--role", "Key Vault Secrets User", "--scope", vault_id)  # fmt: skip
    assert assignment["principalId"] == identity["principalId"], assignment
    assert assignment["principalType"] == "ServicePrincipal", assignment
    # Again: 409 RoleAssignmentExists, which the CLI turns into "already there" (exit 0).
    again = az.json("role", "assignment", "create", "--assignee", identity["clientId"],
                    "--role", "Key Vault Secrets User", "--scope", vault_id)  # fmt: skip
    assert again["id"] == assignment["id"], again

    secrets = az.json("keyvault", "secret", "list", "--vault-name", "kv-cli")
    assert [s["name"] for s in secrets] == ["my-secret"], secrets
    assert az("keyvault", "secret", "show", "--vault-name", "kv-cli", "-n", "my-secret", "--query", "value",
              "-o", "tsv").strip() == "hello from wif"  # fmt: skip

    # The workload the set-up was for.
    cli.wif("service-account", "annotate", "--cluster", "aks-cli", "default/cli-app",
            f"azure.workload.identity/client-id={identity['clientId']}")  # fmt: skip
    vault_url = next(v["url"] for v in cli.ready["vaults"] if v["name"] == "kv-cli")
    _ok(cli.run("cli-app", sys.executable, "-I", str(CLIENTS / "seed_keyvault.py"), vault_url, "my-secret"))
