//! `asks(messages, options)`: the role of each message in its conversation, and
//! `trainAsks(streams, options)`, which `npm run train:asks` drives. Conversion and spawning only:
//! the stages live in `crate::asks`, `crate::conversations` and `crate::classify`.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::Deserialize;
use serde_json::Value;

use super::{blocking, json, reject, spawn};
use crate::asks::train::{Row, TrainOptions};
use crate::asks::{AskOptions, Role};
use crate::conversations::{ConversationOptions, Conversations};
use crate::error::{Error as CoreError, Result as CoreResult};
use crate::input;
use crate::js::{int_in, num_in};
use crate::models;
use crate::pipeline::Message;

/// Parses the messages as `conversations()` does (a message that cannot be used is an error
/// naming it); a repeated id is an error too.
fn messages_of<'a>(v: &'a Value, field: &str) -> CoreResult<(Vec<Message>, Vec<&'a Value>)> {
    let (out, items) = super::conversations::parse_messages(v, field)?;
    let mut seen = std::collections::HashSet::new();
    for (i, m) in out.iter().enumerate() {
        if !seen.insert(m.id.as_str()) {
            return Err(CoreError::out_of_range(format!("{field}[{i}].id"), format!("{:?} is repeated", m.id)));
        }
    }
    Ok((out, items))
}

/// P(question) of every message, with the built-in classifier (or the loaded classifierModel).
fn question_probabilities(messages: &[Message], batch_size: usize) -> CoreResult<Vec<Option<f32>>> {
    let engine = models::engine()?;
    let texts: Vec<&str> = messages.iter().map(|m| m.content.as_str()).collect();
    let opts = crate::classify::ClassifyOptions { batch_size, ..Default::default() };
    let out = engine.classifier.classify(&engine.embedder, &texts, &opts, &mut |_, _| Ok(()))?;
    Ok(out.into_iter().map(|c| Some(c.confidence)).collect())
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AsksOptions {
    /// Minimum P(ask) for the `ask` role (default: the threshold tuned in training).
    pub threshold: Option<f64>,
    /// A message is question-like at P(question) ≥ this (default 0.7).
    pub question_threshold: Option<f64>,
    /// Messages per classifier run (default 32).
    pub batch_size: Option<u32>,
}

#[napi(object)]
pub struct MessageRole {
    pub id: String,
    /// The part the message plays; `null` when it is neither question-like nor in the opening
    /// turn of its conversation.
    #[napi(ts_type = "'ask' | 'clarification' | 'backchannel' | 'other' | null")]
    pub role: Either<String, Null>,
    /// P(ask) from the role model; `null` where `role` is.
    #[napi(ts_type = "number | null")]
    pub ask_probability: Either<f64, Null>,
    /// P(question) ≥ questionThreshold.
    pub is_question: bool,
    /// P(question) from the classifier.
    pub confidence: f64,
    /// The id of the message that opens its conversation.
    pub conversation_id: String,
}

/// The role of each message in its conversation, in input order: conversations are rebuilt
/// from reply links, threads and the linker, question-like messages and opening turns get a
/// role. Messages are `{id, channelId, authorId, content, timestamp, threadId?, replyToId?}`.
#[napi(
    ts_args_type = "messages: Array<{id: string, channelId: string, authorId: string, content: string, timestamp: string | number | Date, threadId?: string | null, replyToId?: string | null}>, options?: AsksOptions",
    ts_return_type = "Promise<MessageRole[]>"
)]
pub fn asks<'env>(
    env: &'env Env,
    messages: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, Vec<MessageRole>>> {
    let parsed = (|| {
        let (msgs, _) = messages_of(&json(&messages, "messages")?, "messages")?;
        let o: AsksOptions = super::options(options.as_ref(), "asks()")?;
        let d = AskOptions::default();
        let opts = AskOptions {
            threshold: num_in(o.threshold, "options.threshold", 0.0, 1.0)?.map_or(d.threshold, |x| x as f32),
            question_threshold: num_in(o.question_threshold, "options.questionThreshold", 0.0, 1.0)?
                .map_or(d.question_threshold, |x| x as f32),
            review: d.review,
        };
        let batch = int_in(o.batch_size, "options.batchSize", 1, 4096)?.unwrap_or(crate::classify::DEFAULT_BATCH_SIZE);
        Ok((msgs, opts, batch))
    })();
    let (msgs, opts, batch) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let question = question_probabilities(&msgs, batch)?;
            let convs = crate::conversations::conversations(&msgs, &ConversationOptions::default());
            let roles = crate::asks::roles(&msgs, &convs, &question, &opts);
            Ok(msgs
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let q = question[i].unwrap_or(0.0);
                    MessageRole {
                        id: m.id.clone(),
                        role: roles[i].map_or(Either::B(Null), |r| Either::A(r.role.as_str().to_string())),
                        ask_probability: roles[i].map_or(Either::B(Null), |r| Either::A(r.ask_probability as f64)),
                        is_question: q >= opts.question_threshold,
                        confidence: q as f64,
                        conversation_id: msgs[convs.members[convs.conversation[i]][0]].id.clone(),
                    }
                })
                .collect::<Vec<_>>())
        }),
        |_, v| Ok(v),
    )
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrainAsksOptions {
    /// Inverse L2 strengths to try (default [0.3, 1]).
    pub c: Option<Vec<f64>>,
    /// Multipliers of the hand labels' weight to try (default [3, 10]).
    pub hand_weight: Option<Vec<f64>>,
    /// Optimiser iterations per fit (default 400).
    pub iterations: Option<u32>,
    /// Folds of the hand labels (default 5).
    pub folds: Option<u32>,
}

fn role_of(s: &str) -> Option<usize> {
    crate::asks::model::CLASSES.iter().position(|r: &Role| r.as_str() == s)
}

/// A non-empty list of numbers in `[min, max]`.
fn numbers(v: Option<&[f64]>, field: &str, min: f64, max: f64) -> CoreResult<Option<Vec<f32>>> {
    match v {
        None => Ok(None),
        Some(xs) if !xs.is_empty() && xs.iter().all(|x| (min..=max).contains(x)) => {
            Ok(Some(xs.iter().map(|&x| x as f32).collect()))
        }
        Some(_) => {
            Err(CoreError::out_of_range(field, format!("must be a non-empty array of numbers in [{min}, {max}]")))
        }
    }
}

/// Trains the role model and returns the model file as JSON (what `npm run train:asks` writes to
/// models/asks/ask-model.json). Each stream is one channel's messages; a message may carry
/// `label` (a role), `weight` (default 1), `fold` (hand labels: its cross-validation fold),
/// `question` (its P(question), to skip the classifier) and `conversation`: when every message of
/// a stream names its conversation, that structure is used instead of the linker's.
#[napi(
    ts_args_type = "streams: Array<{messages: object[]}>, options?: TrainAsksOptions",
    ts_return_type = "Promise<string>"
)]
pub fn train_asks<'env>(
    env: &'env Env,
    streams: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, String>> {
    struct Stream {
        messages: Vec<Message>,
        labels: Vec<Option<(usize, f32, Option<usize>)>>,
        given: Option<Vec<String>>,
        question: Option<Vec<f32>>,
    }
    let parsed = (|| {
        let o: TrainAsksOptions = super::options(options.as_ref(), "trainAsks()")?;
        let d = TrainOptions::default();
        let opts = TrainOptions {
            c: numbers(o.c.as_deref(), "options.c", 1e-6, 1e6)?.unwrap_or(d.c),
            hand_weight: numbers(o.hand_weight.as_deref(), "options.handWeight", 0.0, 1e6)?.unwrap_or(d.hand_weight),
            iterations: int_in(o.iterations, "options.iterations", 1, 100_000)?.unwrap_or(d.iterations),
            folds: int_in(o.folds, "options.folds", 2, 1000)?.unwrap_or(d.folds),
        };
        let v = json(&streams, "streams")?;
        let mut out = Vec::new();
        for (s, item) in input::array(&v, "streams")?.iter().enumerate() {
            let field = format!("streams[{s}].messages");
            let msgs = item.get("messages").ok_or_else(|| CoreError::invalid_type(&field, "is required (an array)"))?;
            let (messages, raw) = messages_of(msgs, &field)?;
            let mut labels = Vec::with_capacity(raw.len());
            let mut ids = Vec::with_capacity(raw.len());
            let mut probs = Vec::with_capacity(raw.len());
            for (i, r) in raw.iter().enumerate() {
                let o = r.as_object();
                let f = format!("{field}[{i}]");
                let label = match input::opt_string(o, "label", &f)? {
                    None => None,
                    Some(l) => Some(role_of(&l).ok_or_else(|| {
                        CoreError::out_of_range(format!("{f}.label"), format!("is not a role: {l:?}"))
                    })?),
                };
                let weight = input::opt_f64(o, "weight", &f, 0.0, 1e6)?.unwrap_or(1.0) as f32;
                let fold = input::opt_usize(o, "fold", &f, 0, usize::MAX >> 1)?;
                labels.push(label.map(|l| (l, weight, fold)));
                ids.push(input::opt_string(o, "conversation", &f)?);
                probs.push(input::opt_f64(o, "question", &f, 0.0, 1.0)?.map(|x| x as f32));
            }
            // P(question) given for every message: the classifier is not run again
            let question: Option<Vec<f32>> = probs.into_iter().collect();
            // conversations as the corpus gives them when every message names one, else the linker's
            let given: Option<Vec<String>> = ids.into_iter().collect();
            out.push(Stream { messages, labels, given, question });
        }
        Ok((out, opts))
    })();
    let (streams, opts) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let mut rows = Vec::new();
            let mut stats = [0usize; 4];
            for s in &streams {
                let question = match &s.question {
                    Some(q) => q.iter().map(|&x| Some(x)).collect(),
                    None => question_probabilities(&s.messages, 64)?,
                };
                let convs: Conversations = match &s.given {
                    Some(ids) => crate::asks::train::conversations_from_ids(&s.messages, ids),
                    None => crate::conversations::conversations(&s.messages, &ConversationOptions::default()),
                };
                let q = crate::classify::DEFAULT_THRESHOLD;
                for (c, l) in
                    crate::asks::features::candidates(&s.messages, &convs, &question, q).into_iter().zip(&s.labels)
                {
                    if let (Some(x), Some((label, weight, fold))) = (c, *l) {
                        stats[label] += 1;
                        rows.push(Row { x, label, weight, fold });
                    }
                }
            }
            let (mut model, grid) = crate::asks::train::train(&rows, &opts, &mut |_, _| {});
            model.trained = serde_json::json!({
                "rows": rows.len(),
                "handRows": rows.iter().filter(|r| r.fold.is_some()).count(),
                "perClass": stats,
                "iterations": opts.iterations,
                "folds": opts.folds,
                "grid": grid,
            });
            serde_json::to_string(&model.to_file()).map_err(|e| CoreError::Internal(e.to_string()))
        }),
        |_, v| Ok(v),
    )
}
