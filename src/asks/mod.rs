//! Asks: the part a question-like message plays in its conversation — the ask that opens a
//! help conversation (or a genuinely new question of the asker's later on), a helper's
//! clarification, back-channel, or other (rhetorical, debate, code or logs with '?', …).
//!
//! INTERFACE STUB (being implemented): the signatures below are the contract the pipeline
//! builds against.

use crate::conversations::Conversations;
use crate::pipeline::Message;

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

#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Minimum P(ask) for the ask role.
    pub threshold: f32,
    /// The classifier's threshold: a message at or above it is question-like.
    pub question_threshold: f32,
}

impl Default for AskOptions {
    fn default() -> Self {
        AskOptions { threshold: 0.5, question_threshold: crate::classify::DEFAULT_THRESHOLD }
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
    let _ = convs;
    // placeholder until the detector lands: question-like messages are asks
    messages
        .iter()
        .zip(question)
        .map(|(_, q)| {
            q.filter(|&p| p >= opts.question_threshold).map(|p| RoleOut { role: Role::Ask, ask_probability: p })
        })
        .collect()
}
