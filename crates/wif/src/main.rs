//! The `wif` binary: parses the command line, sets up logging and the runtime, and runs one
//! command. Errors go to stderr with a non-zero exit code.

mod apply;
mod apps;
mod cli;
mod commands;
mod datadir;
mod error;
mod hosts;
mod inject;
mod install;
mod keys;
mod output;
mod proxy;
mod resources;
mod roles;
mod run;
mod secrets;
mod service_accounts;
mod topology;
mod up;
mod webhook;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, Command};
use crate::datadir::DataDir;

// mimalloc: the webhook and the token service allocate many small JSON nodes per request, where
// glibc's allocator costs a quarter of the CPU (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Installed as `/proxy` (the sidecar image), wif is the proxy, as upstream's binary is.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .is_some_and(|n| n == "proxy")
    {
        argv.insert(1, "proxy".into());
    }
    let cli = Cli::parse_from(argv);
    // Libraries that build their own TLS client (kube's) use the process-wide rustls provider: make
    // it aws-lc-rs, the one crypto stack.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    // Servers log at info; `--log-level` (upstream's values: info, debug, trace, all) raises it.
    let default_level = match &cli.command {
        Command::Proxy(cli::ProxyArgs { log_level, .. })
        | Command::Webhook(cli::WebhookArgs { log_level, .. }) => match log_level.as_str() {
            "all" | "trace" => "trace",
            "debug" => "debug",
            _ => "info",
        },
        Command::Up(_) => "info",
        _ => "warn",
    };
    let filter =
        EnvFilter::try_from_env("WIF_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let data = DataDir::new(cli.data_dir.clone());
    let result = runtime.block_on(async move {
        let done = match cli.command {
            Command::Run(args) => return run::run(&data, args).await,
            Command::Inject(args) => return inject::inject(args),
            Command::Install(cmd) => install::install(cmd),
            Command::Up(args) => up::run(&data, args).await,
            Command::Webhook(args) => webhook::webhook(args).await,
            Command::Proxy(args) => proxy::proxy(args).await,
            Command::Token(args) => commands::token(&data, args).await,
            Command::Keys(cmd) => commands::keys(&data, cmd).await,
            Command::Signins(cli::SigninsCommand::List(args)) => {
                commands::signins(&data, args).await
            }
            Command::Ca(cmd) => commands::ca(&data, cmd),
            Command::Env(args) => commands::env(&data, args),
            Command::Role(cmd) => roles::role(&data, cmd).await,
            Command::App(cmd) => apps::app(&data, cmd).await,
            Command::Apply(args) => apply::apply(&data, args).await,
            Command::Group(cmd) => resources::group_cmd(&data, cmd).await,
            Command::Identity(cmd) => resources::identity_cmd(&data, cmd).await,
            Command::Cluster(cmd) => resources::cluster_cmd(&data, cmd).await,
            Command::ServiceAccount(cmd) => service_accounts::service_account(&data, cmd).await,
            Command::Keyvault(cmd) => secrets::keyvault(&data, cmd).await,
            Command::Hosts(args) => hosts::hosts(&data, args).await,
        };
        done.map(|()| 0)
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
