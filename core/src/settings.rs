//! Effective settings: the one place that merges what the central service sent (booth config,
//! working-day calendar, agency directory; stored by the sync agent) over the booth's TOML and
//! the built-in defaults, validated. The kiosk reads only this, at start-up and each time it
//! returns to the attract screen, so what the agent pulls is what the next citizen gets.
//!
//! Precedence, per value: a valid central value, else the booth's TOML, else the built-in
//! default (in [`crate::config`]). A central value that fails validation is refused (logged by
//! key, never silently taken) and the booth keeps its own.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::Transaction;

use crate::calendar::{self, EffectiveCalendar, NotCovered};
use crate::config::Config;
use crate::domain::Agency;
use crate::store::sync::KV_CENTRAL_CONFIG;
use crate::store::{StoreError, kiosk, kv_get};
use crate::wire::BoothConfig;

/// Longest recording the rules allow (003 p.24: at most three minutes).
pub const MAX_RECORDING_S: u32 = 180;
/// Shortest recording limit a central config may set (an appeal needs time to state its
/// substance, 003 p.26).
pub const MIN_RECORDING_S: u32 = 30;
/// Widest answer term a central config may set, in working days (seed 004: 30 days at most).
pub const MAX_DEADLINE_WORKING_DAYS: u32 = 30;

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The central service's booth config (its version).
    Central(u64),
    /// The booth's TOML file (or its built-in default).
    Booth,
}

/// A central value that was refused, and why (service mode and logs show it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Config key.
    pub key: &'static str,
    /// Why.
    pub reason: String,
}

/// Contact details the central config gives for receipts (003 p.33: where else the answer
/// can be had).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contacts {
    /// The branch's street address.
    pub branch_address: Option<String>,
    /// Phone for enquiries about answers.
    pub answer_phone: Option<String>,
    /// Web address for enquiries about answers.
    pub answer_web: Option<String>,
}

/// The settings in force.
#[derive(Debug, Clone, PartialEq)]
pub struct Effective {
    /// Working days to answer (Kazakhstan: 15).
    pub deadline_working_days: u32,
    /// Where [`Effective::deadline_working_days`] came from.
    pub deadline_source: Source,
    /// Longest take in seconds (003 p.24).
    pub max_recording_s: u32,
    /// Where [`Effective::max_recording_s`] came from.
    pub max_recording_source: Source,
    /// The working-day calendar and its source.
    pub calendar: EffectiveCalendar,
    /// The agency directory as last pulled (empty until the first pull).
    pub agencies: Vec<Agency>,
    /// Local time offset from UTC in minutes (receipt dates).
    pub utc_offset_minutes: i32,
    /// Central values refused.
    pub refused: Vec<Refused>,
    /// Contact lines for receipts (central config; none before the first pull).
    pub contacts: Contacts,
}

impl Effective {
    /// The expected answer date of an appeal recorded at `recorded_at` (003 p.24), by the one
    /// function in [`calendar::expected_answer_date`]; `None` when no calendar covers it (the
    /// receipt then says the date comes with the answer, never a guess).
    pub fn expected_answer_date(&self, recorded_at: DateTime<Utc>) -> Option<NaiveDate> {
        let offset = chrono::FixedOffset::east_opt(self.utc_offset_minutes * 60)
            .unwrap_or_else(calendar::kazakhstan_offset);
        match calendar::expected_answer_date(
            recorded_at,
            offset,
            self.deadline_working_days,
            &self.calendar.calendar,
        ) {
            Ok(d) => Some(d),
            Err(NotCovered { .. }) => None,
        }
    }
}

/// Merges `central` over `cfg`. Pure: [`load`] reads the store and calls this.
pub fn merge(
    cfg: &Config,
    central: Option<&BoothConfig>,
    calendar: EffectiveCalendar,
    agencies: Vec<Agency>,
) -> Effective {
    let mut refused = Vec::new();
    let mut deadline = (cfg.answers.deadline_working_days, Source::Booth);
    let mut max_rec = (cfg.kiosk.max_recording_s, Source::Booth);
    if let Some(c) = central {
        if (1..=MAX_DEADLINE_WORKING_DAYS).contains(&c.deadline_working_days) {
            deadline = (c.deadline_working_days, Source::Central(c.version));
        } else {
            refused.push(Refused {
                key: "deadline_working_days",
                reason: format!(
                    "{} is outside 1..={MAX_DEADLINE_WORKING_DAYS} working days",
                    c.deadline_working_days
                ),
            });
        }
        if (MIN_RECORDING_S..=MAX_RECORDING_S).contains(&c.max_recording_s) {
            max_rec = (c.max_recording_s, Source::Central(c.version));
        } else {
            refused.push(Refused {
                key: "max_recording_s",
                reason: format!(
                    "{} s is outside {MIN_RECORDING_S}..={MAX_RECORDING_S} s (003 p.24)",
                    c.max_recording_s
                ),
            });
        }
    }
    for r in &refused {
        tracing::warn!(key = r.key, reason = %r.reason, "central setting refused; the booth's own value stays");
    }
    if let Some(why) = &calendar.ignored {
        tracing::warn!(reason = %why, "stored central calendar not used");
    }
    Effective {
        deadline_working_days: deadline.0,
        deadline_source: deadline.1,
        max_recording_s: max_rec.0,
        max_recording_source: max_rec.1,
        calendar,
        agencies,
        utc_offset_minutes: cfg.answers.utc_offset_minutes,
        refused,
        contacts: central
            .map(|c| Contacts {
                branch_address: c.branch_address.clone(),
                answer_phone: c.answer_phone.clone(),
                answer_web: c.answer_web.clone(),
            })
            .unwrap_or_default(),
    }
}

/// Reads what the sync agent stored and merges it over `cfg`. A stored central config that no
/// longer parses counts as absent (logged).
pub fn load(tx: &Transaction<'_>, cfg: &Config) -> Result<Effective, StoreError> {
    let central = match kv_get(tx, KV_CENTRAL_CONFIG)? {
        Some(json) => match serde_json::from_str::<BoothConfig>(&json) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "stored central config unreadable; the booth's own values apply");
                None
            }
        },
        None => None,
    };
    let calendar = calendar::load_effective(tx)?;
    let agencies = kiosk::agencies(tx)?;
    Ok(merge(cfg, central.as_ref(), calendar, agencies))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::CalendarSource;
    use crate::store::{Store, kv_set};

    fn central(deadline: u32, max_rec: u32) -> BoothConfig {
        BoothConfig {
            version: 7,
            deadline_working_days: deadline,
            forward_working_days: 3,
            max_recording_s: max_rec,
            pull_interval_s: 60,
            heartbeat_interval_s: 60,
            max_upload_bytes: 1 << 30,
            lookup: crate::code::LookupParams::default(),
            age_recipients: Vec::new(),
            branch_address: None,
            answer_phone: Some("1414".into()),
            answer_web: None,
        }
    }

    #[test]
    fn central_values_win_over_the_booth_file_when_valid() {
        let cfg = Config::default();
        let e = merge(
            &cfg,
            Some(&central(10, 120)),
            calendar::effective_calendar(None),
            Vec::new(),
        );
        assert_eq!(e.deadline_working_days, 10);
        assert_eq!(e.deadline_source, Source::Central(7));
        assert_eq!(e.max_recording_s, 120);
        assert!(e.refused.is_empty());
    }

    #[test]
    fn seed_003_p24_a_central_limit_over_three_minutes_is_refused_and_the_booth_keeps_its_own() {
        let cfg = Config::default();
        let e = merge(
            &cfg,
            Some(&central(0, 600)),
            calendar::effective_calendar(None),
            Vec::new(),
        );
        assert_eq!(e.max_recording_s, 180);
        assert_eq!(e.max_recording_source, Source::Booth);
        assert_eq!(e.deadline_working_days, cfg.answers.deadline_working_days);
        let keys: Vec<_> = e.refused.iter().map(|r| r.key).collect();
        assert_eq!(keys, vec!["deadline_working_days", "max_recording_s"]);
    }

    #[test]
    fn what_the_agent_stored_is_what_load_returns() {
        let dir = tempfile::tempdir().expect("dir");
        let mut s = Store::open(&dir.path().join("b.sqlite3")).expect("open");
        let cfg = Config::default();
        let before = s.read(|tx| load(tx, &cfg)).expect("load");
        assert_eq!(before.deadline_source, Source::Booth);
        assert_eq!(before.calendar.source, CalendarSource::Builtin);
        let json = serde_json::to_string(&central(5, 90)).expect("json");
        s.write(|tx| kv_set(tx, KV_CENTRAL_CONFIG, &json))
            .expect("store");
        let after = s.read(|tx| load(tx, &cfg)).expect("load");
        assert_eq!(after.deadline_working_days, 5);
        assert_eq!(after.max_recording_s, 90);
        assert_eq!(after.contacts.answer_phone.as_deref(), Some("1414"));
        let recorded: DateTime<Utc> = "2026-12-01T05:00:00Z".parse().expect("t");
        let d5 = after.expected_answer_date(recorded).expect("covered");
        let d15 = before.expected_answer_date(recorded).expect("covered");
        assert!(d5 < d15, "the central term changes the date: {d5} vs {d15}");
    }

    #[test]
    fn a_date_past_every_calendar_is_none_never_a_guess() {
        let e = merge(
            &Config::default(),
            None,
            calendar::effective_calendar(None),
            Vec::new(),
        );
        let late: DateTime<Utc> = "2027-12-20T05:00:00Z".parse().expect("t");
        assert_eq!(e.expected_answer_date(late), None);
    }
}
