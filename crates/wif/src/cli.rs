//! Command-line definitions (clap). Every command has an example in its help.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::OutputArgs;

/// wif: Workload Identity Federation, wire-compatible with Microsoft Entra Workload ID.
///
/// Start everything locally with `wif up`, then point unmodified Azure SDKs at it with
/// `eval "$(wif env)"`.
#[derive(Debug, Parser)]
#[command(name = "wif", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The data directory (store, keys, CA).
    #[arg(long, global = true, env = "WIF_DATA_DIR", default_value = ".wif")]
    pub data_dir: PathBuf,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the issuers and the token service on the embedded store.
    ///
    /// Example: wif up -f topology.yaml
    Up(UpArgs),
    /// Mint a projected service-account token signed by a cluster's issuer.
    ///
    /// Example: wif token --cluster aks-eastus --namespace default --service-account workload --out /tmp/token
    Token(TokenArgs),
    /// Manage signing keys.
    ///
    /// Example: wif keys rotate --cluster aks-eastus
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Query the sign-in log.
    ///
    /// Example: wif signins list --failed --since 10m -o table
    #[command(subcommand)]
    Signins(SigninsCommand),
    /// The local certificate authority.
    ///
    /// Example: wif ca path
    #[command(subcommand)]
    Ca(CaCommand),
    /// Print the environment variables the Azure SDKs need to use this wif.
    ///
    /// Example: eval "$(wif env)"
    Env(EnvArgs),
    /// Azure RBAC: role assignments and role definitions.
    ///
    /// Example: wif role assignment create --assignee id-workload --role "Key Vault Secrets User" --vault kv-demo
    #[command(subcommand)]
    Role(RoleCommand),
    /// App registrations (confidential clients with client secrets), like `az ad sp`.
    ///
    /// Example: wif app create --display-name ci --role Contributor --scopes /subscriptions/<id>
    #[command(subcommand)]
    App(AppCommand),
    /// Resource groups, like `az group`.
    ///
    /// Example: wif group create -n rg-app -l eastus
    #[command(subcommand)]
    Group(GroupCommand),
    /// User-assigned managed identities and their federated credentials, like `az identity`.
    ///
    /// Example: wif identity federated-credential create -g rg-app --identity-name id-app -n fic-app --issuer <url> --subject system:serviceaccount:default:app
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Clusters (their OIDC issuer and workload identity switches), like `az aks`.
    ///
    /// Example: wif cluster show -g rg-aks -n aks-demo --query oidcIssuerProfile.issuerUrl -o tsv
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Apply a topology file to the running server's directory: shows the plan (+ create,
    /// ~ update, - delete), asks, and applies it in one transaction.
    ///
    /// Example: wif apply -f topology.yaml --prune --yes
    Apply(ApplyArgs),
    /// The workload identity webhook's mutation, offline, over manifests (for GitOps review and CI).
    ///
    /// Example: wif inject -f deploy.yaml --tenant-id <tenant> > deploy.injected.yaml
    Inject(InjectArgs),
    /// The pod-mutating admission webhook, a drop-in for azure-workload-identity's: HTTPS
    /// AdmissionReview on /mutate-v1-pod (and /warn-v1-pod), health and Prometheus metrics.
    ///
    /// Example: AZURE_TENANT_ID=<tenant> wif webhook --webhook-cert-dir /certs
    Webhook(WebhookArgs),
    /// The IMDS proxy: answers ManagedIdentityCredential's IMDS (and App Service) token
    /// requests by exchanging the pod's projected token; upstream's azwi-proxy sidecar.
    ///
    /// Example: wif run --cluster aks-demo --service-account default/app -- wif proxy --proxy-port 8000
    Proxy(ProxyArgs),
    /// Print the Kubernetes manifests for running wif in a cluster (pipe to kubectl apply -f -).
    ///
    /// Example: wif install webhook --tenant-id <tenant> | kubectl apply -f -
    #[command(subcommand)]
    Install(InstallCommand),
    /// Kubernetes service accounts of wif's clusters (what kubectl annotate does on AKS).
    ///
    /// Example: wif service-account annotate --cluster aks-eastus default/app azure.workload.identity/client-id=<client id>
    #[command(subcommand)]
    ServiceAccount(ServiceAccountCommand),
    /// Key Vault secrets and the Key Vault audit log.
    ///
    /// Example: wif keyvault secret show --vault-name kv-demo --name my-secret
    #[command(subcommand)]
    Keyvault(KeyvaultCommand),
    /// Print, apply (--apply) or remove (--remove) the hosts-file entries for every name wif
    /// serves: `<vault>.vault.localhost`, and with Azure names login.microsoftonline.com and
    /// `<vault>.vault.azure.net`.
    ///
    /// Example: sudo wif hosts --apply
    Hosts(HostsArgs),
    /// Run a command as if it were a pod with workload identity: the projected token file
    /// (refreshed like kubelet does), the webhook's variables and CA trust.
    ///
    /// Example: wif run --cluster aks-demo --service-account default/workload -- python app.py
    Run(RunArgs),
}

/// `wif up`
#[derive(Debug, Args)]
pub struct UpArgs {
    /// A topology file declaring tenants, regions, clusters, identities and credentials.
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Host name clients use; it goes into every URL and issuer wif creates.
    #[arg(long, default_value = "localhost")]
    pub host: String,
    /// More names for the TLS certificate.
    #[arg(long = "extra-host")]
    pub extra_hosts: Vec<String>,
    /// Write the server summary (JSON) to this file once ready.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// Lifetime of issued access tokens.
    #[arg(long, default_value = "24h")]
    pub token_lifetime: String,
    /// Extra CA certificates (PEM) to trust when fetching the keys of external issuers.
    #[arg(long = "trust-ca")]
    pub trust_ca: Vec<PathBuf>,
    /// Also answer as login.microsoftonline.com and <vault>.vault.azure.net on --azure-listen
    /// (port 443), so code written for Azure runs unchanged (apply `wif hosts --apply` too).
    #[arg(long)]
    pub azure_names: bool,
    /// Where to serve the Azure names.
    #[arg(long, default_value = "127.0.0.1:443", requires = "azure_names")]
    pub azure_listen: SocketAddr,
}

/// `wif token`
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Cluster name.
    #[arg(long)]
    pub cluster: String,
    /// Namespace of the service account.
    #[arg(long, short = 'n')]
    pub namespace: String,
    /// Service account name.
    #[arg(long)]
    pub service_account: String,
    /// Audience (repeat for several).
    #[arg(long = "audience", default_value = "api://AzureADTokenExchange")]
    pub audiences: Vec<String>,
    /// Token lifetime (10m to 48h).
    #[arg(long, default_value = "1h")]
    pub expiration: String,
    /// Move iat/nbf this far into the past (to rehearse expiry: --backdate 2h --expiration 1h).
    #[arg(long, default_value = "0s")]
    pub backdate: String,
    /// Bind the token to a pod of this name (a uid is generated).
    #[arg(long)]
    pub pod: Option<String>,
    /// Write the token to this file (atomically, 0600, no trailing newline) instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `wif keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key; the old one stays published until its tokens have expired.
    ///
    /// Example: wif keys rotate --tenant contoso.onmicrosoft.com
    Rotate(RotateArgs),
    /// List signing keys.
    ///
    /// Example: wif keys list -o table
    List(OutputArgs),
}

/// `wif keys rotate`
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RotateArgs {
    /// Rotate this cluster issuer's key.
    #[arg(long, group = "owner")]
    pub cluster: Option<String>,
    /// Rotate this tenant's token-signing key (id or domain).
    #[arg(long, group = "owner")]
    pub tenant: Option<String>,
}

/// `wif signins …`
#[derive(Debug, Subcommand)]
pub enum SigninsCommand {
    /// List sign-ins, newest first.
    ///
    /// Example: wif signins list --identity id-workload --since 1h -o table
    List(SigninsListArgs),
}

/// `wif signins list`
#[derive(Debug, Args)]
pub struct SigninsListArgs {
    /// Only failed requests.
    #[arg(long)]
    pub failed: bool,
    /// Only this identity (client id or name).
    #[arg(long)]
    pub identity: Option<String>,
    /// Only this recent (for example 10m, 2h, 1d).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 100)]
    pub top: usize,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif ca …`
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Print the path of the CA certificate (PEM) clients must trust.
    ///
    /// Example: export REQUESTS_CA_BUNDLE="$(wif ca path)"
    Path,
}

/// `wif env`
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Tenant to put in AZURE_TENANT_ID (id, domain or name); the first tenant by default.
    #[arg(long)]
    pub tenant: Option<String>,
}

/// `wif role …`
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Role assignments.
    #[command(subcommand)]
    Assignment(RoleAssignmentCommand),
    /// Role definitions (built-in and custom).
    #[command(subcommand)]
    Definition(RoleDefinitionCommand),
}

/// `wif role assignment …`
#[derive(Debug, Subcommand)]
pub enum RoleAssignmentCommand {
    /// List role assignments (at a scope: those that apply there, including inherited ones).
    ///
    /// Example: wif role assignment list --assignee id-workload -o table
    List(RoleAssignmentListArgs),
    /// Assign a role to a principal at a scope.
    ///
    /// Example: wif role assignment create --assignee id-workload --role "Key Vault Secrets User" --vault kv-demo --secret db-password
    Create(RoleAssignmentCreateArgs),
    /// Delete role assignments by id, or every one matching --assignee/--role/--scope.
    ///
    /// Example: wif role assignment delete --assignee id-workload --role "Key Vault Secrets User" --vault kv-demo
    Delete(RoleAssignmentDeleteArgs),
}

/// `wif role assignment list`
#[derive(Debug, Args)]
pub struct RoleAssignmentListArgs {
    /// A managed identity's name, client id or principal id, or an object id.
    #[arg(long)]
    pub assignee: Option<String>,
    /// Role name or GUID.
    #[arg(long)]
    pub role: Option<String>,
    /// ARM scope.
    #[arg(long)]
    pub scope: Option<String>,
    /// A vault (instead of --scope).
    #[arg(long)]
    pub vault: Option<String>,
    /// A secret of --vault.
    #[arg(long, requires = "vault")]
    pub secret: Option<String>,
    /// With a scope, also list assignments below it.
    #[arg(long)]
    pub include_descendants: bool,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif role assignment create`
#[derive(Debug, Args)]
pub struct RoleAssignmentCreateArgs {
    /// A managed identity's name, client id or principal id, or an object id.
    #[arg(long)]
    pub assignee: String,
    /// Role name (such as "Key Vault Secrets User") or GUID.
    #[arg(long)]
    pub role: String,
    /// ARM scope, such as /subscriptions/<id>/resourceGroups/<rg>.
    #[arg(long)]
    pub scope: Option<String>,
    /// A vault (instead of --scope).
    #[arg(long)]
    pub vault: Option<String>,
    /// One secret of --vault.
    #[arg(long, requires = "vault")]
    pub secret: Option<String>,
    /// The assignment's GUID (generated when omitted).
    #[arg(long)]
    pub name: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif role assignment delete`
#[derive(Debug, Args)]
pub struct RoleAssignmentDeleteArgs {
    /// Assignment ids or GUIDs.
    #[arg(long, num_args = 1..)]
    pub ids: Option<Vec<String>>,
    /// A managed identity's name, client id or principal id, or an object id.
    #[arg(long, conflicts_with = "ids")]
    pub assignee: Option<String>,
    /// Role name or GUID.
    #[arg(long, conflicts_with = "ids")]
    pub role: Option<String>,
    /// ARM scope.
    #[arg(long, conflicts_with = "ids")]
    pub scope: Option<String>,
    /// A vault (instead of --scope).
    #[arg(long, conflicts_with = "ids")]
    pub vault: Option<String>,
    /// A secret of --vault.
    #[arg(long, requires = "vault")]
    pub secret: Option<String>,
}

/// `wif role definition …`
#[derive(Debug, Subcommand)]
pub enum RoleDefinitionCommand {
    /// List role definitions.
    ///
    /// Example: wif role definition list --name "Key Vault Secrets User"
    List(RoleDefinitionListArgs),
    /// Create or update a custom role from az's JSON (Name, Description, Actions, NotActions,
    /// DataActions, NotDataActions, AssignableScopes), given inline or as @file.
    ///
    /// Example: wif role definition create --role-definition @secret-peeker.json
    Create(RoleDefinitionCreateArgs),
    /// Delete a custom role that no assignment uses.
    ///
    /// Example: wif role definition delete --name "Secret Peeker"
    Delete(RoleDefinitionDeleteArgs),
}

/// `wif role definition create`
#[derive(Debug, Args)]
pub struct RoleDefinitionCreateArgs {
    /// The definition: JSON text, or @path to a JSON file.
    #[arg(long)]
    pub role_definition: String,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif role definition delete`
#[derive(Debug, Args)]
pub struct RoleDefinitionDeleteArgs {
    /// The custom role's name or GUID.
    #[arg(long)]
    pub name: String,
}

/// `wif role definition list`
#[derive(Debug, Args)]
pub struct RoleDefinitionListArgs {
    /// Only the role with this name.
    #[arg(long)]
    pub name: Option<String>,
    /// Only custom roles.
    #[arg(long)]
    pub custom_role_only: bool,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif keyvault …`
#[derive(Debug, Subcommand)]
pub enum KeyvaultCommand {
    /// Secrets.
    #[command(subcommand)]
    Secret(KeyvaultSecretCommand),
    /// The Key Vault audit log (every data-plane call and its decision).
    #[command(subcommand)]
    Audit(KeyvaultAuditCommand),
}

/// `wif keyvault secret …`
#[derive(Debug, Subcommand)]
pub enum KeyvaultSecretCommand {
    /// Set a secret (adds a new version).
    ///
    /// Example: wif keyvault secret set --vault-name kv-demo --name db-password --file ./password.txt
    Set(SecretSetArgs),
    /// Show a secret with its value (the latest version, or --version).
    ///
    /// Example: wif keyvault secret show --vault-name kv-demo --name my-secret --query value -o tsv
    #[command(disable_version_flag = true)]
    Show(SecretShowArgs),
    /// List a vault's secrets (no values).
    ///
    /// Example: wif keyvault secret list --vault-name kv-demo -o table
    List(SecretListArgs),
    /// List a vault's soft-deleted secrets.
    ///
    /// Example: wif keyvault secret list-deleted --vault-name kv-demo
    ListDeleted(SecretListArgs),
    /// Soft-delete a secret (recoverable for the vault's retention period).
    ///
    /// Example: wif keyvault secret delete --vault-name kv-demo --name my-secret
    Delete(SecretNameArgs),
    /// Recover a soft-deleted secret.
    ///
    /// Example: wif keyvault secret recover --vault-name kv-demo --name my-secret
    Recover(SecretNameArgs),
    /// Purge a soft-deleted secret for good.
    ///
    /// Example: wif keyvault secret purge --vault-name kv-demo --name my-secret
    Purge(SecretNameArgs),
}

/// The vault a command works on.
#[derive(Debug, Args)]
pub struct VaultArgs {
    /// Vault name.
    #[arg(long)]
    pub vault_name: String,
}

/// A vault and a secret name.
#[derive(Debug, Args)]
pub struct SecretNameArgs {
    /// The vault.
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Secret name.
    #[arg(long)]
    pub name: String,
}

/// `wif keyvault secret set`
#[derive(Debug, Args)]
pub struct SecretSetArgs {
    /// The vault.
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Secret name.
    #[arg(long)]
    pub name: String,
    /// The value (visible in the process list; prefer --file).
    #[arg(long, conflicts_with = "file")]
    pub value: Option<String>,
    /// Read the value from this file, as is.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Content type.
    #[arg(long)]
    pub content_type: Option<String>,
    /// Tags, `key=value` (repeat).
    #[arg(long = "tags", num_args = 1..)]
    pub tags: Vec<String>,
    /// Create the version disabled.
    #[arg(long)]
    pub disabled: bool,
    /// Expire the version after this long (for example 1h, 30d).
    #[arg(long)]
    pub expires_in: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif keyvault secret show`
#[derive(Debug, Args)]
pub struct SecretShowArgs {
    /// Vault and name.
    #[command(flatten)]
    pub secret: SecretNameArgs,
    /// A version id (the latest when omitted).
    #[arg(long)]
    pub version: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif keyvault secret list`
#[derive(Debug, Args)]
pub struct SecretListArgs {
    /// The vault.
    #[command(flatten)]
    pub vault: VaultArgs,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif keyvault audit …`
#[derive(Debug, Subcommand)]
pub enum KeyvaultAuditCommand {
    /// List data-plane calls, newest first.
    ///
    /// Example: wif keyvault audit list --denied --since 1h -o table
    List(KeyvaultAuditListArgs),
}

/// `wif keyvault audit list`
#[derive(Debug, Args)]
pub struct KeyvaultAuditListArgs {
    /// Only this vault.
    #[arg(long)]
    pub vault_name: Option<String>,
    /// Only refused calls.
    #[arg(long)]
    pub denied: bool,
    /// Only this recent (for example 10m, 2h, 1d).
    #[arg(long)]
    pub since: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 100)]
    pub top: usize,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Cluster name.
    #[arg(long)]
    pub cluster: String,
    /// The service account, NAMESPACE/NAME.
    #[arg(long)]
    pub service_account: String,
    /// Pod name the token is bound to (generated when omitted).
    #[arg(long)]
    pub pod: Option<String>,
    /// Token lifetime, overriding the service account's annotation (default 1h). Values below
    /// 1h (down to 10s) are for expiry drills only: the webhook allows 1h to 24h.
    #[arg(long)]
    pub token_expiration: Option<String>,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

/// `wif hosts`
#[derive(Debug, Args)]
pub struct HostsArgs {
    /// Write the block into the hosts file (replacing this data directory's earlier block).
    #[arg(long, conflicts_with = "remove")]
    pub apply: bool,
    /// Remove this data directory's block from the hosts file.
    #[arg(long)]
    pub remove: bool,
    /// The hosts file.
    #[arg(long, default_value = "/etc/hosts")]
    pub file: PathBuf,
    /// Include the Azure names even if the server does not run with --azure-names.
    #[arg(long)]
    pub azure_names: bool,
    /// The address the names map to (default: the listener's, 127.0.0.1).
    #[arg(long)]
    pub address: Option<String>,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    /// clap's own consistency checks over every command (unique argument names, …), which
    /// otherwise fire only when that command is first parsed.
    #[test]
    fn every_command_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// Every command a user can run shows an example in its `--help`.
    #[test]
    fn every_command_has_an_example() {
        fn walk(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
            let subs: Vec<_> = cmd
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .collect();
            if subs.is_empty() {
                let help = cmd
                    .get_long_about()
                    .or(cmd.get_about())
                    .map(ToString::to_string)
                    .unwrap_or_default();
                if !help.contains("Example:") {
                    missing.push(path);
                }
                return;
            }
            for sub in subs {
                walk(sub, format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "wif".to_owned(), &mut missing);
        assert!(
            missing.is_empty(),
            "commands without an example: {missing:?}"
        );
    }
}

/// `wif app …`
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Create an app registration with a client secret (shown once), optionally with a role.
    ///
    /// Example: wif app create --display-name ci --role Contributor --scopes /subscriptions/<id> -o json
    Create(AppCreateArgs),
    /// List app registrations (secrets show only their hints).
    ///
    /// Example: wif app list -o table
    List(AppListArgs),
    /// Delete an app registration and its role assignments.
    ///
    /// Example: wif app delete --id ci
    Delete(AppDeleteArgs),
    /// Client secrets.
    #[command(subcommand)]
    Credential(AppCredentialCommand),
}

/// `wif app credential …`
#[derive(Debug, Subcommand)]
pub enum AppCredentialCommand {
    /// Make a new client secret (shown once); replaces the others unless --append.
    ///
    /// Example: wif app credential reset --id wif-admin -o json
    Reset(AppCredentialResetArgs),
}

/// `wif app create`
#[derive(Debug, Args)]
pub struct AppCreateArgs {
    /// Display name.
    #[arg(long)]
    pub display_name: String,
    /// A role to assign to the new service principal (name or GUID).
    #[arg(long)]
    pub role: Option<String>,
    /// Scopes for --role.
    #[arg(long, num_args = 1..)]
    pub scopes: Vec<String>,
    /// Tenant id or domain (default: the first tenant).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Years the secret is valid.
    #[arg(long, default_value_t = 1)]
    pub years: i64,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif app list`
#[derive(Debug, Args)]
pub struct AppListArgs {
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif app delete`
#[derive(Debug, Args)]
pub struct AppDeleteArgs {
    /// App id, object id or display name.
    #[arg(long)]
    pub id: String,
}

/// `wif app credential reset`
#[derive(Debug, Args)]
pub struct AppCredentialResetArgs {
    /// App id, object id or display name.
    #[arg(long)]
    pub id: String,
    /// Keep the existing secrets.
    #[arg(long)]
    pub append: bool,
    /// Years the secret is valid.
    #[arg(long, default_value_t = 1)]
    pub years: i64,
    /// Description of the new secret.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Register this certificate (PEM or DER; the public certificate only) instead of making a
    /// secret.
    #[arg(long, conflicts_with = "create_cert")]
    pub cert: Option<PathBuf>,
    /// Make a self-signed certificate instead of a secret; its PEM (certificate and private key)
    /// is written to --cert-file (0600) and never stored by wif.
    #[arg(long)]
    pub create_cert: bool,
    /// Where --create-cert writes the PEM (default: ./<app id>.pem).
    #[arg(long, requires = "create_cert")]
    pub cert_file: Option<PathBuf>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif service-account …`
#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Set (KEY=VALUE) or remove (KEY-) annotations; creates the service account if it is missing.
    ///
    /// Example: wif service-account annotate --cluster aks-eastus default/app azure.workload.identity/client-id=<client id>
    Annotate(ServiceAccountAnnotateArgs),
}

/// `wif service-account annotate`
#[derive(Debug, Args)]
pub struct ServiceAccountAnnotateArgs {
    /// The cluster.
    #[arg(long)]
    pub cluster: String,
    /// NAMESPACE/NAME.
    pub service_account: String,
    /// KEY=VALUE to set, KEY- to remove.
    #[arg(required = true, num_args = 1..)]
    pub annotations: Vec<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif apply`
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The topology file.
    #[arg(short = 'f', long)]
    pub file: PathBuf,
    /// Apply without asking (for scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Also delete clusters, service accounts, identities, credentials, vaults and role assignments the
    /// file does not declare (never tenants, subscriptions or app registrations).
    #[arg(long)]
    pub prune: bool,
    /// Show the plan only.
    #[arg(long, conflicts_with = "yes")]
    pub dry_run: bool,
}

/// `wif group …`
#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a resource group (again: returns the existing one).
    ///
    /// Example: wif group create -n rg-app -l eastus
    Create(GroupCreateArgs),
    /// Show a resource group.
    ///
    /// Example: wif group show -n rg-app
    Show(GroupNameArgs),
    /// List resource groups.
    ///
    /// Example: wif group list -o table
    List(ListArgs),
    /// Delete a resource group and everything in it.
    ///
    /// Example: wif group delete -n rg-app
    Delete(GroupNameArgs),
}

/// `wif group create`
#[derive(Debug, Args)]
pub struct GroupCreateArgs {
    /// Name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Location, such as eastus.
    #[arg(short = 'l', long)]
    pub location: String,
    /// Subscription id or name (default: the first subscription).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A resource group by name.
#[derive(Debug, Args)]
pub struct GroupNameArgs {
    /// Name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Subscription id or name (default: the first subscription).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// A list, optionally in one resource group.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this resource group.
    #[arg(short = 'g', long)]
    pub resource_group: Option<String>,
    /// Subscription id or name (default: the first subscription).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif identity …`
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Create a user-assigned identity (location: the group's unless given).
    ///
    /// Example: wif identity create -g rg-app -n id-app
    Create(IdentityCreateArgs),
    /// Show an identity (clientId, principalId, tenantId).
    ///
    /// Example: wif identity show -g rg-app -n id-app --query clientId -o tsv
    Show(IdentityNameArgs),
    /// List identities.
    ///
    /// Example: wif identity list -g rg-app -o table
    List(ListArgs),
    /// Delete an identity and its federated credentials.
    ///
    /// Example: wif identity delete -g rg-app -n id-app
    Delete(IdentityNameArgs),
    /// Federated identity credentials of an identity.
    #[command(subcommand)]
    FederatedCredential(FicCommand),
}

/// `wif identity create`
#[derive(Debug, Args)]
pub struct IdentityCreateArgs {
    /// Name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Resource group.
    #[arg(short = 'g', long)]
    pub resource_group: String,
    /// Location (default: the resource group's).
    #[arg(short = 'l', long)]
    pub location: Option<String>,
    /// Subscription id or name (default: the first subscription).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// An identity by group and name.
#[derive(Debug, Args)]
pub struct IdentityNameArgs {
    /// Name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Resource group.
    #[arg(short = 'g', long)]
    pub resource_group: String,
    /// Subscription id or name (default: the first subscription).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif identity federated-credential …`
#[derive(Debug, Subcommand)]
pub enum FicCommand {
    /// Add a federated credential (the identity trusts this issuer + subject + audience).
    ///
    /// Example: wif identity federated-credential create -g rg-app --identity-name id-app -n fic-app --issuer <url> --subject system:serviceaccount:default:app
    Create(FicCreateArgs),
    /// List an identity's federated credentials.
    ///
    /// Example: wif identity federated-credential list -g rg-app --identity-name id-app -o table
    List(FicNameArgs),
    /// Show one.
    ///
    /// Example: wif identity federated-credential show -g rg-app --identity-name id-app -n fic-app
    Show(FicNameArgs),
    /// Delete one.
    ///
    /// Example: wif identity federated-credential delete -g rg-app --identity-name id-app -n fic-app
    Delete(FicNameArgs),
}

/// `wif identity federated-credential create`
#[derive(Debug, Args)]
pub struct FicCreateArgs {
    /// Credential name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// The identity.
    #[arg(long)]
    pub identity_name: String,
    /// Resource group of the identity.
    #[arg(short = 'g', long)]
    pub resource_group: String,
    /// Trusted issuer URL (exact, trailing slash included).
    #[arg(long)]
    pub issuer: String,
    /// Trusted subject, such as system:serviceaccount:default:app.
    #[arg(long)]
    pub subject: String,
    /// Audience (exactly one).
    #[arg(long, num_args = 1.., default_value = "api://AzureADTokenExchange")]
    pub audiences: Vec<String>,
    /// Subscription id or name (default: the first subscription).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// An identity's credentials (and one by `-n`).
#[derive(Debug, Args)]
pub struct FicNameArgs {
    /// The identity.
    #[arg(long)]
    pub identity_name: String,
    /// Resource group of the identity.
    #[arg(short = 'g', long)]
    pub resource_group: String,
    /// Credential name (show, delete).
    #[arg(short = 'n', long)]
    pub name: Option<String>,
    /// Subscription id or name (default: the first subscription).
    #[arg(long)]
    pub subscription: Option<String>,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif cluster …`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Show a cluster, with oidcIssuerProfile.issuerUrl.
    ///
    /// Example: wif cluster show -g rg-aks -n aks-demo --query oidcIssuerProfile.issuerUrl -o tsv
    Show(ClusterShowArgs),
    /// List clusters.
    ///
    /// Example: wif cluster list -o table
    List(ListArgs),
    /// Switch the OIDC issuer (on only, as on AKS) and workload identity.
    ///
    /// Example: wif cluster update -g rg-aks -n aks-demo --enable-oidc-issuer --enable-workload-identity
    Update(ClusterUpdateArgs),
}

/// `wif cluster show`
#[derive(Debug, Args)]
pub struct ClusterShowArgs {
    /// Resource group.
    #[arg(short = 'g', long)]
    pub resource_group: String,
    /// Name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif cluster update`
#[derive(Debug, Args)]
pub struct ClusterUpdateArgs {
    /// Resource group.
    #[arg(short = 'g', long)]
    pub resource_group: String,
    /// Name.
    #[arg(short = 'n', long)]
    pub name: String,
    /// Turn the OIDC issuer on (it cannot be turned off).
    #[arg(long)]
    pub enable_oidc_issuer: bool,
    /// Turn workload identity on.
    #[arg(long, conflicts_with = "disable_workload_identity")]
    pub enable_workload_identity: bool,
    /// Turn workload identity off.
    #[arg(long)]
    pub disable_workload_identity: bool,
    /// Output.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `wif inject`
#[derive(Debug, Args)]
pub struct InjectArgs {
    /// Manifest files (multi-document YAML or JSON); `-` or none reads stdin.
    #[arg(short = 'f', long)]
    pub file: Vec<PathBuf>,
    /// More files to take ServiceAccounts from (their other documents are ignored).
    #[arg(long)]
    pub service_account_file: Vec<PathBuf>,
    /// The namespace of documents that name none.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// The mutation's settings, shared with `wif webhook`.
    #[command(flatten)]
    pub mutation: MutationArgs,
    /// Print nothing; exit 1 if injection would change any document (for CI).
    #[arg(long)]
    pub check: bool,
}

/// The webhook's mutation settings, for `wif inject` and `wif webhook`. Each also reads the
/// environment variable upstream's webhook reads, so its ConfigMap works unchanged.
#[derive(Debug, Args)]
pub struct MutationArgs {
    /// AZURE_TENANT_ID for service accounts without the tenant-id annotation.
    #[arg(long, env = "AZURE_TENANT_ID")]
    pub tenant_id: Option<String>,
    /// The cloud whose authority goes into AZURE_AUTHORITY_HOST: AzurePublicCloud,
    /// AzureUSGovernmentCloud, AzureChinaCloud, AzureGermanCloud, or AzureStackCloud (with
    /// AZURE_ENVIRONMENT_FILEPATH).
    #[arg(long, env = "AZURE_ENVIRONMENT", default_value = "AzurePublicCloud")]
    pub azure_environment: String,
    /// AZURE_AUTHORITY_HOST itself (overrides --azure-environment), e.g. a wif's own origin.
    #[arg(long)]
    pub authority_host: Option<String>,
    /// The projected token's audience.
    #[arg(long, default_value = "api://AzureADTokenExchange")]
    pub audience: String,
    /// The IMDS proxy image (pods with azure.workload.identity/inject-proxy-sidecar).
    #[arg(long, env = "PROXY_IMAGE", default_value = "ghcr.io/wif/proxy:latest")]
    pub proxy_image: String,
    /// The proxy-init image (installs the iptables redirect to the proxy).
    #[arg(
        long,
        env = "PROXY_INIT_IMAGE",
        default_value = "ghcr.io/wif/proxy-init:latest"
    )]
    pub proxy_init_image: String,
    /// Inject the proxy as a native sidecar (Kubernetes 1.32+); `wif webhook` asks the API
    /// server unless this is given.
    #[arg(long)]
    pub native_sidecars: bool,
    /// Custom token endpoint: pods annotated azure.workload.identity/use-<suffix>: "true"
    /// get a token for --custom-token-endpoint-audience and the AZURE_KUBERNETES_* variables.
    #[arg(long, default_value = "")]
    pub custom_token_endpoint_annotation_suffix: String,
    /// The custom token endpoint's audience (not api://AzureADTokenExchange).
    #[arg(long, default_value = "")]
    pub custom_token_endpoint_audience: String,
    /// AZURE_KUBERNETES_TOKEN_PROXY for custom-endpoint pods.
    #[arg(long, env = "AZURE_KUBERNETES_TOKEN_PROXY", default_value = "")]
    pub azure_kubernetes_token_proxy: String,
    /// AZURE_KUBERNETES_SNI_NAME for custom-endpoint pods.
    #[arg(long, env = "AZURE_KUBERNETES_SNI_NAME", default_value = "")]
    pub azure_kubernetes_sni_name: String,
    /// AZURE_KUBERNETES_CA_DATA (PEM) for custom-endpoint pods.
    #[arg(long, env = "AZURE_KUBERNETES_CA_DATA", default_value = "")]
    pub azure_kubernetes_ca_data: String,
    /// A ConfigMap with `ca.crt` projected for custom-endpoint pods.
    #[arg(long, env = "AZURE_KUBERNETES_CA_CONFIGMAP_NAME", default_value = "")]
    pub azure_kubernetes_ca_configmap_name: String,
    /// A ClusterTrustBundle signer projected for custom-endpoint pods.
    #[arg(long, env = "AZURE_KUBERNETES_CA_CTB_SIGNER_NAME", default_value = "")]
    pub azure_kubernetes_ca_ctb_signer_name: String,
    /// The ClusterTrustBundle label selector (JSON).
    #[arg(
        long,
        env = "AZURE_KUBERNETES_CA_CTB_LABEL_SELECTOR",
        default_value = ""
    )]
    pub azure_kubernetes_ca_ctb_label_selector: String,
}

/// `wif webhook`
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// Where the webhook listens (HTTPS).
    #[arg(long, default_value = "0.0.0.0:9443")]
    pub listen: SocketAddr,
    /// Where /healthz and /readyz listen (plain HTTP, for kubelet probes).
    #[arg(long, default_value = "0.0.0.0:9440")]
    pub health_addr: SocketAddr,
    /// Where Prometheus /metrics listens (plain HTTP).
    #[arg(long, default_value = "0.0.0.0:8095")]
    pub metrics_addr: SocketAddr,
    /// The directory holding tls.crt and tls.key (re-read when they change).
    #[arg(long, default_value = "/certs")]
    pub webhook_cert_dir: PathBuf,
    /// The lowest TLS version accepted: 1.2 or 1.3.
    #[arg(long, default_value = "1.3")]
    pub tls_min_version: String,
    /// How often the certificate files are checked for changes.
    #[arg(long, default_value = "10s")]
    pub cert_check_interval: String,
    /// Take service accounts from these manifests instead of the cluster (no API server).
    #[arg(long)]
    pub service_account_file: Vec<PathBuf>,
    /// The proxy sidecar's --log-level.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Write {"listen": …, "health": …, "metrics": …} (JSON) here once serving.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
    /// The mutation's settings.
    #[command(flatten)]
    pub mutation: MutationArgs,
}

/// `wif proxy`
#[derive(Debug, Args)]
pub struct ProxyArgs {
    /// The port on localhost (127.0.0.1) to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 8000)]
    pub proxy_port: u16,
    /// Check that a proxy on --proxy-port is ready (GET /readyz, 7 tries a second apart) and exit.
    #[arg(long)]
    pub probe: bool,
    /// Log level (info, debug, trace, all).
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Serve the App Service protocol on /msi/token for callers sending this X-IDENTITY-HEADER
    /// (give apps IDENTITY_ENDPOINT=http://127.0.0.1:<port>/msi/token and IDENTITY_HEADER).
    #[arg(long, env = "WIF_PROXY_IDENTITY_HEADER")]
    pub identity_header: Option<String>,
    /// Where other /metadata requests go (the node's IMDS); `none` answers them 404.
    #[arg(long, default_value = "http://169.254.169.254")]
    pub imds_upstream: String,
    /// More CA certificates (PEM) to trust for the token service, beyond the system's and
    /// SSL_CERT_FILE.
    #[arg(long)]
    pub ca_file: Vec<PathBuf>,
    /// Write {"listen": "127.0.0.1:<port>"} (JSON) here once serving.
    #[arg(long)]
    pub ready_file: Option<PathBuf>,
}

/// `wif install …`
#[derive(Debug, Subcommand)]
pub enum InstallCommand {
    /// The admission webhook (drop-in for azure-workload-identity's): namespace, RBAC for
    /// service-account reads, Deployment, Service, PodDisruptionBudget, certificates, and the
    /// mutating (and label-check validating) webhook configurations.
    ///
    /// Example: wif install webhook --tenant-id <tenant> --certs self-signed > webhook.yaml
    Webhook(InstallWebhookArgs),
    /// The wif server itself (issuers, token service, Key Vault) as a StatefulSet on the
    /// embedded store, with its topology in a ConfigMap.
    ///
    /// Example: wif install server --host wif.example.com -f topology.yaml | kubectl apply -f -
    Server(InstallServerArgs),
}

/// `wif install webhook`
#[derive(Debug, Args)]
pub struct InstallWebhookArgs {
    /// The namespace to install into.
    #[arg(long, default_value = "wif-system")]
    pub namespace: String,
    /// AZURE_TENANT_ID for service accounts without the tenant-id annotation.
    #[arg(long)]
    pub tenant_id: String,
    /// wif's container image.
    #[arg(long, default_value = concat!("ghcr.io/wif/wif:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// The cloud (AZURE_ENVIRONMENT) whose authority goes into AZURE_AUTHORITY_HOST.
    #[arg(long, default_value = "AzurePublicCloud")]
    pub azure_environment: String,
    /// AZURE_AUTHORITY_HOST itself, such as a wif server's origin.
    #[arg(long)]
    pub authority_host: Option<String>,
    /// The IMDS proxy sidecar image.
    #[arg(long, default_value = concat!("ghcr.io/wif/proxy:", env!("CARGO_PKG_VERSION")))]
    pub proxy_image: String,
    /// The proxy-init image.
    #[arg(long, default_value = concat!("ghcr.io/wif/proxy-init:", env!("CARGO_PKG_VERSION")))]
    pub proxy_init_image: String,
    /// Webhook replicas (a PodDisruptionBudget keeps one up).
    #[arg(long, default_value_t = 2)]
    pub replicas: i32,
    /// What the API server does with a labelled pod when the webhook cannot answer: Fail
    /// (upstream's choice: no pod without its identity) or Ignore.
    #[arg(long, default_value = "Fail")]
    pub failure_policy: String,
    /// How long the API server waits for the webhook (1-30 s).
    #[arg(long, default_value_t = 10)]
    pub timeout_seconds: i32,
    /// Who makes the serving certificate: cert-manager (issues, renews, injects the CA), or
    /// self-signed (a CA made now and printed with it; re-run to rotate).
    #[arg(long, default_value = "cert-manager")]
    pub certs: String,
    /// Leave out the validating webhook that warns about unlabelled pods.
    #[arg(long)]
    pub no_label_check: bool,
    /// The proxy sidecar's --log-level.
    #[arg(long, default_value = "info")]
    pub log_level: String,
}

/// `wif install server`
#[derive(Debug, Args)]
pub struct InstallServerArgs {
    /// The namespace to install into.
    #[arg(long, default_value = "wif-system")]
    pub namespace: String,
    /// The host name clients use (issuer URLs and the TLS certificate).
    #[arg(long)]
    pub host: String,
    /// A topology file, shipped in a ConfigMap and applied at start.
    #[arg(short = 'f', long = "file")]
    pub topology: Option<PathBuf>,
    /// wif's container image.
    #[arg(long, default_value = concat!("ghcr.io/wif/wif:", env!("CARGO_PKG_VERSION")))]
    pub image: String,
    /// The data volume's size.
    #[arg(long, default_value = "1Gi")]
    pub storage_size: String,
    /// The data volume's storage class (the cluster default when absent).
    #[arg(long)]
    pub storage_class: Option<String>,
}
