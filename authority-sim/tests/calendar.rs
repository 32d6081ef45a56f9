//! The central deadline over real TLS (issue 15): an appeal whose booth had no calendar for its
//! date (expected_answer_date absent) gets the date from the central calendar with the same
//! function the booth uses; past every calendar the lookup carries no date (never a guess); a
//! calendar published on the admin route is validated, served and used for deadlines, and an
//! unchecked one (fault injection) is served while deadlines keep the last valid calendar.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use booth_core::calendar::{
    BUILTIN_CALENDAR, WorkingCalendar, expected_answer_date, kazakhstan_offset,
};
use booth_core::wire::{LookupResponse, paths};
use chrono::{DateTime, NaiveDate, Utc};
use common::*;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

async fn create_and_lookup(
    c: &reqwest::Client,
    base: &str,
    seed: u8,
    recorded_at: DateTime<Utc>,
    booth_date: Option<NaiveDate>,
) -> LookupResponse {
    let mut body = appeal(b"sealed bytes", seed);
    body.recorded_at = recorded_at;
    body.expected_answer_date = booth_date;
    let r = c
        .put(format!("{base}/v1/appeals/{}", body.id))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
    let r = c
        .get(format!("{base}{}", paths::lookup(&body.lookup_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn central_deadline_uses_the_shared_function_and_never_guesses() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path()).await;
    let (c, _) = enroll(&server, "ALM-0701").await;
    let base = server.url.clone();

    // The booth had no date (its calendar was outdated): the centre's calendar covers it.
    let recorded = at("2026-08-24T06:00:00Z");
    let want = expected_answer_date(
        recorded,
        kazakhstan_offset(),
        15,
        &WorkingCalendar::builtin(),
    )
    .expect("covered");
    assert_eq!(want, NaiveDate::from_ymd_opt(2026, 9, 14).unwrap());
    let l = create_and_lookup(&c, &base, 1, recorded, None).await;
    assert_eq!(l.expected_answer_date, Some(want));

    // Past every calendar, booth and centre alike: no date at all (null), never an estimate.
    let late = at("2027-12-20T06:00:00Z");
    let l = create_and_lookup(&c, &base, 2, late, None).await;
    assert_eq!(l.expected_answer_date, None);
    let raw = c
        .get(format!(
            "{base}{}",
            paths::lookup(&appeal(b"x", 2).lookup_id)
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        raw.contains("\"expected_answer_date\":null") || !raw.contains("expected_answer_date"),
        "{raw}"
    );

    // A newer central calendar covering 2028 is published on the admin route and used.
    let admin = server.admin_url.clone().expect("admin listener");
    let with_2028 = BUILTIN_CALENDAR
        .replace("version = 2026_12_02", "version = 2099_01_01")
        .replace("years = [2026, 2027]", "years = [2026, 2027, 2028]")
        + "\n[[holiday]]\ndate = \"2028-01-01\"\nname = \"New Year\"\nmoves = true\n";
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{admin}/admin/calendar"))
        .body(with_2028.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let l = create_and_lookup(&c, &base, 3, late, None).await;
    let cal_2028 = WorkingCalendar::from_toml(&with_2028).expect("valid");
    assert_eq!(
        l.expected_answer_date,
        expected_answer_date(late, kazakhstan_offset(), 15, &cal_2028).ok()
    );
    assert!(l.expected_answer_date.is_some());
    let served = c.get(format!("{base}/v1/calendar")).send().await.unwrap();
    assert_eq!(
        served.headers().get("etag").unwrap().to_str().unwrap(),
        "\"20990101\""
    );
    assert_eq!(served.text().await.unwrap(), with_2028);

    // An invalid calendar is refused by the admin route with the reason.
    let r = http
        .put(format!("{admin}/admin/calendar"))
        .body(with_2028.replace("[\"sat\", \"sun\"]", "[\"sat\", \"sunday\"]"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("unknown weekday name"));

    // Fault injection: served unchecked, but deadlines keep the last valid calendar.
    let r = http
        .put(format!(
            "{admin}/admin/calendar?unchecked_version=2099020100"
        ))
        .body("version = 1\nyears = []\nweekend = []\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let served = c.get(format!("{base}/v1/calendar")).send().await.unwrap();
    assert_eq!(
        served.headers().get("etag").unwrap().to_str().unwrap(),
        "\"2099020100\""
    );
    let l = create_and_lookup(&c, &base, 4, late, None).await;
    assert!(l.expected_answer_date.is_some(), "the last valid calendar");
    server.shutdown().await;
}
