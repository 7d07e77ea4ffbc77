//! The seed's snippet in Rust: a workload reads one Key Vault secret with workload identity,
//! configured only by the environment the webhook (or `wif run`) injects.
//!
//! Usage: wif-compat-rust <vault-url> <secret-name>

use azure_identity::WorkloadIdentityCredential;
use azure_security_keyvault_secrets::SecretClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(vault_url), Some(name)) = (args.next(), args.next()) else {
        eprintln!("usage: wif-compat-rust <vault-url> <secret-name>");
        std::process::exit(2);
    };
    let credential = WorkloadIdentityCredential::new(None)?;
    let client = SecretClient::new(&vault_url, credential, None)?;
    let secret = client.get_secret(&name, None).await?.into_model()?;
    println!("Secret value: {}", secret.value.unwrap_or_default());
    Ok(())
}
