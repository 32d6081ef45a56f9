//! `authority-sim`: runs the reference central authority service, or issues an enrollment token.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// Command line of `authority-sim`.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Reference central authority service of the video-appeal booth"
)]
struct Cli {
    /// TLS listen address (booth protocol and operator page).
    #[arg(long, default_value = "127.0.0.1:8443")]
    listen: SocketAddr,
    /// Data directory (database, CA, age identity, recordings).
    #[arg(long, default_value = "authority-data")]
    data: PathBuf,
    /// Plain-HTTP admin listener on loopback (faults, counters, tokens).
    #[arg(long)]
    admin_listen: Option<SocketAddr>,
    /// Test mode for the spec checker: plain HTTP on this loopback address, every request
    /// acting as booth `--plain-test-booth`. Never for production.
    #[arg(long)]
    plain_test_listen: Option<SocketAddr>,
    /// Booth id of the plain test listener.
    #[arg(long, default_value = "test-booth")]
    plain_test_booth: String,
    /// Extra DNS name or IP for the server certificate (repeatable).
    #[arg(long = "hostname")]
    hostnames: Vec<String>,
    /// Fault configuration JSON file (see `authority_sim::FaultConfig`).
    #[arg(long)]
    faults: Option<PathBuf>,
    /// Operator password to set at first start (default: random, printed once).
    #[arg(long, env = "AUTHORITY_SIM_OPERATOR_PASSWORD")]
    operator_password: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Issue a one-time enrollment token for a booth and print it.
    IssueToken {
        /// Data directory.
        #[arg(long)]
        data: PathBuf,
        /// Booth id the token enrolls.
        #[arg(long)]
        booth_id: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "authority_sim=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Some(Command::IssueToken { data, booth_id }) = cli.command {
        let token = authority_sim::issue_token_offline(&data, &booth_id)
            .with_context(|| format!("issuing a token in {}", data.display()))?;
        println!("{token}");
        return Ok(());
    }
    let mut opts = authority_sim::ServeOptions::new(cli.listen, cli.data.clone());
    opts.admin_listen = cli.admin_listen;
    opts.plain_test_listen = cli.plain_test_listen;
    opts.plain_test_booth = cli.plain_test_booth;
    opts.hostnames = cli.hostnames;
    opts.operator_password = cli.operator_password;
    if let Some(f) = &cli.faults {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        opts.faults =
            serde_json::from_str(&text).with_context(|| format!("fault file {}", f.display()))?;
    }
    let server = authority_sim::serve(opts)
        .await
        .context("starting authority-sim")?;
    println!("booth API:      {}/v1/", server.url);
    println!("operator page:  {}/operator/", server.url);
    if let Some(a) = &server.admin_url {
        println!("admin:          {a}/admin/faults  {a}/admin/counters");
    }
    if let Some(p) = &server.plain_test_url {
        println!("plain test API: {p}/v1/ (acts as one booth; testing only)");
    }
    println!("CA certificate: {}", cli.data.join("ca.cert.pem").display());
    println!("age recipient:  {}", server.age_recipient);
    match &server.operator_password {
        Some(p) => println!(
            "operator login: {} / {p}  (shown once; stored hashed)",
            server.operator_login
        ),
        None => println!(
            "operator login: {} (password set at first start)",
            server.operator_login
        ),
    }
    server.run_until_signal().await;
    Ok(())
}
