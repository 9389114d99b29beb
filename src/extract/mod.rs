//! LLM question extraction: rewrites an incomplete Discord question (plus the
//! asker's opening turn) into one complete standalone question through
//! OpenRouter's OpenAI-compatible chat-completions API, or says that it is not
//! a request for help.
//!
//! Every failure falls back to the original message: [`extract`] always
//! returns exactly one result per input item, in input order.
//! See `docs/extract.md` for options, environment variables and behaviour.

mod breaker;
mod cancel;
mod client;
mod gate;
mod prompt;
mod ratelimit;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

pub use cancel::Cancel;
use client::CallStats;
pub use client::LlmClient;
use gate::{Patience, Waiting};
pub use prompt::{NOT_A_QUESTION, SYSTEM_PROMPT, SYSTEM_PROMPT_PACKED};

/// Default OpenRouter endpoint.
pub const DEFAULT_BASE_URL: &str = "https://openrouter.ai/api/v1";
/// Default model: a current Gemini Flash on OpenRouter (the default until 2026-12,
/// google/gemini-2.0-flash-exp, was retired by Google in 2026). `LLM_MODEL` overrides it.
pub const DEFAULT_MODEL: &str = "google/gemini-3.5-flash";
/// Default deadline of one [`extract`] call (`ExtractOptions::deadline`).
pub const DEFAULT_EXTRACT_DEADLINE: Duration = Duration::from_secs(10 * 60);
/// Default deadline of the extraction step of `analyzeTenant`.
pub const DEFAULT_TENANT_DEADLINE: Duration = Duration::from_secs(30 * 60);
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
    /// Most requests in flight, `LLM_CONCURRENCY`, default 20. The actual limit adapts
    /// (halved on 429s and timeouts, +1 after a run of successes), never above this.
    pub concurrency: usize,
    /// `LLM_REQUESTS_PER_MINUTE`, default `None` (unlimited).
    pub requests_per_minute: Option<u32>,
    /// Breaker window: the last N recorded calls (`LLM_BREAKER_WINDOW`, default 50) ...
    pub breaker_window: usize,
    /// ... no older than this (`LLM_BREAKER_WINDOW_MS`, default 60 s).
    pub breaker_window_time: Duration,
    /// Calls in the window before the breaker may open (`LLM_BREAKER_MIN_CALLS`, default 20).
    pub breaker_min_calls: usize,
    /// Failure share of the window that opens it, in (0, 1] (`LLM_BREAKER_FAILURE_RATE`, default 0.5).
    pub breaker_failure_rate: f64,
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
            breaker_window: 50,
            breaker_window_time: Duration::from_secs(60),
            breaker_min_calls: 20,
            breaker_failure_rate: 0.5,
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
            .field("breaker_window", &self.breaker_window)
            .field("breaker_window_time", &self.breaker_window_time)
            .field("breaker_min_calls", &self.breaker_min_calls)
            .field("breaker_failure_rate", &self.breaker_failure_rate)
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

    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
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
        if let Some(v) = num("LLM_BREAKER_WINDOW").filter(|&v| v > 0) {
            c.breaker_window = v as usize;
        }
        if let Some(v) = num("LLM_BREAKER_WINDOW_MS").filter(|&v| v > 0) {
            c.breaker_window_time = Duration::from_millis(v);
        }
        if let Some(v) = num("LLM_BREAKER_MIN_CALLS") {
            c.breaker_min_calls = v as usize;
        }
        if let Some(v) = get("LLM_BREAKER_FAILURE_RATE").and_then(|v| v.parse::<f64>().ok()) {
            if v > 0.0 && v <= 1.0 {
                c.breaker_failure_rate = v;
            }
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

/// A message of the conversation around the question: the asker's own, or one just before it.
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
    /// Who asked: told to the model, so that it can tell the asker's context from others'.
    #[serde(default)]
    pub author_id: Option<String>,
    #[serde(default)]
    pub context: Vec<ContextMessage>,
    /// Question-detector confidence, used by `skip_self_contained`.
    #[serde(default)]
    pub confidence: Option<f32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExtractOptions {
    /// Items with no context, `confidence >= self_contained_min_confidence` and a topic of
    /// their own are not sent (default true): a question that names none ("what was that
    /// for?", "anyone can answer me?") refers to something it does not say, and is sent.
    pub skip_self_contained: bool,
    /// Default 0.9.
    pub self_contained_min_confidence: f32,
    /// Items per request (default 1). Above 1, items are packed and the model
    /// answers a JSON array `[{"i":0,"question":"..."}, ...]`.
    pub questions_per_request: usize,
    /// The whole call's deadline (`None`: [`DEFAULT_EXTRACT_DEADLINE`]). Items wait for an
    /// overloaded or failing provider (open breaker, Retry-After) until then; the items not
    /// done by then keep their original text.
    #[serde(skip)]
    pub deadline: Option<Duration>,
    /// Whether results carry a copy of their item's question as `original` (default true).
    /// `analyzeTenant` keeps the messages' texts itself and turns it off, which saves a copy of
    /// every ask while the stage runs.
    #[serde(skip)]
    pub keep_originals: bool,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self {
            skip_self_contained: true,
            self_contained_min_confidence: 0.9,
            questions_per_request: 1,
            deadline: None,
            keep_originals: true,
        }
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
    /// The model answered that the item is not a request for help (a reply, small talk, a
    /// rhetorical question...): `extracted` is the original text, `source` is `Llm`.
    pub not_request: bool,
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
    /// Items not skipped whose result is the original text because something failed.
    pub fallbacks: usize,
    /// Items the model judged not to be a request for help.
    pub not_requests: usize,
    /// Times the provider's breaker opened during the call.
    pub breaker_opened: u64,
    /// Lowest adaptive in-flight limit seen during the call (0 when nothing was sent).
    pub min_concurrency: usize,
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
    #[error("deadline exceeded while waiting for the LLM provider")]
    Deadline,
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
        not_request: false,
        latency_ms: 0,
    }
}

/// What [`extract`] tells its caller while it runs. Both methods default to doing nothing.
pub trait ExtractHooks: Send + Sync {
    /// `done` of `total` items have their result.
    fn progress(&self, _done: usize, _total: usize) {}
    /// A log line (`level` is "info" or "warn"), e.g. "waiting for the LLM provider (breaker
    /// open, retry in 30 s)".
    fn log(&self, _level: &str, _message: &str) {}
    /// Item `index` has its final result (called once per item as results come in; the items
    /// still unanswered when the deadline passes or on cancellation are only in the report).
    fn result(&self, _index: usize, _result: &ExtractResult) {}
}

impl ExtractHooks for () {}

struct GroupOutcome {
    results: Vec<(usize, ExtractResult)>,
    stats: CallStats,
}

/// One request's worth of items (one, or several packed), waiting for the provider as long as
/// the deadline and `cancel` allow.
async fn run_group(
    client: LlmClient,
    items: Arc<Vec<ExtractItem>>,
    group: Vec<usize>,
    max_chars: usize,
    deadline: tokio::time::Instant,
    cancel: Cancel,
    notices: mpsc::UnboundedSender<Waiting>,
) -> GroupOutcome {
    let mut stats = CallStats::default();
    let notice = move |w: Waiting| {
        let _ = notices.send(w);
    };
    let patience = Patience { deadline, cancel: &cancel, notice: &notice };
    let group: Vec<(usize, &ExtractItem)> = group.iter().map(|&i| (i, &items[i])).collect();
    let prepared: Vec<prompt::PreparedItem> = group.iter().map(|(_, it)| prompt::prepare(it)).collect();
    let per_item_tokens = u32::try_from(max_chars).unwrap_or(u32::MAX / 64).saturating_add(64);
    let (system, user, max_tokens) = if group.len() == 1 {
        (prompt::SYSTEM_PROMPT, prompt::user_message(&prepared[0]), per_item_tokens)
    } else {
        (
            prompt::SYSTEM_PROMPT_PACKED,
            prompt::packed_user_message(&prepared),
            per_item_tokens.saturating_mul(group.len() as u32),
        )
    };
    let answer = client.chat_with_stats(system, &user, max_tokens, Some(&patience), &mut stats).await;
    let latency_ms = stats.request_time.as_millis() as u64;
    let fail = |item: &ExtractItem, model: Option<&str>, reason: String| {
        let mut r = fallback(&item.id, &item.question, Some(reason), false);
        r.model = model.map(str::to_string);
        r.latency_ms = latency_ms;
        r
    };
    let judged = |item: &ExtractItem, model: &str, raw: &str, input_chars: usize| match prompt::validate(
        raw,
        input_chars,
        max_chars,
    ) {
        Err(reason) => fail(item, Some(model), reason),
        Ok(verdict) => {
            let not_request = verdict == prompt::Verdict::NotRequest;
            ExtractResult {
                id: item.id.clone(),
                extracted: match verdict {
                    prompt::Verdict::Question(text) => text,
                    prompt::Verdict::NotRequest => item.question.clone(),
                },
                original: item.question.clone(),
                source: Source::Llm,
                model: Some(model.to_string()),
                error: None,
                skipped: false,
                not_request,
                latency_ms,
            }
        }
    };
    let results = match answer {
        Err(e) => {
            let reason = e.to_string();
            group.iter().map(|(idx, item)| (*idx, fail(item, None, reason.clone()))).collect()
        }
        Ok(out) if group.len() == 1 => {
            let (idx, item) = &group[0];
            vec![(*idx, judged(item, &out.model, &out.text, prepared[0].input_chars))]
        }
        Ok(out) => match prompt::parse_packed(&out.text, group.len()) {
            Err(reason) => {
                group.iter().map(|(idx, item)| (*idx, fail(item, Some(&out.model), reason.clone()))).collect()
            }
            Ok(slots) => group
                .iter()
                .zip(slots)
                .zip(&prepared)
                .map(|(((idx, item), slot), p)| {
                    let r = match slot {
                        None => fail(item, Some(&out.model), "missing from the packed answer".into()),
                        Some(raw) => judged(item, &out.model, &raw, p.input_chars),
                    };
                    (*idx, r)
                })
                .collect(),
        },
    };
    GroupOutcome { results, stats }
}

/// How every "the provider makes us wait" log line starts.
pub const WAITING_PREFIX: &str = "waiting for the LLM provider";

/// "waiting for the LLM provider (breaker open, retry in 30 s)".
fn waiting_message(w: Waiting) -> String {
    let (why, retry_in) = match w {
        Waiting::BreakerOpen { retry_in, .. } => ("breaker open", retry_in),
        Waiting::RateLimited { retry_in, .. } => ("rate limited", retry_in),
    };
    format!("{WAITING_PREFIX} ({why}, retry in {} s)", retry_in.as_millis().div_ceil(1000))
}

/// Rewrites every item into a standalone question. Never drops an item: the report has
/// exactly one result per input item, in input order, and any failure (no key, HTTP errors,
/// invalid answer, deadline, cancellation) falls back to the original text.
///
/// While the provider is unavailable (breaker open, `Retry-After` pause) items wait, and
/// `hooks.log` says "waiting for the LLM provider (...)"; after `opts.deadline` the items not
/// done keep their original. `hooks.progress(done, total)` is called as items complete.
/// `cancel` stops everything at once.
pub async fn extract(
    items: Vec<ExtractItem>,
    cfg: &LlmConfig,
    opts: &ExtractOptions,
    hooks: &dyn ExtractHooks,
    cancel: &Cancel,
) -> ExtractReport {
    let total = items.len();
    let deadline_after = opts.deadline.unwrap_or(DEFAULT_EXTRACT_DEADLINE);
    let deadline = tokio::time::Instant::now() + deadline_after;
    let mut report = ExtractReport::default();
    let mut results: Vec<Option<ExtractResult>> = vec![None; total];
    // shared by the requests' tasks, and the originals of the items that get no answer
    let items = Arc::new(items);
    let keep_originals = opts.keep_originals;
    let strip = move |mut r: ExtractResult| {
        if !keep_originals {
            r.original = String::new();
        }
        r
    };
    let mut done = 0usize;
    let mut pending: Vec<usize> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let self_contained = item.context.is_empty()
            && item.confidence.is_some_and(|c| c >= opts.self_contained_min_confidence)
            && crate::prose::names_topic(&item.question);
        if opts.skip_self_contained && self_contained {
            let r = strip(fallback(&item.id, &item.question, None, true));
            hooks.result(i, &r);
            results[i] = Some(r);
            report.skipped += 1;
            done += 1;
        } else if item.question.trim().is_empty() {
            let r = strip(fallback(&item.id, &item.question, Some("empty question".into()), false));
            hooks.result(i, &r);
            results[i] = Some(r);
            done += 1;
        } else {
            pending.push(i);
        }
    }
    if done > 0 {
        hooks.progress(done, total);
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
    // A key or configuration problem already has its warning.
    let setup_warned = !report.warnings.is_empty();
    // Why the unfinished items stopped, if they did.
    let mut stopped: Option<ExtractError> = None;
    match client {
        Err(reason) => {
            for &i in &pending {
                let item = &items[i];
                results[i] = Some(strip(fallback(&item.id, &item.question, Some(reason.clone()), false)));
            }
        }
        Ok(_) if cancel.is_cancelled() => stopped = Some(ExtractError::Cancelled),
        Ok(_) if pending.is_empty() => {}
        Ok(client) => {
            let opened_before = client.breaker_opened();
            report.min_concurrency = client.concurrency_limit();
            let per = opts.questions_per_request.max(1);
            let max_chars = cfg.max_output_chars.max(1);
            let (tx, mut notices) = mpsc::unbounded_channel();
            let mut set = JoinSet::new();
            let mut it = pending.into_iter().peekable();
            while it.peek().is_some() {
                let group: Vec<usize> = it.by_ref().take(per).collect();
                set.spawn(run_group(
                    client.clone(),
                    items.clone(),
                    group,
                    max_chars,
                    deadline,
                    cancel.clone(),
                    tx.clone(),
                ));
            }
            drop(tx);
            let mut take = |out: GroupOutcome, report: &mut ExtractReport| {
                report.requests += out.stats.requests;
                report.prompt_tokens += out.stats.prompt_tokens;
                report.completion_tokens += out.stats.completion_tokens;
                let n = out.results.len();
                for (i, r) in out.results {
                    let r = strip(r);
                    hooks.result(i, &r);
                    results[i] = Some(r);
                }
                n
            };
            let mut noticed = HashSet::new();
            loop {
                tokio::select! {
                    joined = set.join_next() => match joined {
                        None => break,
                        Some(Ok(out)) => {
                            done += take(out, &mut report);
                            report.min_concurrency = report.min_concurrency.min(client.concurrency_limit());
                            hooks.progress(done, total);
                        }
                        // A panicked task: its items fall back below.
                        Some(Err(_)) => {}
                    },
                    Some(w) = notices.recv() => {
                        let id = match w {
                            Waiting::BreakerOpen { generation, .. } => (0, generation),
                            Waiting::RateLimited { generation, .. } => (1, generation),
                        };
                        report.min_concurrency = report.min_concurrency.min(client.concurrency_limit());
                        if noticed.insert(id) {
                            hooks.log("warn", &waiting_message(w));
                        }
                    }
                    _ = cancel.cancelled() => stopped = Some(ExtractError::Cancelled),
                    _ = tokio::time::sleep_until(deadline) => stopped = Some(ExtractError::Deadline),
                }
                if stopped.is_some() {
                    set.abort_all();
                    while let Some(joined) = set.join_next().await {
                        if let Ok(out) = joined {
                            take(out, &mut report);
                        }
                    }
                    break;
                }
            }
            report.breaker_opened = client.breaker_opened().saturating_sub(opened_before);
        }
    }

    let cancelled = ExtractError::Cancelled.to_string();
    let late = ExtractError::Deadline.to_string();
    let mut first_error: Option<String> = None;
    report.results = results
        .into_iter()
        .zip(items.iter())
        .map(|(r, item)| match r {
            Some(r) => r,
            None => {
                let why = stopped.as_ref().map_or_else(|| "internal error".to_string(), ToString::to_string);
                strip(fallback(&item.id, &item.question, Some(why), false))
            }
        })
        .collect();
    let (mut n_cancelled, mut n_late) = (0, 0);
    for r in &report.results {
        report.not_requests += usize::from(r.not_request);
        if r.source == Source::Original && !r.skipped {
            report.fallbacks += 1;
            match r.error.as_deref() {
                Some(e) if e == cancelled => n_cancelled += 1,
                Some(e) if e == late => n_late += 1,
                Some(e) if first_error.is_none() => first_error = Some(e.to_string()),
                _ => {}
            }
        }
    }
    if n_cancelled > 0 {
        report.warnings.push(format!("extraction cancelled: {n_cancelled} questions used the original text"));
    }
    if n_late > 0 {
        report.warnings.push(format!(
            "deadline of {} s passed while waiting for the LLM provider: {n_late} questions used the original text",
            deadline_after.as_secs_f64()
        ));
    }
    let others = report.fallbacks - n_cancelled - n_late;
    if others > 0 && !setup_warned {
        report.warnings.push(format!(
            "{others} of {total} questions could not be extracted and use the original text (first error: {})",
            first_error.unwrap_or_else(|| "unknown".into())
        ));
    }
    if done < total {
        hooks.progress(total, total);
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_from_env_lookup() {
        let vars = [
            ("OPENROUTER_API_KEY", " sk-x "),
            ("LLM_BASE_URL", "http://127.0.0.1:9/v1"),
            ("LLM_MODEL", "a/b"),
            ("LLM_FALLBACK_MODELS", "c/d, ,e/f"),
            ("LLM_TIMEOUT_MS", "1500"),
            ("LLM_MAX_RETRIES", "7"),
            ("LLM_CONCURRENCY", "not-a-number"),
            ("LLM_REQUESTS_PER_MINUTE", "90"),
            ("LLM_BREAKER_WINDOW", "40"),
            ("LLM_BREAKER_MIN_CALLS", "5"),
            ("LLM_BREAKER_FAILURE_RATE", "1.5"),
        ];
        let c = LlmConfig::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string()));
        assert_eq!(c.api_key.as_deref(), Some("sk-x"));
        assert_eq!(c.base_url, "http://127.0.0.1:9/v1");
        assert_eq!(c.model, "a/b");
        assert_eq!(c.fallback_models, vec!["c/d", "e/f"]);
        assert_eq!(c.timeout, Duration::from_millis(1500));
        assert_eq!(c.max_retries, 7);
        assert_eq!(c.concurrency, 20);
        assert_eq!(c.requests_per_minute, Some(90));
        assert_eq!((c.breaker_window, c.breaker_min_calls), (40, 5));
        assert_eq!(c.breaker_failure_rate, 0.5, "out of range: the default stays");
        let d = LlmConfig::from_lookup(|_| None);
        assert!(d.api_key.is_none());
        assert_eq!(d.model, DEFAULT_MODEL);
        assert_eq!(d.base_url, DEFAULT_BASE_URL);
        assert!(LlmClient::new(LlmConfig { base_url: "ftp://x".into(), ..LlmConfig::default() }).is_err());
        assert!(LlmClient::new(LlmConfig { breaker_failure_rate: 0.0, ..LlmConfig::default() }).is_err());
    }

    #[test]
    fn waiting_messages() {
        let w = Waiting::BreakerOpen { generation: 1, retry_in: Duration::from_millis(29_001) };
        assert_eq!(waiting_message(w), "waiting for the LLM provider (breaker open, retry in 30 s)");
        let w = Waiting::RateLimited { generation: 1, retry_in: Duration::from_secs(2) };
        assert_eq!(waiting_message(w), "waiting for the LLM provider (rate limited, retry in 2 s)");
    }
}
