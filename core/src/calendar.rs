//! The working-day calendar as data ([`WorkingCalendar`]) and the one function that computes an
//! appeal's expected answer date ([`expected_answer_date`]), used by the booth and by the
//! central service alike so that both print and keep the same date.
//!
//! # The rule
//!
//! - The answer term is N working days. Kazakhstan's current appeals deadline is 15 working
//!   days (seed; DESIGN §1), a setting pulled from the central service
//!   (`BoothConfig::deadline_working_days`) with the built-in default
//!   `[answers] deadline_working_days = 15`.
//! - The day counted from is the day "Finish recording" was pressed (003 p.27: that press is the
//!   sending), in local time (Kazakhstan: UTC+5, [`KAZAKHSTAN_UTC_OFFSET_MINUTES`]). An appeal
//!   sent on a non-working day is taken in on the next working day; the expected answer date is
//!   the N-th working day after that intake day.
//! - Working days: Monday to Friday (Labour Code art. 84), less the holidays of the Law "On
//!   holidays in the Republic of Kazakhstan" and the moved days of Labour Code art. 85 (a
//!   holiday on a day off moves to the next working day, religious holidays excepted), with the
//!   Government's day-off transfers. The sources and which entries are statute or assumed are
//!   cited in the data file, `core/data/calendar-kz.toml`.
//! - Never a guess: where the calendar does not cover a day the computation needs, there is no
//!   date ([`NotCovered`]); the receipt then says the date will come with the answer.
//!
//! # The file format (built-in and `GET /v1/calendar`)
//!
//! ```toml
//! version = 2026_12_02          # > 0; grows with every change; the booth keeps the newest
//! years = [2026, 2027]          # the years covered: ascending, consecutive, each with holidays
//! weekend = ["sat", "sun"]      # mon tue wed thu fri sat sun; not all seven
//!
//! [[holiday]]                   # at least one; in strictly ascending date order
//! date = "2026-01-01"           # quoted YYYY-MM-DD, inside `years`
//! name = "New Year"             # not empty
//! moves = true                  # false for religious holidays (Labour Code art. 85)
//!
//! [[transfer]]                  # optional; in strictly ascending `day_off` order
//! working_day = "2026-01-03"    # a weekend day made a working day
//! day_off = "2026-01-05"        # a weekday made a day off
//! source = "Government decree on day-off transfers for 2026"
//! ```
//!
//! A file is refused as a whole ([`CalendarError`], naming the problem and the entry) when it
//! has an unknown field, an unknown or repeated weekday name, a weekend of all seven days, no
//! years, years out of order or with a gap, a year without holidays, no holidays, a date that
//! is not `YYYY-MM-DD`, a date outside its years, holidays out of order or listed twice, a
//! transfer that does not swap a weekend day with a weekday, or a transfer day that overlaps a
//! holiday or another transfer. A refused file from the central service leaves the last good
//! calendar in use ([`effective_calendar`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, Utc, Weekday};
use rusqlite::Transaction;
use serde::Deserialize;

use crate::store::{StoreError, kv_get, sync::KV_CALENDAR_TOML};

/// The calendar shipped with the booth (2026 and 2027); the central service may send a newer one.
pub const BUILTIN_CALENDAR: &str = include_str!("../data/calendar-kz.toml");

/// Kazakhstan's offset from UTC in minutes: one time zone, UTC+5, for the whole country since
/// 1 March 2024. The booth's `[answers] utc_offset_minutes` defaults to it.
pub const KAZAKHSTAN_UTC_OFFSET_MINUTES: i32 = 300;

/// Kazakhstan's local time ([`KAZAKHSTAN_UTC_OFFSET_MINUTES`]).
pub fn kazakhstan_offset() -> FixedOffset {
    match FixedOffset::east_opt(KAZAKHSTAN_UTC_OFFSET_MINUTES * 60) {
        Some(o) => o,
        None => unreachable!("18 000 s is inside FixedOffset's ±86 400 s"),
    }
}

/// Years a calendar may declare (a sanity bound, not a legal one).
const YEAR_RANGE: std::ops::RangeInclusive<i32> = 2000..=2200;

/// Why a calendar file is refused. Every variant names the problem and, where there is one,
/// the entry (`holiday #3 (Nauryz meiramy)`, `transfer #1`, `weekend`, `years`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// TOML syntax, a missing or unknown field, or a field of the wrong type.
    #[error("calendar file is malformed: {0}")]
    Parse(String),
    /// `version = 0`.
    #[error("calendar version must be greater than 0")]
    ZeroVersion,
    /// A weekday name other than mon, tue, wed, thu, fri, sat, sun.
    #[error(
        "weekend: unknown weekday name {name:?} (expected one of mon, tue, wed, thu, fri, sat, sun)"
    )]
    UnknownWeekday {
        /// The name as written.
        name: String,
    },
    /// A weekday listed twice in `weekend`.
    #[error("weekend: {name:?} is listed twice")]
    DuplicateWeekday {
        /// The name as written.
        name: String,
    },
    /// All seven days are days off: no working day exists.
    #[error("weekend: all seven days are listed, so no day would be a working day")]
    NoWorkingWeekday,
    /// `years = []`.
    #[error("years: the list is empty, so the file covers no year")]
    NoYears,
    /// A year outside the sane range.
    #[error("years: {year} is outside {}..={}", YEAR_RANGE.start(), YEAR_RANGE.end())]
    YearOutOfRange {
        /// The year.
        year: i32,
    },
    /// Years not ascending and consecutive (a gap would be a year without data).
    #[error("years: {year} does not follow {previous}; years must be ascending and consecutive")]
    YearsNotConsecutive {
        /// The year before.
        previous: i32,
        /// The offending year.
        year: i32,
    },
    /// The holiday list is empty.
    #[error("the holiday list is empty, so the file has no data")]
    NoHolidays,
    /// A declared year with no holiday entries.
    #[error("year {year} is declared in `years` but has no holiday entries")]
    YearWithoutData {
        /// The year.
        year: i32,
    },
    /// A date that is not `YYYY-MM-DD` or not a real day.
    #[error("{entry}: {field} {value:?} is not a date (YYYY-MM-DD)")]
    BadDate {
        /// The entry.
        entry: String,
        /// `date`, `working_day` or `day_off`.
        field: &'static str,
        /// The text as written.
        value: String,
    },
    /// A holiday without a name.
    #[error("{entry}: name is empty")]
    EmptyName {
        /// The entry.
        entry: String,
    },
    /// A date outside the declared years.
    #[error("{entry}: {date} is outside the years the file declares ({first}..={last})")]
    OutsideYears {
        /// The entry.
        entry: String,
        /// The date.
        date: NaiveDate,
        /// First declared year.
        first: i32,
        /// Last declared year.
        last: i32,
    },
    /// The same date in two entries of the same list.
    #[error("{entry}: {date} is listed twice (also {other})")]
    Duplicate {
        /// The later entry.
        entry: String,
        /// The date.
        date: NaiveDate,
        /// The earlier entry.
        other: String,
    },
    /// Entries out of date order.
    #[error(
        "{entry}: {date} comes after {other} ({previous}) in the file but is earlier; entries must be in ascending date order"
    )]
    Unsorted {
        /// The entry out of place.
        entry: String,
        /// Its date.
        date: NaiveDate,
        /// The entry before it.
        other: String,
        /// That entry's date.
        previous: NaiveDate,
    },
    /// A transfer day that is also a holiday or a day of another transfer.
    #[error("{entry}: {date} overlaps {other}")]
    Overlap {
        /// The transfer.
        entry: String,
        /// The shared day.
        date: NaiveDate,
        /// The holiday or transfer it overlaps.
        other: String,
    },
    /// A transfer that does not make a weekend day worked and a weekday off.
    #[error(
        "{entry}: working_day {working_day} must be a weekend day and day_off {day_off} a weekday"
    )]
    BadTransfer {
        /// The transfer.
        entry: String,
        /// The day declared working.
        working_day: NaiveDate,
        /// The day declared off.
        day_off: NaiveDate,
    },
}

/// No calendar covers a day the computation needs: there is no expected answer date (the
/// receipt says it will come with the answer; the technician sees "calendar outdated").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no calendar covers {date} (the calendar in use covers {first_year}..={last_year}); a newer calendar is needed from the central service"
)]
pub struct NotCovered {
    /// The first day the computation needed and the calendar does not cover.
    pub date: NaiveDate,
    /// First year the calendar covers.
    pub first_year: i32,
    /// Last year the calendar covers.
    pub last_year: i32,
}

/// A public holiday entry, as validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// Date.
    pub date: NaiveDate,
    /// Name (for the technician and the operator page).
    pub name: String,
    /// Whether the holiday moves to the next working day when it falls on a day off (Labour
    /// Code art. 85; false for religious holidays).
    pub moves: bool,
}

/// A Government transfer: a weekend day becomes a working day and a weekday becomes a day off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    /// The weekend day that is worked.
    pub working_day: NaiveDate,
    /// The weekday that is off.
    pub day_off: NaiveDate,
    /// Where the transfer comes from.
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: u64,
    years: Vec<i32>,
    weekend: Vec<String>,
    #[serde(default)]
    holiday: Vec<RawHoliday>,
    #[serde(default)]
    transfer: Vec<RawTransfer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    date: String,
    name: String,
    moves: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransfer {
    working_day: String,
    day_off: String,
    #[serde(default)]
    source: String,
}

/// Working days of one or more consecutive years, computed once from validated data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    version: u64,
    weekend: BTreeSet<u8>,
    holidays: Vec<Holiday>,
    transfers: Vec<Transfer>,
    days_off: BTreeSet<NaiveDate>,
    worked_weekend_days: BTreeSet<NaiveDate>,
    first_year: i32,
    last_year: i32,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// Strict `YYYY-MM-DD` (chrono alone also takes signs and one-digit months).
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

struct Label<'a>(&'static str, usize, Option<&'a str>);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} #{}", self.0, self.1 + 1)?;
        if let Some(n) = self.2 {
            let short: String = n.chars().take(60).collect();
            write!(f, " ({short})")?;
        }
        Ok(())
    }
}

fn holiday_label(i: usize, name: &str) -> String {
    Label("holiday", i, Some(name)).to_string()
}

fn transfer_label(i: usize) -> String {
    Label("transfer", i, None).to_string()
}

impl WorkingCalendar {
    /// The calendar shipped with the booth.
    pub fn builtin() -> WorkingCalendar {
        // Invariant: the shipped file is checked by the `builtin_calendar_is_valid` test.
        match WorkingCalendar::from_toml(BUILTIN_CALENDAR) {
            Ok(c) => c,
            Err(e) => unreachable!("shipped calendar is invalid: {e}"),
        }
    }

    /// Parses and strictly validates a calendar file (see the module docs for every check),
    /// then computes the moved holidays (Labour Code art. 85).
    pub fn from_toml(text: &str) -> Result<WorkingCalendar, CalendarError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| CalendarError::Parse(e.to_string()))?;
        if raw.version == 0 {
            return Err(CalendarError::ZeroVersion);
        }

        // Weekend (Labour Code art. 84).
        let mut weekend = BTreeSet::new();
        for name in &raw.weekend {
            let d = weekday(name)
                .ok_or_else(|| CalendarError::UnknownWeekday { name: name.clone() })?;
            if !weekend.insert(d.num_days_from_monday() as u8) {
                return Err(CalendarError::DuplicateWeekday { name: name.clone() });
            }
        }
        if weekend.len() == 7 {
            return Err(CalendarError::NoWorkingWeekday);
        }

        // Years covered.
        let (Some(&first_year), Some(&last_year)) = (raw.years.first(), raw.years.last()) else {
            return Err(CalendarError::NoYears);
        };
        for (i, &year) in raw.years.iter().enumerate() {
            if !YEAR_RANGE.contains(&year) {
                return Err(CalendarError::YearOutOfRange { year });
            }
            if let Some(&previous) = i.checked_sub(1).and_then(|p| raw.years.get(p))
                && previous.checked_add(1) != Some(year)
            {
                return Err(CalendarError::YearsNotConsecutive { previous, year });
            }
        }
        let inside = |entry: &dyn Fn() -> String, date: NaiveDate| {
            if (first_year..=last_year).contains(&date.year()) {
                Ok(())
            } else {
                Err(CalendarError::OutsideYears {
                    entry: entry(),
                    date,
                    first: first_year,
                    last: last_year,
                })
            }
        };

        // Holidays (Law "On holidays"): ascending, no duplicates, inside the years.
        if raw.holiday.is_empty() {
            return Err(CalendarError::NoHolidays);
        }
        let mut holidays: Vec<Holiday> = Vec::with_capacity(raw.holiday.len());
        let mut holiday_at: BTreeMap<NaiveDate, String> = BTreeMap::new();
        for (i, h) in raw.holiday.iter().enumerate() {
            let entry = || holiday_label(i, &h.name);
            let date = parse_date(&h.date).ok_or_else(|| CalendarError::BadDate {
                entry: entry(),
                field: "date",
                value: h.date.clone(),
            })?;
            if h.name.trim().is_empty() {
                return Err(CalendarError::EmptyName { entry: entry() });
            }
            inside(&entry, date)?;
            if let Some(prev) = holidays.last() {
                let other = holiday_label(i - 1, &prev.name);
                if date == prev.date {
                    return Err(CalendarError::Duplicate {
                        entry: entry(),
                        date,
                        other,
                    });
                }
                if date < prev.date {
                    return Err(CalendarError::Unsorted {
                        entry: entry(),
                        date,
                        other,
                        previous: prev.date,
                    });
                }
            }
            holiday_at.insert(date, entry());
            holidays.push(Holiday {
                date,
                name: h.name.clone(),
                moves: h.moves,
            });
        }
        for year in first_year..=last_year {
            if !holidays.iter().any(|h| h.date.year() == year) {
                return Err(CalendarError::YearWithoutData { year });
            }
        }

        let is_weekend =
            |d: NaiveDate| weekend.contains(&(d.weekday().num_days_from_monday() as u8));

        // Government transfers: a weekend day for a weekday, no overlaps, ascending by day_off.
        let mut transfers: Vec<Transfer> = Vec::with_capacity(raw.transfer.len());
        let mut transfer_at: BTreeMap<NaiveDate, String> = BTreeMap::new();
        for (i, t) in raw.transfer.iter().enumerate() {
            let entry = || transfer_label(i);
            let day = |field: &'static str, value: &String| {
                parse_date(value).ok_or_else(|| CalendarError::BadDate {
                    entry: entry(),
                    field,
                    value: value.clone(),
                })
            };
            let working_day = day("working_day", &t.working_day)?;
            let day_off = day("day_off", &t.day_off)?;
            inside(&entry, working_day)?;
            inside(&entry, day_off)?;
            if !is_weekend(working_day) || is_weekend(day_off) {
                return Err(CalendarError::BadTransfer {
                    entry: entry(),
                    working_day,
                    day_off,
                });
            }
            for d in [working_day, day_off] {
                if let Some(other) = holiday_at.get(&d).or_else(|| transfer_at.get(&d)) {
                    return Err(CalendarError::Overlap {
                        entry: entry(),
                        date: d,
                        other: other.clone(),
                    });
                }
            }
            if let Some(prev) = transfers.last()
                && day_off < prev.day_off
            {
                return Err(CalendarError::Unsorted {
                    entry: entry(),
                    date: day_off,
                    other: transfer_label(i - 1),
                    previous: prev.day_off,
                });
            }
            transfer_at.insert(working_day, entry());
            transfer_at.insert(day_off, entry());
            transfers.push(Transfer {
                working_day,
                day_off,
                source: t.source.clone(),
            });
        }

        let mut cal = WorkingCalendar {
            version: raw.version,
            weekend,
            holidays,
            transfers,
            days_off: BTreeSet::new(),
            worked_weekend_days: BTreeSet::new(),
            first_year,
            last_year,
        };
        cal.days_off.extend(cal.holidays.iter().map(|h| h.date));
        for t in &cal.transfers {
            cal.worked_weekend_days.insert(t.working_day);
            cal.days_off.insert(t.day_off);
        }
        // Labour Code art. 85, Law "On holidays": a holiday on a day off gives the next working
        // day off; religious holidays (`moves = false`) do not move. Holidays are in date order,
        // so consecutive holidays on a weekend (Nauryz) move to consecutive working days. A
        // week has a working day, so each search ends within a few days.
        let moving: Vec<NaiveDate> = cal
            .holidays
            .iter()
            .filter(|h| h.moves && cal.is_weekend(h.date))
            .map(|h| h.date)
            .collect();
        for mut d in moving {
            while let Some(next) = d.succ_opt() {
                d = next;
                if cal.is_working_day_raw(d) {
                    cal.days_off.insert(d);
                    break;
                }
            }
        }
        Ok(cal)
    }

    /// Version of the data (grows with every change).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// First year covered.
    pub fn first_year(&self) -> i32 {
        self.first_year
    }

    /// Last year covered.
    pub fn last_year(&self) -> i32 {
        self.last_year
    }

    /// The holidays, in date order.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// The Government transfers, in `day_off` order.
    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    fn is_weekend(&self, d: NaiveDate) -> bool {
        self.weekend
            .contains(&(d.weekday().num_days_from_monday() as u8))
    }

    fn is_working_day_raw(&self, d: NaiveDate) -> bool {
        if self.worked_weekend_days.contains(&d) {
            return true;
        }
        !self.is_weekend(d) && !self.days_off.contains(&d)
    }

    fn not_covered(&self, date: NaiveDate) -> NotCovered {
        NotCovered {
            date,
            first_year: self.first_year,
            last_year: self.last_year,
        }
    }

    /// Whether the calendar has data for `d`'s year.
    pub fn covers(&self, d: NaiveDate) -> bool {
        (self.first_year..=self.last_year).contains(&d.year())
    }

    /// Whether `d` is a working day; [`NotCovered`] outside the years the calendar covers
    /// (there the answer would be a guess).
    pub fn is_working_day(&self, d: NaiveDate) -> Result<bool, NotCovered> {
        if !self.covers(d) {
            return Err(self.not_covered(d));
        }
        Ok(self.is_working_day_raw(d))
    }

    fn next_day(&self, d: NaiveDate) -> Result<NaiveDate, NotCovered> {
        let next = d
            .checked_add_days(Days::new(1))
            .ok_or(self.not_covered(d))?;
        if self.covers(next) {
            Ok(next)
        } else {
            Err(self.not_covered(next))
        }
    }

    /// The day an appeal sent on `filed` is taken in: `filed` itself on a working day, else
    /// the next working day.
    pub fn intake_day(&self, filed: NaiveDate) -> Result<NaiveDate, NotCovered> {
        let mut d = filed;
        while !self.is_working_day(d)? {
            d = self.next_day(d)?;
        }
        Ok(d)
    }

    /// The `n`-th working day after the intake day of `filed`. Private: callers use
    /// [`expected_answer_date`], the one function that turns a recording time into the date.
    fn nth_working_day_after_intake(
        &self,
        filed: NaiveDate,
        n: u32,
    ) -> Result<NaiveDate, NotCovered> {
        let mut d = self.intake_day(filed)?;
        let mut left = n;
        while left > 0 {
            d = self.next_day(d)?;
            if self.is_working_day_raw(d) {
                left -= 1;
            }
        }
        Ok(d)
    }
}

/// The expected answer date of an appeal: THE one function for it, used by the booth (receipt,
/// screen, store) and by the central service (its deadline), so both agree.
///
/// `recorded_at` is when "Finish recording" was pressed (003 p.27); its day is taken in local
/// time (`utc_offset`, Kazakhstan: [`kazakhstan_offset`]). The answer is due
/// `deadline_working_days` working days (Kazakhstan: 15, pulled from the central service) after
/// the intake day (the next working day when sent on a day off), by `calendar`.
///
/// Returns [`NotCovered`] when the calendar does not cover every day the count passes: then
/// there is no date, never an estimate.
pub fn expected_answer_date(
    recorded_at: DateTime<Utc>,
    utc_offset: FixedOffset,
    deadline_working_days: u32,
    calendar: &WorkingCalendar,
) -> Result<NaiveDate, NotCovered> {
    let filed = recorded_at.with_timezone(&utc_offset).date_naive();
    calendar.nth_working_day_after_intake(filed, deadline_working_days)
}

/// Where the calendar in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalendarSource {
    /// The file shipped with the booth ([`BUILTIN_CALENDAR`]).
    Builtin,
    /// The last valid file pulled from the central service.
    Central,
}

/// Why a stored central calendar is not the one in use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CentralCalendarIgnored {
    /// It fails validation (the sync agent stores only valid files; this means damage or an
    /// older booth version's format).
    #[error("the stored central calendar is refused: {0}")]
    Refused(CalendarError),
    /// The built-in file is newer (a software update brought newer data).
    #[error(
        "the stored central calendar (version {central}) is older than the built-in one (version {builtin})"
    )]
    Older {
        /// Version of the stored central file.
        central: u64,
        /// Version of the built-in file.
        builtin: u64,
    },
}

/// The calendar the booth uses, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveCalendar {
    /// The calendar.
    pub calendar: WorkingCalendar,
    /// Its source.
    pub source: CalendarSource,
    /// Why a stored central calendar was not used, if one was stored.
    pub ignored: Option<CentralCalendarIgnored>,
}

/// The calendar in use given the central file last stored by the sync agent (if any): the
/// central one when it is valid and not older than the built-in one, else the built-in one.
/// Versions grow with every change, so "newest valid wins".
pub fn effective_calendar(central_toml: Option<&str>) -> EffectiveCalendar {
    let builtin = WorkingCalendar::builtin();
    let Some(text) = central_toml else {
        return EffectiveCalendar {
            calendar: builtin,
            source: CalendarSource::Builtin,
            ignored: None,
        };
    };
    let ignored = match WorkingCalendar::from_toml(text) {
        Ok(c) if c.version() >= builtin.version() => {
            return EffectiveCalendar {
                calendar: c,
                source: CalendarSource::Central,
                ignored: None,
            };
        }
        Ok(c) => CentralCalendarIgnored::Older {
            central: c.version(),
            builtin: builtin.version(),
        },
        Err(e) => CentralCalendarIgnored::Refused(e),
    };
    EffectiveCalendar {
        calendar: builtin,
        source: CalendarSource::Builtin,
        ignored: Some(ignored),
    }
}

/// [`effective_calendar`] of what the shared store holds (`kv` [`KV_CALENDAR_TOML`], written
/// by the sync agent only after validation). The kiosk calls this at start-up and whenever it
/// returns to the attract screen.
pub fn load_effective(tx: &Transaction<'_>) -> Result<EffectiveCalendar, StoreError> {
    let text = kv_get(tx, KV_CALENDAR_TOML)?;
    Ok(effective_calendar(text.as_deref()))
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn working(c: &WorkingCalendar, day: &str) -> bool {
        c.is_working_day(d(day)).expect("covered")
    }

    /// 12:00 local time in Kazakhstan on `day`.
    fn noon(day: &str) -> DateTime<Utc> {
        d(day).and_hms_opt(7, 0, 0).expect("time").and_utc()
    }

    fn answer(c: &WorkingCalendar, day: &str, n: u32) -> Result<NaiveDate, NotCovered> {
        expected_answer_date(noon(day), kazakhstan_offset(), n, c)
    }

    #[test]
    fn builtin_calendar_is_valid_and_covers_2026_and_2027_only() {
        let c = WorkingCalendar::from_toml(BUILTIN_CALENDAR).expect("shipped calendar");
        assert_eq!((c.first_year(), c.last_year()), (2026, 2027));
        assert!(c.covers(d("2026-01-01")) && c.covers(d("2027-12-31")));
        assert!(!c.covers(d("2025-12-31")) && !c.covers(d("2028-01-01")));
        assert!(c.version() > 20261101, "grows past the file it replaces");
        assert!(c.transfers().is_empty(), "no Government transfer known");
    }

    /// The Constitution adopted by the referendum of 15 March 2026: 30 August is no longer a
    /// holiday from 2026 (30 August 2026 is a Sunday, so Monday 31 August is worked), and
    /// Constitution Day is 15 March from 2027.
    #[test]
    fn constitution_2026_no_30_august_and_15_march_from_2027() {
        let c = WorkingCalendar::builtin();
        assert!(
            working(&c, "2026-08-31"),
            "no moved Constitution Day in 2026"
        );
        assert!(
            working(&c, "2027-08-30"),
            "30 August 2027 (Monday) is worked"
        );
        assert!(!working(&c, "2027-03-15"), "Constitution Day 2027 (Monday)");
        assert!(
            !c.holidays().iter().any(|h| h.date.month() == 8),
            "no August holiday"
        );
        assert!(working(&c, "2026-03-16"), "not a holiday in 2026 yet");
    }

    /// Labour Code art. 85: a holiday on a day off moves to the next working day, except
    /// religious holidays.
    #[test]
    fn labour_code_art_85_holidays_on_weekends_move_religious_ones_do_not() {
        let c = WorkingCalendar::builtin();
        // Nauryz 2026: 21 (Sat) and 22 (Sun) move to Tue 24 and Wed 25; Mon 23 is itself off.
        for day in [
            "2026-03-21",
            "2026-03-22",
            "2026-03-23",
            "2026-03-24",
            "2026-03-25",
        ] {
            assert!(!working(&c, day), "{day}");
        }
        assert!(working(&c, "2026-03-26"));
        // Women's Day 2026 is a Sunday: Monday 9 March is off.
        assert!(!working(&c, "2026-03-09"));
        // Victory Day 2026 (Sat) → Mon 11 May off.
        assert!(!working(&c, "2026-05-11"));
        // Republic Day 2026 (Sun) → Mon 26 October off.
        assert!(!working(&c, "2026-10-26"));
        // 2 January 2027 (Sat) → Mon 4 January off.
        assert!(!working(&c, "2027-01-04"));
        // Nauryz 2027: 21 (Sun) → Wed 24 (22, 23 are themselves off).
        assert!(!working(&c, "2027-03-24") && working(&c, "2027-03-25"));
        // 1 May 2027 (Sat) → Mon 3 May; 9 May 2027 (Sun) → Mon 10 May.
        assert!(!working(&c, "2027-05-03") && !working(&c, "2027-05-10"));
        // Kurban Ait 2027 (assumed 16 May) is a Sunday and does not move: Monday 17 May is worked.
        assert!(working(&c, "2027-05-17"));
        // Orthodox Christmas 2026 is a Wednesday: off, and nothing moves.
        assert!(!working(&c, "2026-01-07") && working(&c, "2026-01-08"));
    }

    /// The official 2026 calendar (egov.kz) listed 15 weekdays off for a five-day week; with
    /// 30 August gone (a Sunday, it gave Monday 31 August) 14 remain.
    #[test]
    fn weekdays_off_in_2026_match_the_published_calendar_less_31_august() {
        let c = WorkingCalendar::builtin();
        let mut off = Vec::new();
        let mut day = d("2026-01-01");
        while day.year() == 2026 {
            if !c.is_weekend(day) && !working(&c, &day.to_string()) {
                off.push(day.to_string());
            }
            day = day.succ_opt().expect("next");
        }
        let want = [
            "2026-01-01",
            "2026-01-02",
            "2026-01-07",
            "2026-03-09",
            "2026-03-23",
            "2026-03-24",
            "2026-03-25",
            "2026-05-01",
            "2026-05-07",
            "2026-05-11",
            "2026-05-27",
            "2026-07-06",
            "2026-10-26",
            "2026-12-16",
        ];
        assert_eq!(off, want);
    }

    /// Hand-worked expected answer dates (DESIGN §1: 15 working days unless stated).
    #[test]
    fn expected_answer_dates_hand_worked() {
        let c = WorkingCalendar::builtin();
        let cases = [
            // Filed Thu 19 Mar 2026. Working days after: Fri 20 (1), Thu 26 (2), Fri 27 (3),
            // 30,31 (5), 1,2,3 Apr (8), 6-10 (13), 13 (14), 14 (15).
            ("2026-03-19", 15, "2026-04-14"),
            // Filed Sat 21 Mar (Nauryz): intake Thu 26. Then 27(1), 30,31(3), 1-3(6), 6-10(11), 13-16(15).
            ("2026-03-21", 15, "2026-04-16"),
            // Filed on Sunday 3 May 2026: intake Mon 4 May. 5,6 (2), 8 (3; 7 is off), 12-15 (7; 11 off),
            // 18-22 (12), 25,26 (14), 28 (15; 27 Kurban Ait).
            ("2026-05-03", 15, "2026-05-28"),
            // Across 30 August 2026, no longer a holiday: filed Mon 24 Aug. 25-28 (4), 31 (5),
            // 1-4 Sep (9), 7-11 (14), 14 (15). Before the new Constitution it was 15 September.
            ("2026-08-24", 15, "2026-09-14"),
            // Year end: filed Tue 29 Dec 2026. 30,31 (2), 2027: 1,2 off, 4 off (moved), 5,6 (4),
            // 7 off, 8 (5), 11-15 (10), 18-22 (15).
            ("2026-12-29", 15, "2027-01-22"),
            // Across Constitution Day 2027 (Mon 15 Mar) and Women's Day (Mon 8 Mar): filed
            // Fri 5 Mar 2027. 9-12 (4), 16-19 (8), 22,23 off, 24 off (21 moved), 25,26 (10),
            // 29-31 (13), 1,2 Apr (15).
            ("2027-03-05", 15, "2027-04-02"),
            // Short deadline (10 days, 004) across Independence Day: filed Mon 14 Dec 2026.
            // 15 (1), 16 off, 17,18 (3), 21-25 (8), 28,29 (10).
            ("2026-12-14", 10, "2026-12-29"),
            // Zero working days: the intake day itself.
            ("2026-03-22", 0, "2026-03-26"),
        ];
        for (filed, n, want) in cases {
            assert_eq!(answer(&c, filed, n), Ok(d(want)), "filed {filed} + {n}");
        }
    }

    /// The day is the local (UTC+5) day of "Finish recording" (003 p.27).
    #[test]
    fn the_day_counted_is_the_local_day_of_finish() {
        let c = WorkingCalendar::builtin();
        // 20:00 UTC on Thu 19 March 2026 is 01:00 on Fri 20 March in Kazakhstan.
        let late = d("2026-03-19")
            .and_hms_opt(20, 0, 0)
            .expect("time")
            .and_utc();
        assert_eq!(
            expected_answer_date(late, kazakhstan_offset(), 15, &c),
            answer(&c, "2026-03-20", 15)
        );
        assert_ne!(
            expected_answer_date(late, FixedOffset::east_opt(0).expect("utc"), 15, &c),
            answer(&c, "2026-03-20", 15)
        );
    }

    /// Never a guess: a date past the calendar, or a recording before it, has no answer date.
    #[test]
    fn outside_the_calendar_there_is_no_date() {
        let c = WorkingCalendar::builtin();
        let e = answer(&c, "2027-12-20", 15).expect_err("runs into 2028");
        assert_eq!(e.date, d("2028-01-01"));
        assert_eq!((e.first_year, e.last_year), (2026, 2027));
        assert!(
            answer(&c, "2025-12-30", 15).is_err(),
            "recorded before 2026"
        );
        assert!(answer(&c, "2028-02-01", 0).is_err(), "recorded after 2027");
        // The last answer date inside 2027 still comes out.
        assert_eq!(answer(&c, "2027-12-01", 15), Ok(d("2027-12-23")));
        assert!(c.is_working_day(d("2028-01-03")).is_err());
    }

    #[test]
    fn transfers_apply() {
        let text = format!(
            "{BUILTIN_CALENDAR}\n[[transfer]]\nworking_day = \"2026-01-03\"\nday_off = \"2026-01-05\"\nsource = \"test\"\n"
        );
        let c = WorkingCalendar::from_toml(&text).expect("valid");
        assert!(working(&c, "2026-01-03"));
        assert!(!working(&c, "2026-01-05"));
        assert_eq!(c.transfers().len(), 1);
    }

    // ---- refusals: one test per rule ------------------------------------------------------

    const HEAD: &str = "version = 1\nyears = [2026]\nweekend = [\"sat\", \"sun\"]\n";

    fn hol(date: &str, name: &str) -> String {
        format!("[[holiday]]\ndate = \"{date}\"\nname = \"{name}\"\nmoves = true\n")
    }

    fn tr(working_day: &str, day_off: &str) -> String {
        format!("[[transfer]]\nworking_day = \"{working_day}\"\nday_off = \"{day_off}\"\n")
    }

    fn refused(text: &str) -> CalendarError {
        WorkingCalendar::from_toml(text).expect_err("must be refused")
    }

    #[test]
    fn a_minimal_file_is_valid() {
        let c = WorkingCalendar::from_toml(&format!("{HEAD}{}", hol("2026-01-01", "New Year")))
            .expect("valid");
        assert_eq!(c.holidays().len(), 1);
    }

    #[test]
    fn refuses_malformed_toml_and_unknown_fields() {
        assert!(matches!(
            refused("version = \"x\""),
            CalendarError::Parse(_)
        ));
        let extra = format!("{HEAD}colour = 1\n{}", hol("2026-01-01", "New Year"));
        assert!(matches!(refused(&extra), CalendarError::Parse(m) if m.contains("colour")));
        let no_years = format!("version = 1\nweekend = []\n{}", hol("2026-01-01", "N"));
        assert!(matches!(refused(&no_years), CalendarError::Parse(m) if m.contains("years")));
        // An unquoted TOML date is not the format.
        let bare = format!("{HEAD}[[holiday]]\ndate = 2026-01-01\nname = \"N\"\nmoves = true\n");
        assert!(matches!(refused(&bare), CalendarError::Parse(_)));
    }

    #[test]
    fn refuses_version_zero() {
        let t = format!(
            "version = 0\nyears = [2026]\nweekend = []\n{}",
            hol("2026-01-01", "N")
        );
        assert_eq!(refused(&t), CalendarError::ZeroVersion);
    }

    #[test]
    fn refuses_unknown_weekday_names() {
        for name in ["saturday", "Sat", "sab", ""] {
            let t = format!(
                "version = 1\nyears = [2026]\nweekend = [\"{name}\", \"sun\"]\n{}",
                hol("2026-01-01", "N")
            );
            let e = refused(&t);
            assert_eq!(e, CalendarError::UnknownWeekday { name: name.into() });
            assert!(e.to_string().contains("weekend"), "{e}");
        }
    }

    #[test]
    fn refuses_a_weekday_twice_and_a_week_without_working_days() {
        let t = format!(
            "version = 1\nyears = [2026]\nweekend = [\"sat\", \"sun\", \"sat\"]\n{}",
            hol("2026-01-01", "N")
        );
        assert_eq!(
            refused(&t),
            CalendarError::DuplicateWeekday { name: "sat".into() }
        );
        let t = format!(
            "version = 1\nyears = [2026]\nweekend = [\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"]\n{}",
            hol("2026-01-01", "N")
        );
        assert_eq!(refused(&t), CalendarError::NoWorkingWeekday);
    }

    #[test]
    fn refuses_empty_missing_or_gapped_years() {
        let t = format!(
            "version = 1\nyears = []\nweekend = []\n{}",
            hol("2026-01-01", "N")
        );
        assert_eq!(refused(&t), CalendarError::NoYears);
        let t = format!(
            "version = 1\nyears = [2026, 2028]\nweekend = []\n{}{}",
            hol("2026-01-01", "N"),
            hol("2028-01-01", "N")
        );
        assert_eq!(
            refused(&t),
            CalendarError::YearsNotConsecutive {
                previous: 2026,
                year: 2028
            }
        );
        let t = format!(
            "version = 1\nyears = [2027, 2026]\nweekend = []\n{}",
            hol("2026-01-01", "N")
        );
        assert!(matches!(
            refused(&t),
            CalendarError::YearsNotConsecutive { .. }
        ));
        let t = format!(
            "version = 1\nyears = [1066]\nweekend = []\n{}",
            hol("1066-01-01", "N")
        );
        assert_eq!(refused(&t), CalendarError::YearOutOfRange { year: 1066 });
    }

    #[test]
    fn refuses_an_empty_holiday_list() {
        assert_eq!(refused(HEAD), CalendarError::NoHolidays);
        assert_eq!(
            refused(&format!("{HEAD}holiday = []\n")),
            CalendarError::NoHolidays
        );
    }

    #[test]
    fn refuses_a_year_without_data() {
        let t = format!(
            "version = 1\nyears = [2026, 2027]\nweekend = [\"sat\", \"sun\"]\n{}",
            hol("2026-01-01", "New Year")
        );
        let e = refused(&t);
        assert_eq!(e, CalendarError::YearWithoutData { year: 2027 });
        assert!(e.to_string().contains("2027"), "{e}");
    }

    #[test]
    fn refuses_unparseable_dates_naming_the_entry() {
        for bad in [
            "2026-13-01",
            "2026-02-30",
            "2026-1-1",
            "+2026-01-01",
            "01.01.2026",
            "",
        ] {
            let t = format!(
                "{HEAD}{}{}",
                hol("2026-01-01", "New Year"),
                hol(bad, "Nauryz")
            );
            assert_eq!(
                refused(&t),
                CalendarError::BadDate {
                    entry: "holiday #2 (Nauryz)".into(),
                    field: "date",
                    value: bad.into()
                },
                "{bad}"
            );
        }
        let t = format!(
            "{HEAD}{}{}",
            hol("2026-01-01", "New Year"),
            tr("2026-01-03", "next monday")
        );
        assert_eq!(
            refused(&t),
            CalendarError::BadDate {
                entry: "transfer #1".into(),
                field: "day_off",
                value: "next monday".into()
            }
        );
    }

    #[test]
    fn refuses_an_unnamed_holiday() {
        let t = format!("{HEAD}{}", hol("2026-01-01", " "));
        assert!(matches!(refused(&t), CalendarError::EmptyName { .. }));
    }

    #[test]
    fn refuses_dates_outside_the_declared_years() {
        let t = format!("{HEAD}{}{}", hol("2026-01-01", "N"), hol("2027-01-01", "N"));
        assert_eq!(
            refused(&t),
            CalendarError::OutsideYears {
                entry: "holiday #2 (N)".into(),
                date: d("2027-01-01"),
                first: 2026,
                last: 2026
            }
        );
        let t = format!(
            "{HEAD}{}{}",
            hol("2026-01-01", "N"),
            tr("2027-01-02", "2027-01-04")
        );
        assert!(
            matches!(refused(&t), CalendarError::OutsideYears { entry, .. } if entry == "transfer #1")
        );
    }

    #[test]
    fn refuses_duplicate_holidays() {
        let t = format!(
            "{HEAD}{}{}{}",
            hol("2026-01-01", "New Year"),
            hol("2026-01-02", "New Year"),
            hol("2026-01-02", "New Year again")
        );
        let e = refused(&t);
        assert_eq!(
            e,
            CalendarError::Duplicate {
                entry: "holiday #3 (New Year again)".into(),
                date: d("2026-01-02"),
                other: "holiday #2 (New Year)".into()
            }
        );
        assert!(e.to_string().contains("listed twice"), "{e}");
    }

    #[test]
    fn refuses_unsorted_holidays() {
        let t = format!(
            "{HEAD}{}{}",
            hol("2026-03-08", "Women"),
            hol("2026-01-01", "New Year")
        );
        assert_eq!(
            refused(&t),
            CalendarError::Unsorted {
                entry: "holiday #2 (New Year)".into(),
                date: d("2026-01-01"),
                other: "holiday #1 (Women)".into(),
                previous: d("2026-03-08")
            }
        );
    }

    #[test]
    fn refuses_transfers_that_do_not_swap_a_weekend_day_for_a_weekday() {
        // Mon 5 → Tue 6: neither is a weekend day.
        let t = format!(
            "{HEAD}{}{}",
            hol("2026-01-01", "N"),
            tr("2026-01-05", "2026-01-06")
        );
        assert!(matches!(refused(&t), CalendarError::BadTransfer { .. }));
        // Sat 3 → Sun 4: the day off is already a weekend day.
        let t = format!(
            "{HEAD}{}{}",
            hol("2026-01-01", "N"),
            tr("2026-01-03", "2026-01-04")
        );
        assert!(matches!(refused(&t), CalendarError::BadTransfer { .. }));
    }

    #[test]
    fn refuses_transfers_overlapping_holidays_or_each_other() {
        // The day off is a holiday already (Fri 2 January).
        let t = format!(
            "{HEAD}{}{}{}",
            hol("2026-01-01", "New Year"),
            hol("2026-01-02", "New Year"),
            tr("2026-01-03", "2026-01-02")
        );
        assert_eq!(
            refused(&t),
            CalendarError::Overlap {
                entry: "transfer #1".into(),
                date: d("2026-01-02"),
                other: "holiday #2 (New Year)".into()
            }
        );
        // Two transfers working the same Saturday.
        let t = format!(
            "{HEAD}{}{}{}",
            hol("2026-01-01", "New Year"),
            tr("2026-01-03", "2026-01-05"),
            tr("2026-01-03", "2026-01-06")
        );
        assert_eq!(
            refused(&t),
            CalendarError::Overlap {
                entry: "transfer #2".into(),
                date: d("2026-01-03"),
                other: "transfer #1".into()
            }
        );
        // The same transfer twice.
        let t = format!(
            "{HEAD}{}{}{}",
            hol("2026-01-01", "New Year"),
            tr("2026-01-03", "2026-01-05"),
            tr("2026-01-03", "2026-01-05")
        );
        assert!(matches!(refused(&t), CalendarError::Overlap { .. }));
    }

    #[test]
    fn refuses_unsorted_transfers() {
        let t = format!(
            "{HEAD}{}{}{}",
            hol("2026-01-01", "New Year"),
            tr("2026-01-10", "2026-01-12"),
            tr("2026-01-03", "2026-01-05")
        );
        assert!(
            matches!(refused(&t), CalendarError::Unsorted { entry, .. } if entry == "transfer #2")
        );
    }

    // ---- the effective calendar ------------------------------------------------------------

    fn builtin_with_version(v: u64) -> String {
        BUILTIN_CALENDAR.replace("version = 2026_12_02", &format!("version = {v}"))
    }

    #[test]
    fn effective_calendar_prefers_a_valid_newer_central_file() {
        let none = effective_calendar(None);
        assert_eq!(none.source, CalendarSource::Builtin);
        assert!(none.ignored.is_none());

        let newer = builtin_with_version(20990101);
        let e = effective_calendar(Some(&newer));
        assert_eq!(
            (e.source, e.calendar.version()),
            (CalendarSource::Central, 20990101)
        );

        let older = builtin_with_version(20260101);
        let e = effective_calendar(Some(&older));
        assert_eq!(e.source, CalendarSource::Builtin);
        assert!(matches!(
            e.ignored,
            Some(CentralCalendarIgnored::Older { .. })
        ));

        let bad = newer.replace(
            "weekend = [\"sat\", \"sun\"]",
            "weekend = [\"sat\", \"sunday\"]",
        );
        let e = effective_calendar(Some(&bad));
        assert_eq!(e.source, CalendarSource::Builtin);
        assert!(matches!(
            e.ignored,
            Some(CentralCalendarIgnored::Refused(
                CalendarError::UnknownWeekday { .. }
            ))
        ));
    }

    // ---- properties ------------------------------------------------------------------------

    /// A valid random calendar: first year, number of years (1..=3), and per year the
    /// day-of-year offsets (1..364, so inside any year) of holidays besides 1 January.
    fn arb_calendar() -> impl Strategy<Value = (i32, u8, Vec<Vec<(u32, bool)>>)> {
        (
            2026i32..=2030,
            1u8..=3,
            proptest::collection::vec(
                proptest::collection::btree_map(1u32..364, any::<bool>(), 0..15),
                3,
            ),
        )
            .prop_map(|(first, nyears, years)| {
                let per_year = years
                    .into_iter()
                    .take(usize::from(nyears))
                    .map(|m| m.into_iter().collect())
                    .collect();
                (first, nyears, per_year)
            })
    }

    fn render(first: i32, _nyears: u8, per_year: &[Vec<(u32, bool)>]) -> String {
        let years: Vec<String> = (0..per_year.len())
            .map(|i| (first + i as i32).to_string())
            .collect();
        let mut t = format!(
            "version = 7\nyears = [{}]\nweekend = [\"sat\", \"sun\"]\n",
            years.join(", ")
        );
        for (i, days) in per_year.iter().enumerate() {
            let jan1 = NaiveDate::from_ymd_opt(first + i as i32, 1, 1).expect("jan 1");
            t.push_str(&format!(
                "[[holiday]]\ndate = \"{jan1}\"\nname = \"New Year\"\nmoves = true\n"
            ));
            for (off, moves) in days {
                let date = jan1 + Days::new(u64::from(*off));
                t.push_str(&format!(
                    "[[holiday]]\ndate = \"{date}\"\nname = \"H{off}\"\nmoves = {moves}\n"
                ));
            }
        }
        t
    }

    proptest! {
        /// Every valid file loads; the expected answer date is a working day, after the filing
        /// day, never earlier for a later filing, or NotCovered, never anything else.
        #[test]
        fn valid_files_load_and_answer_dates_are_working_days(
            (first, nyears, days) in arb_calendar(),
            filed_off in 0u32..1100,
            n in 0u32..30,
        ) {
            let text = render(first, nyears, &days);
            let c = WorkingCalendar::from_toml(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
            let filed = NaiveDate::from_ymd_opt(first, 1, 1).expect("jan 1") + Days::new(u64::from(filed_off));
            match c.nth_working_day_after_intake(filed, n) {
                Ok(due) => {
                    prop_assert!(c.covers(filed) && c.covers(due));
                    prop_assert!(c.is_working_day(due) == Ok(true));
                    prop_assert!(due >= filed);
                    if n > 0 { prop_assert!(due > filed); }
                    if let Ok(next) = c.nth_working_day_after_intake(filed + Days::new(1), n) {
                        prop_assert!(next >= due);
                    }
                }
                Err(e) => prop_assert!(!c.covers(e.date)),
            }
        }

        /// Listing any holiday twice is refused, naming the second entry.
        #[test]
        fn any_duplicated_holiday_is_refused((first, nyears, days) in arb_calendar(), pick in any::<prop::sample::Index>()) {
            let text = render(first, nyears, &days);
            let blocks: Vec<&str> = text.split("[[holiday]]").collect();
            let i = 1 + pick.index(blocks.len() - 1);
            let mut dup = blocks[..=i].join("[[holiday]]");
            dup.push_str("[[holiday]]");
            dup.push_str(blocks[i]);
            for b in &blocks[i + 1..] {
                dup.push_str("[[holiday]]");
                dup.push_str(b);
            }
            let e = refused(&dup);
            prop_assert!(matches!(e, CalendarError::Duplicate { ref entry, .. } if entry.starts_with(&format!("holiday #{} ", i + 1))), "{}", e);
        }

        /// Swapping two different holidays puts them out of order: refused.
        #[test]
        fn any_swap_of_two_holidays_is_refused((first, nyears, days) in arb_calendar(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let text = render(first, nyears, &days);
            let mut blocks: Vec<&str> = text.split("[[holiday]]").collect();
            let n = blocks.len() - 1;
            prop_assume!(n >= 2);
            let (i, j) = (1 + a.index(n), 1 + b.index(n));
            prop_assume!(i != j);
            blocks.swap(i, j);
            let e = refused(&blocks.join("[[holiday]]"));
            prop_assert!(matches!(e, CalendarError::Unsorted { .. }), "{}", e);
        }

        /// Any weekday name outside the seven is refused by name.
        #[test]
        fn any_unknown_weekday_name_is_refused(name in "[a-zA-Z]{0,9}") {
            prop_assume!(weekday(&name).is_none());
            let t = format!("version = 1\nyears = [2026]\nweekend = [\"sat\", \"{name}\"]\n{}", hol("2026-01-01", "N"));
            prop_assert_eq!(refused(&t), CalendarError::UnknownWeekday { name });
        }

        /// Removing every holiday of one declared year is refused for that year.
        #[test]
        fn a_year_emptied_of_holidays_is_refused((first, nyears, days) in arb_calendar(), which in any::<prop::sample::Index>()) {
            prop_assume!(nyears >= 2);
            let text = render(first, nyears, &days);
            let year = first + which.index(usize::from(nyears)) as i32;
            let kept: Vec<&str> = text
                .split("[[holiday]]")
                .filter(|b| !b.contains(&format!("date = \"{year}-")))
                .collect();
            let e = refused(&kept.join("[[holiday]]"));
            prop_assert!(e == CalendarError::YearWithoutData { year } || e == CalendarError::NoHolidays, "{}", e);
        }
    }
}
