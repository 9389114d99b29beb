//! Conversations: each channel's messages grouped into conversations. Discord's explicit
//! structure first (reply links, threads, mentions of recent speakers), then a learned linker
//! that scores "message B continues message A" for the rest.
//!
//! INTERFACE STUB (being implemented): the signatures below are the contract the pipeline
//! and the asks stage build against.

use crate::pipeline::Message;

#[derive(Debug, Clone)]
pub struct ConversationOptions {
    /// Use the learned linker for messages without explicit structure (default true); without
    /// it, only explicit links and a plain time-gap rule are used.
    pub linker: bool,
    /// Earlier messages further back than this are never linked by the model.
    pub max_gap_ms: i64,
    /// How many earlier messages of the channel the linker considers.
    pub max_candidates: usize,
    /// Minimum link probability; below it a message starts a new conversation.
    pub threshold: f32,
}

impl Default for ConversationOptions {
    fn default() -> Self {
        ConversationOptions { linker: true, max_gap_ms: 30 * 60_000, max_candidates: 40, threshold: 0.5 }
    }
}

/// Why a message was linked to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkSource {
    /// It starts a conversation.
    Start,
    Reply,
    Thread,
    Mention,
    Model,
}

#[derive(Debug, Clone, Default)]
pub struct Conversations {
    /// Per input message (input order): its conversation's index.
    pub conversation: Vec<usize>,
    /// Per input message: the earlier message it continues, if any.
    pub parent: Vec<Option<usize>>,
    pub source: Vec<LinkSource>,
    /// Per conversation: its messages' indices in chronological order (the first opens it).
    pub members: Vec<Vec<usize>>,
}

/// Groups messages (any order, any channels) into conversations.
pub fn conversations(messages: &[Message], opts: &ConversationOptions) -> Conversations {
    let _ = opts;
    // placeholder until the linker lands: every message on its own
    let n = messages.len();
    Conversations {
        conversation: (0..n).collect(),
        parent: vec![None; n],
        source: vec![LinkSource::Start; n],
        members: (0..n).map(|i| vec![i]).collect(),
    }
}
