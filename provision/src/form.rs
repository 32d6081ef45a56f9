//! The provisioning form: the fields a technician fills in, each validated on its own with a
//! message that says what is wrong and what a good value looks like. Values that the booth
//! config also checks (branch, paper width, orientation, PIN) go through
//! `booth_core::config::Config::parse`, so the tool and the booth can never disagree.

use std::fmt;
use std::path::{Path, PathBuf};

use booth_core::config::{Config, ConfigError};

/// One field of the form, in the order the terminal UI shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Booth id, as the central service knows it (the enrollment token is issued for it).
    BoothId,
    /// Branch code used in registration numbers.
    Branch,
    /// Central service URL.
    CentralUrl,
    /// One-time enrollment token.
    Token,
    /// The authority's CA certificate (PEM) from the provisioning bundle.
    CaCert,
    /// Receipt printer model.
    PrinterModel,
    /// Paper width in millimetres.
    PaperWidth,
    /// Screen orientation.
    Orientation,
    /// Technician PIN for the kiosk's service mode.
    TechnicianPin,
}

impl Field {
    /// Every field, in form order.
    pub const ALL: [Field; 9] = [
        Field::BoothId,
        Field::Branch,
        Field::CentralUrl,
        Field::Token,
        Field::CaCert,
        Field::PrinterModel,
        Field::PaperWidth,
        Field::Orientation,
        Field::TechnicianPin,
    ];

    /// The label shown in the terminal UI and in messages.
    pub fn label(self) -> &'static str {
        match self {
            Field::BoothId => "Booth id",
            Field::Branch => "Branch code",
            Field::CentralUrl => "Central URL",
            Field::Token => "Enrollment token",
            Field::CaCert => "CA certificate",
            Field::PrinterModel => "Printer model",
            Field::PaperWidth => "Paper width (mm)",
            Field::Orientation => "Screen orientation",
            Field::TechnicianPin => "Technician PIN",
        }
    }

    /// The command-line flag of the field.
    pub fn flag(self) -> &'static str {
        match self {
            Field::BoothId => "--booth-id",
            Field::Branch => "--branch",
            Field::CentralUrl => "--central-url",
            Field::Token => "--token",
            Field::CaCert => "--ca-cert",
            Field::PrinterModel => "--printer-model",
            Field::PaperWidth => "--paper-width",
            Field::Orientation => "--orientation",
            Field::TechnicianPin => "--technician-pin",
        }
    }

    /// Whether the UI masks what is typed.
    pub fn secret(self) -> bool {
        matches!(self, Field::Token | Field::TechnicianPin)
    }
}

/// A field whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", field.label())]
pub struct FieldError {
    /// Which field.
    pub field: Field,
    /// What is wrong and what a good value looks like.
    pub message: String,
}

/// A receipt printer the booth supports, with how it is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrinterModel {
    /// Name typed by the technician.
    pub name: &'static str,
    /// `[printer] transport`.
    pub transport: &'static str,
    /// Default `[printer] address` (USB `vid:pid`, or `host:port`).
    pub address: &'static str,
}

/// Supported printers. `virtual` is the TCP 9100 virtual printer of tests and the demo.
pub const PRINTER_MODELS: &[PrinterModel] = &[
    PrinterModel {
        name: "epson-tm-t20iii",
        transport: "usb",
        address: "04b8:0e28",
    },
    PrinterModel {
        name: "epson-tm-t88vi",
        transport: "usb",
        address: "04b8:0e27",
    },
    PrinterModel {
        name: "xprinter-xp-q80",
        transport: "usb",
        address: "0416:5011",
    },
    PrinterModel {
        name: "citizen-ct-s310ii",
        transport: "usb",
        address: "1d90:2060",
    },
    PrinterModel {
        name: "network",
        transport: "tcp",
        address: "192.168.1.100:9100",
    },
    PrinterModel {
        name: "virtual",
        transport: "tcp",
        address: "127.0.0.1:9100",
    },
];

/// The raw answers, as typed (flags or terminal UI).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    /// Booth id, e.g. `ALM-0001`.
    pub booth_id: String,
    /// Branch code, e.g. `ALM01`.
    pub branch: String,
    /// Central service URL, `https://host[:port]`.
    pub central_url: String,
    /// One-time enrollment token.
    pub token: String,
    /// CA certificate file; empty when the state directory already holds one.
    pub ca_cert: String,
    /// One of [`PRINTER_MODELS`].
    pub printer_model: String,
    /// Printer address override (`host:port` for network printers); empty for the default.
    pub printer_address: String,
    /// `80` or `58`.
    pub paper_width_mm: String,
    /// `landscape` or `portrait`.
    pub orientation: String,
    /// 6–12 digits.
    pub technician_pin: String,
}

impl Answers {
    /// The value of one field.
    pub fn get(&self, field: Field) -> &str {
        match field {
            Field::BoothId => &self.booth_id,
            Field::Branch => &self.branch,
            Field::CentralUrl => &self.central_url,
            Field::Token => &self.token,
            Field::CaCert => &self.ca_cert,
            Field::PrinterModel => &self.printer_model,
            Field::PaperWidth => &self.paper_width_mm,
            Field::Orientation => &self.orientation,
            Field::TechnicianPin => &self.technician_pin,
        }
    }

    /// The value of one field, for editing.
    pub fn get_mut(&mut self, field: Field) -> &mut String {
        match field {
            Field::BoothId => &mut self.booth_id,
            Field::Branch => &mut self.branch,
            Field::CentralUrl => &mut self.central_url,
            Field::Token => &mut self.token,
            Field::CaCert => &mut self.ca_cert,
            Field::PrinterModel => &mut self.printer_model,
            Field::PaperWidth => &mut self.paper_width_mm,
            Field::Orientation => &mut self.orientation,
            Field::TechnicianPin => &mut self.technician_pin,
        }
    }

    /// Pre-fills the form from an existing config (running the tool twice keeps the values).
    /// Secrets (token, PIN) are never pre-filled.
    pub fn from_config(cfg: &Config) -> Answers {
        let model = PRINTER_MODELS
            .iter()
            .find(|m| m.transport == cfg.printer.transport && m.address == cfg.printer.address)
            .map(|m| m.name.to_owned())
            .unwrap_or_default();
        Answers {
            booth_id: if cfg.booth.id == "DEV-BOOTH" {
                String::new()
            } else {
                cfg.booth.id.clone()
            },
            branch: if cfg.booth.branch == "DEV01" {
                String::new()
            } else {
                cfg.booth.branch.clone()
            },
            central_url: cfg.sync.central_url.clone(),
            token: String::new(),
            ca_cert: String::new(),
            printer_model: model,
            printer_address: String::new(),
            paper_width_mm: if cfg.printer.width_dots == 384 {
                "58".into()
            } else {
                "80".into()
            },
            orientation: cfg.kiosk.orientation.clone(),
            technician_pin: String::new(),
        }
    }
}

/// Answers that passed every check, ready to be applied.
#[derive(Clone, PartialEq, Eq)]
pub struct Validated {
    /// Booth id.
    pub booth_id: String,
    /// Branch code.
    pub branch: String,
    /// Central URL without a trailing slash.
    pub central_url: String,
    /// Enrollment token (never logged or printed).
    pub token: String,
    /// CA certificate file, if given.
    pub ca_cert: Option<PathBuf>,
    /// Printer.
    pub printer: PrinterModel,
    /// Printer address.
    pub printer_address: String,
    /// 576 or 384 dots.
    pub width_dots: u32,
    /// `landscape` or `portrait`.
    pub orientation: String,
    /// Technician PIN (never logged or printed).
    pub technician_pin: String,
}

impl fmt::Debug for Validated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validated")
            .field("booth_id", &self.booth_id)
            .field("branch", &self.branch)
            .field("central_url", &self.central_url)
            .field("printer", &self.printer.name)
            .field("width_dots", &self.width_dots)
            .field("orientation", &self.orientation)
            .finish_non_exhaustive()
    }
}

impl Validated {
    /// Applies the answers to a config (other keys stay as they are).
    pub fn apply(&self, cfg: &mut Config) {
        cfg.booth.id = self.booth_id.clone();
        cfg.booth.branch = self.branch.clone();
        cfg.sync.central_url = self.central_url.clone();
        cfg.printer.transport = self.printer.transport.into();
        cfg.printer.address = self.printer_address.clone();
        cfg.printer.width_dots = self.width_dots;
        cfg.kiosk.orientation = self.orientation.clone();
        cfg.kiosk.technician_pin = self.technician_pin.clone();
    }
}

/// Runs the booth config's own checks on a default config with one change; returns the
/// message of the check for `key` if it fails.
fn core_check(change: impl FnOnce(&mut Config), key: &str) -> Result<(), String> {
    let mut cfg = Config::default();
    change(&mut cfg);
    match Config::parse(&cfg.to_toml(), Path::new("booth.toml")) {
        Ok(_) => Ok(()),
        Err(ConfigError::Value {
            key: k, message, ..
        }) if k == key => Err(message),
        Err(e) => Err(e.to_string()),
    }
}

/// Checks one field; `Ok` carries nothing, the whole form is assembled by [`validate`].
pub fn check_field(answers: &Answers, field: Field, state_dir: &Path) -> Result<(), FieldError> {
    let v = answers.get(field).trim();
    let fail = |message: String| Err(FieldError { field, message });
    if v.is_empty() && !(field == Field::CaCert) {
        return fail(format!("is required ({})", field.flag()));
    }
    match field {
        Field::BoothId => {
            let ok = (3..=32).contains(&v.len())
                && v.starts_with(|c: char| c.is_ascii_uppercase())
                && v.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return fail(format!(
                    "{v:?} is not a booth id: 3–32 capital Latin letters, digits or '-', starting with a letter (e.g. ALM-0001)"
                ));
            }
        }
        Field::Branch => {
            core_check(|c| c.booth.branch = v.to_owned(), "booth.branch")
                .or_else(|m| fail(format!("{v:?}: {m} (e.g. ALM01)")))?;
        }
        Field::CentralUrl => check_url(v).or_else(fail)?,
        Field::Token => {
            if v.len() < 16 || v.len() > 512 || !v.bytes().all(|b| b.is_ascii_graphic()) {
                return fail(
                    "does not look like an enrollment token: 16–512 printable characters without spaces; copy it again from the operator's message"
                        .into(),
                );
            }
        }
        Field::CaCert => {
            if v.is_empty() {
                if !state_dir.join("sync/ca.crt").is_file() {
                    return fail(format!(
                        "is required: no CA certificate at {} yet; give the file from the provisioning bundle ({})",
                        state_dir.join("sync/ca.crt").display(),
                        field.flag()
                    ));
                }
            } else {
                match std::fs::read_to_string(v) {
                    Ok(t) if t.contains("-----BEGIN CERTIFICATE-----") => {}
                    Ok(_) => {
                        return fail(format!(
                            "{v} is not a PEM certificate (no BEGIN CERTIFICATE line)"
                        ));
                    }
                    Err(e) => return fail(format!("cannot read {v}: {e}")),
                }
            }
        }
        Field::PrinterModel => {
            if !PRINTER_MODELS.iter().any(|m| m.name == v) {
                let names: Vec<&str> = PRINTER_MODELS.iter().map(|m| m.name).collect();
                return fail(format!(
                    "unknown model {v:?}; supported: {}",
                    names.join(", ")
                ));
            }
            let a = answers.printer_address.trim();
            if !a.is_empty() && !a.contains(':') {
                return fail(format!(
                    "printer address {a:?} must be host:port (network) or vid:pid (USB)"
                ));
            }
        }
        Field::PaperWidth => {
            let dots = match v {
                "80" => 576,
                "58" => 384,
                _ => return fail(format!("{v:?}: paper width must be 80 or 58 (millimetres)")),
            };
            core_check(|c| c.printer.width_dots = dots, "printer.width_dots").or_else(fail)?;
        }
        Field::Orientation => {
            core_check(|c| c.kiosk.orientation = v.to_owned(), "kiosk.orientation")
                .or_else(|m| fail(format!("{v:?}: {m}")))?;
        }
        Field::TechnicianPin => {
            core_check(
                |c| c.kiosk.technician_pin = v.to_owned(),
                "kiosk.technician_pin",
            )
            .or_else(fail)?;
            let b = v.as_bytes();
            let same = b.iter().all(|&x| x == b[0]);
            let up = b.windows(2).all(|w| w[1] == w[0] + 1);
            let down = b.windows(2).all(|w| w[0] == w[1] + 1);
            if same || up || down {
                return fail(
                    "is too easy to guess (all one digit or a run like 123456); choose another"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

/// Checks a central URL: `https://host[:port]`, optionally with a trailing `/`, nothing else.
fn check_url(v: &str) -> Result<(), String> {
    let Some(rest) = v.strip_prefix("https://") else {
        return Err(format!(
            "{v:?} must start with https:// (the booth only talks to the central service over TLS)"
        ));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', ' ', '@']) {
        return Err(format!(
            "{v:?} must be only https://host[:port], without a path, query or user"
        ));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
    {
        return Err(format!("{v:?} has no valid host name"));
    }
    if let Some(p) = port
        && !matches!(p.parse::<u16>(), Ok(1..))
    {
        return Err(format!("{v:?}: port {p:?} must be a number 1–65535"));
    }
    Ok(())
}

/// Checks every field and returns all problems at once, or the validated answers.
pub fn validate(answers: &Answers, state_dir: &Path) -> Result<Validated, Vec<FieldError>> {
    let errors: Vec<FieldError> = Field::ALL
        .iter()
        .filter_map(|&f| check_field(answers, f, state_dir).err())
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let model = answers.printer_model.trim();
    // Invariant: check_field(PrinterModel) passed, so the model is in the table.
    let printer = PRINTER_MODELS
        .iter()
        .find(|m| m.name == model)
        .copied()
        .unwrap_or(PRINTER_MODELS[0]);
    let address = if answers.printer_address.trim().is_empty() {
        printer.address.to_owned()
    } else {
        answers.printer_address.trim().to_owned()
    };
    Ok(Validated {
        booth_id: answers.booth_id.trim().to_owned(),
        branch: answers.branch.trim().to_owned(),
        central_url: answers.central_url.trim().trim_end_matches('/').to_owned(),
        token: answers.token.trim().to_owned(),
        ca_cert: Some(answers.ca_cert.trim())
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        printer,
        printer_address: address,
        width_dots: if answers.paper_width_mm.trim() == "58" {
            384
        } else {
            576
        },
        orientation: answers.orientation.trim().to_owned(),
        technician_pin: answers.technician_pin.trim().to_owned(),
    })
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn good(dir: &Path) -> Answers {
        let ca = dir.join("ca.crt");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .expect("ca");
        Answers {
            booth_id: "ALM-0001".into(),
            branch: "ALM01".into(),
            central_url: "https://central.example:8443/".into(),
            token: "tok_0123456789abcdef".into(),
            ca_cert: ca.display().to_string(),
            printer_model: "virtual".into(),
            printer_address: String::new(),
            paper_width_mm: "80".into(),
            orientation: "portrait".into(),
            technician_pin: "482916".into(),
        }
    }

    fn message(a: &Answers, dir: &Path, field: Field) -> String {
        check_field(a, field, dir).expect_err("must fail").message
    }

    #[test]
    fn good_answers_validate_and_apply() {
        let dir = tempfile::tempdir().expect("tmp");
        let v = validate(&good(dir.path()), dir.path()).expect("valid");
        assert_eq!(v.central_url, "https://central.example:8443");
        assert_eq!(v.printer_address, "127.0.0.1:9100");
        let mut cfg = Config::default();
        v.apply(&mut cfg);
        let back = Config::parse(&cfg.to_toml(), Path::new("x")).expect("config parses");
        assert_eq!(back.booth.id, "ALM-0001");
        assert_eq!(back.kiosk.orientation, "portrait");
        assert!(
            !format!("{v:?}").contains("482916"),
            "PIN must not be in Debug output"
        );
    }

    #[test]
    fn each_field_has_a_specific_message() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let base = good(d);
        let with = |f: Field, v: &str| {
            let mut a = base.clone();
            *a.get_mut(f) = v.into();
            a
        };
        assert!(
            message(&with(Field::BoothId, "alm 1"), d, Field::BoothId)
                .contains("capital Latin letters")
        );
        assert!(
            message(&with(Field::Branch, "A"), d, Field::Branch).contains("2–8 letters or digits")
        );
        assert!(
            message(&with(Field::CentralUrl, "http://x"), d, Field::CentralUrl)
                .contains("https://")
        );
        assert!(
            message(
                &with(Field::CentralUrl, "https://x/api"),
                d,
                Field::CentralUrl
            )
            .contains("without a path")
        );
        assert!(
            message(
                &with(Field::CentralUrl, "https://x:99999"),
                d,
                Field::CentralUrl
            )
            .contains("port")
        );
        assert!(
            message(&with(Field::Token, "short"), d, Field::Token).contains("enrollment token")
        );
        assert!(
            message(
                &with(Field::CaCert, "/nonexistent/ca.crt"),
                d,
                Field::CaCert
            )
            .contains("cannot read")
        );
        assert!(
            message(&with(Field::CaCert, ""), d, Field::CaCert).contains("provisioning bundle")
        );
        assert!(
            message(&with(Field::PrinterModel, "hp"), d, Field::PrinterModel)
                .contains("supported: epson-tm-t20iii")
        );
        assert!(message(&with(Field::PaperWidth, "72"), d, Field::PaperWidth).contains("80 or 58"));
        assert!(
            message(&with(Field::Orientation, "sideways"), d, Field::Orientation)
                .contains("landscape")
        );
        assert!(
            message(&with(Field::TechnicianPin, "12ab"), d, Field::TechnicianPin)
                .contains("6 to 12 digits")
        );
        assert!(
            message(
                &with(Field::TechnicianPin, "123456"),
                d,
                Field::TechnicianPin
            )
            .contains("easy to guess")
        );
        assert!(message(&with(Field::BoothId, ""), d, Field::BoothId).contains("--booth-id"));
        let all = validate(&with(Field::Branch, "A"), d).expect_err("invalid");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].field, Field::Branch);
    }
}
