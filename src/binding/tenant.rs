//! The binding of `extract()` and `analyzeTenant()`: options, message sources (array, pull
//! function, async iterable), progress and log callbacks, AbortSignal.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use serde::Deserialize;
use serde_json::Value;

use super::{cast, convert, data, internal, reject, spawn, spawn_then};
use crate::error::{Error as CoreError, Result as CoreResult};
use crate::extract::{Cancel, ContextMessage, ExtractItem, ExtractOptions, LlmConfig, Source};
use crate::js::{self, int_in, num_in, Js};
use crate::pipeline::{self, round4, Hooks, PipelineOptions, QuestionSet};

/// `signal.addEventListener(type, listener)`.
type AddEventListener<'a> = Function<'a, FnArgs<(String, Function<'a, (), ()>)>, ()>;

/// An unref'd callback: it never keeps the Node process alive.
type Callback<T> = ThreadsafeFunction<T, (), T, Status, false, true>;

// ---------------------------------------------------------------------------------------------
// options shared by extract() and analyzeTenant()

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LlmOptions {
    /// Default `$OPENROUTER_API_KEY`. Without a key nothing is sent and originals are kept.
    pub api_key: Option<String>,
    /// Default `$LLM_BASE_URL`, else https://openrouter.ai/api/v1 (any OpenAI-compatible server).
    pub base_url: Option<String>,
    /// Default `$LLM_MODEL`, else google/gemini-3.5-flash.
    pub model: Option<String>,
    /// Tried in order when the model fails; also sent as OpenRouter's `models` list.
    pub fallback_models: Option<Vec<String>>,
    /// Per request (default 30000).
    pub timeout_ms: Option<u32>,
    /// Retries per model (default 3).
    pub max_retries: Option<u32>,
    /// Requests in flight (default 20).
    pub concurrency: Option<u32>,
    /// Default unlimited.
    pub requests_per_minute: Option<u32>,
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
    /// First step of the exponential backoff between retries (default 500).
    pub backoff_base_ms: Option<u32>,
    /// Deadline of the whole call: items wait for an unavailable provider (open breaker,
    /// Retry-After) until then, and the rest keep their original text. Default 600000 for
    /// `extract`, 1800000 for `analyzeTenant`.
    pub deadline_ms: Option<u32>,
}

impl LlmOptions {
    /// The client's configuration: the environment's (`$OPENROUTER_API_KEY`, …), then these
    /// options; `prefix` names the block in errors (`options.llm`).
    fn config(&self, prefix: &str) -> CoreResult<LlmConfig> {
        let mut c = LlmConfig::from_env();
        let f = |k: &str| js::join(prefix, k);
        let ms = |v: Option<u32>, k: &str, max: usize| -> CoreResult<Option<Duration>> {
            Ok(int_in(v, &f(k), 0, max)?.map(|x| Duration::from_millis(x as u64)))
        };
        if let Some(v) = &self.api_key {
            c.api_key = Some(v.clone());
        }
        if let Some(v) = &self.base_url {
            if !(v.starts_with("http://") || v.starts_with("https://")) {
                return Err(CoreError::out_of_range(f("baseUrl"), "must be an http(s) URL"));
            }
            c.base_url = v.clone();
        }
        if let Some(v) = &self.model {
            c.model = v.clone();
        }
        if let Some(v) = &self.fallback_models {
            c.fallback_models = v.clone();
        }
        if let Some(t) = int_in(self.timeout_ms, &f("timeoutMs"), 1, 600_000)? {
            c.timeout = Duration::from_millis(t as u64);
        }
        if let Some(v) = int_in(self.max_retries, &f("maxRetries"), 0, 20)? {
            c.max_retries = v as u32;
        }
        if let Some(v) = int_in(self.concurrency, &f("concurrency"), 1, 1000)? {
            c.concurrency = v;
        }
        if let Some(v) = int_in(self.requests_per_minute, &f("requestsPerMinute"), 1, 1_000_000)? {
            c.requests_per_minute = Some(v as u32);
        }
        if let Some(v) = int_in(self.breaker_window, &f("breakerWindow"), 1, 100_000)? {
            c.breaker_window = v;
        }
        if let Some(v) = ms(self.breaker_window_ms, "breakerWindowMs", 3_600_000)? {
            c.breaker_window_time = v;
        }
        if let Some(v) = int_in(self.breaker_min_calls, &f("breakerMinCalls"), 1, 100_000)? {
            c.breaker_min_calls = v;
        }
        if let Some(v) = num_in(self.breaker_failure_rate, &f("breakerFailureRate"), 0.0, 1.0)? {
            if v == 0.0 {
                return Err(CoreError::out_of_range(f("breakerFailureRate"), "must be in (0, 1]"));
            }
            c.breaker_failure_rate = v;
        }
        if let Some(v) = ms(self.breaker_cooldown_ms, "breakerCooldownMs", 3_600_000)? {
            c.breaker_cooldown = v;
        }
        if let Some(v) = ms(self.backoff_base_ms, "backoffBaseMs", 60_000)? {
            c.backoff_base = v;
        }
        Ok(c)
    }
}

/// The client of an optional `llm` block.
fn llm_config(llm: Option<&LlmOptions>, prefix: &str) -> CoreResult<LlmConfig> {
    llm.map_or_else(|| Ok(LlmConfig::from_env()), |l| l.config(prefix))
}

/// The extraction options that extract() and analyzeTenant() share; `prefix` names the block.
fn extract_options(
    llm: Option<&LlmOptions>,
    skip_self_contained: Option<bool>,
    self_contained_min_confidence: Option<f64>,
    questions_per_request: Option<u32>,
    prefix: &str,
) -> CoreResult<ExtractOptions> {
    let d = ExtractOptions::default();
    let f = |k: &str| js::join(prefix, k);
    let deadline = int_in(llm.and_then(|l| l.deadline_ms), &js::join(prefix, "llm.deadlineMs"), 1, 24 * 3_600_000)?;
    Ok(ExtractOptions {
        deadline: deadline.map(|ms| Duration::from_millis(ms as u64)),
        skip_self_contained: skip_self_contained.unwrap_or(d.skip_self_contained),
        self_contained_min_confidence: num_in(
            self_contained_min_confidence,
            &f("selfContainedMinConfidence"),
            0.0,
            1.0,
        )?
        .map_or(d.self_contained_min_confidence, |x| x as f32),
        questions_per_request: int_in(questions_per_request, &f("questionsPerRequest"), 1, 50)?
            .unwrap_or(d.questions_per_request),
        keep_originals: d.keep_originals,
    })
}

// ---------------------------------------------------------------------------------------------
// extract

#[napi(object)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractContextInput {
    #[serde(default, deserialize_with = "js::opt_id")]
    pub author_id: Option<String>,
    pub content: String,
    /// ISO 8601 string, epoch ms or Date.
    #[napi(ts_type = "string | number | Date")]
    #[serde(default, deserialize_with = "js::opt_timestamp")]
    pub timestamp: Option<String>,
}

#[napi(object)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtractItemInput {
    #[serde(deserialize_with = "js::id")]
    pub id: String,
    pub question: String,
    /// Who asked (shown to the model beside the context's authors).
    #[serde(default, deserialize_with = "js::opt_id")]
    pub author_id: Option<String>,
    /// The conversation around the question: the asker's messages around it, and what others
    /// wrote just before it.
    pub context: Option<Vec<ExtractContextInput>>,
    /// Classifier confidence; with no context and confidence ≥ 0.9 the item needs no rewrite.
    pub confidence: Option<f64>,
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtractCallOptions {
    pub llm: Option<LlmOptions>,
    /// Keep questions with no context and high confidence as they are (default true).
    pub skip_self_contained: Option<bool>,
    /// Confidence from which a question without context counts as self-contained (default 0.9).
    pub self_contained_min_confidence: Option<f64>,
    /// Questions packed into one request (default 1).
    pub questions_per_request: Option<u32>,
    /// Cancels the remaining requests at once; their items keep the original text.
    #[serde(default, deserialize_with = "js::skip")]
    pub signal: Option<AbortSignalLike>,
    /// Receives log lines on the JS thread, e.g. "waiting for the LLM provider (breaker open,
    /// retry in 30 s)".
    #[napi(ts_type = "(line: ExtractLogLine) => void")]
    #[serde(default, deserialize_with = "js::skip")]
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

fn extract_items(v: &Unknown<'_>) -> CoreResult<Vec<ExtractItem>> {
    let items: Vec<ExtractItemInput> = data(v, "items")?;
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            if !seen.insert(item.id.clone()) {
                return Err(CoreError::invalid_type(format!("items[{i}].id"), format!("duplicate id {:?}", item.id)));
            }
            let confidence = num_in(item.confidence, &format!("items[{i}].confidence"), 0.0, 1.0)?.map(|x| x as f32);
            let context = item
                .context
                .unwrap_or_default()
                .into_iter()
                .map(|m| ContextMessage {
                    author_id: m.author_id,
                    content: m.content,
                    // already checked and kept as ISO 8601 by the parser
                    timestamp_ms: m
                        .timestamp
                        .and_then(|t| pipeline::message::parse_timestamp(&Value::String(t)))
                        .unwrap_or(0),
                })
                .collect();
            Ok(ExtractItem { id: item.id, question: item.question, author_id: item.author_id, context, confidence })
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

/// The argument as an object, `None` when absent; `field` names it when it is not an object.
fn as_object<'a>(v: Option<&Unknown<'a>>, field: &str) -> CoreResult<Option<Object<'a>>> {
    let Some(u) = v else { return Ok(None) };
    match u.get_type().map_err(internal)? {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::Object => Ok(Some(cast(u, ValueType::Object).map_err(internal)?)),
        _ => Err(CoreError::invalid_type(field, "must be an object")),
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
        let items = extract_items(&items)?;
        let o: ExtractCallOptions = super::options(options.as_ref(), "extract()")?;
        let llm = llm_config(o.llm.as_ref(), "options.llm")?;
        let opts = extract_options(
            o.llm.as_ref(),
            o.skip_self_contained,
            o.self_contained_min_confidence,
            o.questions_per_request,
            "options",
        )?;
        let options_object = as_object(options.as_ref(), "options")?;
        let cancel = watch_signal(env, options_object.as_ref(), "options.signal")?;
        let on_log = on_log::<ExtractLogLine>(options_object.as_ref())?;
        Ok((items, llm, opts, cancel, on_log))
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
    /// The author's display name: "bob: try …" is then known to be said to bob.
    #[napi(ts_type = "string | null")]
    pub author_name: Option<String>,
    /// Said by a bot or a webhook (Discord's `author.bot`): kept and counted
    /// (`stats.botMessages`), never a question, an ask or an answer. Leave it unset for a bridge
    /// that relays members' messages through a webhook (Matrix, IRC, Slack).
    #[napi(ts_type = "boolean | null")]
    pub author_is_bot: Option<bool>,
    /// Author ids it mentions, beside Discord's `<@id>` in `content`.
    #[napi(ts_type = "Array<string | { id: string }> | null")]
    pub mentions: Option<Vec<String>>,
    /// Reactions (emoji names, or DiscordChatExporter's `{emoji: {name}}`): a ✅ on a reply marks
    /// the ask resolved.
    #[napi(ts_type = "Array<string | { emoji: { name: string } } | { name: string }> | null")]
    pub reactions: Option<Vec<String>>,
    /// Forum post tags (names or `{name}`; also `appliedTags`): "solved" marks it resolved.
    #[napi(ts_type = "Array<string | { name: string }> | null")]
    pub tags: Option<Vec<String>>,
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AnalyzeOptions {
    /// Messages per classification batch (default 1000, at most 1000000).
    pub batch_size: Option<u32>,
    /// Question threshold (default 0.7).
    pub threshold: Option<f64>,
    /// What is clustered: the asks (default), or every question-like message.
    #[napi(ts_type = "'asks' | 'all'")]
    pub questions: Option<String>,
    /// Clusters asked by fewer distinct members go to `minorClusters` (default 2).
    pub min_askers: Option<u32>,
    /// With an LLM key: candidates the ask detector puts below its threshold but gives at least
    /// this P(ask) go to the LLM as well, and count as asks when it rewrites them as a request for
    /// help (default 0.2; 1 turns the review off). Only with `questions: 'asks'`.
    pub ask_review: Option<f64>,
    /// Return every message's classification, not only the questions' (default false).
    pub include_all_classifications: Option<bool>,
    /// Let the lexical stage decide clear cases without the encoder (default true).
    pub cascade: Option<bool>,
    /// Tokens of a message the classifier's encoder sees (default 48).
    pub max_tokens: Option<u32>,
    pub llm: Option<LlmOptions>,
    /// Keep questions with no context and high confidence as they are (default true).
    pub skip_self_contained: Option<bool>,
    /// Confidence from which a question without context counts as self-contained (default 0.9).
    pub self_contained_min_confidence: Option<f64>,
    /// Questions packed into one request (default 1).
    pub questions_per_request: Option<u32>,
    /// Options of the dedupe, embedding and clustering stages (as for `cluster()`).
    pub cluster: Option<super::ClusterCallOptions>,
    /// Aborts the analysis: the promise rejects with an error named 'AbortError'.
    #[napi(ts_type = "AbortSignal")]
    #[serde(default, deserialize_with = "js::skip")]
    pub signal: Option<AbortSignalLike>,
    /// Carried by every log line the library emits (e.g. the job's correlation id).
    pub correlation_id: Option<String>,
    /// Receives the library's log lines on the JS thread.
    #[napi(ts_type = "(line: AnalyzeLogLine) => void")]
    #[serde(default, deserialize_with = "js::skip")]
    pub on_log: Option<AbortSignalLike>,
}

#[napi(object)]
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AnalyzeTenantInput {
    #[serde(deserialize_with = "js::id")]
    pub tenant_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// An array, an async iterable of pages (arrays), or a function returning a Promise of the
    /// next page, or of null when done.
    #[napi(
        ts_type = "TenantMessage[] | AsyncIterable<TenantMessage[]> | (() => Promise<TenantMessage[] | null | undefined>)"
    )]
    #[serde(default, deserialize_with = "js::skip")]
    pub messages: Vec<TenantMessage>,
    pub options: Option<AnalyzeOptions>,
}

#[napi(object)]
#[derive(Clone)]
pub struct AnalyzeProgress {
    #[napi(
        ts_type = "'classify' | 'conversations' | 'asks' | 'extract' | 'embed' | 'dedupe' | 'cluster' | 'keywords' | 'done'"
    )]
    pub stage: String,
    pub done: u32,
    pub total: u32,
    /// Overall percent, 0–100.
    pub percent: f64,
    pub tenant_id: String,
    /// Why the stage stands still, when it does: "waiting for the LLM provider (breaker open,
    /// retry in 12 s)" or "(rate limited, retry in 2 s)".
    pub waiting: Option<String>,
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
    pub conversations: f64,
    pub asks: f64,
    pub extract: f64,
    /// The encoder's busy time over the asks. It starts during `extract` (on each ask as soon as
    /// its text is known), so stages overlap and do not add up to `total`.
    pub embed: f64,
    /// How long the pipeline waited for the encoder after `extract` ended.
    pub embed_wait: f64,
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
    /// Of the analysed messages: said by a bot (`authorIsBot`), so never a question, an ask or
    /// an answer.
    pub bot_messages: u32,
    /// Question-like messages (P(question) ≥ threshold).
    pub questions: u32,
    /// Messages clustered: the asks, or with `questions: 'all'` every question-like message.
    pub asks: u32,
    /// Candidates (question-like messages and conversation openings) per role.
    pub roles: RoleCounts,
    pub conversations: u32,
    /// Of the clustered messages: someone else replied in the conversation.
    pub answered: u32,
    /// Of the clustered messages: the asker acknowledged an answer, or a ✅ or solved tag.
    pub resolved: u32,
    /// Messages the LLM said are not requests for help (left out of the clusters).
    pub not_requests: u32,
    /// Questions the LLM rewrote.
    pub extracted: u32,
    pub llm_fallbacks: u32,
    pub skipped_extraction: u32,
    pub llm_requests: u32,
    pub duplicates: u32,
    pub clusters: u32,
    pub minor_clusters: u32,
    pub unclustered: u32,
    pub rejected: Vec<RejectedMessage>,
    pub timings_ms: StageTimings,
    /// Peak resident memory of the process so far.
    pub peak_rss_bytes: f64,
    pub warnings: Vec<String>,
}

#[napi(object)]
pub struct RoleCounts {
    pub ask: u32,
    pub clarification: u32,
    pub backchannel: u32,
    pub other: u32,
}

/// The reply that answered an ask; link it as discord.com/channels/{tenant}/{channelId}/{messageId}.
#[napi(object)]
pub struct AnswerLink {
    pub message_id: String,
    pub channel_id: String,
    pub author_id: String,
    /// The asker acknowledged it ("thanks, that worked") or a ✅ marks it; otherwise it is the
    /// first substantial reply said to the asker (or, where the channel's people do not name whom
    /// they answer, or in a thread, one that follows on from the asker's words).
    pub acknowledged: bool,
}

#[napi(object)]
pub struct BestAnswer {
    /// The cluster's question it answered.
    pub question_id: String,
    pub message_id: String,
    pub channel_id: String,
    pub author_id: String,
    pub acknowledged: bool,
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
    /// The part it plays in its conversation (null: question-like, but no candidate).
    #[napi(ts_type = "'ask' | 'clarification' | 'backchannel' | 'other' | null")]
    pub role: Option<String>,
    pub author_id: String,
    pub channel_id: String,
    /// ISO 8601, UTC.
    pub timestamp: String,
    /// The id of its conversation's first message.
    pub conversation_id: String,
    /// The rest of the asker's turn: their messages around it before someone else spoke.
    pub context_message_ids: Vec<String>,
    /// Someone other than the asker replied in the conversation.
    pub answered: bool,
    /// The asker acknowledged an answer, or a ✅ reaction or solved tag says so.
    pub resolved: bool,
    #[napi(ts_type = "AnswerLink | null")]
    pub answer: Either<AnswerLink, Null>,
    /// The LLM said it is not a request for help; it is left out of the clusters.
    pub not_request: bool,
    /// Distinct authors of it and its duplicates.
    pub askers: u32,
    /// The `id` of its cluster (in `clusters` or `minorClusters`), or null when unclustered.
    pub cluster_id: Either<u32, Null>,
}

#[napi(object)]
pub struct TenantCluster {
    pub id: u32,
    /// Distinct members who asked: clusters are ranked by it, then by size.
    pub askers: u32,
    /// Messages in the cluster (duplicates count).
    pub size: u32,
    /// The member that shows what the cluster asks: of those that name a topic, an ask the
    /// detector is surest of (P(ask) ≥ 0.9) where there is one, nearest the centroid.
    pub representative: String,
    pub representative_question_id: String,
    /// Members in the same order as `memberQuestionIds`, the representative first.
    pub samples: Vec<String>,
    /// The page's order: members that name a topic (the surest asks first), then the others;
    /// each group nearest the centroid first.
    pub member_question_ids: Vec<String>,
    pub message_ids: Vec<String>,
    pub cohesion: f64,
    /// A short LLM title, when an API key is configured.
    pub title: Option<String>,
    pub keywords: Vec<String>,
    /// Share of the cluster's asks (duplicates count) that nobody else replied to, 4 decimals.
    pub unanswered_rate: f64,
    /// Share of the cluster's asks that the asker marked resolved, 4 decimals.
    pub resolved_rate: f64,
    pub answered: u32,
    pub resolved: u32,
    /// The answer to show ("asked 14 times, best answer here"): an acknowledged one nearest the
    /// centroid, else the first answer.
    #[napi(ts_type = "BestAnswer | null")]
    pub best_answer: Either<BestAnswer, Null>,
}

#[napi(object)]
pub struct TenantAnalysis {
    pub tenant_id: String,
    pub month: String,
    pub stats: TenantStats,
    pub classifications: Vec<TenantClassification>,
    pub questions: Vec<TenantQuestion>,
    /// Asked by at least `minAskers` distinct members; most askers first.
    pub clusters: Vec<TenantCluster>,
    /// Asked by fewer than `minAskers` distinct members: listed apart, not dropped.
    pub minor_clusters: Vec<TenantCluster>,
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
    fn progress(&self, stage: &str, done: usize, total: usize, percent: f64, waiting: Option<&str>) {
        let Some(p) = &self.progress else { return };
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let due = last.0 != stage
            || last.1.is_none_or(|t| now.duration_since(t) >= PROGRESS_INTERVAL)
            || stage == "done"
            || waiting.is_some();
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
                waiting: waiting.map(str::to_string),
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

/// A message as read from JS: JSON for the pipeline, or why it cannot be (a function, NaN…),
/// with its id when it has one. The pipeline rejects it by position; the reason is put back
/// when the result is converted.
type Read = std::result::Result<Value, Unreadable>;

struct Unreadable {
    id: Option<String>,
    reason: String,
}

fn read_message(item: &Unknown<'_>) -> napi::Result<Read> {
    let js = convert::to_js(item)?;
    let id = js.get("id").and_then(|v| js::parse::<js::Id>(v, "id", "").ok()).map(|i| i.0);
    Ok(js.into_json("").map_err(|(path, what)| Unreadable { id, reason: format!("{path} is {what}") }))
}

fn read_messages(array: &Unknown<'_>) -> napi::Result<Vec<Read>> {
    let a: Array<'_> = cast(array, ValueType::Object)?;
    (0..a.len())
        .map(|i| match a.get::<Unknown<'_>>(i)? {
            Some(item) => read_message(&item),
            None => Ok(Ok(Value::Null)),
        })
        .collect()
}

/// One page of messages from a pull function or an async iterator step, and the bytes it was
/// reported to V8 as (see [`report_external`]).
struct Page(Option<Vec<Read>>, i64);

/// About the bytes a page's messages take once read into Rust: their strings, and the fields.
fn page_bytes(page: &[Read]) -> i64 {
    fn bytes(v: &Value) -> usize {
        match v {
            Value::String(s) => s.len() + 32,
            Value::Array(a) => a.iter().map(bytes).sum::<usize>() + 32,
            Value::Object(o) => o.iter().map(|(k, v)| k.len() + bytes(v)).sum::<usize>() + 64,
            _ => 16,
        }
    }
    page.iter().map(|m| m.as_ref().map_or(64, bytes)).sum::<usize>() as i64
}

/// Tells V8 that the process holds `bytes` more (or, negative, fewer) outside its heap on the
/// job's behalf (`napi_adjust_external_memory`). V8 schedules a collection as that grows (every
/// 64 MB in Node 20's V8): the pages a caller built and handed over are garbage once read, but V8
/// rarely ran a full collection on its own while JS waited for the job, and they stayed (174 MB
/// of heap through a 250k-message run, measured). A page is reported as it is read and given
/// back with the rest when the job ends; one read while the job was being dropped stays counted.
fn report_external(env: sys::napi_env, bytes: i64) {
    if bytes != 0 {
        let mut total = 0i64;
        // only a hint: a failure changes nothing the job needs
        let _ = unsafe { sys::napi_adjust_external_memory(env, bytes, &mut total) };
    }
}

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
        let mut page = Page::read(&Unknown::from_raw_unchecked(env, v))?;
        page.1 = page.0.as_deref().map_or(0, page_bytes);
        report_external(env, page.1);
        Ok(page)
    }
}

impl Page {
    fn read(u: &Unknown<'_>) -> napi::Result<Self> {
        match u.get_type()? {
            ValueType::Undefined | ValueType::Null => Ok(Page(None, 0)),
            ValueType::Object if u.is_array()? => Ok(Page(Some(read_messages(u)?), 0)),
            ValueType::Object => {
                // an async iterator's step: {done, value}
                let o: Object<'_> = cast(u, ValueType::Object)?;
                if o.get::<bool>("done")?.unwrap_or(false) {
                    return Ok(Page(None, 0));
                }
                match o.get::<Unknown<'_>>("value")? {
                    Some(value) => Page::read(&value),
                    None => Ok(Page(Some(vec![]), 0)),
                }
            }
            _ => Err(napi::Error::from_reason("a page must be an array of messages, or null when done")),
        }
    }
}

struct MessageSource {
    pull: Pull,
    /// Messages handed to the pipeline so far (their positions continue across pages).
    delivered: usize,
    /// Messages that could not be read, by position.
    unreadable: std::collections::HashMap<usize, Unreadable>,
    /// Bytes reported to V8 for the pages read so far; given back when the job ends.
    reported: Arc<std::sync::atomic::AtomicI64>,
}

enum Pull {
    Pages(Vec<Read>),
    Next(ThreadsafeFunction<(), Promise<Page>, (), Status, false, true>),
}

const NOT_A_SOURCE: &str = "must be an array, an async iterable of arrays, or a function returning the next page";

fn message_source(env: &Env, input: &Object<'_>) -> CoreResult<MessageSource> {
    let v: Option<Unknown<'_>> = input.get("messages").map_err(internal)?;
    let Some(v) = v else { return Err(CoreError::invalid_type("messages", "is required")) };
    let reported = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let pull = match v.get_type().map_err(internal)? {
        ValueType::Object if v.is_array().map_err(internal)? => {
            // reported when the job starts (`analyze_tenant`), which is sure to give it back
            let page = read_messages(&v).map_err(internal)?;
            reported.store(page_bytes(&page), std::sync::atomic::Ordering::Relaxed);
            Pull::Pages(page)
        }
        ValueType::Function => {
            let f: Function<'_, (), Promise<Page>> = cast(&v, ValueType::Function).map_err(internal)?;
            Pull::Next(f.build_threadsafe_function().weak::<true>().build().map_err(internal)?)
        }
        ValueType::Object => {
            // an async iterable: iterator = messages[Symbol.asyncIterator](); pull = iterator.next
            let obj: Object<'_> = cast(&v, ValueType::Object).map_err(internal)?;
            let symbol: Unknown<'_> =
                env.get_global().and_then(|g| g.get_named_property("Symbol")).map_err(internal)?;
            let symbol: Object<'_> = cast(&symbol, ValueType::Function).map_err(internal)?;
            let key: Unknown<'_> = symbol.get_named_property("asyncIterator").map_err(internal)?;
            let method: Unknown<'_> = obj.get_property(key).map_err(internal)?;
            if method.get_type().map_err(internal)? != ValueType::Function {
                return Err(CoreError::invalid_type("messages", NOT_A_SOURCE));
            }
            let method: Function<'_, (), Object<'_>> = cast(&method, ValueType::Function).map_err(internal)?;
            let iterator = method.apply(obj, ()).map_err(internal)?;
            let next: Function<'_, (), Promise<Page>> = iterator.get_named_property("next").map_err(internal)?;
            let bound = next.bind(iterator).map_err(internal)?;
            Pull::Next(bound.build_threadsafe_function().weak::<true>().build().map_err(internal)?)
        }
        _ => return Err(CoreError::invalid_type("messages", NOT_A_SOURCE)),
    };
    Ok(MessageSource { pull, delivered: 0, unreadable: Default::default(), reported })
}

fn pipeline_options(o: &AnalyzeOptions, month: &str) -> CoreResult<PipelineOptions> {
    let d = PipelineOptions::default();
    let (threshold, mut classify) = super::classify_options(o.threshold, None, o.max_tokens, o.cascade, "options")?;
    classify.batch_size = d.classify.batch_size;
    let grouping = match &o.cluster {
        None => d.grouping,
        Some(c) => c.grouping("options.cluster")?,
    };
    Ok(PipelineOptions {
        batch_size: int_in(o.batch_size, "options.batchSize", 1, 1_000_000)?.unwrap_or(d.batch_size),
        threshold,
        period: pipeline::month_period(month),
        questions: match o.questions.as_deref() {
            None => d.questions,
            Some("asks") => QuestionSet::Asks,
            Some("all") => QuestionSet::All,
            Some(other) => {
                return Err(CoreError::out_of_range(
                    "options.questions",
                    format!("must be 'asks' or 'all', got {other:?}"),
                ))
            }
        },
        min_askers: int_in(o.min_askers, "options.minAskers", 1, 1_000_000)?.unwrap_or(d.min_askers),
        conversations: d.conversations,
        asks: crate::asks::AskOptions {
            question_threshold: threshold,
            review: num_in(o.ask_review, "options.askReview", 0.0, 1.0)?.map_or(d.asks.review, |x| x as f32),
            ..d.asks
        },
        include_all_classifications: o.include_all_classifications.unwrap_or(d.include_all_classifications),
        classify,
        llm: llm_config(o.llm.as_ref(), "options.llm")?,
        extract: extract_options(
            o.llm.as_ref(),
            o.skip_self_contained,
            o.self_contained_min_confidence,
            o.questions_per_request,
            "options",
        )?,
        grouping,
        max_titles: d.max_titles,
        keywords: d.keywords,
    })
}

/// Reads `options.onLog`: a function, or absent.
fn on_log<'a, T: ToNapiValue + 'static>(options: Option<&Object<'a>>) -> CoreResult<Option<Function<'a, T, ()>>> {
    let Some(u) = options.map(|o| o.get::<Unknown<'_>>("onLog")).transpose().map_err(internal)?.flatten() else {
        return Ok(None);
    };
    match u.get_type().map_err(internal)? {
        ValueType::Function => Ok(Some(cast(&u, ValueType::Function).map_err(internal)?)),
        ValueType::Undefined | ValueType::Null => Ok(None),
        _ => Err(CoreError::invalid_type("options.onLog", "must be a function")),
    }
}

/// Analyses one tenant's month: classify → conversations → asks → extract → dedupe → cluster,
/// with keywords, titles and answered rates. Messages may be streamed page by page; bad messages
/// are reported in `stats.rejected` and never stop the tenant. `onProgress` runs on the JS
/// thread at most every 250 ms and at each stage change.
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
        let input = as_object(Some(&input), "input")?
            .ok_or_else(|| CoreError::invalid_type("input", "is required: {tenantId, month, messages}"))?;
        // every field but the messages, which are read page by page
        let mut fields = Vec::new();
        for key in Object::keys(&input).map_err(internal)? {
            let value = if key == "messages" {
                Js::Null
            } else {
                convert::to_js(&input.get_named_property::<Unknown<'_>>(&key).map_err(internal)?).map_err(internal)?
            };
            fields.push((key, value));
        }
        let parsed: AnalyzeTenantInput = js::parse(&Js::Object(fields), "", "analyzeTenant()")?;
        if pipeline::month_period(&parsed.month).is_none() {
            return Err(CoreError::out_of_range("month", format!("must be YYYY-MM, got {:?}", parsed.month)));
        }
        let o = parsed.options.unwrap_or_default();
        let opts = pipeline_options(&o, &parsed.month)?;
        let options = as_object(input.get::<Unknown<'_>>("options").map_err(internal)?.as_ref(), "options")?;
        let cancel = watch_signal(env, options.as_ref(), "options.signal")?;
        let on_log = on_log::<AnalyzeLogLine>(options.as_ref())?;
        let source = message_source(env, &input)?;
        Ok((parsed.tenant_id, parsed.month, opts, source, cancel, on_log, o.correlation_id))
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
    let reported = source.reported.clone();
    report_external(env.raw(), reported.load(std::sync::atomic::Ordering::Relaxed));
    let fut = crate::compute::guarded(run(tenant_id, month, opts, source, hooks, cancel));
    // the messages' bytes were the job's until it ended, however it ended
    spawn_then(
        env,
        fut,
        |_, out| Ok(out),
        move |env| report_external(env.raw(), -reported.swap(0, std::sync::atomic::Ordering::Relaxed)),
    )
}

impl MessageSource {
    /// Hands a page to the pipeline: an unreadable message becomes `null` (rejected there by
    /// position) and its reason is kept here.
    fn deliver(&mut self, page: Vec<Read>) -> Vec<Value> {
        let start = self.delivered;
        self.delivered += page.len();
        page.into_iter()
            .enumerate()
            .map(|(i, m)| {
                m.unwrap_or_else(|u| {
                    self.unreadable.insert(start + i, u);
                    Value::Null
                })
            })
            .collect()
    }
}

impl pipeline::PageSource for MessageSource {
    async fn next_page(&mut self) -> CoreResult<Option<Vec<Value>>> {
        let page = match &mut self.pull {
            Pull::Pages(values) if values.is_empty() => None,
            Pull::Pages(values) => Some(std::mem::take(values)),
            Pull::Next(next) => {
                let promise = next.call_async(()).await.map_err(|e| CoreError::Source(e.reason.clone()))?;
                let Page(page, bytes) = promise.await.map_err(|e| CoreError::Source(e.reason.clone()))?;
                self.reported.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
                page
            }
        };
        Ok(page.map(|p| self.deliver(p)))
    }
}

async fn run(
    tenant_id: String,
    month: String,
    opts: PipelineOptions,
    mut source: MessageSource,
    hooks: Arc<JsHooks>,
    cancel: Cancel,
) -> CoreResult<TenantAnalysis> {
    let mut a = pipeline::analyze_tenant(&tenant_id, &month, opts, &mut source, hooks, cancel).await?;
    for r in &mut a.rejected {
        if let Some(u) = source.unreadable.remove(&r.index) {
            r.id = u.id;
            r.reason = u.reason;
        }
    }
    Ok(to_js(tenant_id, month, a))
}

fn to_js(tenant_id: String, month: String, a: pipeline::Analysis) -> TenantAnalysis {
    let m = &a.messages;
    let link = |x: &pipeline::outcome::Answer| AnswerLink {
        message_id: m[x.message].id.clone(),
        channel_id: m[x.message].channel_id.clone(),
        author_id: m[x.message].author_id.clone(),
        acknowledged: x.acknowledged,
    };
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
                confidence: round4(q.confidence as f64),
                role: q.role.map(|r| r.as_str().to_string()),
                author_id: msg.author_id.clone(),
                channel_id: msg.channel_id.clone(),
                timestamp: pipeline::message::iso(msg.timestamp_ms),
                conversation_id: m[q.conversation].id.clone(),
                context_message_ids: q.context.iter().map(|&i| m[i].id.clone()).collect(),
                answered: q.answered,
                resolved: q.resolved,
                answer: q.answer.as_ref().map(link).map_or(Either::B(Null), Either::A),
                not_request: q.not_request,
                askers: q.askers as u32,
                cluster_id: match q.cluster {
                    Some(c) => Either::A(c as u32),
                    None => Either::B(Null),
                },
            }
        })
        .collect();
    let mut clusters: Vec<TenantCluster> = a
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| TenantCluster {
            id: i as u32,
            askers: c.askers as u32,
            size: c.size as u32,
            representative: questions[c.members[0]].extracted.clone(),
            representative_question_id: questions[c.members[0]].id.clone(),
            samples: c.samples.iter().map(|&s| questions[s].extracted.clone()).collect(),
            member_question_ids: c.members.iter().map(|&q| questions[q].id.clone()).collect(),
            message_ids: c.members.iter().flat_map(|&q| questions[q].message_ids.clone()).collect(),
            cohesion: round4(c.cohesion as f64),
            title: c.title.clone(),
            keywords: c.keywords.clone(),
            unanswered_rate: round4(c.unanswered_rate as f64),
            resolved_rate: round4(c.resolved_rate as f64),
            answered: c.answered as u32,
            resolved: c.resolved as u32,
            best_answer: c
                .best_answer
                .and_then(|q| {
                    let answer = a.questions[q].answer.as_ref().map(link)?;
                    Some(BestAnswer {
                        question_id: questions[q].id.clone(),
                        message_id: answer.message_id,
                        channel_id: answer.channel_id,
                        author_id: answer.author_id,
                        acknowledged: answer.acknowledged,
                    })
                })
                .map_or(Either::B(Null), Either::A),
        })
        .collect();
    // the pipeline ranks the minor clusters last
    let minor_clusters = clusters.split_off(a.clusters.iter().filter(|c| !c.minor).count());
    let role = |r: crate::asks::Role| a.roles.get(&r).copied().unwrap_or(0) as u32;
    let t = &a.timings;
    TenantAnalysis {
        stats: TenantStats {
            messages: a.received as u32,
            analyzed: m.len() as u32,
            repeated_ids: a.repeated_ids as u32,
            bot_messages: m.iter().filter(|x| x.bot).count() as u32,
            questions: a.classifications.iter().filter(|c| c.2).count() as u32,
            asks: a.questions.iter().filter(|q| !q.not_request).map(|q| q.asks).sum::<usize>() as u32,
            roles: RoleCounts {
                ask: role(crate::asks::Role::Ask),
                clarification: role(crate::asks::Role::Clarification),
                backchannel: role(crate::asks::Role::Backchannel),
                other: role(crate::asks::Role::Other),
            },
            conversations: a.conversations as u32,
            answered: a.answered as u32,
            resolved: a.resolved as u32,
            not_requests: a.not_requests as u32,
            extracted: a.extracted as u32,
            llm_fallbacks: a.llm_fallbacks as u32,
            skipped_extraction: a.skipped_extraction as u32,
            llm_requests: a.llm_requests as u32,
            duplicates: a.duplicates as u32,
            clusters: clusters.len() as u32,
            minor_clusters: minor_clusters.len() as u32,
            unclustered: a.unclustered as u32,
            rejected: a
                .rejected
                .iter()
                .map(|r| RejectedMessage { index: r.index as u32, id: r.id.clone(), reason: r.reason.clone() })
                .collect(),
            timings_ms: StageTimings {
                classify: t.classify,
                conversations: t.conversations,
                asks: t.asks,
                extract: t.extract,
                embed: t.embed,
                embed_wait: t.embed_wait,
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
                confidence: round4(c as f64),
            })
            .collect(),
        questions,
        clusters,
        minor_clusters,
        tenant_id,
        month,
    }
}
