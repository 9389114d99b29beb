//! Consecutive-failure circuit breaker with a single half-open trial.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    /// `Some(t)`: the circuit is open; from `t` on it is half-open.
    open_until: Option<Instant>,
    /// A half-open trial request is in flight.
    trial_in_flight: bool,
}

/// Shared breaker. `threshold == 0` disables it.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cooldown: Duration,
    state: Mutex<State>,
}

/// Permission to send one request; report its outcome with
/// [`Permit::success`] / [`Permit::failure`]. Dropping it without an outcome
/// (e.g. the request was cancelled) releases a half-open trial slot.
pub(crate) struct Permit {
    breaker: Arc<Breaker>,
    trial: bool,
    done: bool,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cooldown: Duration) -> Self {
        Self { threshold, cooldown, state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Cheap check without taking a trial slot: `Some(remaining)` while the
    /// circuit is open and still cooling down.
    pub(crate) fn open_for(&self) -> Option<Duration> {
        let st = self.lock();
        match st.open_until {
            Some(t) => {
                let now = Instant::now();
                if now < t {
                    Some(t - now)
                } else if st.trial_in_flight {
                    Some(Duration::ZERO)
                } else {
                    None
                }
            }
            None => None,
        }
    }

    /// Asks to send one request. `Err(remaining cooldown)` means fail fast.
    pub(crate) fn acquire(self: &Arc<Self>) -> Result<Permit, Duration> {
        if self.threshold == 0 {
            return Ok(self.permit(false));
        }
        let mut st = self.lock();
        match st.open_until {
            None => Ok(self.permit(false)),
            Some(t) => {
                let now = Instant::now();
                if now < t {
                    Err(t - now)
                } else if st.trial_in_flight {
                    Err(Duration::ZERO)
                } else {
                    st.trial_in_flight = true;
                    Ok(self.permit(true))
                }
            }
        }
    }

    fn permit(self: &Arc<Self>, trial: bool) -> Permit {
        Permit { breaker: Arc::clone(self), trial, done: false }
    }

    #[cfg(test)]
    pub(crate) fn is_open(&self) -> bool {
        self.lock().open_until.is_some()
    }
}

impl Permit {
    pub(crate) fn success(mut self) {
        self.done = true;
        if self.breaker.threshold == 0 {
            return;
        }
        let mut st = self.breaker.lock();
        st.consecutive_failures = 0;
        st.open_until = None;
        st.trial_in_flight = false;
    }

    pub(crate) fn failure(mut self) {
        self.done = true;
        let b = &self.breaker;
        if b.threshold == 0 {
            return;
        }
        let mut st = b.lock();
        st.consecutive_failures = st.consecutive_failures.saturating_add(1);
        if self.trial {
            st.trial_in_flight = false;
            st.open_until = Some(Instant::now() + b.cooldown);
        } else if st.consecutive_failures >= b.threshold {
            // Re-arm only when closed; a failure that raced an already open
            // circuit must not extend its cooldown indefinitely.
            if st.open_until.is_none() {
                st.open_until = Some(Instant::now() + b.cooldown);
            }
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done && self.trial {
            self.breaker.lock().trial_in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_half_opens_and_closes() {
        let b = Arc::new(Breaker::new(2, Duration::from_millis(30)));
        b.acquire().unwrap().failure();
        assert!(!b.is_open());
        b.acquire().unwrap().failure();
        assert!(b.is_open());
        assert!(b.acquire().is_err());
        std::thread::sleep(Duration::from_millis(40));
        let trial = b.acquire().expect("half-open trial");
        assert!(b.acquire().is_err(), "only one trial while half-open");
        drop(trial); // abandoned trial frees the slot
        let trial = b.acquire().expect("trial again");
        trial.failure();
        assert!(b.acquire().is_err(), "failed trial re-opens");
        std::thread::sleep(Duration::from_millis(40));
        b.acquire().unwrap().success();
        assert!(!b.is_open());
        assert!(b.acquire().is_ok());
    }

    #[test]
    fn zero_threshold_disables() {
        let b = Arc::new(Breaker::new(0, Duration::from_secs(10)));
        for _ in 0..10 {
            b.acquire().unwrap().failure();
        }
        assert!(b.acquire().is_ok());
        assert!(b.open_for().is_none());
    }
}
