//! `gatehouse`: parse the command line, load the configuration, run the command.

use clap::{Parser, Subcommand};
use gatehouse_server::config::{Config, Sources};
use std::process::ExitCode;

/// Gatehouse: a self-hosted access request and review portal.
///
/// Configuration comes from GATEHOUSE_* environment variables and an optional TOML file
/// named by GATEHOUSE_CONFIG; .env.example lists every key with its default.
#[derive(Parser)]
#[command(name = "gatehouse", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the portal and its workers until SIGINT or SIGTERM.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the demo organisation into an empty database.
    SeedDemo,
    /// Check the audit trail's hash chain and name the first broken link.
    AuditVerify,
    /// A person left: end all their access and switch off their accounts downstream (the
    /// running server's workers do the removals). For HR scripts; audited.
    PersonLeft {
        /// Their email address.
        email: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Sources::from_process().and_then(|sources| Config::load(&sources)) {
        Ok(config) => config,
        Err(reason) => return refuse(&reason),
    };
    gatehouse_server::telemetry::init(&config);
    let outcome = match cli.command {
        Command::Serve => gatehouse_server::serve(&config)
            .await
            .map(|()| String::new()),
        Command::Migrate => gatehouse_server::migrate(&config).await,
        Command::SeedDemo => gatehouse_server::seed_demo(&config).await,
        Command::AuditVerify => gatehouse_server::audit_verify(&config).await,
        Command::PersonLeft { email } => gatehouse_server::person_left(&config, &email).await,
    };
    match outcome {
        Ok(message) => {
            if !message.is_empty() {
                println!("{message}");
            }
            ExitCode::SUCCESS
        }
        Err(reason) => refuse(&reason),
    }
}

fn refuse(reason: &str) -> ExitCode {
    eprintln!("gatehouse: {reason}");
    ExitCode::FAILURE
}
