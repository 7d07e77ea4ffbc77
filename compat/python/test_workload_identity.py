"""The real azure-identity 1.27.0 against wif, the way a pod mutated by the workload identity webhook uses it.

Each case mints a projected service-account token with `wif token`, then lets the SDK exchange it at wif's
token endpoint with nothing but the webhook's environment variables. Success cases check the access token
as Key Vault would: RS256 signature against the tenant's published keys, then the v1.0 claims.
Failure cases check that the SDK surfaces Entra's error unchanged: the AADSTS code, the OAuth `error` value
and the HTTP status from sdk-wire.md §6.4 and §7.1.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

import jwt

if TYPE_CHECKING:
    from conftest import ClientResult, Wif

VAULT = "https://vault.azure.net"
VAULT_SCOPE = f"{VAULT}/.default"
ENTRA_ERROR = "azure.core.exceptions.ClientAuthenticationError"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


def _verify_vault_token(wif: Wif, result: ClientResult) -> dict:
    """Verify the access token against the tenant's JWKS and check the app-only v1.0 claims."""
    identity = wif.identity("id-workload")
    token = result.token

    header = jwt.get_unverified_header(token)
    assert header.get("alg") == "RS256", header
    assert header.get("kid"), f"access token header has no kid: {header}"

    jwks = wif.get_json(f"{wif.authority}/{identity['tenant_id']}/discovery/v2.0/keys")
    keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(jwks).keys}
    assert header["kid"] in keys, f"kid {header['kid']!r} is not among the tenant's keys {sorted(keys)}"

    claims = jwt.decode(
        token,
        key=keys[header["kid"]],
        algorithms=["RS256"],
        audience=VAULT,
        options={"require": ["exp", "iat", "nbf", "iss", "aud"]},
        leeway=60,
    )
    assert claims["aud"] == VAULT
    assert claims["tid"] == identity["tenant_id"]
    assert claims["oid"] == identity["principal_id"]
    assert claims["appid"] == identity["client_id"]
    assert claims["ver"] == "1.0"

    now = time.time()
    assert result.expires_on > now, f"expires_on {result.expires_on} is not in the future (now {now:.0f})"
    assert claims["exp"] > now
    return claims


def _assert_entra_error(result: ClientResult, code: int, error: str, status: int) -> None:
    """The SDK raised ClientAuthenticationError carrying Entra's error unchanged."""
    assert not result.ok, f"expected AADSTS{code}, the SDK got a token"
    assert result.error_type == ENTRA_ERROR, f"{result.error_type}: {result.message}"
    # azure-identity formats it as: Microsoft Entra ID error '(<error>) <error_description>'.
    # The description must begin "AADSTS<code>: "; the colon keeps 700213 from matching 7002138.
    pattern = rf"\({re.escape(error)}\) AADSTS{code}: "
    assert re.search(pattern, result.message), f"expected {pattern!r} in: {result.message}"
    assert result.status_code == status, f"expected HTTP {status}, got {result.status_code}: {result.message}"


def test_workload_identity_credential_gets_vault_token(wif: Wif) -> None:
    token_file = wif.mint_token()
    result = wif.get_token("workload", wif.sdk_env(token_file), VAULT_SCOPE)
    _verify_vault_token(wif, result)


def test_default_azure_credential_gets_vault_token(wif: Wif) -> None:
    # No AZURE_TOKEN_CREDENTIALS: the webhook's variables alone make DefaultAzureCredential pick
    # WorkloadIdentityCredential (EnvironmentCredential is not configured, so it is skipped).
    token_file = wif.mint_token()
    result = wif.get_token("default", wif.sdk_env(token_file), VAULT_SCOPE)
    _verify_vault_token(wif, result)


def test_wrong_subject_is_aadsts700213(wif: Wif) -> None:
    token_file = wif.mint_token(service_account="not-the-workload")
    result = wif.get_token("workload", wif.sdk_env(token_file), VAULT_SCOPE)
    _assert_entra_error(result, 700213, "invalid_client", 401)
    assert "system:serviceaccount:default:not-the-workload" in result.message


def test_wrong_audience_is_aadsts700212(wif: Wif) -> None:
    token_file = wif.mint_token(audience="api://SomethingElse")
    result = wif.get_token("workload", wif.sdk_env(token_file), VAULT_SCOPE)
    _assert_entra_error(result, 700212, "invalid_client", 401)
    assert "api://SomethingElse" in result.message


def test_untrusted_issuer_is_aadsts700211(wif: Wif) -> None:
    token_file = wif.mint_token(cluster="aks-untrusted")
    result = wif.get_token("workload", wif.sdk_env(token_file), VAULT_SCOPE)
    _assert_entra_error(result, 700211, "invalid_client", 401)
    assert wif.cluster("aks-untrusted")["issuer"] in result.message


def test_expired_assertion_is_aadsts700024(wif: Wif) -> None:
    token_file = wif.mint_token(expiration="1h", backdate="2h")
    result = wif.get_token("workload", wif.sdk_env(token_file), VAULT_SCOPE)
    _assert_entra_error(result, 700024, "invalid_client", 401)


def test_unknown_client_is_aadsts700016(wif: Wif) -> None:
    unknown_client = str(uuid.uuid4())
    token_file = wif.mint_token()
    result = wif.get_token("workload", wif.sdk_env(token_file, client_id=unknown_client), VAULT_SCOPE)
    _assert_entra_error(result, 700016, "unauthorized_client", 400)
    assert unknown_client in result.message


def test_unknown_tenant_is_aadsts90002(wif: Wif) -> None:
    unknown_tenant = str(uuid.uuid4())
    token_file = wif.mint_token()
    result = wif.get_token("workload", wif.sdk_env(token_file, tenant_id=unknown_tenant), VAULT_SCOPE)
    _assert_entra_error(result, 90002, "invalid_request", 400)
    assert unknown_tenant in result.message


def test_openid_configuration_and_jwks_served(wif: Wif) -> None:
    authority = wif.authority
    tenant_id = wif.tenant("contoso")["id"]

    # Tenant discovery, as MSAL reads it (sdk-wire.md §4.3, §7.1): every endpoint on the authority's origin.
    doc = wif.get_json(f"{authority}/{tenant_id}/v2.0/.well-known/openid-configuration")
    for name in ("issuer", "token_endpoint", "authorization_endpoint", "jwks_uri"):
        assert name in doc, f"tenant discovery document lacks {name}: {doc}"
        assert _origin(doc[name]) == _origin(authority), f"{name} {doc[name]!r} is not on {authority}"
    assert doc["issuer"] == f"{authority}/{tenant_id}/v2.0"
    assert doc["token_endpoint"] == f"{authority}/{tenant_id}/oauth2/v2.0/token"
    tenant_keys = wif.get_json(doc["jwks_uri"])["keys"]
    assert tenant_keys, "tenant JWKS is empty"
    for key in tenant_keys:
        assert key.get("kty") == "RSA" and key.get("kid") and key.get("n") and key.get("e"), key

    # The cluster's issuer, as Entra fetches it when it validates a federated assertion.
    issuer = wif.cluster("aks-eastus")["issuer"]
    assert issuer.endswith("/"), f"AKS issuers end with '/': {issuer!r}"
    issuer_doc = wif.get_json(f"{issuer}.well-known/openid-configuration")
    assert issuer_doc["issuer"] == issuer
    assert "jwks_uri" in issuer_doc, issuer_doc
    cluster_keys = wif.get_json(issuer_doc["jwks_uri"])["keys"]
    assert cluster_keys, "cluster issuer JWKS is empty"
    for key in cluster_keys:
        assert key.get("kty") == "RSA", key
        assert key.get("kid"), key
        assert key.get("alg") == "RS256", key
        assert key.get("n") and key.get("e"), key

    # And the service-account token wif mints for that cluster verifies against it.
    sa_token = wif.mint_token().read_text()
    sa_header = jwt.get_unverified_header(sa_token)
    signing = {key.key_id: key for key in jwt.PyJWKSet.from_dict({"keys": cluster_keys}).keys}
    assert sa_header.get("kid") in signing, f"SA token kid {sa_header.get('kid')!r} not in {sorted(signing)}"
    sa_claims = jwt.decode(
        sa_token,
        key=signing[sa_header["kid"]],
        algorithms=["RS256"],
        audience="api://AzureADTokenExchange",
        issuer=issuer,
        leeway=60,
    )
    assert sa_claims["sub"] == "system:serviceaccount:default:workload"


def test_instance_discovery_served(wif: Wif) -> None:
    tenant_id = wif.tenant("contoso")["id"]
    query = urlencode(
        {"api-version": "1.1", "authorization_endpoint": f"{wif.authority}/{tenant_id}/oauth2/v2.0/authorize"}
    )
    doc = wif.get_json(f"{wif.authority}/common/discovery/instance?{query}")
    assert "tenant_discovery_endpoint" in doc, doc
    assert _origin(doc["tenant_discovery_endpoint"]) == _origin(wif.authority), doc
    host = urlsplit(wif.authority).netloc
    assert any(host in entry.get("aliases", []) for entry in doc.get("metadata", [])), doc
