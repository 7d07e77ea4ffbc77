// A Key Vault read with @azure/identity's ManagedIdentityCredential (IMDS, or App Service when
// IDENTITY_ENDPOINT and IDENTITY_HEADER are set). Usage: node mi_keyvault.mjs VAULT_URL SECRET [CLIENT_ID]
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

const [url, name, clientId] = process.argv.slice(2);
const credential = clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential();
try {
  const secret = await new SecretClient(url, credential).getSecret(name);
  console.log(`Secret value: ${secret.value}`);
} catch (err) {
  console.error(`${err.name}: ${err.message}`);
  process.exit(1);
}
