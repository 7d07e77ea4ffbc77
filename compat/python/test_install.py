"""Every manifest `wif install` prints validates against current Kubernetes schemas (kubernetes-validate, strict:
unknown fields are errors), for the oldest and the newest version kube-rs supports, and says what it must.

cert-manager's Issuer and Certificate are custom resources with no schema in kubernetes-validate; their fields
are checked here directly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import HERE, _wif_binary

VERSIONS = ("1.33.0", "1.37.0")
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
VARIANTS = {
    "webhook-cert-manager": ["install", "webhook", "--tenant-id", TENANT],
    "webhook-self-signed": ["install", "webhook", "--tenant-id", TENANT, "--certs", "self-signed",
                            "--failure-policy", "Ignore", "--namespace", "identity"],
    "webhook-no-label-check": ["install", "webhook", "--tenant-id", TENANT, "--no-label-check",
                               "--authority-host", "https://wif.example.com/", "--replicas", "3"],
    "server": ["install", "server", "--host", "wif.example.com"],
    "server-topology": ["install", "server", "--host", "wif.example.com", "-f",
                        str(HERE.parent / "keyvault" / "topology.yaml"), "--storage-class", "managed-csi"],
}  # fmt: skip
CUSTOM_KINDS = {"Issuer", "Certificate"}


def _validator() -> str:
    return str(Path(sys.executable).parent / "kubernetes-validate")


def _print(args: list[str]) -> str:
    done = subprocess.run([_wif_binary(), *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("version", VERSIONS)
def test_manifests_validate_strictly(variant: str, version: str, tmp_path: Path) -> None:
    text = _print(VARIANTS[variant])
    docs = [d for d in yaml.safe_load_all(text) if d]
    path = tmp_path / f"{variant}.yaml"
    path.write_text(text)
    done = subprocess.run([_validator(), "--strict", "-k", version, str(path)],
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    passed = report.count(" passed for resource ")
    assert passed == len([d for d in docs if d["kind"] not in CUSTOM_KINDS]), report


def test_the_validator_rejects_a_broken_manifest(tmp_path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(_print(VARIANTS["webhook-self-signed"])) if d]
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = []
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(deployment))
    done = subprocess.run([_validator(), "--strict", str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, done.stdout


def test_the_webhook_registration_keeps_unlabelled_pods_out() -> None:
    docs = {d["kind"]: d for d in yaml.safe_load_all(_print(VARIANTS["webhook-cert-manager"])) if d}
    hook = docs["MutatingWebhookConfiguration"]["webhooks"][0]
    assert hook["objectSelector"] == {"matchLabels": {"azure.workload.identity/use": "true"}}
    assert hook["reinvocationPolicy"] == "IfNeeded" and hook["failurePolicy"] == "Fail"
    assert hook["rules"][0]["operations"] == ["CREATE"] and hook["rules"][0]["resources"] == ["pods"]
    check = docs["ValidatingWebhookConfiguration"]["webhooks"][0]
    assert check["failurePolicy"] == "Ignore" and check["timeoutSeconds"] == 2
    assert check["clientConfig"]["service"]["path"] == "/warn-v1-pod"
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    sc = pod["containers"][0]["securityContext"]
    assert sc["runAsNonRoot"] and sc["readOnlyRootFilesystem"] and sc["capabilities"]["drop"] == ["ALL"]
    assert docs["PodDisruptionBudget"]["spec"]["minAvailable"] == 1
    assert docs["ClusterRole"]["rules"] == [{"apiGroups": [""], "resources": ["serviceaccounts"],
                                             "verbs": ["get", "list", "watch"]}]  # fmt: skip
    cert = docs["Certificate"]["spec"]
    assert cert["dnsNames"] == ["wif-webhook.wif-system.svc", "wif-webhook.wif-system.svc.cluster.local"]
    assert cert["issuerRef"] == {"name": "wif-webhook-selfsigned", "kind": "Issuer"}
    assert docs["Issuer"]["spec"] == {"selfSigned": {}}
    annotation = docs["MutatingWebhookConfiguration"]["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]
    assert annotation == "wif-system/wif-webhook-cert"


def test_bad_flags_are_refused() -> None:
    done = subprocess.run([_wif_binary(), "install", "webhook", "--tenant-id", TENANT, "--failure-policy", "Never"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode != 0 and "Fail or Ignore" in done.stderr, done.stderr
