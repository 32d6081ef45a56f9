//! systemd liveness for the kiosk (DESIGN §8): `READY=1` once the attract screen has been
//! drawn, then `WATCHDOG=1` only while the UI event loop and the flow machine answer.
//!
//! The kiosk runs as cage's child, so systemd's `WATCHDOG_PID` names cage, not us; the unit
//! sets `NotifyAccess=all` and we read `WATCHDOG_USEC` ourselves instead of
//! `sd_notify::watchdog_enabled`, which would refuse because of the PID. Without
//! `NOTIFY_SOCKET` (development, tests) every call is a no-op.

use std::time::Duration;

use sd_notify::NotifyState;

/// Tells systemd the kiosk is up (attract screen drawn).
pub fn ready() {
    send(&[
        NotifyState::Ready,
        NotifyState::Status("attract screen shown"),
    ]);
}

/// Pets the watchdog.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// Tells systemd the kiosk is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

/// The watchdog interval of the unit (`WATCHDOG_USEC`), whatever `WATCHDOG_PID` says.
pub fn watchdog_interval() -> Option<Duration> {
    interval_from(std::env::var("WATCHDOG_USEC").ok().as_deref())
}

fn interval_from(usec: Option<&str>) -> Option<Duration> {
    let us: u64 = usec?.trim().parse().ok()?;
    (us > 0).then(|| Duration::from_micros(us))
}

/// How often to pet a watchdog of `interval`: at half of it, as systemd recommends.
pub fn pet_every(interval: Duration) -> Duration {
    (interval / 2).max(Duration::from_millis(100))
}

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_interval_is_read_from_usec_and_petted_at_half() {
        assert_eq!(interval_from(None), None);
        assert_eq!(interval_from(Some("0")), None);
        assert_eq!(interval_from(Some("junk")), None);
        let i = interval_from(Some("30000000")).expect("30 s");
        assert_eq!(i, Duration::from_secs(30));
        assert_eq!(pet_every(i), Duration::from_secs(15));
    }
}
