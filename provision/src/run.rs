//! The provisioning run: validated answers → enrollment with a candidate config → the config
//! put in place atomically → diagnostics → provisioning slip.
//!
//! Nothing is written before every field is valid and enrollment has succeeded: the candidate
//! config lives next to the real one (`booth.toml.provisioning`) and is only renamed over it
//! after `sync-agent enroll` accepted it. Running twice is safe: an existing enrollment with the
//! same booth id and central URL is kept (no new token needed); a different one is refused
//! unless `reenroll` is set.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use booth_core::config::Config;

use crate::form::{self, Answers, FieldError, Validated};
use crate::slip;

/// Where the tool's collaborators are.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The booth config file to write.
    pub config: PathBuf,
    /// `sync-agent` binary.
    pub sync_agent: PathBuf,
    /// `booth-diag` binary.
    pub booth_diag: PathBuf,
    /// Enroll again (new key) although enrolled with another booth id or URL.
    pub reenroll: bool,
}

/// Why provisioning stopped. Every variant means the booth config was left as it was.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// Some answers are invalid (all of them are listed).
    #[error("{} invalid field(s):\n{}", .0.len(), .0.iter().map(|e| format!("  {} ({}): {}", e.field.label(), e.field.flag(), e.message)).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<FieldError>),
    /// The existing config file cannot be used as a base.
    #[error("existing config: {0}")]
    ExistingConfig(#[from] booth_core::config::ConfigError),
    /// The booth is enrolled as another booth or with another service.
    #[error(
        "this booth is already enrolled as {booth_id} with {url}; to move it, run again with --reenroll (a new key is made and a new token is needed)"
    )]
    EnrolledElsewhere {
        /// Booth id of the current enrollment.
        booth_id: String,
        /// Central URL of the current enrollment.
        url: String,
    },
    /// `sync-agent enroll` failed; `message` is its own explanation.
    #[error("enrollment failed: {message}")]
    Enroll {
        /// What sync-agent said (its last error line).
        message: String,
    },
    /// The central service enrolled the booth under another id than the one typed.
    #[error(
        "the token was issued for booth {issued}, not {typed}: check the booth id or ask for the right token"
    )]
    WrongBooth {
        /// Booth id in the certificate.
        issued: String,
        /// Booth id typed.
        typed: String,
    },
    /// A file could not be written or a program not started.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ProvisionError {
    let what = what.into();
    move |source| ProvisionError::Io { what, source }
}

/// What a provisioning run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Config file written.
    pub config: PathBuf,
    /// `enrolled` or `already enrolled`.
    pub enrollment: String,
    /// One line per diagnostics check, or why diagnostics could not run.
    pub diagnostics: Vec<String>,
    /// Whether `booth-diag` reported every check as passing.
    pub diagnostics_ok: bool,
    /// `printed on …` or why the slip was not printed.
    pub slip: String,
}

/// The sync agent's enrollment record (`<state_dir>/sync/enrollment.json`), if any.
fn enrollment_record(state_dir: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(state_dir.join("sync/enrollment.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// The current enrollment's booth id and central URL.
fn current_enrollment(state_dir: &Path) -> Option<(String, String)> {
    let v = enrollment_record(state_dir)?;
    Some((
        v.get("booth_id")?.as_str()?.to_owned(),
        v.get("central_url")?.as_str()?.to_owned(),
    ))
}

/// The authority's age recipients from the enrollment record: the kiosk seals recordings to
/// them (`recorder.recipients`), so they go into the config.
fn enrolled_recipients(state_dir: &Path) -> Vec<String> {
    enrollment_record(state_dir)
        .and_then(|v| v.get("age_recipients").and_then(|r| r.as_array()).cloned())
        .map(|a| {
            a.iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The existing config, or the defaults when there is none yet.
pub fn existing_config(path: &Path) -> Result<Config, ProvisionError> {
    if path.exists() {
        Ok(Config::load(path)?)
    } else {
        Ok(Config::default())
    }
}

/// Writes `text` to `path` and fsyncs it (mode 0640: the file holds the technician PIN).
fn write_synced(path: &Path, text: &str) -> Result<(), ProvisionError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o640)
        .open(path)
        .map_err(io(format!("writing {}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(io(format!("writing {}", path.display())))?;
    f.sync_all()
        .map_err(io(format!("syncing {}", path.display())))
}

/// Last non-empty line of a program's stderr, without its `program: ` prefix.
fn last_error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message")
        .trim();
    line.strip_prefix("sync-agent: ").unwrap_or(line).to_owned()
}

/// Runs the whole provisioning. `answers` are validated first; on any error the booth config
/// and enrollment are left as they were.
pub fn provision(answers: &Answers, tools: &Tools) -> Result<Report, ProvisionError> {
    let mut cfg = existing_config(&tools.config)?;
    let v: Validated =
        form::validate(answers, &cfg.paths.state_dir).map_err(ProvisionError::Invalid)?;
    v.apply(&mut cfg);
    // The same checks the booth's daemons will run on start-up.
    let text = cfg.to_toml();
    Config::parse(&text, &tools.config)?;

    for dir in [&cfg.paths.state_dir, &cfg.paths.outbox_dir] {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    let candidate = tools.config.with_extension("toml.provisioning");
    if let Some(parent) = tools.config.parent() {
        std::fs::create_dir_all(parent).map_err(io(format!("creating {}", parent.display())))?;
    }
    write_synced(&candidate, &text)?;
    let enrolled = enroll(&v, &cfg, &candidate, tools);
    let enrollment = match enrolled {
        Ok(e) => e,
        Err(e) => {
            let _ = std::fs::remove_file(&candidate);
            return Err(e);
        }
    };
    let recipients = enrolled_recipients(&cfg.paths.state_dir);
    if !recipients.is_empty() && recipients != cfg.recorder.recipients {
        cfg.recorder.recipients = recipients;
        if let Err(e) = write_synced(&candidate, &cfg.to_toml()) {
            let _ = std::fs::remove_file(&candidate);
            return Err(e);
        }
    }
    std::fs::rename(&candidate, &tools.config)
        .map_err(io(format!("replacing {}", tools.config.display())))?;
    if let Some(parent) = tools.config.parent()
        && let Ok(d) = std::fs::File::open(parent)
    {
        let _ = d.sync_all();
    }

    let (diagnostics, diagnostics_ok) = diagnose(tools);
    let slip = match slip::print(&cfg, &enrollment, &diagnostics, diagnostics_ok) {
        Ok(target) => format!("printed on {target}"),
        Err(e) => format!("not printed: {e}"),
    };
    Ok(Report {
        config: tools.config.clone(),
        enrollment,
        diagnostics,
        diagnostics_ok,
        slip,
    })
}

/// Enrolls through `sync-agent --config CANDIDATE enroll`, unless already enrolled identically.
/// The token goes through the environment (`BOOTH_ENROLL_TOKEN`), never the command line, so
/// it does not show in `ps`.
fn enroll(
    v: &Validated,
    cfg: &Config,
    candidate: &Path,
    tools: &Tools,
) -> Result<String, ProvisionError> {
    let mut force = false;
    if let Some((booth_id, url)) = current_enrollment(&cfg.paths.state_dir) {
        if booth_id == v.booth_id && url.trim_end_matches('/') == v.central_url {
            return Ok(format!("already enrolled as {booth_id} with {url}; kept"));
        }
        if !tools.reenroll {
            return Err(ProvisionError::EnrolledElsewhere { booth_id, url });
        }
        force = true;
    }
    let mut cmd = Command::new(&tools.sync_agent);
    cmd.arg("--config")
        .arg(candidate)
        .args(["enroll", "--url", &v.central_url]);
    if let Some(ca) = &v.ca_cert {
        cmd.arg("--ca-cert").arg(ca);
    }
    if force {
        cmd.arg("--force");
    }
    cmd.env("BOOTH_ENROLL_TOKEN", &v.token)
        .env_remove("BOOTH_CONFIG");
    let out = cmd
        .output()
        .map_err(io(format!("starting {}", tools.sync_agent.display())))?;
    if !out.status.success() {
        return Err(ProvisionError::Enroll {
            message: last_error_line(&out.stderr),
        });
    }
    match current_enrollment(&cfg.paths.state_dir) {
        Some((issued, url)) if issued != v.booth_id => {
            let _ = url;
            Err(ProvisionError::WrongBooth {
                issued,
                typed: v.booth_id.clone(),
            })
        }
        Some((issued, url)) => Ok(format!("enrolled as {issued} with {url}")),
        None => Err(ProvisionError::Enroll {
            message: "sync-agent reported success but wrote no enrollment record".into(),
        }),
    }
}

/// Runs `booth-diag --config F --json` and summarises it: one line per check. A missing or
/// failing booth-diag is reported, not fatal (the slip says so).
fn diagnose(tools: &Tools) -> (Vec<String>, bool) {
    let out = match Command::new(&tools.booth_diag)
        .arg("--config")
        .arg(&tools.config)
        .arg("--json")
        .output()
    {
        Ok(o) => o,
        Err(e) => {
            return (
                vec![format!(
                    "booth-diag could not start ({}): {e}",
                    tools.booth_diag.display()
                )],
                false,
            );
        }
    };
    let json: Result<serde_json::Value, _> = serde_json::from_slice(&out.stdout);
    let Ok(json) = json else {
        return (
            vec![format!(
                "booth-diag gave no JSON (exit {}): {}",
                out.status,
                last_error_line(&out.stderr)
            )],
            false,
        );
    };
    let lines = summarise_diag(&json);
    (lines, out.status.success())
}

/// Summarises booth-diag's JSON (`health` plus `findings: [{area, health, message}]`): the
/// overall health first, then one `area: health message` line per finding.
pub fn summarise_diag(json: &serde_json::Value) -> Vec<String> {
    let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).unwrap_or("?").to_owned();
    let mut lines = vec![format!("health: {}", text(json.get("health")))];
    if let Some(findings) = json.get("findings").and_then(|f| f.as_array()) {
        lines.extend(findings.iter().map(|f| {
            format!(
                "{}: {} {}",
                text(f.get("area")),
                text(f.get("health")),
                text(f.get("message"))
            )
        }));
    }
    lines
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn diag_summary_lists_health_and_findings() {
        let json = serde_json::json!({
            "health": "degraded",
            "findings": [{"area": "camera", "health": "degraded", "message": "simulated camera configured"}],
        });
        assert_eq!(
            summarise_diag(&json),
            vec![
                "health: degraded",
                "camera: degraded simulated camera configured"
            ]
        );
    }
}
