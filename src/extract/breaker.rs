//! Failure-rate circuit breaker over a sliding window (as resilience4j and Polly do it), with a
//! single half-open trial per cool-down. A pure state machine: the caller passes the time and
//! holds the lock (it lives inside the provider's shared state, see `gate.rs`).
//!
//! Only real failures are recorded: timeouts, connection errors, 408, 5xx and unparsable
//! bodies. Back-pressure (429, `Retry-After`) is neither a success nor a failure.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Breaker settings (see `LlmConfig`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BreakerConfig {
    /// Outcomes kept: the last `window` calls ...
    pub window: usize,
    /// ... that are at most this old.
    pub window_time: Duration,
    /// Recorded calls in the window before the breaker may open.
    pub min_calls: usize,
    /// Failure share (0..=1) of the window that opens the breaker.
    pub failure_rate: f64,
    /// Open time before one half-open trial.
    pub cooldown: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed,
    Open {
        until: Instant,
    },
    /// One trial request may go; `trial` is true while it is in flight.
    HalfOpen {
        trial: bool,
    },
}

/// What a request may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Send normally.
    Go,
    /// Send as the half-open trial (call [`Breaker::take_trial`]).
    Trial,
    /// Wait until this instant (the cool-down ends).
    OpenUntil(Instant),
    /// The trial is in flight: wait for its outcome.
    TrialBusy,
}

#[derive(Debug)]
pub(crate) struct Breaker {
    cfg: BreakerConfig,
    /// (when, failed), oldest first.
    outcomes: VecDeque<(Instant, bool)>,
    state: State,
    /// How many times it opened (a generation number for "waiting" log lines).
    opened: u64,
}

impl Breaker {
    pub(crate) fn new(cfg: BreakerConfig) -> Self {
        Self { cfg, outcomes: VecDeque::new(), state: State::Closed, opened: 0 }
    }

    pub(crate) fn set_config(&mut self, cfg: BreakerConfig) {
        self.cfg = cfg;
    }

    /// Times the breaker opened so far.
    pub(crate) fn opened(&self) -> u64 {
        self.opened
    }

    pub(crate) fn admission(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed => Admission::Go,
            State::Open { until } if now < until => Admission::OpenUntil(until),
            State::Open { .. } => {
                self.state = State::HalfOpen { trial: false };
                Admission::Trial
            }
            State::HalfOpen { trial: false } => Admission::Trial,
            State::HalfOpen { trial: true } => Admission::TrialBusy,
        }
    }

    pub(crate) fn take_trial(&mut self) {
        if let State::HalfOpen { trial } = &mut self.state {
            *trial = true;
        }
    }

    /// The trial ended without a verdict (back-pressure, cancelled): another may go.
    pub(crate) fn release_trial(&mut self) {
        if let State::HalfOpen { trial } = &mut self.state {
            *trial = false;
        }
    }

    /// Records the outcome of a request. A trial decides the half-open state; outcomes of
    /// requests sent before the breaker opened are ignored while it is not closed.
    pub(crate) fn record(&mut self, now: Instant, trial: bool, failed: bool) {
        match self.state {
            State::HalfOpen { trial: true } if trial => {
                if failed {
                    self.open(now);
                } else {
                    self.state = State::Closed;
                    self.outcomes.clear();
                }
            }
            State::Closed => {
                self.outcomes.push_back((now, failed));
                self.prune(now);
                let calls = self.outcomes.len();
                if failed && calls >= self.cfg.min_calls.max(1) {
                    let failures = self.outcomes.iter().filter(|o| o.1).count();
                    if failures as f64 >= self.cfg.failure_rate * calls as f64 {
                        self.open(now);
                    }
                }
            }
            _ => {}
        }
    }

    fn open(&mut self, now: Instant) {
        self.state = State::Open { until: now + self.cfg.cooldown };
        self.outcomes.clear();
        self.opened += 1;
    }

    fn prune(&mut self, now: Instant) {
        while self.outcomes.len() > self.cfg.window.max(1) {
            self.outcomes.pop_front();
        }
        while self.outcomes.front().is_some_and(|o| now.duration_since(o.0) > self.cfg.window_time) {
            self.outcomes.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            window: 10,
            window_time: Duration::from_secs(60),
            min_calls: 4,
            failure_rate: 0.5,
            cooldown: Duration::from_secs(5),
        }
    }

    #[test]
    fn opens_on_failure_rate_not_on_a_streak() {
        let t = Instant::now();
        let mut b = Breaker::new(cfg());
        // Three failures in a row: below min_calls, still closed.
        for _ in 0..3 {
            b.record(t, false, true);
        }
        assert_eq!(b.admission(t), Admission::Go);
        let mut b = Breaker::new(cfg());
        // 30 % failures, interleaved: never opens.
        for i in 0..100 {
            b.record(t, false, i % 10 < 3);
            assert_eq!(b.admission(t), Admission::Go, "call {i}");
        }
        // The window ends with 5 successes: the fifth failure in a row makes it 5 of 10.
        for i in 0..5 {
            assert_eq!(b.admission(t), Admission::Go, "failure {i}");
            b.record(t, false, true);
        }
        assert!(matches!(b.admission(t), Admission::OpenUntil(_)));
        assert_eq!(b.opened(), 1);
    }

    #[test]
    fn old_outcomes_leave_the_window() {
        let t = Instant::now();
        let mut b = Breaker::new(BreakerConfig { window_time: Duration::from_secs(1), ..cfg() });
        for _ in 0..3 {
            b.record(t, false, true);
        }
        // Two seconds later the old failures are forgotten: 1 failure of 4 calls.
        let later = t + Duration::from_secs(2);
        for failed in [false, false, false, true] {
            b.record(later, false, failed);
        }
        assert_eq!(b.admission(later), Admission::Go);
    }

    #[test]
    fn one_trial_per_cooldown() {
        let t = Instant::now();
        let mut b = Breaker::new(cfg());
        for _ in 0..4 {
            b.record(t, false, true);
        }
        let until = t + Duration::from_secs(5);
        assert_eq!(b.admission(t), Admission::OpenUntil(until));
        // A late failure of a request sent before it opened does not extend the cool-down.
        b.record(t + Duration::from_secs(1), false, true);
        assert_eq!(b.admission(t + Duration::from_secs(1)), Admission::OpenUntil(until));
        assert_eq!(b.admission(until), Admission::Trial);
        b.take_trial();
        assert_eq!(b.admission(until), Admission::TrialBusy);
        // Back-pressure on the trial frees the slot; a failure re-opens for a full cool-down.
        b.release_trial();
        assert_eq!(b.admission(until), Admission::Trial);
        b.take_trial();
        b.record(until, true, true);
        assert_eq!(b.admission(until), Admission::OpenUntil(until + Duration::from_secs(5)));
        assert_eq!(b.opened(), 2);
        let later = until + Duration::from_secs(5);
        assert_eq!(b.admission(later), Admission::Trial);
        b.take_trial();
        b.record(later, true, false);
        assert_eq!(b.admission(later), Admission::Go);
    }
}
