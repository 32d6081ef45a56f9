//! `reception` command line: `serve` runs the console; `add-user` creates or resets an account
//! (password from `RECEPTION_PASSWORD` or the first line of standard input).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use booth_core::SystemClock;
use booth_core::config::Config;
use booth_core::store::Store;
use booth_core::store::reception::{self as rs, Role};
use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

/// Command line of `reception`.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Reception console of the video-appeal booth: visitor journal and booth tickets"
)]
struct Cli {
    /// Booth configuration file (TOML).
    #[arg(long, default_value = "/etc/booth/booth.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the console on `reception.listen` (TLS when `reception.tls_cert` is set).
    Serve,
    /// Create an account or reset its password and role.
    AddUser {
        /// Login (letters, digits, `.`, `_`, `-`; 2–64 characters).
        login: String,
        /// Role of the account.
        #[arg(long, value_enum)]
        role: RoleArg,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    Admin,
    Receptionist,
}

/// Shortest password `add-user` accepts.
const MIN_PASSWORD: usize = 10;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let cfg =
        Config::load(&cli.config).with_context(|| format!("loading {}", cli.config.display()))?;
    match cli.command {
        Command::Serve => serve(cfg),
        Command::AddUser { login, role } => add_user(&cfg, &login, role),
    }
}

fn add_user(cfg: &Config, login: &str, role: RoleArg) -> anyhow::Result<()> {
    if !(2..=64).contains(&login.len())
        || !login
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        bail!("login {login:?}: use 2–64 letters, digits, '.', '_' or '-'");
    }
    let password = match std::env::var("RECEPTION_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    if password.chars().count() < MIN_PASSWORD {
        bail!("the password must have at least {MIN_PASSWORD} characters");
    }
    let hash = reception::session::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = cfg.paths.database();
    let mut store = Store::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let role = match role {
        RoleArg::Admin => Role::Admin,
        RoleArg::Receptionist => Role::Receptionist,
    };
    let now = chrono::Utc::now();
    store.write(|tx| {
        rs::upsert_user(tx, login, &hash, role)?;
        rs::audit(
            tx,
            now,
            "cli",
            "add_user",
            &format!("{login} {}", role.as_str()),
        )
    })?;
    tracing::info!(login, role = role.as_str(), "account saved");
    Ok(())
}

fn serve(cfg: Config) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let tls = if cfg.reception.tls_cert.as_os_str().is_empty() {
            None
        } else {
            Some(reception::tls_acceptor(
                &cfg.reception.tls_cert,
                &cfg.reception.tls_key,
            )?)
        };
        let listener = match reception::server::systemd_listener()? {
            Some(l) => l,
            None => reception::bind(&cfg.reception.listen).await?,
        };
        let addr = listener.local_addr()?;
        let state = reception::build_state(cfg, Arc::new(SystemClock), tls.is_some())?;
        let app = reception::router(state.clone());
        let shutdown = CancellationToken::new();
        tokio::spawn(reception::server::housekeeping(state, shutdown.clone()));
        let s2 = shutdown.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            s2.cancel();
        });
        // Tests and scripts read the bound address (the config may say port 0) from stdout.
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("reception listening on {scheme}://{addr}");
        std::io::stdout().flush()?;
        tracing::info!(%addr, tls = tls.is_some(), "reception console serving");
        reception::serve(app, listener, tls, shutdown).await?;
        tracing::info!("reception console stopped");
        Ok(())
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
