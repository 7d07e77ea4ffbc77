"""azure-identity's CertificateCredential against wif: a client certificate assertion for ARM.

Usage: cert_token.py TENANT APP_ID PEM_PATH   (AZURE_AUTHORITY_HOST and REQUESTS_CA_BUNDLE from the environment)
Prints one JSON line with the token's claims.
"""

from __future__ import annotations

import json
import os
import sys

import jwt
from azure.identity import CertificateCredential


def main() -> int:
    tenant, app_id, pem = sys.argv[1:4]
    credential = CertificateCredential(
        tenant, app_id, certificate_path=pem, authority=os.environ["AZURE_AUTHORITY_HOST"],
        disable_instance_discovery=True,
    )  # fmt: skip
    token = credential.get_token("https://management.azure.com/.default").token
    print(json.dumps(jwt.decode(token, options={"verify_signature": False})))
    return 0


if __name__ == "__main__":
    sys.exit(main())
