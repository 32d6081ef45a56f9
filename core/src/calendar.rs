//! The working-day calendar as data ([`WorkingCalendar`]), and the expected answer date:
//! N working days after intake, where an appeal filed on a non-working day is taken in on the
//! next working day.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The calendar shipped with the booth (2026 and 2027); the central service may send a newer one.
pub const BUILTIN_CALENDAR: &str = include_str!("../data/calendar-kz.toml");

/// A calendar file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    /// TOML syntax or a wrong field.
    #[error("calendar file is malformed: {0}")]
    Parse(#[from] toml::de::Error),
    /// A transfer that does not swap a day off with a working day.
    #[error("calendar transfer {working_day} ↔ {day_off} is not a weekend day and a weekday")]
    BadTransfer {
        /// The day declared working.
        working_day: NaiveDate,
        /// The day declared off.
        day_off: NaiveDate,
    },
    /// The working-day search ran past the years the calendar covers.
    #[error("the calendar does not cover {0}; a newer calendar is needed from the central service")]
    NotCovered(NaiveDate),
}

/// A public holiday entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// Date.
    pub date: NaiveDate,
    /// Name (for the technician and the operator page).
    pub name: String,
    /// Whether the holiday moves to the next working day when it falls on a day off.
    pub moves: bool,
}

/// A Government transfer: a weekend day becomes a working day and a weekday becomes a day off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The weekend day that is worked.
    pub working_day: NaiveDate,
    /// The weekday that is off.
    pub day_off: NaiveDate,
    /// Where the transfer comes from.
    #[serde(default)]
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    version: u64,
    weekend: Vec<String>,
    #[serde(default)]
    holiday: Vec<Holiday>,
    #[serde(default)]
    transfer: Vec<Transfer>,
}

/// Working days of one or more years, computed once from the data.
#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    version: u64,
    weekend: Vec<Weekday>,
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

impl WorkingCalendar {
    /// The calendar shipped with the booth.
    pub fn builtin() -> WorkingCalendar {
        // Invariant: the shipped file is checked by the `builtin_calendar_parses` test.
        match WorkingCalendar::from_toml(BUILTIN_CALENDAR) {
            Ok(c) => c,
            Err(e) => unreachable!("shipped calendar is invalid: {e}"),
        }
    }

    /// Parses a calendar file and computes moved holidays.
    pub fn from_toml(text: &str) -> Result<WorkingCalendar, CalendarError> {
        let file: CalendarFile = toml::from_str(text)?;
        let weekend: Vec<Weekday> = file.weekend.iter().filter_map(|d| weekday(d)).collect();
        let mut cal = WorkingCalendar {
            version: file.version,
            weekend,
            days_off: BTreeSet::new(),
            worked_weekend_days: BTreeSet::new(),
            first_year: i32::MAX,
            last_year: i32::MIN,
        };
        let mut holidays = file.holiday.clone();
        holidays.sort_by_key(|h| h.date);
        for h in &holidays {
            cal.first_year = cal.first_year.min(h.date.year());
            cal.last_year = cal.last_year.max(h.date.year());
            cal.days_off.insert(h.date);
        }
        for t in &file.transfer {
            if !cal.is_weekend(t.working_day) || cal.is_weekend(t.day_off) {
                return Err(CalendarError::BadTransfer {
                    working_day: t.working_day,
                    day_off: t.day_off,
                });
            }
            cal.worked_weekend_days.insert(t.working_day);
            cal.days_off.insert(t.day_off);
        }
        // Labour Code art. 85: a holiday on a day off moves to the next working day.
        let moving: Vec<NaiveDate> = holidays
            .iter()
            .filter(|h| h.moves && cal.is_weekend(h.date))
            .map(|h| h.date)
            .collect();
        for mut d in moving {
            loop {
                d = d.succ_opt().ok_or(CalendarError::NotCovered(d))?;
                if cal.is_working_day(d) {
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

    fn is_weekend(&self, d: NaiveDate) -> bool {
        self.weekend.contains(&d.weekday())
    }

    /// Whether `d` is a working day.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.worked_weekend_days.contains(&d) {
            return true;
        }
        !self.is_weekend(d) && !self.days_off.contains(&d)
    }

    /// Whether the calendar has holiday data for `d`'s year.
    pub fn covers(&self, d: NaiveDate) -> bool {
        (self.first_year..=self.last_year).contains(&d.year())
    }

    /// The day an appeal filed on `filed` is taken in: `filed` itself on a working day, else the
    /// next working day.
    pub fn intake_day(&self, filed: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut d = filed;
        while !self.is_working_day(d) {
            d = d
                .checked_add_days(Days::new(1))
                .ok_or(CalendarError::NotCovered(d))?;
        }
        Ok(d)
    }

    /// Expected answer date: the `n`-th working day after the intake day. Errors when the date
    /// falls outside the years the calendar covers (the booth then shows no date rather than a
    /// wrong one, and the technician sees "calendar outdated").
    pub fn expected_answer_date(
        &self,
        filed: NaiveDate,
        n: u32,
    ) -> Result<NaiveDate, CalendarError> {
        let mut d = self.intake_day(filed)?;
        let mut left = n;
        while left > 0 {
            d = d
                .checked_add_days(Days::new(1))
                .ok_or(CalendarError::NotCovered(d))?;
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        if !self.covers(d) {
            return Err(CalendarError::NotCovered(d));
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn builtin_calendar_parses() {
        let c = WorkingCalendar::from_toml(BUILTIN_CALENDAR).expect("shipped calendar");
        assert!(c.covers(d("2026-06-01")) && c.covers(d("2027-12-31")));
    }

    #[test]
    fn holidays_on_weekends_move() {
        let c = WorkingCalendar::builtin();
        // Nauryz 2026: 21 (Sat) and 22 (Sun) move to Tue 24 and Wed 25; Mon 23 is itself off.
        for day in [
            "2026-03-21",
            "2026-03-22",
            "2026-03-23",
            "2026-03-24",
            "2026-03-25",
        ] {
            assert!(!c.is_working_day(d(day)), "{day}");
        }
        assert!(c.is_working_day(d("2026-03-26")));
        // Women's Day 2026 is a Sunday: Monday 9 March is off.
        assert!(!c.is_working_day(d("2026-03-09")));
        // Kurban Ait 2027 is a Sunday and does not move: Monday 17 May is worked.
        assert!(c.is_working_day(d("2027-05-17")));
        // Victory Day 2026 (Sat) → Mon 11 May off.
        assert!(!c.is_working_day(d("2026-05-11")));
        // 2 January 2027 (Sat) → Mon 4 January off.
        assert!(!c.is_working_day(d("2027-01-04")));
    }

    /// Hand-worked expected answer dates (15 working days unless stated).
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
            // Year end: filed Tue 29 Dec 2026. 30,31 (2), 2027: 1,2 off, 4 off (moved), 5,6 (4),
            // 7 off, 8 (5), 11-15 (10), 18-22 (15).
            ("2026-12-29", 15, "2027-01-22"),
            // Short deadline (10 days, 004) across Independence Day: filed Mon 14 Dec 2026.
            // 15 (1), 16 off, 17,18 (3), 21-25 (8), 28,29 (10).
            ("2026-12-14", 10, "2026-12-29"),
            // Zero working days: the intake day itself.
            ("2026-03-22", 0, "2026-03-26"),
        ];
        for (filed, n, want) in cases {
            assert_eq!(
                c.expected_answer_date(d(filed), n).expect("covered"),
                d(want),
                "filed {filed} + {n}"
            );
        }
    }

    #[test]
    fn outside_the_calendar_is_an_error() {
        let c = WorkingCalendar::builtin();
        assert!(matches!(
            c.expected_answer_date(d("2027-12-20"), 15),
            Err(CalendarError::NotCovered(_))
        ));
    }

    #[test]
    fn transfers_apply_and_are_checked() {
        let text = format!(
            "{BUILTIN_CALENDAR}\n[[transfer]]\nworking_day = \"2026-01-03\"\nday_off = \"2026-01-05\"\nsource = \"test\"\n"
        );
        let c = WorkingCalendar::from_toml(&text).expect("valid");
        assert!(c.is_working_day(d("2026-01-03")));
        assert!(!c.is_working_day(d("2026-01-05")));
        let bad = format!(
            "{BUILTIN_CALENDAR}\n[[transfer]]\nworking_day = \"2026-01-05\"\nday_off = \"2026-01-06\"\n"
        );
        assert!(matches!(
            WorkingCalendar::from_toml(&bad),
            Err(CalendarError::BadTransfer { .. })
        ));
        assert!(matches!(
            WorkingCalendar::from_toml("version = \"x\""),
            Err(CalendarError::Parse(_))
        ));
    }
}
