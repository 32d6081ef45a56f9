//! `booth-provision` command line: `tui` (the terminal form) or `apply` (flags, for scripts).
//!
//! Exit statuses: 0 provisioned; 2 invalid input (every bad field is listed); 3 enrollment
//! refused or unreachable; 1 anything else. Nothing is changed unless the exit status is 0.

use std::path::PathBuf;
use std::process::ExitCode;

use booth_provision::form::Answers;
use booth_provision::run::{self, ProvisionError, Tools};
use booth_provision::{report_text, tui};
use clap::{Args, Parser, Subcommand};

/// Command line of `booth-provision`.
#[derive(Debug, Parser)]
#[command(
    version,
    about = "Provision a video-appeal booth: config, enrollment, diagnostics, slip"
)]
struct Cli {
    /// Booth configuration file to write.
    #[arg(long, default_value = "/etc/booth/booth.toml")]
    config: PathBuf,
    /// The sync agent binary (enrollment).
    #[arg(long, default_value = "/usr/bin/sync-agent")]
    sync_agent: PathBuf,
    /// The diagnostics binary.
    #[arg(long, default_value = "/usr/bin/booth-diag")]
    booth_diag: PathBuf,
    /// Enroll again with a new key although the booth is enrolled as another booth or URL.
    #[arg(long)]
    reenroll: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Terminal form (pre-filled from flags and the existing config).
    Tui(Fields),
    /// Non-interactive: every field from flags.
    Apply(Fields),
}

/// The form's fields as flags.
#[derive(Debug, Args)]
struct Fields {
    /// Booth id, e.g. ALM-0001.
    #[arg(long)]
    booth_id: Option<String>,
    /// Branch code, 2–8 letters or digits, e.g. ALM01.
    #[arg(long)]
    branch: Option<String>,
    /// Central service URL, https://host[:port].
    #[arg(long)]
    central_url: Option<String>,
    /// One-time enrollment token (or env BOOTH_ENROLL_TOKEN).
    #[arg(long, env = "BOOTH_ENROLL_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The authority's CA certificate (PEM) from the provisioning bundle.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Receipt printer model (epson-tm-t20iii, epson-tm-t88vi, xprinter-xp-q80, citizen-ct-s310ii, network, virtual).
    #[arg(long)]
    printer_model: Option<String>,
    /// Printer address: host:port for network printers, vid:pid to override a USB model's.
    #[arg(long)]
    printer_address: Option<String>,
    /// Paper width in millimetres: 80 or 58.
    #[arg(long)]
    paper_width: Option<String>,
    /// Screen orientation: landscape or portrait.
    #[arg(long)]
    orientation: Option<String>,
    /// Technician PIN for the kiosk's service mode, 6–12 digits (or env BOOTH_TECHNICIAN_PIN).
    #[arg(long, env = "BOOTH_TECHNICIAN_PIN", hide_env_values = true)]
    technician_pin: Option<String>,
}

impl Fields {
    fn over(self, mut a: Answers) -> Answers {
        let set = |dst: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *dst = v;
            }
        };
        set(&mut a.booth_id, self.booth_id);
        set(&mut a.branch, self.branch);
        set(&mut a.central_url, self.central_url);
        set(&mut a.token, self.token);
        set(
            &mut a.ca_cert,
            self.ca_cert.map(|p| p.display().to_string()),
        );
        set(&mut a.printer_model, self.printer_model);
        set(&mut a.printer_address, self.printer_address);
        set(&mut a.paper_width_mm, self.paper_width);
        set(&mut a.orientation, self.orientation);
        set(&mut a.technician_pin, self.technician_pin);
        a
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let tools = Tools {
        config: cli.config.clone(),
        sync_agent: cli.sync_agent,
        booth_diag: cli.booth_diag,
        reenroll: cli.reenroll,
    };
    let existing = match run::existing_config(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("booth-provision: {e}");
            return ExitCode::from(1);
        }
    };
    let base = Answers::from_config(&existing);
    match cli.command {
        Command::Apply(fields) => match run::provision(&fields.over(base), &tools) {
            Ok(r) => {
                print!("{}", report_text(&r));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("booth-provision: {e}\nbooth-provision: nothing was changed");
                ExitCode::from(match e {
                    ProvisionError::Invalid(_) => 2,
                    ProvisionError::Enroll { .. }
                    | ProvisionError::EnrolledElsewhere { .. }
                    | ProvisionError::WrongBooth { .. } => 3,
                    _ => 1,
                })
            }
        },
        Command::Tui(fields) => {
            match tui::run(fields.over(base), &tools, &existing.paths.state_dir) {
                Ok(tui::Outcome::Provisioned(report)) => {
                    print!("{report}");
                    ExitCode::SUCCESS
                }
                Ok(tui::Outcome::Cancelled) => {
                    eprintln!("booth-provision: cancelled; nothing was changed");
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("booth-provision: terminal error: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}
