//! `booth-provision`: turns a freshly flashed booth into an enrolled one. The field technician
//! fills in a terminal form (or passes flags); every field is checked with a specific message;
//! then the tool enrolls through `sync-agent enroll`, writes `/etc/booth/booth.toml`, runs
//! `booth-diag --json` and prints a provisioning slip on the receipt printer. Safe to run twice.
//!
//! Why `ratatui` (with its crossterm backend): a maintained, pure-Rust terminal UI that works on
//! the Linux console and over SSH, needs no C library (whiptail/newt would) and can be driven
//! headless under tmux in tests. Default features are off to keep the build lean.

pub mod form;
pub mod run;
pub mod slip;
pub mod tui;

/// The report of a successful run as plain text (printed by the CLI, shown by the UI).
pub fn report_text(r: &run::Report) -> String {
    let mut s = format!(
        "provisioned: config {}\nenrollment: {}\nslip: {}\ndiagnostics ({}):\n",
        r.config.display(),
        r.enrollment,
        r.slip,
        if r.diagnostics_ok {
            "all passed"
        } else {
            "NOT all passed"
        }
    );
    for d in &r.diagnostics {
        s.push_str("  ");
        s.push_str(d);
        s.push('\n');
    }
    s
}
