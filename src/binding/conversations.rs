//! `conversations(messages, options)` and `trainLinker(streams, options)`: conversion and
//! spawning only; the stage is `crate::conversations`. The `#[napi(object)]` input types declare
//! the TypeScript shapes; the values arrive as JSON and are checked field by field.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::Deserialize;
use serde_json::Value;

use super::{blocking, json, reject, spawn};
use crate::conversations::linker::LinkerModel;
use crate::conversations::train::{TrainOptions, TrainStream};
use crate::conversations::{self as conv, ConversationOptions};
use crate::error::{Error as CoreError, Result as CoreResult};
use crate::input;
use crate::js::{int_in, num_in};
use crate::pipeline::message::iso;
use crate::pipeline::{parse_message, Message};

#[napi(object)]
pub struct ConversationMessage {
    pub id: String,
    pub channel_id: String,
    pub author_id: String,
    pub content: String,
    /// ISO 8601 string, epoch milliseconds or a Date.
    #[napi(ts_type = "string | number | Date")]
    pub timestamp: String,
    /// The thread it was posted in (a thread's messages form one conversation with the
    /// message whose id is the thread's id).
    pub thread_id: Option<String>,
    /// The message it replies to.
    pub reply_to_id: Option<String>,
    /// Display name ("name: …" and "@name" addressing is matched against it and authorId).
    pub author_name: Option<String>,
    /// Author ids it mentions.
    pub mentions: Option<Vec<String>>,
    /// Said by a bot or a webhook (Discord's `author.bot`): it stands alone, a conversation of
    /// its own (a reply to it continues nothing), and it is no candidate of `asks()`.
    pub author_is_bot: Option<bool>,
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ConversationsOptions {
    /// Use the learned linker where explicit structure is missing (default true); false: a
    /// message continues the previous one of its channel when it came within `maxGapMs`.
    pub linker: Option<bool>,
    /// Never link to an earlier message further back than this (default 7 200 000 = 2 h).
    pub max_gap_ms: Option<f64>,
    /// With the linker: a message said to someone ("bob: …", "@bob", a mention) that is no
    /// question and that the linker links to nothing continues its addressee's latest message
    /// (not one said to someone else): within `maxGapMs` always, and up to this far back when
    /// their latest messages asked something, a late answer (default 86 400 000 = 24 h; 0:
    /// never beyond `maxGapMs`).
    pub max_reply_gap_ms: Option<f64>,
    /// How many earlier messages of the channel the linker weighs (default 40).
    pub max_candidates: Option<u32>,
    /// Minimum P(link) for the linker to link (default 0.65).
    pub threshold: Option<f64>,
    /// A linker trained by `trainLinker` (its JSON) instead of the built-in one.
    pub model: Option<String>,
}

#[napi(object)]
pub struct MessageLink {
    pub id: String,
    /// The id of the conversation's first message.
    pub conversation_id: String,
    /// The earlier message it continues; null when it starts a conversation.
    pub parent_id: Either<String, Null>,
    #[napi(ts_type = "'start' | 'reply' | 'thread' | 'mention' | 'model'")]
    pub link: String,
}

#[napi(object)]
pub struct Conversation {
    /// The id of its first message.
    pub id: String,
    /// Chronological.
    pub message_ids: Vec<String>,
    /// The author of its first message.
    pub starter_id: String,
    /// ISO 8601 time of its first message.
    pub started_at: String,
}

#[napi(object)]
pub struct ConversationsResult {
    /// One per input message, in input order.
    pub messages: Vec<MessageLink>,
    /// Ordered by their first message.
    pub conversations: Vec<Conversation>,
}

/// Messages for the conversations stage (and the asks stage, which builds conversations), with
/// the items they came from; errors name the field (`messages[3].timestamp`).
pub(super) fn parse_messages<'a>(v: &'a Value, field: &str) -> CoreResult<(Vec<Message>, Vec<&'a Value>)> {
    let items = input::array(v, field)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let mut m = parse_message(item, i).map_err(|r| {
            let name = r.reason.split_whitespace().next().unwrap_or("");
            let known = ["id", "channelId", "authorId", "content", "timestamp", "authorIsBot"].contains(&name);
            CoreError::invalid_type(if known { format!("{at}.{name}") } else { at.clone() }, r.reason)
        })?;
        let o = item.as_object().expect("parse_message accepted an object");
        for key in ["threadId", "replyToId"] {
            if let Some(x) = o.get(key).filter(|x| !x.is_null()) {
                input::id(Some(x), &format!("{at}.{key}"))?;
            }
        }
        m.author_name = input::opt_string(Some(o), "authorName", &at)?;
        if let Some(list) = o.get("mentions").filter(|x| !x.is_null()) {
            m.mentions = input::array(list, &format!("{at}.mentions"))?
                .iter()
                .enumerate()
                .map(|(j, x)| input::id(Some(x), &format!("{at}.mentions[{j}]")))
                .collect::<CoreResult<_>>()?;
        }
        out.push(m);
    }
    Ok((out, items.iter().collect()))
}

impl ConversationsOptions {
    fn core(&self) -> CoreResult<(ConversationOptions, Option<LinkerModel>)> {
        let d = ConversationOptions::default();
        let model = self
            .model
            .as_deref()
            .map(|s| LinkerModel::from_json(s).map_err(|m| CoreError::invalid_type("options.model", m)))
            .transpose()?;
        Ok((
            ConversationOptions {
                linker: self.linker.unwrap_or(d.linker),
                max_gap_ms: num_in(self.max_gap_ms, "options.maxGapMs", 0.0, 1e13)?.map_or(d.max_gap_ms, |x| x as i64),
                max_candidates: int_in(self.max_candidates, "options.maxCandidates", 1, 10_000)?
                    .unwrap_or(d.max_candidates),
                threshold: num_in(self.threshold, "options.threshold", 0.0, 1.0)?.map_or(d.threshold, |x| x as f32),
                max_reply_gap_ms: num_in(self.max_reply_gap_ms, "options.maxReplyGapMs", 0.0, 1e13)?
                    .map_or(d.max_reply_gap_ms, |x| x as i64),
            },
            model,
        ))
    }
}

fn result(messages: &[Message], c: conv::Conversations) -> ConversationsResult {
    let conv_id = |i: usize| messages[c.members[c.conversation[i]][0]].id.clone();
    ConversationsResult {
        messages: (0..messages.len())
            .map(|i| MessageLink {
                id: messages[i].id.clone(),
                conversation_id: conv_id(i),
                parent_id: match c.parent[i] {
                    Some(p) => Either::A(messages[p].id.clone()),
                    None => Either::B(Null),
                },
                link: c.source[i].as_str().into(),
            })
            .collect(),
        conversations: c
            .members
            .iter()
            .map(|m| Conversation {
                id: messages[m[0]].id.clone(),
                message_ids: m.iter().map(|&i| messages[i].id.clone()).collect(),
                starter_id: messages[m[0]].author_id.clone(),
                started_at: iso(messages[m[0]].timestamp_ms),
            })
            .collect(),
    }
}

/// Groups messages (any order, any channels) into conversations: reply links, threads and
/// mentions of recent speakers first, then the learned linker.
#[napi(
    ts_args_type = "messages: ConversationMessage[], options?: ConversationsOptions",
    ts_return_type = "Promise<ConversationsResult>"
)]
pub fn conversations<'env>(
    env: &'env Env,
    messages: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, ConversationsResult>> {
    let parsed = (|| {
        let (msgs, _) = parse_messages(&json(&messages, "messages")?, "messages")?;
        let opts = super::options::<ConversationsOptions>(options.as_ref(), "conversations()")?.core()?;
        Ok((msgs, opts))
    })();
    let (msgs, (opts, model)) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(env, blocking(move || Ok(result(&msgs, conv::conversations_with(&msgs, &opts, model.as_ref())))), |_, v| {
        Ok(v)
    })
}

#[napi(object)]
pub struct LinkerStream {
    /// One channel's messages, in stream order.
    pub messages: Vec<ConversationMessage>,
    /// Per message: indices of the earlier messages it continues (empty: it starts one).
    pub parents: Vec<Vec<u32>>,
    /// Per message: its gold conversation (any numbering).
    pub conversation: Vec<u32>,
    /// Per message: use it as a training example (default all).
    pub scored: Option<Vec<bool>>,
    /// Weight of its examples (default 1).
    pub weight: Option<f64>,
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrainLinkerOptions {
    pub max_candidates: Option<u32>,
    pub max_gap_ms: Option<f64>,
    /// L2 penalty (default 1e-4).
    pub l2: Option<f64>,
    /// Newton iterations at most (default 40).
    pub iterations: Option<u32>,
    /// Training rounds: the first sees the gold conversations, each further one the
    /// conversations the previous round's model builds (default 1).
    pub rounds: Option<u32>,
    /// Hidden ReLU units of the pair score, fitted by Adam after the linear model (default 16).
    pub hidden: Option<u32>,
    /// Adam epochs for the hidden layer (default 6).
    pub epochs: Option<u32>,
}

fn index_list(v: Option<&Value>, field: &str, n: usize) -> CoreResult<Vec<usize>> {
    let items = match v {
        Some(v) => input::array(v, field)?,
        None => return Err(CoreError::invalid_type(field, "is required (an array)")),
    };
    if items.len() != n {
        return Err(CoreError::out_of_range(field, format!("needs one entry per message ({n})")));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_u64()
                .map(|k| k as usize)
                .ok_or_else(|| CoreError::invalid_type(format!("{field}[{i}]"), "must be a non-negative integer"))
        })
        .collect()
}

fn train_streams(v: &Value) -> CoreResult<Vec<TrainStream>> {
    let mut out = Vec::new();
    for (s, item) in input::array(v, "streams")?.iter().enumerate() {
        let at = format!("streams[{s}]");
        let o = item.as_object().ok_or_else(|| CoreError::invalid_type(&at, "must be an object"))?;
        let (messages, _) = parse_messages(o.get("messages").unwrap_or(&Value::Null), &format!("{at}.messages"))?;
        let n = messages.len();
        let parents = match o.get("parents") {
            Some(p) => input::array(p, &format!("{at}.parents"))?,
            None => return Err(CoreError::invalid_type(format!("{at}.parents"), "is required (an array)")),
        };
        if parents.len() != n {
            return Err(CoreError::out_of_range(format!("{at}.parents"), "needs one entry per message"));
        }
        let parents = parents
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let list = input::array(p, &format!("{at}.parents[{i}]"))?;
                index_list(Some(p), &format!("{at}.parents[{i}]"), list.len())
            })
            .collect::<CoreResult<Vec<_>>>()?;
        let conversation = index_list(o.get("conversation"), &format!("{at}.conversation"), n)?;
        let scored = match o.get("scored").filter(|x| !x.is_null()) {
            None => vec![true; n],
            Some(x) => {
                let list = input::array(x, &format!("{at}.scored"))?;
                if list.len() != n {
                    return Err(CoreError::out_of_range(format!("{at}.scored"), "needs one entry per message"));
                }
                list.iter().map(|b| b.as_bool().unwrap_or(false)).collect()
            }
        };
        let weight = input::opt_f64(Some(o), "weight", &at, 0.0, 1e6)?.unwrap_or(1.0) as f32;
        out.push(TrainStream { messages, parents, conversation, scored, weight });
    }
    Ok(out)
}

/// Trains a conversation linker on streams with gold links and returns it as JSON (what
/// `npm run train:linker` writes to models/conversations/linker.json).
#[napi(ts_args_type = "streams: LinkerStream[], options?: TrainLinkerOptions", ts_return_type = "Promise<string>")]
pub fn train_linker<'env>(
    env: &'env Env,
    streams: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, String>> {
    let parsed = (|| {
        let streams = train_streams(&json(&streams, "streams")?)?;
        let o: TrainLinkerOptions = super::options(options.as_ref(), "trainLinker()")?;
        let d = TrainOptions::default();
        let opts = TrainOptions {
            max_candidates: int_in(o.max_candidates, "options.maxCandidates", 1, 10_000)?.unwrap_or(d.max_candidates),
            max_gap_ms: num_in(o.max_gap_ms, "options.maxGapMs", 0.0, 1e13)?.map_or(d.max_gap_ms, |x| x as i64),
            l2: num_in(o.l2, "options.l2", 0.0, 1e3)?.unwrap_or(d.l2),
            iterations: int_in(o.iterations, "options.iterations", 1, 1000)?.unwrap_or(d.iterations),
            rounds: int_in(o.rounds, "options.rounds", 1, 10)?.unwrap_or(d.rounds),
            hidden: int_in(o.hidden, "options.hidden", 0, 256)?.unwrap_or(d.hidden),
            epochs: int_in(o.epochs, "options.epochs", 1, 1000)?.unwrap_or(d.epochs),
        };
        Ok((streams, opts))
    })();
    let (streams, opts) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let model = crate::conversations::train::train(&streams, &opts, &mut |stage, step, f| {
                eprintln!("trainLinker: {stage} step {step}, objective {f:.5}")
            })?;
            serde_json::to_string_pretty(&model).map_err(|e| CoreError::Internal(e.to_string()))
        }),
        |_, v| Ok(v),
    )
}
