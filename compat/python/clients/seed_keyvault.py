# The seed's snippet (AKS Workload Identity guide, "Accessing Azure Key Vault"), unmodified but for
# where the vault URL comes from: the first argument (default: the Azure name), and which secret
# (second argument, default the seed's). It runs under `wif run`, which provides what the webhook
# injects.
import sys

from azure.identity import DefaultAzureCredential
from azure.keyvault.secrets import SecretClient

vault_url = sys.argv[1] if len(sys.argv) > 1 else "https://kv-demo.vault.azure.net/"
name = sys.argv[2] if len(sys.argv) > 2 else "my-secret"

# Automatically authenticate using Workload Identity
credential = DefaultAzureCredential()
client = SecretClient(vault_url=vault_url, credential=credential)

# Get secret
secret = client.get_secret(name)
print(f"Secret value: {secret.value}")
