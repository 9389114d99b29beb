//! Requests-per-minute limiter by interval spacing: request slots are at least
//! `60 s / rpm` apart, so no 60 s window ever holds more than `rpm` requests.

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    next_slot: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `None` when `rpm` is `None` or 0 (unlimited).
    pub(crate) fn new(rpm: Option<u32>) -> Option<Self> {
        let rpm = rpm.filter(|&r| r > 0)?;
        // Round up to the microsecond so that rpm slots never fit in 60 s.
        let micros = 60_000_000u64.div_ceil(u64::from(rpm));
        Some(Self { interval: Duration::from_micros(micros), next_slot: Mutex::new(None) })
    }

    /// Reserves the next free slot and sleeps until it.
    pub(crate) async fn wait(&self) {
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = match *next {
                Some(n) if n > now => n,
                _ => now,
            };
            *next = Some(slot + self.interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_without_rpm() {
        assert!(RateLimiter::new(None).is_none());
        assert!(RateLimiter::new(Some(0)).is_none());
        assert_eq!(RateLimiter::new(Some(120)).unwrap().interval, Duration::from_millis(500));
    }

    #[tokio::test]
    async fn spaces_slots() {
        let rl = RateLimiter::new(Some(1200)).unwrap(); // 50 ms
        let start = Instant::now();
        for _ in 0..5 {
            rl.wait().await;
        }
        assert!(start.elapsed() >= Duration::from_millis(195));
    }
}
