//! Asks: the part a question-like message plays in its conversation — the ask that opens a
//! help conversation (or a genuinely new question of the asker's later on), a helper's
//! clarification, back-channel, or other (rhetorical, debate, code or logs with '?', …).
//!
//! The candidates are the question-like messages and the opening turns of conversations (the
//! starter's messages before anyone else speaks: implicit asks such as "I'm getting X when I
//! do Y" rarely carry a '?'). Each gets cheap features of its text and of its place in the
//! conversation ([`features`]), and a multinomial logistic regression ([`model`], trained by
//! `npm run train:asks`, see [`train`]) gives P(role). Last, a near-repeat of its author's
//! ask within the hour is an ask again ([`REPEAT_WINDOW_MS`]).

pub mod features;
pub mod model;
pub mod train;

use std::collections::{HashMap, HashSet};

use crate::classify::features::words;
use crate::conversations::Conversations;
use crate::pipeline::Message;
pub use model::{AskModel, BUILTIN};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Ask,
    Clarification,
    Backchannel,
    Other,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Ask => "ask",
            Role::Clarification => "clarification",
            Role::Backchannel => "backchannel",
            Role::Other => "other",
        }
    }
}

/// The default [`AskOptions::review`]: on the held-out labels, the candidates from P(ask) 0.2 up
/// to the threshold hold 37 of the 98 IRC asks and 34 of the 65 Gitter asks the threshold misses
/// (models/asks/README.md).
pub const DEFAULT_REVIEW: f32 = 0.2;

#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Minimum P(ask) for the ask role.
    pub threshold: f32,
    /// The classifier's threshold: a message at or above it is question-like.
    pub question_threshold: f32,
    /// With an LLM configured, a candidate below the threshold whose P(ask) is at least this is
    /// reviewed: it goes to the LLM too, and is an ask when the LLM rewrites it as a request for
    /// help (`analyze_questions`). At or above `threshold`, nothing is reviewed.
    pub review: f32,
}

impl Default for AskOptions {
    /// The threshold tuned when the built-in model was trained.
    fn default() -> Self {
        AskOptions {
            threshold: BUILTIN.threshold,
            question_threshold: crate::classify::DEFAULT_THRESHOLD,
            review: DEFAULT_REVIEW,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoleOut {
    pub role: Role,
    pub ask_probability: f32,
}

/// Labels the candidates — question-like messages (`question[i] >= question_threshold`) and
/// the opening turns of conversations — with their role; `None` for every other message.
/// `question[i]` is the classifier's P(question) of message i (None when it was not scored).
pub fn roles(
    messages: &[Message],
    convs: &Conversations,
    question: &[Option<f32>],
    opts: &AskOptions,
) -> Vec<Option<RoleOut>> {
    roles_with(&BUILTIN, messages, convs, question, opts)
}

/// [`roles`] with a given model.
pub fn roles_with(
    model: &AskModel,
    messages: &[Message],
    convs: &Conversations,
    question: &[Option<f32>],
    opts: &AskOptions,
) -> Vec<Option<RoleOut>> {
    let opens = |i: usize| convs.members.get(convs.conversation[i]).and_then(|m| m.first()) == Some(&i);
    let (addressed, you) = (features::dense_index("addressed"), features::dense_index("second_person"));
    let mut out: Vec<Option<RoleOut>> = features::candidates(messages, convs, question, opts.question_threshold)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.as_ref().map(|c| {
                let p = model.predict(c);
                let opening = opens(i);
                let mut out = decide(&p, opts.threshold, opening);
                // a first message that asks someone else about their setup ("bob: is your daemon
                // running?") continues a conversation the linker did not see
                if opening && c.dense[addressed] > 0.0 && c.dense[you] > 0.0 && p[1] > p[0] {
                    out.role = Role::Clarification;
                }
                // code or logs with a '?' in them ask nothing: an ask has prose of its own; small
                // talk to the room ("how is everyone doing?"), rhetorical questions ("why would
                // anyone self-host?") and sending someone elsewhere ("please ask elsewhere") ask
                // for no help
                if out.role == Role::Ask && (c.asks_nothing || crate::prose::is_mostly_paste(&messages[i].content)) {
                    RoleOut { role: Role::Other, ..out }
                } else {
                    out
                }
            })
        })
        .collect();
    repeated_asks(messages, &mut out);
    out
}

/// How far back a repeat looks for its author's ask.
pub const REPEAT_WINDOW_MS: i64 = 60 * 60_000;
/// The least share of words (Jaccard) a repeat has in common with the ask it repeats.
pub const REPEAT_JACCARD: f32 = 0.5;
/// The fewest words (of the prose) a repeat has.
pub const REPEAT_MIN_WORDS: usize = 3;

/// An ask's time and the words of its prose.
type TimedWords = (i64, HashSet<String>);

/// A request repeated because nobody answered it is an ask again (`data/labels/ASKS-RUBRIC.md`):
/// a candidate whose prose is a near-repeat (Jaccard of the words ≥ [`REPEAT_JACCARD`], at least
/// [`REPEAT_MIN_WORDS`] words) of an ask by the same author in the same channel at most
/// [`REPEAT_WINDOW_MS`] earlier becomes an ask. The linker puts such a repeat in the first one's
/// conversation, where its place alone reads as a follow-up. Clusters count each author once,
/// so a repeat never inflates a cluster's weight.
fn repeated_asks(messages: &[Message], out: &mut [Option<RoleOut>]) {
    let mut order: Vec<usize> = (0..messages.len()).filter(|&i| out[i].is_some()).collect();
    order.sort_by_key(|&i| (messages[i].timestamp_ms, i));
    // per (channel, author): the time and words of their recent asks
    let mut recent: HashMap<(&str, &str), Vec<TimedWords>> = HashMap::new();
    for i in order {
        let (m, Some(r)) = (&messages[i], out[i].as_mut()) else { continue };
        let asks = recent.entry((m.channel_id.as_str(), m.author_id.as_str())).or_default();
        asks.retain(|(t, _)| m.timestamp_ms - t <= REPEAT_WINDOW_MS);
        if r.role != Role::Ask && asks.is_empty() {
            continue;
        }
        let own: HashSet<String> = words(&crate::prose::reduce(&m.content)).into_iter().collect();
        if r.role != Role::Ask
            && own.len() >= REPEAT_MIN_WORDS
            && asks.iter().any(|(_, w)| jaccard(w, &own) >= REPEAT_JACCARD)
        {
            r.role = Role::Ask;
        }
        if r.role == Role::Ask {
            asks.push((m.timestamp_ms, own));
        }
    }
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f32 {
    let both = a.intersection(b).count();
    let either = a.len() + b.len() - both;
    if either == 0 {
        0.0
    } else {
        both as f32 / either as f32
    }
}

/// Ask when P(ask) reaches the threshold (the one cross-validation chose, for every candidate
/// alike), else the likeliest of the other roles. The first message of a conversation clarifies
/// nothing and reacts to nobody: there it is an ask or other. (Until 2026-12-02 an opening
/// message was also an ask below the threshold when the model preferred ask to other; without
/// that, precision rose on both held-out sources and F1 held: see models/asks/README.md.)
fn decide(p: &[f32; model::K], threshold: f32, opens: bool) -> RoleOut {
    let role = if p[0] >= threshold {
        Role::Ask
    } else if opens {
        Role::Other
    } else {
        let k = (1..model::K).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(model::K - 1);
        model::CLASSES[k]
    };
    RoleOut { role, ask_probability: p[0] }
}

#[cfg(test)]
mod tests;
