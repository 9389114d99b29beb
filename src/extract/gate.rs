//! What one LLM provider and key allow, shared by every call in the process: the HTTP client,
//! the requests-per-minute limiter, the adaptive in-flight cap (AIMD), the client-wide
//! `Retry-After` pause and the circuit breaker. `LlmClient::new` finds the entry for its
//! (base URL, key) in a process-wide registry, so concurrent `extract` calls, the title step
//! and several tenants on one key share the provider's limits.
//!
//! Waiting is on a `Notify` (state changes), timers for known instants (end of a pause or of a
//! cool-down), the deadline and the cancellation token: no polling loop.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use once_cell::sync::Lazy;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::breaker::{Admission, Breaker, BreakerConfig};
use super::cancel::Cancel;
use super::ratelimit::RateLimiter;

/// An entry nobody uses is dropped from the registry after this long.
const IDLE_EVICT: Duration = Duration::from_secs(600);

/// The provider-wide limits (the latest `LlmClient::new` for a provider sets them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Limits {
    pub max_concurrency: usize,
    pub requests_per_minute: Option<u32>,
    pub breaker: BreakerConfig,
}

#[derive(Debug)]
struct State {
    max: usize,
    /// AIMD in-flight limit, 1..=max.
    limit: usize,
    in_flight: usize,
    /// Successes since the limit last changed.
    successes: usize,
    /// Bumped at every decrease: a request sent before it cannot halve the limit again.
    epoch: u64,
    paused_until: Option<Instant>,
    pauses: u64,
    breaker: Breaker,
    last_used: Instant,
}

#[derive(Debug)]
pub(crate) struct Provider {
    pub(crate) http: reqwest::Client,
    state: Mutex<State>,
    notify: Notify,
    rpm: RateLimiter,
}

/// Why a caller is waiting (for "waiting for the LLM provider" log lines). `generation`
/// changes each time the breaker opens or a new pause starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiting {
    BreakerOpen { generation: u64, retry_in: Duration },
    RateLimited { generation: u64, retry_in: Duration },
}

/// How a caller waits when the provider is not available. Without one ([`Provider::acquire`]
/// gets `None`) an open breaker fails fast.
pub(crate) struct Patience<'a> {
    pub deadline: Instant,
    pub cancel: &'a Cancel,
    pub notice: &'a (dyn Fn(Waiting) + Send + Sync),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// The breaker is open (fail-fast callers only); the remaining cool-down.
    Open(Duration),
    Deadline,
    Cancelled,
}

/// How a request ended, as the provider's limits see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The provider answered (including client errors such as 400 or 401).
    Success,
    /// Timeout, connection error, 408, 5xx, unparsable body. `slow` (a timeout or 408) also
    /// halves the in-flight limit.
    Failure { slow: bool },
    /// 429: halves the in-flight limit and pauses the whole client for `Retry-After`.
    BackPressure(Option<Duration>),
}

/// One request's place: in flight, counted against the limit. Report how it ended with
/// [`Slot::finish`]; dropping it unfinished (cancelled) frees it without a verdict.
pub(crate) struct Slot {
    provider: Arc<Provider>,
    trial: bool,
    epoch: u64,
    done: bool,
}

/// (chat-completions endpoint, SHA-256 of the API key): the key itself is not kept as a map key.
type ProviderId = (String, [u8; 32]);

static REGISTRY: Lazy<Mutex<HashMap<ProviderId, Arc<Provider>>>> = Lazy::new(Default::default);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The shared entry of `endpoint` + `key`, created on first use; `limits` become its limits.
pub(crate) fn provider(endpoint: &str, key: &str, limits: Limits) -> Result<Arc<Provider>, String> {
    let id: ProviderId = (endpoint.to_string(), Sha256::digest(key.as_bytes()).into());
    let mut reg = lock(&REGISTRY);
    let now = Instant::now();
    reg.retain(|_, p| Arc::strong_count(p) > 1 || now.duration_since(lock(&p.state).last_used) < IDLE_EVICT);
    if let Some(p) = reg.get(&id) {
        p.configure(limits);
        return Ok(Arc::clone(p));
    }
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .user_agent(concat!("question-insights/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("HTTP client: {}", e.without_url()))?;
    let max = limits.max_concurrency.max(1);
    let p = Arc::new(Provider {
        http,
        state: Mutex::new(State {
            max,
            limit: max,
            in_flight: 0,
            successes: 0,
            epoch: 0,
            paused_until: None,
            pauses: 0,
            breaker: Breaker::new(limits.breaker),
            last_used: now,
        }),
        notify: Notify::new(),
        rpm: RateLimiter::default(),
    });
    p.rpm.set_rpm(limits.requests_per_minute);
    reg.insert(id, Arc::clone(&p));
    Ok(p)
}

impl Provider {
    fn configure(&self, limits: Limits) {
        self.rpm.set_rpm(limits.requests_per_minute);
        let mut st = lock(&self.state);
        let max = limits.max_concurrency.max(1);
        if st.limit == st.max || st.limit > max {
            st.limit = max;
        }
        st.max = max;
        st.breaker.set_config(limits.breaker);
        drop(st);
        self.notify.notify_waiters();
    }

    pub(crate) fn breaker_opened(&self) -> u64 {
        lock(&self.state).breaker.opened()
    }

    /// The current adaptive in-flight limit.
    pub(crate) fn limit(&self) -> usize {
        lock(&self.state).limit
    }

    /// Takes a place for one request once the pause, the breaker, the in-flight limit and the
    /// requests-per-minute limiter allow it.
    pub(crate) async fn acquire(self: &Arc<Self>, patience: Option<&Patience<'_>>) -> Result<Slot, Blocked> {
        loop {
            let slot = self.admit(patience).await?;
            let spaced = async {
                self.rpm.wait().await;
                Ok::<(), Blocked>(())
            };
            match patience {
                None => spaced.await?,
                Some(p) => tokio::select! {
                    r = spaced => r?,
                    _ = tokio::time::sleep_until(p.deadline) => return Err(Blocked::Deadline),
                    _ = p.cancel.cancelled() => return Err(Blocked::Cancelled),
                },
            }
            // A pause or an opened breaker may have started while waiting for the limiter.
            let mut st = lock(&self.state);
            let now = Instant::now();
            let paused = st.paused_until.is_some_and(|p| p > now);
            if slot.trial || (!paused && st.breaker.admission(now) == Admission::Go) {
                return Ok(slot);
            }
            drop(st);
            drop(slot);
        }
    }

    async fn admit(self: &Arc<Self>, patience: Option<&Patience<'_>>) -> Result<Slot, Blocked> {
        let mut noticed = None;
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (wake_at, waiting) = {
                let mut st = lock(&self.state);
                let now = Instant::now();
                st.last_used = now;
                match st.paused_until.filter(|&p| p > now) {
                    Some(p) => (Some(p), Some(Waiting::RateLimited { generation: st.pauses, retry_in: p - now })),
                    None => {
                        let generation = st.breaker.opened();
                        match st.breaker.admission(now) {
                            Admission::OpenUntil(until) => {
                                if patience.is_none() {
                                    return Err(Blocked::Open(until - now));
                                }
                                (Some(until), Some(Waiting::BreakerOpen { generation, retry_in: until - now }))
                            }
                            Admission::TrialBusy => {
                                if patience.is_none() {
                                    return Err(Blocked::Open(Duration::ZERO));
                                }
                                (None, Some(Waiting::BreakerOpen { generation, retry_in: Duration::ZERO }))
                            }
                            adm @ (Admission::Go | Admission::Trial) => {
                                if st.in_flight < st.limit {
                                    st.in_flight += 1;
                                    let trial = adm == Admission::Trial;
                                    if trial {
                                        st.breaker.take_trial();
                                    }
                                    return Ok(Slot {
                                        provider: Arc::clone(self),
                                        trial,
                                        epoch: st.epoch,
                                        done: false,
                                    });
                                }
                                (None, None)
                            }
                        }
                    }
                }
            };
            let timer = async {
                match wake_at {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            };
            match patience {
                None => tokio::select! {
                    _ = &mut notified => {}
                    _ = timer => {}
                },
                Some(p) => {
                    // Once per pause or opening, not at every wake-up.
                    let key = waiting.map(|w| match w {
                        Waiting::BreakerOpen { generation, .. } => (0, generation),
                        Waiting::RateLimited { generation, .. } => (1, generation),
                    });
                    if let (Some(w), true) = (waiting, key != noticed) {
                        noticed = key;
                        (p.notice)(w);
                    }
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = timer => {}
                        _ = tokio::time::sleep_until(p.deadline) => return Err(Blocked::Deadline),
                        _ = p.cancel.cancelled() => return Err(Blocked::Cancelled),
                    }
                }
            }
        }
    }
}

impl Slot {
    pub(crate) fn finish(mut self, outcome: Outcome) {
        self.done = true;
        let p = &self.provider;
        let mut st = lock(&p.state);
        let now = Instant::now();
        st.in_flight = st.in_flight.saturating_sub(1);
        let limit = st.limit;
        match outcome {
            Outcome::Success => {
                st.breaker.record(now, self.trial, false);
                st.successes += 1;
                if st.successes >= st.limit {
                    st.limit = (st.limit + 1).min(st.max);
                    st.successes = 0;
                }
            }
            Outcome::Failure { slow } => {
                st.breaker.record(now, self.trial, true);
                st.successes = 0;
                if slow {
                    decrease(&mut st, self.epoch);
                }
            }
            Outcome::BackPressure(retry_after) => {
                if self.trial {
                    st.breaker.release_trial();
                }
                decrease(&mut st, self.epoch);
                if let Some(d) = retry_after.filter(|d| !d.is_zero()) {
                    let until = now + d;
                    match st.paused_until {
                        // Extends the running pause (same generation: one log line).
                        Some(p) if p > now => st.paused_until = Some(p.max(until)),
                        _ => {
                            st.paused_until = Some(until);
                            st.pauses += 1;
                        }
                    }
                }
            }
        }
        let wake_all = self.trial || st.limit > limit;
        drop(st);
        p.wake(wake_all);
    }
}

impl Provider {
    /// A freed place wakes one waiter; a trial's verdict or a raised limit wakes them all.
    fn wake(&self, all: bool) {
        if all {
            self.notify.notify_waiters();
        } else {
            self.notify.notify_one();
        }
    }
}

fn decrease(st: &mut State, epoch: u64) {
    st.successes = 0;
    if epoch == st.epoch {
        st.limit = (st.limit / 2).max(1);
        st.epoch += 1;
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut st = lock(&self.provider.state);
        st.in_flight = st.in_flight.saturating_sub(1);
        if self.trial {
            st.breaker.release_trial();
        }
        drop(st);
        self.provider.wake(self.trial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize) -> Limits {
        Limits {
            max_concurrency: max,
            requests_per_minute: None,
            breaker: BreakerConfig {
                window: 10,
                window_time: Duration::from_secs(60),
                min_calls: 4,
                failure_rate: 0.5,
                cooldown: Duration::from_secs(5),
            },
        }
    }

    #[tokio::test]
    async fn aimd_halves_once_per_epoch_and_grows_by_one() {
        let p = provider("http://aimd.test/v1", "k", limits(8)).unwrap();
        let slots: Vec<Slot> = futures_slots(&p, 8).await;
        assert_eq!(p.limit(), 8);
        // Eight 429s from requests sent in the same epoch halve the limit once.
        for s in slots {
            s.finish(Outcome::BackPressure(None));
        }
        assert_eq!(p.limit(), 4);
        // Four successes (one run at limit 4) add one.
        for s in futures_slots(&p, 4).await {
            s.finish(Outcome::Success);
        }
        assert_eq!(p.limit(), 5);
        // A timeout halves; a 5xx does not.
        let s = futures_slots(&p, 2).await;
        let mut it = s.into_iter();
        it.next().unwrap().finish(Outcome::Failure { slow: false });
        assert_eq!(p.limit(), 5);
        it.next().unwrap().finish(Outcome::Failure { slow: true });
        assert_eq!(p.limit(), 2);
        // Same key and URL: the same entry.
        let q = provider("http://aimd.test/v1", "k", limits(8)).unwrap();
        assert!(Arc::ptr_eq(&p, &q));
        let other = provider("http://aimd.test/v1", "other-key", limits(8)).unwrap();
        assert!(!Arc::ptr_eq(&p, &other));
    }

    async fn futures_slots(p: &Arc<Provider>, n: usize) -> Vec<Slot> {
        let mut v = Vec::new();
        for _ in 0..n {
            v.push(p.acquire(None).await.unwrap());
        }
        v
    }

    #[tokio::test]
    async fn waiters_wake_on_release_deadline_and_cancel() {
        let p = provider("http://wake.test/v1", "k", limits(1)).unwrap();
        let held = p.acquire(None).await.unwrap();
        let cancel = Cancel::new();
        let notice = |_: Waiting| {};
        // The deadline ends a wait for a slot.
        let patience = Patience { deadline: Instant::now(), cancel: &cancel, notice: &notice };
        assert_eq!(p.acquire(Some(&patience)).await.err(), Some(Blocked::Deadline));
        // Cancellation wakes a waiter at once.
        let p2 = Arc::clone(&p);
        let c2 = cancel.clone();
        let waiter = tokio::spawn(async move {
            let notice = |_: Waiting| {};
            let far = Instant::now() + Duration::from_secs(3600);
            let patience = Patience { deadline: far, cancel: &c2, notice: &notice };
            p2.acquire(Some(&patience)).await.err()
        });
        tokio::task::yield_now().await;
        cancel.cancel();
        assert_eq!(waiter.await.unwrap(), Some(Blocked::Cancelled));
        // Releasing the slot lets the next caller in.
        let p3 = Arc::clone(&p);
        let next = tokio::spawn(async move { p3.acquire(None).await.is_ok() });
        tokio::task::yield_now().await;
        drop(held);
        assert!(next.await.unwrap());
    }
}
