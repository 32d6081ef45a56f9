//! Upload bandwidth cap (`sync.bandwidth_kib_s`): a token bucket shared by every upload of the
//! process, applied to the request body stream piece by piece, because the branch link is
//! shared with the branch's own work.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use bytes::Bytes;
use futures_util::Stream;

/// A token bucket of bytes per second.
#[derive(Debug)]
pub struct Throttle {
    rate: f64,
    burst: f64,
    piece: usize,
    state: Mutex<(f64, Instant)>,
}

impl Throttle {
    /// A cap of `kib_s` KiB/s; `None` for 0 (no cap).
    pub fn new(kib_s: u32) -> Option<Arc<Throttle>> {
        if kib_s == 0 {
            return None;
        }
        let rate = f64::from(kib_s) * 1024.0;
        // Pieces of ~1/16 s keep the rate smooth; the burst holds two pieces.
        let piece = ((rate / 16.0) as usize).clamp(1024, 64 * 1024);
        let burst = (piece * 2) as f64;
        Some(Arc::new(Throttle {
            rate,
            burst,
            piece,
            state: Mutex::new((burst, Instant::now())),
        }))
    }

    /// Bytes per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Waits until `n` bytes (at most one piece) may be sent, then takes them.
    pub async fn take(&self, n: usize) {
        let n = n as f64;
        loop {
            let wait = {
                let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let (tokens, last) = *g;
                let tokens =
                    (tokens + now.duration_since(last).as_secs_f64() * self.rate).min(self.burst);
                if tokens >= n {
                    *g = (tokens - n, now);
                    return;
                }
                *g = (tokens, now);
                Duration::from_secs_f64((n - tokens) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The body as a stream of pieces released at the capped rate.
    pub fn stream(
        self: &Arc<Self>,
        body: Bytes,
    ) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
        let t = self.clone();
        futures_util::stream::unfold((body, t), |(mut rest, t)| async move {
            if rest.is_empty() {
                return None;
            }
            let n = rest.len().min(t.piece);
            let piece = rest.split_to(n);
            t.take(n).await;
            Some((Ok(piece), (rest, t)))
        })
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    #[test]
    fn zero_means_no_cap() {
        assert!(Throttle::new(0).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn stream_keeps_bytes_and_order_and_takes_the_capped_time() {
        let t = Throttle::new(64).expect("cap");
        let data: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
        let start = tokio::time::Instant::now();
        let pieces: Vec<Bytes> = t
            .stream(Bytes::from(data.clone()))
            .map(|r| r.expect("piece"))
            .collect()
            .await;
        let elapsed = start.elapsed();
        assert_eq!(pieces.concat(), data);
        // 256 KiB at 64 KiB/s, minus the initial burst: between 3.5 and 4.5 s of (paused) time.
        assert!(
            elapsed >= Duration::from_millis(3500) && elapsed <= Duration::from_millis(4500),
            "{elapsed:?}"
        );
    }
}
