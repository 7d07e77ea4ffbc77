// The seed's snippet (src/services/secretsClient.ts of the multi-region AKS guide), unmodified but
// for where the vault URL comes from (first argument, default the Azure name) and printing the value.
import { SecretClient } from "@azure/keyvault-secrets";
import { DefaultAzureCredential } from "@azure/identity";
// DefaultAzureCredential automatically uses Workload Identity in AKS
const credential = new DefaultAzureCredential();
const client = new SecretClient(
  process.argv[2] ?? "https://kv-demo.vault.azure.net/",
  credential
);
const secret = await client.getSecret(process.argv[3] ?? "my-secret");
console.log(`Secret value: ${secret.value}`);
