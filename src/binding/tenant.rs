//! The binding of `extract()` and `analyzeTenant()`: options, message sources (array, pull
//! function, async iterable), progress and log callbacks, AbortSignal.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde_json::{Map, Value};

use super::{convert, grouping_options, reject, required_json, spawn};
use crate::error::{Error as CoreError, Result as CoreResult};
use crate::extract::{Cancel, ContextMessage, ExtractItem, ExtractOptions, LlmConfig, Source};
use crate::input;
use crate::pipeline::{self, Hooks, Ingest, PipelineOptions};

/// `signal.addEventListener(type, listener)`.
type AddEventListener<'a> = Function<'a, FnArgs<(String, Function<'a, (), ()>)>, ()>;

/// An unref'd callback: it never keeps the Node process alive.
type Callback<T> = ThreadsafeFunction<T, (), T, Status, false, true>;

// ---------------------------------------------------------------------------------------------
// options shared by extract() and analyzeTenant()

#[napi(object)]
pub struct LlmOptions {
    /// Default `$OPENROUTER_API_KEY`. Without a key nothing is sent and originals are kept.
    pub api_key: Option<String>,
    /// Default `$LLM_BASE_URL`, else https://openrouter.ai/api/v1 (any OpenAI-compatible server).
    pub base_url: Option<String>,
    /// Default `$LLM_MODEL`, else google/gemini-2.0-flash-exp.
    pub model: Option<String>,
    /// Tried in order when the model fails; also sent as OpenRouter's `models` list.
    pub fallback_models: Option<Vec<String>>,
    /// Per request (default 30000).
    pub timeout_ms: Option<u32>,
    /// Retries per model (default 3).
    pub max_retries: Option<u32>,
    /// Most requests in flight (default 20); halved on 429s and timeouts, +1 after a run of
    /// successes, never above this. Shared by every call with the same `baseUrl` and `apiKey`.
    pub concurrency: Option<u32>,
    /// Default unlimited. Shared by every call with the same `baseUrl` and `apiKey`.
    pub requests_per_minute: Option<u32>,
    /// First retry backoff (default 500), doubled per retry, with jitter.
    pub backoff_base_ms: Option<u32>,
    /// Circuit breaker window: the last N calls (default 50) ...
    pub breaker_window: Option<u32>,
    /// ... no older than this (default 60000).
    pub breaker_window_ms: Option<u32>,
    /// Calls in the window before the breaker may open (default 20).
    pub breaker_min_calls: Option<u32>,
    /// Share of failed calls (timeouts, 5xx, unparsable answers; not 429s) in the window
    /// that opens the breaker, in (0, 1] (default 0.5).
    pub breaker_failure_rate: Option<f64>,
    /// How long the open breaker waits before one trial request (default 30000).
    pub breaker_cooldown_ms: Option<u32>,
    /// Deadline of the whole call: items wait for an unavailable provider (open breaker,
    /// Retry-After) until then, and the rest keep their original text. Default 600000 for
    /// `extract`, 1800000 for `analyzeTenant`.
    pub deadline_ms: Option<u32>,
}

fn llm_config(o: Option<&Map<String, Value>>, prefix: &str) -> CoreResult<LlmConfig> {
    let mut c = LlmConfig::from_env();
    let s = |k: &str| input::opt_string(o, k, prefix);
    let n = |k: &str, min: usize, max: usize| input::opt_usize(o, k, prefix, min, max);
    if let Some(v) = s("apiKey")? {
        c.api_key = Some(v);
    }
    if let Some(v) = s("baseUrl")? {
        if !(v.starts_with("http://") || v.starts_with("https://")) {
            return Err(CoreError::out_of_range(input::join(prefix, "baseUrl"), "must be an http(s) URL"));
        }
        c.base_url = v;
    }
    if let Some(v) = s("model")? {
        c.model = v;
    }
    if let Some(v) = o.and_then(|m| m.get("fallbackModels")).filter(|v| !v.is_null()) {
        c.fallback_models = input::strings(v, &input::join(prefix, "fallbackModels"))?;
    }
    if let Some(v) = n("timeoutMs", 1, 600_000)? {
        c.timeout = Duration::from_millis(v as u64);
    }
    if let Some(v) = n("maxRetries", 0, 20)? {
        c.max_retries = v as u32;
    }
    if let Some(v) = n("concurrency", 1, 1000)? {
        c.concurrency = v;
    }
    if let Some(v) = n("requestsPerMinute", 1, 1_000_000)? {
        c.requests_per_minute = Some(v as u32);
    }
    if let Some(v) = n("breakerWindow", 1, 100_000)? {
        c.breaker_window = v;
    }
    if let Some(v) = n("breakerWindowMs", 1, 3_600_000)? {
        c.breaker_window_time = Duration::from_millis(v as u64);
    }
    if let Some(v) = n("breakerMinCalls", 1, 100_000)? {
        c.breaker_min_calls = v;
    }
    if let Some(v) = input::opt_f64(o, "breakerFailureRate", prefix, 0.0, 1.0)? {
        if v == 0.0 {
            return Err(CoreError::out_of_range(input::join(prefix, "breakerFailureRate"), "must be in (0, 1]"));
        }
        c.breaker_failure_rate = v;
    }
    if let Some(v) = n("breakerCooldownMs", 0, 3_600_000)? {
        c.breaker_cooldown = Duration::from_millis(v as u64);
    }
    if let Some(v) = n("backoffBaseMs", 0, 60_000)? {
        c.backoff_base = Duration::from_millis(v as u64);
    }
    Ok(c)
}

fn extract_options(o: Option<&Map<String, Value>>, prefix: &str) -> CoreResult<ExtractOptions> {
    let d = ExtractOptions::default();
    let llm = input::options(o.and_then(|m| m.get("llm")), &input::join(prefix, "llm"))?;
    let deadline = input::opt_usize(llm, "deadlineMs", &input::join(prefix, "llm"), 1, 24 * 3_600_000)?;
    Ok(ExtractOptions {
        deadline: deadline.map(|ms| Duration::from_millis(ms as u64)),
        skip_self_contained: input::opt_bool(o, "skipSelfContained", prefix)?.unwrap_or(d.skip_self_contained),
        self_contained_min_confidence: input::opt_f64(o, "selfContainedMinConfidence", prefix, 0.0, 1.0)?
            .map(|x| x as f32)
            .unwrap_or(d.self_contained_min_confidence),
        questions_per_request: input::opt_usize(o, "questionsPerRequest", prefix, 1, 50)?
            .unwrap_or(d.questions_per_request),
    })
}

// ---------------------------------------------------------------------------------------------
// extract

#[napi(object)]
pub struct ExtractContextInput {
    pub author_id: Option<String>,
    pub content: String,
    /// ISO 8601 string, epoch ms or Date.
    #[napi(ts_type = "string | number | Date")]
    pub timestamp: Option<String>,
}

#[napi(object)]
pub struct ExtractItemInput {
    pub id: String,
    pub question: String,
    /// The same author's messages around the question.
    pub context: Option<Vec<ExtractContextInput>>,
    /// Classifier confidence; with no context and confidence ≥ 0.9 the item needs no rewrite.
    pub confidence: Option<f64>,
}

#[napi(object)]
pub struct ExtractCallOptions {
    pub llm: Option<LlmOptions>,
    /// Keep questions with no context and high confidence as they are (default true).
    pub skip_self_contained: Option<bool>,
    /// Confidence from which a question without context counts as self-contained (default 0.9).
    pub self_contained_min_confidence: Option<f64>,
    /// Questions packed into one request (default 1).
    pub questions_per_request: Option<u32>,
    /// Cancels the remaining requests at once; their items keep the original text.
    pub signal: Option<AbortSignalLike>,
    /// Receives log lines on the JS thread, e.g. "waiting for the LLM provider (breaker open,
    /// retry in 30 s)".
    #[napi(ts_type = "(line: ExtractLogLine) => void")]
    pub on_log: Option<AbortSignalLike>,
}

#[napi(object)]
#[derive(Clone)]
pub struct ExtractLogLine {
    #[napi(ts_type = "'info' | 'warn'")]
    pub level: String,
    pub message: String,
}

/// Anything with `aborted` and `addEventListener('abort', …)`, e.g. `AbortController.signal`.
#[napi(object)]
pub struct AbortSignalLike {
    pub aborted: bool,
}

#[napi(object)]
pub struct ExtractedQuestion {
    pub id: String,
    pub extracted: String,
    pub original: String,
    /// `'original'` when there is no key, the item was skipped, or anything failed.
    #[napi(ts_type = "'llm' | 'original'")]
    pub source: String,
    pub model: Option<String>,
    pub error: Option<String>,
    pub skipped: bool,
    /// The model said the message is not a request for help (small talk, a reply, a
    /// rhetorical question...): `extracted` is the original and `source` is `'llm'`.
    pub not_request: bool,
    pub latency_ms: u32,
}

#[napi(object)]
pub struct ExtractOutput {
    /// One per input item, in input order.
    pub results: Vec<ExtractedQuestion>,
    pub requests: u32,
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
    pub skipped: u32,
    pub fallbacks: u32,
    /// Items with `notRequest: true`.
    pub not_requests: u32,
    pub warnings: Vec<String>,
}

fn extract_items(v: &Value) -> CoreResult<Vec<ExtractItem>> {
    let items = input::array(v, "items")?;
    let mut seen = std::collections::HashSet::new();
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("items[{i}]");
            let o = item
                .as_object()
                .ok_or_else(|| CoreError::invalid_type(&at, "must be an object {id, question, context?}"))?;
            let id = input::id(o.get("id"), &format!("{at}.id"))?;
            if !seen.insert(id.clone()) {
                return Err(CoreError::invalid_type(format!("{at}.id"), format!("duplicate id {id:?}")));
            }
            let question = input::required_string(o, "question", &at)?;
            let confidence = input::opt_f64(Some(o), "confidence", &at, 0.0, 1.0)?.map(|x| x as f32);
            let context = match o.get("context") {
                None | Some(Value::Null) => vec![],
                Some(c) => input::array(c, &format!("{at}.context"))?
                    .iter()
                    .enumerate()
                    .map(|(j, m)| {
                        let at = format!("{at}.context[{j}]");
                        let m = m
                            .as_object()
                            .ok_or_else(|| CoreError::invalid_type(&at, "must be an object {content, timestamp}"))?;
                        let content = input::required_string(m, "content", &at)?;
                        let timestamp_ms = match m.get("timestamp") {
                            None | Some(Value::Null) => 0,
                            Some(t) => pipeline::message::parse_timestamp(t).ok_or_else(|| {
                                CoreError::invalid_type(
                                    format!("{at}.timestamp"),
                                    "must be an ISO 8601 string, epoch ms or a Date",
                                )
                            })?,
                        };
                        let author_id = match m.get("authorId") {
                            None | Some(Value::Null) => None,
                            a => Some(input::id(a, &format!("{at}.authorId"))?),
                        };
                        Ok(ContextMessage { author_id, content, timestamp_ms })
                    })
                    .collect::<CoreResult<_>>()?,
            };
            Ok(ExtractItem { id, question, context, confidence })
        })
        .collect()
}

/// Reads `options.signal` (if any): rejects at once when already aborted, otherwise sets the
/// returned flag when it aborts.
fn watch_signal(env: &Env, options: Option<&Object<'_>>, field: &str) -> CoreResult<Cancel> {
    let flag = Cancel::new();
    let Some(options) = options else { return Ok(flag) };
    let signal: Option<Object<'_>> = options.get("signal").ok().flatten();
    let Some(signal) = signal else { return Ok(flag) };
    let aborted: Option<bool> =
        signal.get("aborted").map_err(|_| CoreError::invalid_type(field, "must be an AbortSignal"))?;
    if aborted == Some(true) {
        return Err(CoreError::Aborted);
    }
    let add: Option<AddEventListener<'_>> =
        signal.get("addEventListener").map_err(|_| CoreError::invalid_type(field, "must be an AbortSignal"))?;
    let add = add.ok_or_else(|| CoreError::invalid_type(field, "must be an AbortSignal (no addEventListener)"))?;
    let f = flag.clone();
    let on_abort = env
        .create_function_from_closure::<(), (), _>("onAbort", move |_| {
            f.cancel();
            Ok(())
        })
        .map_err(|e| CoreError::Internal(e.to_string()))?;
    add.apply(signal, FnArgs::from(("abort".to_string(), on_abort))).map_err(|e| CoreError::Internal(e.to_string()))?;
    Ok(flag)
}

/// The options object without the keys that hold functions or objects JSON cannot carry.
fn options_json(env: &Env, options: Option<&Object<'_>>, skip: &[&str]) -> CoreResult<Option<Value>> {
    let Some(o) = options else { return Ok(None) };
    let names = Object::keys(o).map_err(|e| CoreError::Internal(e.to_string()))?;
    let mut map = Map::new();
    for name in names {
        if skip.contains(&name.as_str()) {
            continue;
        }
        let v: Unknown<'_> = o.get_named_property(&name).map_err(|e| CoreError::Internal(e.to_string()))?;
        let j = unsafe { convert::to_json(env.raw(), v.raw(), &format!("options.{name}")) }?;
        if !j.is_null() {
            map.insert(name, j);
        }
    }
    Ok(Some(Value::Object(map)))
}

fn as_object<'a>(env: &Env, v: Option<Unknown<'a>>, field: &str) -> CoreResult<Option<Object<'a>>> {
    match v {
        None => Ok(None),
        Some(u) => match u.get_type().map_err(|e| CoreError::Internal(e.to_string()))? {
            ValueType::Undefined | ValueType::Null => Ok(None),
            ValueType::Object => Ok(Some(
                unsafe { Object::from_napi_value(env.raw(), u.raw()) }
                    .map_err(|e| CoreError::Internal(e.to_string()))?,
            )),
            _ => Err(CoreError::invalid_type(field, "must be an object")),
        },
    }
}

/// Rewrites each question, with its context, into one standalone question through an
/// OpenAI-compatible chat API (OpenRouter by default). Never drops an item: failures keep the
/// original text (`source: 'original'`, `error` says why). Without an API key nothing is sent
/// and `warnings` says so.
#[napi(
    ts_args_type = "items: ExtractItemInput[], options?: ExtractCallOptions, onProgress?: (done: number, total: number) => void",
    ts_return_type = "Promise<ExtractOutput>"
)]
pub fn extract<'env>(
    env: &'env Env,
    items: Unknown<'_>,
    options: Option<Unknown<'_>>,
    on_progress: Option<Function<'_, FnArgs<(u32, u32)>, ()>>,
) -> napi::Result<PromiseRaw<'env, ExtractOutput>> {
    let parsed = (|| {
        let items = extract_items(&required_json(env, items, "items")?)?;
        let options = as_object(env, options, "options")?;
        let cancel = watch_signal(env, options.as_ref(), "options.signal")?;
        let on_log = option_function::<ExtractLogLine>(env, options.as_ref(), "onLog", "options.onLog")?;
        let json = options_json(env, options.as_ref(), &["signal", "onLog"])?;
        let o = input::options(json.as_ref(), "options")?;
        let llm = llm_config(input::options(o.and_then(|m| m.get("llm")), "options.llm")?, "options.llm")?;
        Ok((items, llm, extract_options(o, "options")?, cancel, on_log))
    })();
    let (items, llm, opts, cancel, on_log) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    let hooks = ExtractJsHooks {
        progress: on_progress.map(|f| f.build_threadsafe_function().weak::<true>().build()).transpose()?,
        log: on_log.map(|f| f.build_threadsafe_function().weak::<true>().build()).transpose()?,
    };
    let fut =
        crate::compute::guarded(async move { Ok(crate::extract::extract(items, &llm, &opts, &hooks, &cancel).await) });
    spawn(env, fut, |_, r| {
        Ok(ExtractOutput {
            results: r
                .results
                .into_iter()
                .map(|x| ExtractedQuestion {
                    id: x.id,
                    extracted: x.extracted,
                    original: x.original,
                    source: source_str(x.source).into(),
                    model: x.model,
                    error: x.error,
                    skipped: x.skipped,
                    not_request: x.not_request,
                    latency_ms: x.latency_ms.min(u32::MAX as u64) as u32,
                })
                .collect(),
            requests: r.requests as u32,
            prompt_tokens: r.prompt_tokens as u32,
            completion_tokens: r.completion_tokens as u32,
            skipped: r.skipped as u32,
            fallbacks: r.fallbacks as u32,
            not_requests: r.not_requests as u32,
            warnings: r.warnings,
        })
    })
}

/// `extract()`'s progress and log callbacks (called on the JS thread, never keeping it alive).
struct ExtractJsHooks {
    progress: Option<Callback<FnArgs<(u32, u32)>>>,
    log: Option<Callback<ExtractLogLine>>,
}

impl crate::extract::ExtractHooks for ExtractJsHooks {
    fn progress(&self, done: usize, total: usize) {
        if let Some(p) = &self.progress {
            p.call(FnArgs::from((done as u32, total as u32)), ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
    fn log(&self, level: &str, message: &str) {
        if let Some(l) = &self.log {
            let line = ExtractLogLine { level: level.into(), message: message.into() };
            l.call(line, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// `options[name]` when it is a function; `None` when absent, a TypeError naming `field` otherwise.
fn option_function<'a, A: JsValuesTupleIntoVec>(
    env: &Env,
    options: Option<&Object<'a>>,
    name: &str,
    field: &str,
) -> CoreResult<Option<Function<'a, A, ()>>> {
    let Some(u) = options.and_then(|o| o.get::<Unknown<'_>>(name).ok().flatten()) else { return Ok(None) };
    match u.get_type().map_err(|e| CoreError::Internal(e.to_string()))? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::Function => Ok(Some(
            unsafe { Function::from_napi_value(env.raw(), u.raw()) }.map_err(|e| CoreError::Internal(e.to_string()))?,
        )),
        _ => Err(CoreError::invalid_type(field, "must be a function")),
    }
}

fn source_str(s: Source) -> &'static str {
    match s {
        Source::Llm => "llm",
        Source::Original => "original",
    }
}

// ---------------------------------------------------------------------------------------------
// analyzeTenant

#[napi(object)]
pub struct TenantMessage {
    pub id: String,
    pub channel_id: String,
    pub author_id: String,
    pub content: String,
    /// ISO 8601 string (no zone = UTC), epoch milliseconds, or Date.
    #[napi(ts_type = "string | number | Date")]
    pub timestamp: String,
    #[napi(ts_type = "string | null")]
    pub thread_id: Option<String>,
    #[napi(ts_type = "string | null")]
    pub reply_to_id: Option<String>,
}

#[napi(object)]
pub struct AnalyzeOptions {
    /// Messages per classification batch (default 1000).
    pub batch_size: Option<u32>,
    /// Question threshold (default 0.7).
    pub threshold: Option<f64>,
    /// ± window of the same author's context messages (default 120000 ms).
    pub context_window_ms: Option<u32>,
    /// A question counts as answered when another author replies (to it, in its thread, or in
    /// the channel) within this window (default 3600000 ms).
    pub answered_window_ms: Option<u32>,
    /// Return every message's classification, not only the questions' (default false).
    pub include_all_classifications: Option<bool>,
    /// Let the lexical stage decide clear cases without the encoder (default true).
    pub cascade: Option<bool>,
    pub llm: Option<LlmOptions>,
    pub skip_self_contained: Option<bool>,
    pub questions_per_request: Option<u32>,
    /// Options of the dedupe, embedding and clustering stages (as for `cluster()`).
    pub cluster: Option<super::ClusterCallOptions>,
    /// Aborts the analysis: the promise rejects with an error named 'AbortError'.
    #[napi(ts_type = "AbortSignal")]
    pub signal: Option<AbortSignalLike>,
    /// Carried by every log line the library emits (e.g. the job's correlation id).
    pub correlation_id: Option<String>,
    /// Receives the library's log lines on the JS thread.
    #[napi(ts_type = "(line: AnalyzeLogLine) => void")]
    pub on_log: Option<AbortSignalLike>,
}

#[napi(object)]
pub struct AnalyzeTenantInput {
    pub tenant_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// An array, an async iterable of pages (arrays), or a function returning a Promise of the
    /// next page, or of null when done.
    #[napi(
        ts_type = "TenantMessage[] | AsyncIterable<TenantMessage[]> | (() => Promise<TenantMessage[] | null | undefined>)"
    )]
    pub messages: Vec<TenantMessage>,
    pub options: Option<AnalyzeOptions>,
}

#[napi(object)]
#[derive(Clone)]
pub struct AnalyzeProgress {
    #[napi(ts_type = "'classify' | 'context' | 'extract' | 'embed' | 'dedupe' | 'cluster' | 'keywords' | 'done'")]
    pub stage: String,
    pub done: u32,
    pub total: u32,
    /// Overall percent, 0–100.
    pub percent: f64,
    pub tenant_id: String,
}

#[napi(object)]
#[derive(Clone)]
pub struct AnalyzeLogLine {
    #[napi(ts_type = "'info' | 'warn' | 'error'")]
    pub level: String,
    pub message: String,
    pub stage: String,
    pub tenant_id: String,
    pub correlation_id: Option<String>,
}

#[napi(object)]
pub struct RejectedMessage {
    /// Position in the input, across pages.
    pub index: u32,
    pub id: Option<String>,
    pub reason: String,
}

#[napi(object)]
pub struct StageTimings {
    pub classify: f64,
    pub context: f64,
    pub extract: f64,
    pub embed: f64,
    pub dedupe: f64,
    pub cluster: f64,
    pub keywords: f64,
    pub total: f64,
}

#[napi(object)]
pub struct TenantStats {
    /// Messages received (all pages), including rejected ones and repeated ids.
    pub messages: u32,
    /// Distinct valid messages analysed.
    pub analyzed: u32,
    pub repeated_ids: u32,
    pub questions: u32,
    /// Questions the LLM rewrote.
    pub extracted: u32,
    pub llm_fallbacks: u32,
    pub skipped_extraction: u32,
    pub llm_requests: u32,
    pub duplicates: u32,
    pub clusters: u32,
    pub unclustered: u32,
    pub rejected: Vec<RejectedMessage>,
    pub timings_ms: StageTimings,
    /// Peak resident memory of the process so far.
    pub peak_rss_bytes: f64,
    pub warnings: Vec<String>,
}

#[napi(object)]
pub struct TenantClassification {
    pub message_id: String,
    pub is_question: bool,
    pub confidence: f64,
}

#[napi(object)]
pub struct TenantQuestion {
    /// The id of the question's message (the kept one of a duplicate group).
    pub id: String,
    /// Its message and those of its duplicates.
    pub message_ids: Vec<String>,
    pub original: String,
    pub extracted: String,
    #[napi(ts_type = "'llm' | 'original'")]
    pub source: String,
    pub confidence: f64,
    pub author_id: String,
    pub channel_id: String,
    /// ISO 8601, UTC.
    pub timestamp: String,
    pub context_message_ids: Vec<String>,
    pub answered: bool,
    /// Index into `clusters`, or null when unclustered.
    pub cluster_id: Either<u32, Null>,
}

#[napi(object)]
pub struct TenantCluster {
    pub id: u32,
    /// Messages in the cluster (duplicates count).
    pub size: u32,
    pub representative: String,
    pub representative_question_id: String,
    pub samples: Vec<String>,
    pub member_question_ids: Vec<String>,
    pub message_ids: Vec<String>,
    pub cohesion: f64,
    /// A short LLM title, when an API key is configured.
    pub title: Option<String>,
    pub keywords: Vec<String>,
    /// Share of the cluster's messages that nobody else answered.
    pub unanswered_rate: f64,
}

#[napi(object)]
pub struct TenantAnalysis {
    pub tenant_id: String,
    pub month: String,
    pub stats: TenantStats,
    pub classifications: Vec<TenantClassification>,
    pub questions: Vec<TenantQuestion>,
    /// Largest first.
    pub clusters: Vec<TenantCluster>,
}

struct JsHooks {
    tenant_id: String,
    correlation_id: Option<String>,
    progress: Option<Callback<AnalyzeProgress>>,
    log: Option<Callback<AnalyzeLogLine>>,
    cancel: Cancel,
    last: Mutex<(String, Option<Instant>)>,
}

/// Progress reaches JS at most every 250 ms, plus at every stage change.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(250);

impl Hooks for JsHooks {
    fn progress(&self, stage: &str, done: usize, total: usize, percent: f64) {
        let Some(p) = &self.progress else { return };
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let due =
            last.0 != stage || last.1.is_none_or(|t| now.duration_since(t) >= PROGRESS_INTERVAL) || stage == "done";
        if !due {
            return;
        }
        *last = (stage.to_string(), Some(now));
        p.call(
            AnalyzeProgress {
                stage: stage.into(),
                done: done as u32,
                total: total as u32,
                percent: (percent * 10.0).round() / 10.0,
                tenant_id: self.tenant_id.clone(),
            },
            ThreadsafeFunctionCallMode::NonBlocking,
        );
    }

    fn log(&self, level: &str, stage: &str, message: &str) {
        if let Some(l) = &self.log {
            l.call(
                AnalyzeLogLine {
                    level: level.into(),
                    message: message.into(),
                    stage: stage.into(),
                    tenant_id: self.tenant_id.clone(),
                    correlation_id: self.correlation_id.clone(),
                },
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// One page of messages from a pull function or an async iterator step.
struct Page(Option<Vec<Value>>);

impl TypeName for Page {
    fn type_name() -> &'static str {
        "Page"
    }
    fn value_type() -> ValueType {
        ValueType::Unknown
    }
}

impl ValidateNapiValue for Page {}

impl FromNapiValue for Page {
    unsafe fn from_napi_value(env: sys::napi_env, v: sys::napi_value) -> napi::Result<Self> {
        let u = Unknown::from_napi_value(env, v)?;
        match u.get_type()? {
            ValueType::Undefined | ValueType::Null => Ok(Page(None)),
            ValueType::Object => {
                if u.is_array()? {
                    return Ok(Page(Some(messages_of(env, v))));
                }
                // an async iterator's step: {done, value}
                let o = Object::from_napi_value(env, v)?;
                if o.get::<bool>("done")?.unwrap_or(false) {
                    return Ok(Page(None));
                }
                let value: Option<Unknown<'_>> = o.get("value")?;
                match value {
                    Some(value) => Page::from_napi_value(env, value.raw()),
                    None => Ok(Page(Some(vec![]))),
                }
            }
            _ => Err(napi::Error::from_reason("a page must be an array of messages, or null when done")),
        }
    }
}

/// Converts an array of messages element by element: an element that cannot be converted is
/// kept as a marker that the parser rejects with the reason, so one bad message never stops
/// the tenant.
unsafe fn messages_of(env: sys::napi_env, array: sys::napi_value) -> Vec<Value> {
    let mut len = 0u32;
    if sys::napi_get_array_length(env, array, &mut len) != sys::Status::napi_ok {
        return vec![];
    }
    (0..len)
        .map(|i| {
            let mut item = std::ptr::null_mut();
            if sys::napi_get_element(env, array, i, &mut item) != sys::Status::napi_ok {
                return Value::Null;
            }
            convert::to_json(env, item, "message").unwrap_or_else(|e| Value::String(format!("\u{0}{e}")))
        })
        .collect()
}

enum MessageSource {
    Pages(Vec<Value>),
    Pull(ThreadsafeFunction<(), Promise<Page>, (), Status, false, true>),
}

fn message_source(env: &Env, input: &Object<'_>) -> CoreResult<MessageSource> {
    let internal = |e: napi::Error| CoreError::Internal(e.to_string());
    let v: Option<Unknown<'_>> = input.get("messages").map_err(internal)?;
    let Some(v) = v else { return Err(CoreError::invalid_type("messages", "is required")) };
    match v.get_type().map_err(internal)? {
        ValueType::Object if v.is_array().map_err(internal)? => {
            Ok(MessageSource::Pages(unsafe { messages_of(env.raw(), v.raw()) }))
        }
        ValueType::Function => {
            let f: Function<'_, (), Promise<Page>> =
                unsafe { Function::from_napi_value(env.raw(), v.raw()) }.map_err(internal)?;
            Ok(MessageSource::Pull(f.build_threadsafe_function().weak::<true>().build().map_err(internal)?))
        }
        ValueType::Object => {
            // an async iterable: iterator = messages[Symbol.asyncIterator](); pull = iterator.next
            let obj = unsafe { Object::from_napi_value(env.raw(), v.raw()) }.map_err(internal)?;
            let mut method = std::ptr::null_mut();
            unsafe {
                let (mut global, mut symbol, mut key) =
                    (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
                sys::napi_get_global(env.raw(), &mut global);
                sys::napi_get_named_property(env.raw(), global, c"Symbol".as_ptr(), &mut symbol);
                sys::napi_get_named_property(env.raw(), symbol, c"asyncIterator".as_ptr(), &mut key);
                sys::napi_get_property(env.raw(), obj.raw(), key, &mut method);
            }
            let method = unsafe { Unknown::from_napi_value(env.raw(), method) }.map_err(internal)?;
            if method.get_type().map_err(internal)? != ValueType::Function {
                return Err(CoreError::invalid_type(
                    "messages",
                    "must be an array, an async iterable of arrays, or a function returning the next page",
                ));
            }
            let method: Function<'_, (), Object<'_>> =
                unsafe { Function::from_napi_value(env.raw(), method.raw()) }.map_err(internal)?;
            let iterator = method.apply(obj, ()).map_err(internal)?;
            let next: Function<'_, (), Promise<Page>> = iterator.get_named_property("next").map_err(internal)?;
            let bound = next.bind(iterator).map_err(internal)?;
            Ok(MessageSource::Pull(bound.build_threadsafe_function().weak::<true>().build().map_err(internal)?))
        }
        _ => Err(CoreError::invalid_type(
            "messages",
            "must be an array, an async iterable of arrays, or a function returning the next page",
        )),
    }
}

fn valid_month(m: &str) -> bool {
    let b = m.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(&m[5..], "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12")
}

fn pipeline_options(o: Option<&Map<String, Value>>) -> CoreResult<PipelineOptions> {
    let d = PipelineOptions::default();
    let (threshold, mut classify) = super::classify_options(o, "options")?;
    classify.batch_size = d.classify.batch_size;
    let cluster = input::options(o.and_then(|m| m.get("cluster")), "options.cluster")?;
    let grouping = grouping_options(cluster).map_err(|e| match e {
        CoreError::InvalidType { field, message } => {
            CoreError::InvalidType { field: field.replacen("options.", "options.cluster.", 1), message }
        }
        CoreError::OutOfRange { field, message } => {
            CoreError::OutOfRange { field: field.replacen("options.", "options.cluster.", 1), message }
        }
        other => other,
    })?;
    Ok(PipelineOptions {
        batch_size: input::opt_usize(o, "batchSize", "options", 1, 1_000_000)?.unwrap_or(d.batch_size),
        threshold,
        context_window_ms: input::opt_usize(o, "contextWindowMs", "options", 0, 86_400_000)?
            .map(|x| x as i64)
            .unwrap_or(d.context_window_ms),
        answered_window_ms: input::opt_usize(o, "answeredWindowMs", "options", 0, 30 * 86_400_000)?
            .map(|x| x as i64)
            .unwrap_or(d.answered_window_ms),
        include_all_classifications: input::opt_bool(o, "includeAllClassifications", "options")?.unwrap_or(false),
        classify,
        llm: llm_config(input::options(o.and_then(|m| m.get("llm")), "options.llm")?, "options.llm")?,
        extract: extract_options(o, "options")?,
        grouping,
        max_titles: d.max_titles,
        keywords: d.keywords,
    })
}

/// Analyses one tenant's month: classify → context → extract → dedupe → cluster, with keywords,
/// titles and answered rates. Messages may be streamed page by page; bad messages are reported
/// in `stats.rejected` and never stop the tenant. `onProgress` runs on the JS thread at most
/// every 250 ms and at each stage change.
#[napi(
    ts_args_type = "input: AnalyzeTenantInput, onProgress?: (progress: AnalyzeProgress) => void",
    ts_return_type = "Promise<TenantAnalysis>"
)]
pub fn analyze_tenant<'env>(
    env: &'env Env,
    input: Unknown<'_>,
    on_progress: Option<Function<'_, AnalyzeProgress, ()>>,
) -> napi::Result<PromiseRaw<'env, TenantAnalysis>> {
    let parsed = (|| {
        let input = as_object(env, Some(input), "input")?
            .ok_or_else(|| CoreError::invalid_type("input", "is required: {tenantId, month, messages}"))?;
        let tenant_id = match input.get::<Unknown<'_>>("tenantId").ok().flatten() {
            Some(u) => input::id(Some(&required_json(env, u, "tenantId")?), "tenantId")?,
            None => return Err(CoreError::invalid_type("tenantId", "is required (a string)")),
        };
        let month = match input
            .get::<Unknown<'_>>("month")
            .ok()
            .flatten()
            .map(|m| required_json(env, m, "month"))
            .transpose()?
        {
            Some(Value::String(m)) if valid_month(&m) => m,
            Some(Value::String(m)) => {
                return Err(CoreError::out_of_range("month", format!("must be YYYY-MM, got {m:?}")))
            }
            _ => return Err(CoreError::invalid_type("month", "is required (a YYYY-MM string)")),
        };
        let options = as_object(env, input.get::<Unknown<'_>>("options").ok().flatten(), "options")?;
        let cancel = watch_signal(env, options.as_ref(), "options.signal")?;
        let on_log: Option<Function<'_, AnalyzeLogLine, ()>> = match options.as_ref() {
            None => None,
            Some(o) => match o.get::<Unknown<'_>>("onLog").ok().flatten() {
                None => None,
                Some(u) if u.get_type().map_err(|e| CoreError::Internal(e.to_string()))? == ValueType::Function => {
                    Some(
                        unsafe { Function::from_napi_value(env.raw(), u.raw()) }
                            .map_err(|e| CoreError::Internal(e.to_string()))?,
                    )
                }
                Some(u) if matches!(u.get_type(), Ok(ValueType::Undefined | ValueType::Null)) => None,
                Some(_) => return Err(CoreError::invalid_type("options.onLog", "must be a function")),
            },
        };
        let json = options_json(env, options.as_ref(), &["signal", "onLog"])?;
        let o = input::options(json.as_ref(), "options")?;
        let correlation_id = input::opt_string(o, "correlationId", "options")?;
        let opts = pipeline_options(o)?;
        let source = message_source(env, &input)?;
        Ok((tenant_id, month, opts, source, cancel, on_log, correlation_id))
    })();
    let (tenant_id, month, opts, source, cancel, on_log, correlation_id) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    let progress = on_progress.map(|f| f.build_threadsafe_function().weak::<true>().build()).transpose()?;
    let log = on_log.map(|f| f.build_threadsafe_function().weak::<true>().build()).transpose()?;
    let hooks = Arc::new(JsHooks {
        tenant_id: tenant_id.clone(),
        correlation_id,
        progress,
        log,
        cancel: cancel.clone(),
        last: Mutex::new((String::new(), None)),
    });
    let fut = crate::compute::guarded(run(tenant_id, month, opts, source, hooks, cancel));
    spawn(env, fut, |_, out| Ok(out))
}

async fn run(
    tenant_id: String,
    month: String,
    opts: PipelineOptions,
    source: MessageSource,
    hooks: Arc<JsHooks>,
    cancel: Cancel,
) -> CoreResult<TenantAnalysis> {
    hooks.log("info", "start", &format!("analysing {tenant_id} {month}"));
    let engine = crate::compute::blocking(crate::models::engine).await?;
    let mut ingest = Ingest::new(engine, opts);
    match source {
        MessageSource::Pages(values) => {
            let h = hooks.clone();
            ingest = crate::compute::blocking(move || ingest.push_page(&values, &*h).map(|()| ingest)).await?;
        }
        MessageSource::Pull(next) => loop {
            if cancel.is_cancelled() {
                return Err(CoreError::Aborted);
            }
            let promise = next.call_async(()).await.map_err(|e| CoreError::Source(e.reason.clone()))?;
            let page = promise.await.map_err(|e| CoreError::Source(e.reason.clone()))?;
            let Some(values) = page.0 else { break };
            let h = hooks.clone();
            ingest = crate::compute::blocking(move || ingest.push_page(&values, &*h).map(|()| ingest)).await?;
        },
    }
    let h = hooks.clone();
    let (engine, opts, analysis, started) = crate::compute::blocking(move || ingest.finish(&*h)).await?;
    let dyn_hooks: Arc<dyn Hooks> = hooks.clone();
    let a = pipeline::analyze_questions(engine, opts, analysis, started, dyn_hooks, cancel).await?;
    if !a.rejected.is_empty() {
        hooks.log("warn", "ingest", &format!("{} message(s) rejected", a.rejected.len()));
    }
    hooks.progress("done", 1, 1, 100.0);
    hooks.log(
        "info",
        "done",
        &format!("{} questions, {} clusters in {:.0} ms", a.questions.len(), a.clusters.len(), a.timings.total),
    );
    Ok(to_js(tenant_id, month, a))
}

fn to_js(tenant_id: String, month: String, a: pipeline::Analysis) -> TenantAnalysis {
    let m = &a.messages;
    let questions: Vec<TenantQuestion> = a
        .questions
        .iter()
        .map(|q| {
            let msg = &m[q.message];
            TenantQuestion {
                id: msg.id.clone(),
                message_ids: q.message_ids.clone(),
                original: msg.content.clone(),
                extracted: q.extracted.clone(),
                source: source_str(q.source).into(),
                confidence: q.confidence as f64,
                author_id: msg.author_id.clone(),
                channel_id: msg.channel_id.clone(),
                timestamp: pipeline::message::iso(msg.timestamp_ms),
                context_message_ids: q.context.iter().map(|&i| m[i].id.clone()).collect(),
                answered: q.answered,
                cluster_id: match q.cluster {
                    Some(c) => Either::A(c as u32),
                    None => Either::B(Null),
                },
            }
        })
        .collect();
    let clusters: Vec<TenantCluster> = a
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| TenantCluster {
            id: i as u32,
            size: c.size as u32,
            representative: questions[c.members[0]].extracted.clone(),
            representative_question_id: questions[c.members[0]].id.clone(),
            samples: c.samples.iter().map(|&s| questions[s].extracted.clone()).collect(),
            member_question_ids: c.members.iter().map(|&q| questions[q].id.clone()).collect(),
            message_ids: c.members.iter().flat_map(|&q| questions[q].message_ids.clone()).collect(),
            cohesion: c.cohesion as f64,
            title: c.title.clone(),
            keywords: c.keywords.clone(),
            unanswered_rate: c.unanswered_rate as f64,
        })
        .collect();
    let t = &a.timings;
    TenantAnalysis {
        stats: TenantStats {
            messages: a.received as u32,
            analyzed: m.len() as u32,
            repeated_ids: a.repeated_ids as u32,
            questions: a.classifications.iter().filter(|c| c.2).count() as u32,
            extracted: a.extracted as u32,
            llm_fallbacks: a.llm_fallbacks as u32,
            skipped_extraction: a.skipped_extraction as u32,
            llm_requests: a.llm_requests as u32,
            duplicates: a.duplicates as u32,
            clusters: clusters.len() as u32,
            unclustered: a.unclustered as u32,
            rejected: a
                .rejected
                .iter()
                .map(|r| RejectedMessage { index: r.index as u32, id: r.id.clone(), reason: r.reason.clone() })
                .collect(),
            timings_ms: StageTimings {
                classify: t.classify,
                context: t.context,
                extract: t.extract,
                embed: t.embed,
                dedupe: t.dedupe,
                cluster: t.cluster,
                keywords: t.keywords,
                total: t.total,
            },
            peak_rss_bytes: crate::models::process_rss().1 as f64,
            warnings: a.warnings.clone(),
        },
        classifications: a
            .classifications
            .iter()
            .map(|&(i, c, q)| TenantClassification {
                message_id: m[i].id.clone(),
                is_question: q,
                confidence: c as f64,
            })
            .collect(),
        questions,
        clusters,
        tenant_id,
        month,
    }
}
