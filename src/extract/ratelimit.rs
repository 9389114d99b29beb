//! Requests-per-minute limiter by interval spacing: request starts are at least `60 s / rpm`
//! apart, so no 60 s window ever holds more than `rpm` requests. Waiters queue in FIFO order
//! on an async mutex (no polling); one that gives up (cancelled, deadline) leaves the queue
//! without having used a slot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    /// Microseconds between request starts; 0 = unlimited.
    interval_us: AtomicU64,
    last: Mutex<Option<Instant>>,
}

/// Spacing for `rpm` requests per minute, rounded up to the microsecond so that `rpm` starts
/// never fit in 60 s; `None` (or 0) = unlimited.
pub(crate) fn interval(rpm: Option<u32>) -> Duration {
    match rpm.filter(|&r| r > 0) {
        None => Duration::ZERO,
        Some(r) => Duration::from_micros(60_000_000u64.div_ceil(u64::from(r))),
    }
}

impl RateLimiter {
    pub(crate) fn set_rpm(&self, rpm: Option<u32>) {
        self.interval_us.store(interval(rpm).as_micros() as u64, Ordering::Relaxed);
    }

    /// Waits for the next free start and takes it.
    pub(crate) async fn wait(&self) {
        if self.interval_us.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut last = self.last.lock().await;
        let gap = Duration::from_micros(self.interval_us.load(Ordering::Relaxed));
        if let Some(prev) = *last {
            tokio::time::sleep_until(prev + gap).await;
        }
        *last = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing() {
        assert_eq!(interval(None), Duration::ZERO);
        assert_eq!(interval(Some(0)), Duration::ZERO);
        assert_eq!(interval(Some(120)), Duration::from_millis(500));
        assert_eq!(interval(Some(7)), Duration::from_micros(8_571_429));
    }

    #[tokio::test(start_paused = true)]
    async fn spaces_starts_and_a_dropped_waiter_uses_no_slot() {
        let rl = std::sync::Arc::new(RateLimiter::default());
        rl.set_rpm(Some(60)); // one per second
        let t0 = Instant::now();
        rl.wait().await;
        rl.wait().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
        // A waiter that gives up does not push the next start back.
        let r = rl.clone();
        let abandoned = tokio::spawn(async move { r.wait().await });
        tokio::time::sleep(Duration::from_millis(100)).await;
        abandoned.abort();
        let _ = abandoned.await;
        rl.wait().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(2));
    }
}
