//! LLM question extraction: rewrites an incomplete Discord question (plus the
//! same author's surrounding messages) into one complete standalone question
//! through OpenRouter's OpenAI-compatible chat-completions API.
//!
//! Every failure falls back to the original message: [`extract`] always
//! returns exactly one result per input item, in input order.
//! See `docs/extract.md` for options, environment variables and behaviour.

mod breaker;
mod client;
mod prompt;
mod ratelimit;

#[cfg(test)]
mod fake_server;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use client::CallStats;
pub use client::LlmClient;

/// Default OpenRouter endpoint.
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// Default model.
pub const DEFAULT_MODEL: &str = "google/gemini-2.0-flash-exp";
/// Warning put in [`ExtractReport::warnings`] when no API key is configured.
pub const NO_KEY_WARNING: &str = "OPENROUTER_API_KEY is not set: extraction skipped, original questions used";

/// Client configuration. `Debug` never prints the API key.
#[derive(Clone)]
pub struct LlmConfig {
    /// `OPENROUTER_API_KEY`; `None` (or empty) disables extraction.
    pub api_key: Option<String>,
    /// `LLM_BASE_URL`, default [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// `LLM_MODEL`, default [`DEFAULT_MODEL`].
    pub model: String,
    /// `LLM_FALLBACK_MODELS` (comma-separated), tried in order.
    pub fallback_models: Vec<String>,
    /// Per request, `LLM_TIMEOUT_MS`, default 30 s.
    pub timeout: Duration,
    /// Retries per model, `LLM_MAX_RETRIES`, default 3.
    pub max_retries: u32,
    /// Requests in flight, `LLM_CONCURRENCY`, default 20.
    pub concurrency: usize,
    /// `LLM_REQUESTS_PER_MINUTE`, default `None` (unlimited).
    pub requests_per_minute: Option<u32>,
    /// Consecutive failed requests that open the circuit
    /// (`LLM_BREAKER_THRESHOLD`, default 5; 0 disables the breaker).
    pub breaker_threshold: u32,
    /// Open time before one half-open trial (`LLM_BREAKER_COOLDOWN_MS`, default 30 s).
    pub breaker_cooldown: Duration,
    /// Longest accepted answer (`LLM_MAX_OUTPUT_CHARS`, default 500).
    pub max_output_chars: usize,
    /// First backoff step (`LLM_BACKOFF_BASE_MS`, default 500 ms).
    pub backoff_base: Duration,
}

impl Default for LlmConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            model: DEFAULT_MODEL.to_string(),
            fallback_models: Vec::new(),
            timeout: Duration::from_secs(30),
            max_retries: 3,
            concurrency: 20,
            requests_per_minute: None,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            max_output_chars: 500,
            backoff_base: Duration::from_millis(500),
        }
    }
}

impl std::fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("fallback_models", &self.fallback_models)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("concurrency", &self.concurrency)
            .field("requests_per_minute", &self.requests_per_minute)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("max_output_chars", &self.max_output_chars)
            .field("backoff_base", &self.backoff_base)
            .finish()
    }
}

impl LlmConfig {
    /// Defaults overridden by the environment variables documented on each
    /// field. Unparsable values are ignored (the default stays).
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let num = |k: &str| get(k).and_then(|v| v.parse::<u64>().ok());
        let mut c = Self { api_key: get("OPENROUTER_API_KEY"), ..Self::default() };
        if let Some(v) = get("LLM_BASE_URL") {
            c.base_url = v;
        }
        if let Some(v) = get("LLM_MODEL") {
            c.model = v;
        }
        if let Some(v) = get("LLM_FALLBACK_MODELS") {
            c.fallback_models = v.split(',').map(str::trim).filter(|m| !m.is_empty()).map(str::to_string).collect();
        }
        if let Some(v) = num("LLM_TIMEOUT_MS").filter(|&v| v > 0) {
            c.timeout = Duration::from_millis(v);
        }
        if let Some(v) = num("LLM_MAX_RETRIES") {
            c.max_retries = v.min(u64::from(u32::MAX)) as u32;
        }
        if let Some(v) = num("LLM_CONCURRENCY").filter(|&v| v > 0) {
            c.concurrency = v as usize;
        }
        if let Some(v) = num("LLM_REQUESTS_PER_MINUTE") {
            c.requests_per_minute = u32::try_from(v).ok().filter(|&v| v > 0);
        }
        if let Some(v) = num("LLM_BREAKER_THRESHOLD") {
            c.breaker_threshold = v.min(u64::from(u32::MAX)) as u32;
        }
        if let Some(v) = num("LLM_BREAKER_COOLDOWN_MS") {
            c.breaker_cooldown = Duration::from_millis(v);
        }
        if let Some(v) = num("LLM_MAX_OUTPUT_CHARS").filter(|&v| v > 0) {
            c.max_output_chars = v as usize;
        }
        if let Some(v) = num("LLM_BACKOFF_BASE_MS") {
            c.backoff_base = Duration::from_millis(v);
        }
        c
    }
}

/// A message of the same author near the question.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextMessage {
    #[serde(default)]
    pub author_id: Option<String>,
    pub content: String,
    #[serde(default)]
    pub timestamp_ms: i64,
}

/// One question to extract.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractItem {
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub context: Vec<ContextMessage>,
    /// Question-detector confidence, used by `skip_self_contained`.
    #[serde(default)]
    pub confidence: Option<f32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExtractOptions {
    /// Items with no context and `confidence >= self_contained_min_confidence`
    /// are not sent (default true).
    pub skip_self_contained: bool,
    /// Default 0.9.
    pub self_contained_min_confidence: f32,
    /// Items per request (default 1). Above 1, items are packed and the model
    /// answers a JSON array `[{"i":0,"question":"..."}, ...]`.
    pub questions_per_request: usize,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self { skip_self_contained: true, self_contained_min_confidence: 0.9, questions_per_request: 1 }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Llm,
    Original,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractResult {
    pub id: String,
    /// The standalone question, or the original when `source` is `Original`.
    pub extracted: String,
    pub original: String,
    pub source: Source,
    /// Model that answered (also set when its answer was rejected).
    pub model: Option<String>,
    /// Short reason for a fallback; `None` on success and for skipped items.
    pub error: Option<String>,
    /// Not sent because it was self-contained.
    pub skipped: bool,
    /// Wall time of this item's HTTP request(s), retries included.
    pub latency_ms: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractReport {
    /// One per input item, in input order.
    pub results: Vec<ExtractResult>,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Items not sent because they were self-contained.
    pub skipped: usize,
    /// Items not skipped whose result is the original text.
    pub fallbacks: usize,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ChatOutcome {
    pub text: String,
    /// Model that answered (as reported by the API).
    pub model: String,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Errors never contain the API key.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    #[error("OPENROUTER_API_KEY is not set")]
    NoApiKey,
    #[error("invalid LLM configuration: {0}")]
    InvalidConfig(String),
    #[error("circuit breaker open after repeated LLM failures (retry in {retry_in_ms} ms)")]
    CircuitOpen { retry_in_ms: u64 },
    #[error("{model}: HTTP {status}: {message}")]
    Http { model: String, status: u16, message: String },
    #[error("{model}: request timed out")]
    Timeout { model: String },
    #[error("{model}: connection error: {message}")]
    Connection { model: String, message: String },
    #[error("{model}: invalid response: {message}")]
    InvalidResponse { model: String, message: String },
    #[error("cancelled")]
    Cancelled,
}

fn fallback(id: &str, original: &str, error: Option<String>, skipped: bool) -> ExtractResult {
    ExtractResult {
        id: id.to_string(),
        extracted: original.to_string(),
        original: original.to_string(),
        source: Source::Original,
        model: None,
        error,
        skipped,
        latency_ms: 0,
    }
}

struct GroupOutcome {
    results: Vec<(usize, ExtractResult)>,
    stats: CallStats,
}

async fn run_group(client: LlmClient, group: Vec<(usize, ExtractItem)>, max_chars: usize) -> GroupOutcome {
    let mut stats = CallStats::default();
    let prepared: Vec<prompt::PreparedItem> = group.iter().map(|(_, it)| prompt::prepare(it)).collect();
    let per_item_tokens = u32::try_from(max_chars).unwrap_or(u32::MAX / 64).saturating_add(64);
    let answer = if group.len() == 1 {
        client
            .chat_with_stats(prompt::SYSTEM_PROMPT, &prompt::user_message(&prepared[0]), per_item_tokens, &mut stats)
            .await
    } else {
        client
            .chat_with_stats(
                prompt::SYSTEM_PROMPT_PACKED,
                &prompt::packed_user_message(&prepared),
                per_item_tokens.saturating_mul(group.len() as u32),
                &mut stats,
            )
            .await
    };
    let latency_ms = stats.request_time.as_millis() as u64;
    let mut results = Vec::with_capacity(group.len());
    let fail = |item: &ExtractItem, model: Option<&str>, reason: String| {
        let mut r = fallback(&item.id, &item.question, Some(reason), false);
        r.model = model.map(str::to_string);
        r.latency_ms = latency_ms;
        r
    };
    let ok = |item: &ExtractItem, model: &str, text: String| ExtractResult {
        id: item.id.clone(),
        extracted: text,
        original: item.question.clone(),
        source: Source::Llm,
        model: Some(model.to_string()),
        error: None,
        skipped: false,
        latency_ms,
    };
    match answer {
        Err(e) => {
            let reason = e.to_string();
            for (idx, item) in &group {
                results.push((*idx, fail(item, None, reason.clone())));
            }
        }
        Ok(out) if group.len() == 1 => {
            let (idx, item) = &group[0];
            let r = match prompt::validate(&out.text, prepared[0].input_chars, max_chars) {
                Ok(text) => ok(item, &out.model, text),
                Err(reason) => fail(item, Some(&out.model), reason),
            };
            results.push((*idx, r));
        }
        Ok(out) => match prompt::parse_packed(&out.text, group.len()) {
            Err(reason) => {
                for (idx, item) in &group {
                    results.push((*idx, fail(item, Some(&out.model), reason.clone())));
                }
            }
            Ok(slots) => {
                for (((idx, item), slot), p) in group.iter().zip(slots).zip(&prepared) {
                    let r = match slot {
                        None => fail(item, Some(&out.model), "missing from the packed answer".into()),
                        Some(raw) => match prompt::validate(&raw, p.input_chars, max_chars) {
                            Ok(text) => ok(item, &out.model, text),
                            Err(reason) => fail(item, Some(&out.model), reason),
                        },
                    };
                    results.push((*idx, r));
                }
            }
        },
    }
    GroupOutcome { results, stats }
}

/// Rewrites every item into a standalone question. Never drops an item:
/// the report has exactly one result per input item, in input order, and any
/// failure (no key, HTTP errors, open circuit, invalid answer, cancellation)
/// falls back to the original text. `progress(done, total)` is called as
/// items complete; setting `cancel` stops new requests and returns quickly.
pub async fn extract(
    items: Vec<ExtractItem>,
    cfg: &LlmConfig,
    opts: &ExtractOptions,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
    cancel: &AtomicBool,
) -> ExtractReport {
    let total = items.len();
    let mut report = ExtractReport::default();
    let mut results: Vec<Option<ExtractResult>> = vec![None; total];
    let originals: Vec<(String, String)> = items.iter().map(|it| (it.id.clone(), it.question.clone())).collect();
    let mut done = 0usize;
    let mut pending: Vec<(usize, ExtractItem)> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let self_contained =
            item.context.is_empty() && item.confidence.is_some_and(|c| c >= opts.self_contained_min_confidence);
        if opts.skip_self_contained && self_contained {
            results[i] = Some(fallback(&item.id, &item.question, None, true));
            report.skipped += 1;
            done += 1;
        } else if item.question.trim().is_empty() {
            results[i] = Some(fallback(&item.id, &item.question, Some("empty question".into()), false));
            done += 1;
        } else {
            pending.push((i, item));
        }
    }
    if done > 0 {
        progress(done, total);
    }

    let client = if cfg.api_key.as_deref().is_none_or(|k| k.trim().is_empty()) {
        report.warnings.push(NO_KEY_WARNING.to_string());
        Err(ExtractError::NoApiKey.to_string())
    } else {
        LlmClient::new(cfg.clone()).map_err(|e| {
            let msg = e.to_string();
            report.warnings.push(format!("{msg}: extraction skipped, original questions used"));
            msg
        })
    };
    let mut cancelled = cancel.load(Ordering::Relaxed);
    match client {
        Err(reason) => {
            for (i, item) in &pending {
                results[*i] = Some(fallback(&item.id, &item.question, Some(reason.clone()), false));
            }
        }
        Ok(_) if cancelled => {}
        Ok(client) => {
            let per = opts.questions_per_request.max(1);
            let max_chars = cfg.max_output_chars.max(1);
            let mut set = JoinSet::new();
            let mut it = pending.into_iter().peekable();
            while it.peek().is_some() {
                let group: Vec<(usize, ExtractItem)> = it.by_ref().take(per).collect();
                set.spawn(run_group(client.clone(), group, max_chars));
            }
            let mut take = |out: GroupOutcome, report: &mut ExtractReport| {
                report.requests += out.stats.requests;
                report.prompt_tokens += out.stats.prompt_tokens;
                report.completion_tokens += out.stats.completion_tokens;
                let n = out.results.len();
                for (i, r) in out.results {
                    results[i] = Some(r);
                }
                n
            };
            loop {
                tokio::select! {
                    joined = set.join_next() => match joined {
                        None => break,
                        Some(Ok(out)) => {
                            done += take(out, &mut report);
                            progress(done, total);
                        }
                        // A panicked task: its items fall back below.
                        Some(Err(_)) => {}
                    },
                    _ = tokio::time::sleep(Duration::from_millis(20)) => {
                        if cancel.load(Ordering::Relaxed) {
                            cancelled = true;
                            set.abort_all();
                            while let Some(joined) = set.join_next().await {
                                if let Ok(out) = joined {
                                    take(out, &mut report);
                                }
                            }
                            break;
                        }
                    }
                }
            }
        }
    }

    let mut n_cancelled = 0;
    let mut n_circuit = 0;
    let mut first_error: Option<String> = None;
    report.results = results
        .into_iter()
        .zip(originals)
        .map(|(r, (id, q))| match r {
            Some(r) => r,
            None if cancelled => {
                n_cancelled += 1;
                fallback(&id, &q, Some(ExtractError::Cancelled.to_string()), false)
            }
            None => fallback(&id, &q, Some("internal error".into()), false),
        })
        .collect();
    for r in &report.results {
        if r.source == Source::Original && !r.skipped {
            report.fallbacks += 1;
            if let Some(e) = &r.error {
                if e.starts_with("circuit breaker open") {
                    n_circuit += 1;
                }
                if first_error.is_none() && e != "cancelled" {
                    first_error = Some(e.clone());
                }
            }
        }
    }
    if n_circuit > 0 {
        report.warnings.push(format!(
            "circuit breaker opened after repeated LLM failures: {n_circuit} questions used the original text"
        ));
    }
    if n_cancelled > 0 {
        report.warnings.push(format!("extraction cancelled: {n_cancelled} questions used the original text"));
    }
    if report.fallbacks > 0 && report.warnings.is_empty() {
        report.warnings.push(format!(
            "{} of {} questions could not be extracted and use the original text (first error: {})",
            report.fallbacks,
            total,
            first_error.unwrap_or_else(|| "unknown".into())
        ));
    }
    if done < total {
        progress(total, total);
    }
    report
}
