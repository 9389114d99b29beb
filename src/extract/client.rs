//! OpenRouter / OpenAI-compatible chat-completions client with retries and client-side model
//! fallback. The limits (in-flight cap, requests per minute, `Retry-After` pause, circuit
//! breaker) belong to the provider and key, and are shared process-wide (see `gate.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;
use serde_json::{json, Value};

use super::breaker::BreakerConfig;
use super::gate::{self, Blocked, Limits, Outcome, Patience, Provider};
use super::prompt::days_from_civil;
use super::{ChatOutcome, ExtractError, LlmConfig};

/// Longest Retry-After we honour.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Longest exponential backoff step.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// 429 answers per model before moving on (they do not use up `max_retries`).
const MAX_RATE_LIMITED: u32 = 10;
const REFERER: &str = "https://github.com/question-insights/question-insights";
const TITLE: &str = "question-insights";

/// Chat-completions client: one call's settings (models, timeout, retries) on top of the
/// provider's shared limits. Cheap to clone. Every client built for the same base URL and key
/// in this process shares the in-flight cap, the rate limit, the pause and the breaker.
#[derive(Clone)]
pub struct LlmClient {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: LlmConfig,
    endpoint: String,
    models: Vec<String>,
    provider: Arc<Provider>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("endpoint", &self.inner.endpoint)
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

/// Per-call accounting, summed into the extraction report.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CallStats {
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Wall time spent in HTTP requests (not queueing or backoff).
    pub request_time: Duration,
}

enum Failure {
    /// Worth retrying on the same model (408, 5xx, timeout, connection, bad JSON); `slow` for
    /// a timeout or 408.
    Retry(ExtractError, bool),
    /// 429, with its Retry-After.
    RateLimited(ExtractError, Option<Duration>),
    /// Not worth retrying on this model (other 4xx): go to the next model.
    NextModel(ExtractError),
}

impl LlmClient {
    /// Builds the client (and, on first use of this base URL and key, the provider's shared
    /// state; otherwise `cfg`'s limits become the provider's). Fails only on an unusable
    /// configuration.
    pub fn new(cfg: LlmConfig) -> Result<Self, ExtractError> {
        let base = cfg.base_url.trim().trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ExtractError::InvalidConfig("base_url must start with http:// or https://".into()));
        }
        let mut models = vec![cfg.model.trim().to_string()];
        models.extend(cfg.fallback_models.iter().map(|m| m.trim().to_string()).filter(|m| !m.is_empty()));
        if models[0].is_empty() {
            return Err(ExtractError::InvalidConfig("model is empty".into()));
        }
        if !(cfg.breaker_failure_rate > 0.0 && cfg.breaker_failure_rate <= 1.0) {
            return Err(ExtractError::InvalidConfig("breaker_failure_rate must be in (0, 1]".into()));
        }
        models.dedup();
        let endpoint = format!("{base}/chat/completions");
        let limits = Limits {
            max_concurrency: cfg.concurrency.max(1),
            requests_per_minute: cfg.requests_per_minute,
            breaker: BreakerConfig {
                window: cfg.breaker_window.max(1),
                window_time: cfg.breaker_window_time,
                min_calls: cfg.breaker_min_calls,
                failure_rate: cfg.breaker_failure_rate,
                cooldown: cfg.breaker_cooldown,
            },
        };
        let key = cfg.api_key.as_deref().map(str::trim).unwrap_or("");
        let provider = gate::provider(&endpoint, key, limits).map_err(ExtractError::InvalidConfig)?;
        Ok(Self { inner: Arc::new(Inner { cfg, endpoint, models, provider }) })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &LlmConfig {
        &self.inner.cfg
    }

    /// Times the provider's breaker has opened since its shared state was created.
    pub fn breaker_opened(&self) -> u64 {
        self.inner.provider.breaker_opened()
    }

    /// The provider's current adaptive in-flight limit (at most `concurrency`).
    pub fn concurrency_limit(&self) -> usize {
        self.inner.provider.limit()
    }

    /// One chat completion (system + user message) with retries, fallback models and the
    /// provider's limits. While the breaker is open it fails fast with
    /// [`ExtractError::CircuitOpen`]; use [`LlmClient::chat_until`] to wait instead.
    pub async fn chat(&self, system: &str, user: &str, max_tokens: u32) -> Result<ChatOutcome, ExtractError> {
        let mut stats = CallStats::default();
        self.chat_with_stats(system, user, max_tokens, None, &mut stats).await
    }

    /// Like [`LlmClient::chat`], but waits out an open breaker (for the half-open trial), until
    /// `deadline` ([`ExtractError::Deadline`]) or `cancel` ([`ExtractError::Cancelled`]).
    pub async fn chat_until(
        &self,
        system: &str,
        user: &str,
        max_tokens: u32,
        deadline: tokio::time::Instant,
        cancel: &super::Cancel,
    ) -> Result<ChatOutcome, ExtractError> {
        let mut stats = CallStats::default();
        let patience = Patience { deadline, cancel, notice: &|_| {} };
        self.chat_with_stats(system, user, max_tokens, Some(&patience), &mut stats).await
    }

    pub(crate) async fn chat_with_stats(
        &self,
        system: &str,
        user: &str,
        max_tokens: u32,
        patience: Option<&Patience<'_>>,
        stats: &mut CallStats,
    ) -> Result<ChatOutcome, ExtractError> {
        let inner = &*self.inner;
        let key = match inner.cfg.api_key.as_deref().map(str::trim) {
            Some(k) if !k.is_empty() => k,
            _ => return Err(ExtractError::NoApiKey),
        };
        let mut last_err = None;
        for idx in 0..inner.models.len() {
            let mut failures = 0u32;
            let mut limited = 0u32;
            loop {
                let slot = inner.provider.acquire(patience).await.map_err(|b| match b {
                    Blocked::Open(rem) => ExtractError::CircuitOpen { retry_in_ms: rem.as_millis() as u64 },
                    Blocked::Deadline => ExtractError::Deadline,
                    Blocked::Cancelled => ExtractError::Cancelled,
                })?;
                let started = Instant::now();
                let send = self.send_once(idx, key, system, user, max_tokens, stats);
                let res = match patience {
                    None => send.await,
                    // The slot is dropped unfinished: it frees its place without a verdict.
                    Some(p) => tokio::select! {
                        r = send => r,
                        _ = tokio::time::sleep_until(p.deadline) => return Err(ExtractError::Deadline),
                        _ = p.cancel.cancelled() => return Err(ExtractError::Cancelled),
                    },
                };
                stats.requests += 1;
                stats.request_time += started.elapsed();
                let wait = match res {
                    Ok(out) => {
                        slot.finish(Outcome::Success);
                        return Ok(out);
                    }
                    Err(Failure::NextModel(err)) => {
                        slot.finish(Outcome::Success);
                        last_err = Some(err);
                        break;
                    }
                    Err(Failure::Retry(err, slow)) => {
                        slot.finish(Outcome::Failure { slow });
                        last_err = Some(err);
                        if failures >= inner.cfg.max_retries {
                            break;
                        }
                        failures += 1;
                        backoff(inner.cfg.backoff_base, failures - 1)
                    }
                    Err(Failure::RateLimited(err, retry_after)) => {
                        // Back-pressure: the provider-wide pause (Retry-After) and the halved
                        // in-flight limit slow everyone down; without a Retry-After, back off.
                        let retry_after = retry_after.map(|d| d.min(MAX_RETRY_AFTER));
                        slot.finish(Outcome::BackPressure(retry_after));
                        last_err = Some(err);
                        if limited >= MAX_RATE_LIMITED {
                            break;
                        }
                        limited += 1;
                        if retry_after.is_some() {
                            Duration::ZERO
                        } else {
                            backoff(inner.cfg.backoff_base, limited - 1)
                        }
                    }
                };
                sleep(wait, patience).await?;
            }
        }
        Err(last_err.unwrap_or_else(|| ExtractError::InvalidConfig("no model configured".into())))
    }

    async fn send_once(
        &self,
        idx: usize,
        key: &str,
        system: &str,
        user: &str,
        max_tokens: u32,
        stats: &mut CallStats,
    ) -> Result<ChatOutcome, Failure> {
        let inner = &*self.inner;
        let models = &inner.models[idx..];
        let model = models[0].clone();
        let mut body = json!({
            "model": model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "temperature": 0,
            "max_tokens": max_tokens,
        });
        if models.len() > 1 {
            body["models"] = json!(models);
        }
        let redact = |s: String| redact(&s, key);
        let transport = |e: reqwest::Error, model: &str| {
            if e.is_timeout() {
                Failure::Retry(ExtractError::Timeout { model: model.to_string() }, true)
            } else {
                Failure::Retry(
                    ExtractError::Connection {
                        model: model.to_string(),
                        message: redact(error_chain(&e.without_url())),
                    },
                    false,
                )
            }
        };
        let resp = inner
            .provider
            .http
            .post(&inner.endpoint)
            .timeout(inner.cfg.timeout.max(Duration::from_millis(1)))
            .bearer_auth(key)
            .header("HTTP-Referer", REFERER)
            .header("X-Title", TITLE)
            .json(&body)
            .send()
            .await
            .map_err(|e| transport(e, &model))?;
        let status = resp.status().as_u16();
        let retry_after =
            resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let bytes = resp.bytes().await.map_err(|e| transport(e, &model))?;
        let text = String::from_utf8_lossy(&bytes);
        if !(200..300).contains(&status) {
            let err = ExtractError::Http { model: model.clone(), status, message: redact(error_snippet(&text)) };
            return Err(match status {
                429 => Failure::RateLimited(err, retry_after),
                408 => Failure::Retry(err, true),
                500..=599 => Failure::Retry(err, false),
                _ => Failure::NextModel(err),
            });
        }
        let invalid = |message: String| {
            Failure::Retry(ExtractError::InvalidResponse { model: model.clone(), message: redact(message) }, false)
        };
        let v: Value = serde_json::from_str(&text).map_err(|e| invalid(format!("body is not JSON ({e})")))?;
        if let Some(u) = v.get("usage") {
            stats.prompt_tokens += u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0);
            stats.completion_tokens += u.get("completion_tokens").and_then(Value::as_u64).unwrap_or(0);
        }
        let Some(choice) = v.get("choices").and_then(|c| c.get(0)) else {
            // OpenRouter reports some upstream failures as 200 + {"error": …}.
            return Err(match v.get("error") {
                Some(e) => invalid(format!("provider error: {}", error_snippet(&e.to_string()))),
                None => invalid("no choices in response".into()),
            });
        };
        let content = match choice.get("message").and_then(|m| m.get("content")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => {
                parts.iter().filter_map(|p| p.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("")
            }
            Some(Value::Null) | None => String::new(),
            Some(_) => return Err(invalid("message content is not text".into())),
        };
        let used_model = v.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).unwrap_or(&model).to_string();
        Ok(ChatOutcome {
            text: content,
            model: used_model,
            prompt_tokens: v.pointer("/usage/prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
            completion_tokens: v.pointer("/usage/completion_tokens").and_then(Value::as_u64).unwrap_or(0),
        })
    }
}

/// Sleeps `d` (a backoff), ending early at the deadline or on cancellation.
async fn sleep(d: Duration, patience: Option<&Patience<'_>>) -> Result<(), ExtractError> {
    if d.is_zero() {
        return Ok(());
    }
    match patience {
        None => tokio::time::sleep(d).await,
        Some(p) => tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = tokio::time::sleep_until(p.deadline) => return Err(ExtractError::Deadline),
            _ = p.cancel.cancelled() => return Err(ExtractError::Cancelled),
        },
    }
    Ok(())
}

/// Exponential backoff with "equal jitter": half fixed, half random.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(20)).min(MAX_BACKOFF);
    let half = exp / 2;
    let jitter_ms = half.as_millis() as u64;
    let jitter =
        if jitter_ms == 0 { Duration::ZERO } else { Duration::from_millis(rand::rng().random_range(0..=jitter_ms)) };
    half + jitter
}

/// Never lets the key leak through a message we build.
pub(crate) fn redact(msg: &str, key: &str) -> String {
    if key.is_empty() {
        msg.to_string()
    } else {
        msg.replace(key, "[REDACTED]")
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    super::prompt::truncate_chars(&s, 300)
}

/// A short reason from an error body: `error.message` when it is JSON.
fn error_snippet(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let msg = parsed
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message").or_else(|| v.get("message")).and_then(Value::as_str).map(str::to_string)
        })
        .unwrap_or_else(|| body.trim().to_string());
    let one_line = msg.split_whitespace().collect::<Vec<_>>().join(" ");
    super::prompt::truncate_chars(&one_line, 200)
}

/// Retry-After as delta-seconds (integer or decimal) or an IMF-fixdate /
/// RFC 850 / asctime HTTP date; capped at [`MAX_RETRY_AFTER`].
pub(crate) fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Some(Duration::from_secs_f64(secs.min(MAX_RETRY_AFTER.as_secs_f64())));
        }
        return None;
    }
    let at = parse_http_date(v)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    let delta = (at - now).clamp(0, MAX_RETRY_AFTER.as_secs() as i64);
    Some(Duration::from_secs(delta as u64))
}

/// Unix seconds of an HTTP date: "Sun, 06 Nov 1994 08:49:37 GMT",
/// "Sunday, 06-Nov-94 08:49:37 GMT" or "Sun Nov  6 08:49:37 1994".
fn parse_http_date(v: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let month = |s: &str| {
        let s = s.to_ascii_lowercase();
        MONTHS.iter().position(|m| *m == s).map(|i| i as u32 + 1)
    };
    let tokens: Vec<&str> = v.split([' ', ',', '-']).filter(|t| !t.is_empty()).collect();
    // Drop the weekday.
    let t = tokens.get(1..)?;
    let (day, mon, year, time) = if t.len() >= 4 && month(t[1]).is_some() {
        // IMF-fixdate / RFC 850: day month year time [GMT]
        let mut y: i64 = t[2].parse().ok()?;
        if y < 100 {
            y += if y < 70 { 2000 } else { 1900 };
        }
        (t[0].parse().ok()?, month(t[1])?, y, t[3])
    } else if t.len() >= 4 && month(t[0]).is_some() {
        // asctime: month day time year
        (t[1].parse().ok()?, month(t[0])?, t[3].parse().ok()?, t[2])
    } else {
        return None;
    };
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if hms.len() != 3 || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, mon, day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        // A date in the past means "now"; one far in the future is capped.
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT"), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn http_date_a_few_seconds_ahead() {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
        let at = now + 5;
        let days = at.div_euclid(86_400);
        let tod = at.rem_euclid(86_400);
        let iso = super::super::prompt::iso_time(days * 86_400_000); // YYYY-MM-DDT00:00:00Z
        let (y, m, d) = (&iso[0..4], &iso[5..7], &iso[8..10]);
        const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let m: usize = m.parse().unwrap();
        let date =
            format!("Mon, {d} {} {y} {:02}:{:02}:{:02} GMT", MONTHS[m - 1], tod / 3600, (tod % 3600) / 60, tod % 60);
        let d = parse_retry_after(&date).unwrap();
        assert!(d >= Duration::from_secs(3) && d <= Duration::from_secs(5), "{d:?}");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 0..4 {
            let d = backoff(base, attempt);
            let exp = base * (1 << attempt);
            assert!(d >= exp / 2 && d <= exp, "{attempt}: {d:?}");
        }
        assert!(backoff(base, 40) <= MAX_BACKOFF);
    }

    #[test]
    fn redacts_key() {
        assert_eq!(redact("Bearer sk-1 bad", "sk-1"), "Bearer [REDACTED] bad");
        assert_eq!(redact("x", ""), "x");
    }
}
