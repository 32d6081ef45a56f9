//! The agent's health report, computed from the shared store and the enrollment state, so
//! `sync-agent status` works whether or not the daemon runs; also served on the local socket.
//!
//! Health rules: not enrolled → `not_enrolled`; an unsent recording older than
//! [`STUCK_AFTER`] → `stuck`; parked items, or a job whose last attempt failed → `degraded`;
//! otherwise `healthy`.

use booth_core::localapi::{AgentStatus, Health, JobStatus, ParkedItem};
use booth_core::store::{Store, StoreError, outbox, sync as store_sync};
use chrono::{DateTime, TimeDelta, Utc};

use crate::state::StateDir;

/// An unsent recording older than this makes the booth `stuck` (exit 2).
pub const STUCK_AFTER: TimeDelta = TimeDelta::hours(24);

/// Computes the report.
pub fn compute(
    store: &mut Store,
    state: &StateDir,
    booth_id: &str,
    now: DateTime<Utc>,
) -> Result<AgentStatus, StoreError> {
    let enrollment = state.enrollment().ok();
    let (queue_depth, oldest, parked, (unsent_ratings, unsent_visits), jobs) =
        store.read(|tx| {
            let (d, o) = outbox::queue_stats(tx)?;
            let parked: Vec<ParkedItem> = outbox::in_state(tx, "parked")?
                .into_iter()
                .map(|it| ParkedItem {
                    appeal_id: it.appeal_id,
                    reason: it.last_error.unwrap_or_default(),
                })
                .collect();
            Ok::<_, StoreError>((
                d,
                o,
                parked,
                store_sync::unsent_counts(tx)?,
                store_sync::job_statuses(tx)?,
            ))
        })?;
    let health = health(enrollment.is_some(), oldest, &parked, &jobs, now);
    Ok(AgentStatus {
        health,
        enrolled: enrollment.is_some(),
        booth_id: enrollment
            .as_ref()
            .map(|e| e.booth_id.clone())
            .unwrap_or_else(|| booth_id.to_owned()),
        central_url: enrollment
            .as_ref()
            .map(|e| e.central_url.clone())
            .unwrap_or_default(),
        queue_depth,
        oldest_unsent_at: oldest,
        parked,
        unsent_ratings,
        unsent_visits,
        jobs,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// The health rules.
pub fn health(
    enrolled: bool,
    oldest: Option<DateTime<Utc>>,
    parked: &[ParkedItem],
    jobs: &[JobStatus],
    now: DateTime<Utc>,
) -> Health {
    if !enrolled {
        return Health::NotEnrolled;
    }
    if oldest.is_some_and(|o| now - o > STUCK_AFTER) {
        return Health::Stuck;
    }
    if !parked.is_empty() || jobs.iter().any(|j| j.consecutive_failures > 0) {
        return Health::Degraded;
    }
    Health::Healthy
}

/// Human-readable report for `sync-agent status` without `--json`.
pub fn render(s: &AgentStatus, now: DateTime<Utc>) -> String {
    use std::fmt::Write as _;
    let mut o = String::new();
    let age = |t: DateTime<Utc>| {
        let d = now - t;
        if d.num_hours() >= 1 {
            format!("{} h {} min ago", d.num_hours(), d.num_minutes() % 60)
        } else {
            format!("{} s ago", d.num_seconds())
        }
    };
    let _ = writeln!(o, "health:      {:?}", s.health);
    let _ = writeln!(
        o,
        "booth:       {}  ({})",
        s.booth_id,
        if s.enrolled {
            "enrolled"
        } else {
            "NOT ENROLLED"
        }
    );
    if !s.central_url.is_empty() {
        let _ = writeln!(o, "central:     {}", s.central_url);
    }
    let _ = writeln!(
        o,
        "queue:       {} recording(s){}",
        s.queue_depth,
        s.oldest_unsent_at
            .map(|t| format!(", oldest recorded {}", age(t)))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "unsent:      {} rating(s), {} visit(s)",
        s.unsent_ratings, s.unsent_visits
    );
    for p in &s.parked {
        let _ = writeln!(o, "PARKED:      {}  {}", p.appeal_id, p.reason);
    }
    for j in &s.jobs {
        let ok = j.last_success.map(age).unwrap_or_else(|| "never".into());
        let _ = write!(o, "job {:<10} last success {ok}", j.name);
        if j.consecutive_failures > 0 {
            let _ = write!(
                o,
                "; {} failure(s) in a row, last: {}",
                j.consecutive_failures,
                j.last_error.as_deref().unwrap_or("?")
            );
            if let Some(n) = j.next_attempt_at {
                let _ = write!(
                    o,
                    "; backing off, next attempt in {} s",
                    (n - now).num_seconds().max(0)
                );
            }
        }
        o.push('\n');
    }
    o
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    fn job(failures: u32) -> JobStatus {
        JobStatus {
            name: "outbox".into(),
            last_success: None,
            last_error: (failures > 0).then(|| "HTTP 503".into()),
            last_error_at: None,
            consecutive_failures: failures,
            next_attempt_at: None,
        }
    }

    #[test]
    fn health_rules() {
        let now = Utc::now();
        assert_eq!(health(false, None, &[], &[], now), Health::NotEnrolled);
        assert_eq!(health(true, None, &[], &[job(0)], now), Health::Healthy);
        assert_eq!(health(true, None, &[], &[job(2)], now), Health::Degraded);
        let p = ParkedItem {
            appeal_id: uuid::Uuid::nil(),
            reason: "409".into(),
        };
        assert_eq!(health(true, None, &[p], &[], now), Health::Degraded);
        assert_eq!(
            health(true, Some(now - TimeDelta::hours(25)), &[], &[], now),
            Health::Stuck
        );
        assert_eq!(
            health(true, Some(now - TimeDelta::hours(2)), &[], &[], now),
            Health::Healthy
        );
    }
}
