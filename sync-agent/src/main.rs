//! `sync-agent` command line: `enroll`, `run`, `status [--json]`, `requeue [ID]`.
//!
//! Exit statuses: `run` 0 after a clean SIGTERM, 1 on a start-up failure; `enroll` 0 or 1 with
//! a specific message; `status` 0 healthy, 1 degraded, 2 not enrolled or stuck.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use booth_core::config::Config;
use clap::{Parser, Subcommand};
use sync_agent::db::Db;
use sync_agent::enroll::{EnrollOptions, enroll};
use sync_agent::state::StateDir;
use tokio_util::sync::CancellationToken;

/// Command line of `sync-agent`.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "The video-appeal booth's link to the central service"
)]
struct Cli {
    /// Booth configuration file.
    #[arg(long, env = "BOOTH_CONFIG", default_value = "/etc/booth/booth.toml")]
    config: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Enroll this booth with the central service using a one-time token.
    Enroll {
        /// Central service URL, e.g. https://central.example:8443
        #[arg(long)]
        url: String,
        /// One-time enrollment token from the operator.
        #[arg(long, env = "BOOTH_ENROLL_TOKEN")]
        token: String,
        /// The authority's CA certificate (PEM); default: <state_dir>/sync/ca.crt.
        #[arg(long)]
        ca_cert: Option<PathBuf>,
        /// Enroll again although enrolled (makes a new key).
        #[arg(long)]
        force: bool,
    },
    /// Run the daemon (systemd `Type=notify`).
    Run,
    /// Send parked recordings (refused permanently) back to the queue after the cause was fixed.
    Requeue {
        /// Appeal id to re-queue; all parked ones when absent.
        appeal_id: Option<uuid::Uuid>,
    },
    /// Print queue, jobs and enrollment state; exit 0 healthy, 1 degraded, 2 not enrolled or stuck.
    Status {
        /// Print JSON (the same as the local API's status answer).
        #[arg(long)]
        json: bool,
    },
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sync-agent: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(&cli.config)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.cmd {
        Cmd::Enroll {
            url,
            token,
            ca_cert,
            force,
        } => rt.block_on(async {
            let state = StateDir::new(&cfg.paths.state_dir);
            let db = Db::open(&cfg.paths.database())?;
            let e = enroll(
                &state,
                &db,
                &EnrollOptions {
                    url,
                    token,
                    ca_cert,
                    force,
                },
            )
            .await?;
            println!("enrolled as {} with {}", e.booth_id, e.central_url);
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::Run => rt.block_on(async {
            let cancel = CancellationToken::new();
            let c = cancel.clone();
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .context("SIGTERM handler")?;
            let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
                .context("SIGINT handler")?;
            tokio::spawn(async move {
                tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
                tracing::info!("termination signal received");
                c.cancel();
            });
            sync_agent::agent::run(cfg, cancel).await?;
            Ok(ExitCode::SUCCESS)
        }),
        Cmd::Requeue { appeal_id } => {
            let mut store = booth_core::store::Store::open(&cfg.paths.database())?;
            let ids = sync_agent::outbox::requeue_parked(&mut store, appeal_id)?;
            for id in &ids {
                println!("requeued {id}");
            }
            if ids.is_empty() {
                println!(
                    "nothing parked{}",
                    appeal_id
                        .map(|i| format!(" with id {i}"))
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Status { json } => {
            let state = StateDir::new(&cfg.paths.state_dir);
            let mut store = booth_core::store::Store::open(&cfg.paths.database())?;
            let now = chrono::Utc::now();
            let s = sync_agent::status::compute(&mut store, &state, &cfg.booth.id, now)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&s)?);
            } else {
                print!("{}", sync_agent::status::render(&s, now));
            }
            Ok(ExitCode::from(s.health.exit_code() as u8))
        }
    }
}
