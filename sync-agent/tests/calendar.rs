//! The working-day calendar pulled from a real authority-sim on 127.0.0.1 by the real binary
//! (issue 15, item 5): a valid newer calendar is stored and becomes the booth's effective one;
//! a calendar that fails validation (unknown weekday, no holidays, a year without data, a
//! duplicate entry) or is older than the stored one is refused with a specific log line, the
//! last good one stays, and the other pulls (config) still run.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use booth_core::calendar::{BUILTIN_CALENDAR, CalendarSource, WorkingCalendar, load_effective};
use booth_core::store::{kv_get, kv_set, sync as store_sync};
use common::*;

const GOOD_VERSION: u64 = 20990101;
const REFUSED_LINE: &str = "central calendar refused; the last good calendar stays in use";

fn with_version(text: &str, v: u64) -> String {
    let out = text.replace("version = 2026_12_02", &format!("version = {v}"));
    assert_ne!(
        out, text,
        "the built-in file's version line moved; update this test"
    );
    out
}

/// The built-in calendar plus one Government transfer, as version `v`: what a central service
/// publishes when a decree on day-off transfers comes out.
fn good_calendar(v: u64) -> String {
    format!(
        "{}\n[[transfer]]\nworking_day = \"2027-01-09\"\nday_off = \"2027-01-08\"\nsource = \"test decree\"\n",
        with_version(BUILTIN_CALENDAR, v)
    )
}

fn kv(b: &Booth, key: &'static str) -> Option<String> {
    let mut s = b.store();
    s.read(|tx| kv_get(tx, key)).expect("kv")
}

fn stored_version(b: &Booth) -> Option<u64> {
    kv(b, store_sync::KV_CALENDAR_TOML).map(|t| {
        WorkingCalendar::from_toml(&t)
            .expect("only valid calendars are stored")
            .version()
    })
}

/// Runs the binary until `done` holds (or 20 s pass), then stops it; returns its log.
async fn phase(b: &Booth, name: &str, mut done: impl FnMut(&str) -> bool) -> String {
    let log = format!("{name}.log");
    let mut child = b.spawn(&["run"], &log, &[]);
    let start = Instant::now();
    while !done(&b.log(&log)) {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = terminate(&mut child);
            panic!(
                "{name}: condition not met within 20 s; log:\n{}",
                b.log(&log)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(terminate(&mut child).code(), Some(0), "{name}: clean exit");
    b.log(&log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_central_calendar_keeps_the_last_good_one() {
    let data = tempfile::tempdir().expect("tmp");
    let server = start_sim(data.path(), reserve_addr()).await;
    let b = Booth::new("ALM-0301", BoothOpts::default());
    b.enroll(&server).await;

    // A valid, newer calendar from the centre is stored and is what the kiosk will use.
    server
        .state
        .publish_calendar(good_calendar(GOOD_VERSION))
        .expect("valid calendar");
    phase(&b, "good", |_| stored_version(&b) == Some(GOOD_VERSION)).await;
    let effective = {
        let mut s = b.store();
        s.read(load_effective).expect("effective calendar")
    };
    assert_eq!(effective.source, CalendarSource::Central);
    assert_eq!(effective.calendar.version(), GOOD_VERSION);
    assert_eq!(effective.calendar.transfers().len(), 1);
    let good_text = kv(&b, store_sync::KV_CALENDAR_TOML).expect("stored");
    let good_etag = kv(&b, store_sync::KV_CALENDAR_ETAG).expect("etag");

    let header = "version = 2099_02_01\nyears = [2026]\nweekend = [\"sat\", \"sun\"]\n";
    let first_holiday = "[[holiday]]\ndate = \"2026-01-01\"\nname = \"New Year\"\nmoves = true\n";
    let cases: Vec<(&str, String, u64, &str)> = vec![
        (
            "unknown-weekday",
            with_version(BUILTIN_CALENDAR, 20990201).replace(
                "weekend = [\"sat\", \"sun\"]",
                "weekend = [\"sat\", \"sunday\"]",
            ),
            20990201,
            "unknown weekday name \"sunday\"",
        ),
        (
            "no-holidays",
            header.to_owned(),
            20990202,
            "the holiday list is empty",
        ),
        (
            "year-without-data",
            with_version(BUILTIN_CALENDAR, 20990203)
                .replace("years = [2026, 2027]", "years = [2026, 2027, 2028]"),
            20990203,
            "year 2028 is declared in `years` but has no holiday entries",
        ),
        (
            "duplicate",
            with_version(BUILTIN_CALENDAR, 20990204).replacen(
                first_holiday,
                &format!("{first_holiday}{first_holiday}"),
                1,
            ),
            20990204,
            "holiday #2 (New Year): 2026-01-01 is listed twice",
        ),
        (
            "older",
            with_version(BUILTIN_CALENDAR, 20980101),
            20980101,
            "version 20980101 is older than the stored version 20990101",
        ),
    ];
    for (name, text, version, reason) in cases {
        server.state.publish_calendar_unchecked(text, version);
        // The config pull comes after the calendar's: make its stored copy stale to see that
        // a refused calendar does not hold the other pulls up.
        {
            let mut s = b.store();
            s.write(|tx| kv_set(tx, store_sync::KV_CENTRAL_CONFIG, "stale"))
                .expect("stale config");
        }
        let log = phase(&b, name, |log| {
            log.contains(REFUSED_LINE)
                && log.contains(reason)
                && kv(&b, store_sync::KV_CENTRAL_CONFIG).is_some_and(|c| c != "stale")
        })
        .await;
        assert!(
            log.lines()
                .any(|l| l.contains(REFUSED_LINE) && l.contains(reason)),
            "{name}: one line names the refusal and its reason:\n{log}"
        );
        assert_eq!(
            kv(&b, store_sync::KV_CALENDAR_TOML).as_deref(),
            Some(good_text.as_str()),
            "{name}: the last good calendar stays"
        );
        assert_eq!(
            kv(&b, store_sync::KV_CALENDAR_ETAG).as_deref(),
            Some(good_etag.as_str()),
            "{name}: the refused version's ETag is not remembered (it is fetched again)"
        );
        let job = {
            let mut s = b.store();
            s.read(|tx| store_sync::job_status(tx, "pulls"))
                .expect("job status")
        };
        assert!(
            job.last_error
                .as_deref()
                .is_some_and(|e| e.contains("calendar refused")),
            "{name}: `sync-agent status` shows the refusal: {job:?}"
        );
        let effective = {
            let mut s = b.store();
            s.read(load_effective).expect("effective")
        };
        assert_eq!(
            (effective.source, effective.calendar.version()),
            (CalendarSource::Central, GOOD_VERSION),
            "{name}: the kiosk keeps using the last good calendar"
        );
    }

    // Once the centre publishes a valid newer one again, it is taken.
    server
        .state
        .publish_calendar(good_calendar(20990301))
        .expect("valid calendar");
    phase(&b, "good-again", |_| stored_version(&b) == Some(20990301)).await;
    server.shutdown().await;
}
