//! Conversations: each channel's messages grouped into conversations. Discord's explicit
//! structure first (reply links, threads, mentions of recent speakers), then a learned linker
//! that scores "message B continues message A" for the rest.
//!
//! Every message gets at most one parent, always an earlier message (chronological order is
//! `(timestamp, input order)`), so conversations are trees; a conversation is named after its
//! first message. Messages are handled per channel, a thread's messages per thread.
//!
//! For a message without explicit structure, the linker ([`linker`]) weighs the previous
//! `max_candidates` messages of its channel within `max_gap_ms` against "a new conversation"
//! (a conditional logit over cheap features: time gap, distance, same author, addressing,
//! word overlap, who has spoken in the candidate's conversation; see [`features`]). It links
//! to the best candidate when P(link) ≥ `threshold`.

use std::collections::{HashMap, HashSet};

use crate::pipeline::Message;

pub mod features;
pub mod linker;
pub mod train;

use features::{prepare_all, Prepared};
use linker::{LinkerModel, State, Window};

/// How many of an addressee's latest messages in a row may hold the question a late answer
/// answers.
const MAX_TURN: usize = 20;

#[derive(Debug, Clone)]
pub struct ConversationOptions {
    /// Use the learned linker for messages without explicit structure (default true); without
    /// it, only explicit links and a plain time-gap rule are used: a message continues the
    /// previous message of its channel when it came at most `max_gap_ms` later.
    pub linker: bool,
    /// Earlier messages further back than this are never linked by the model.
    pub max_gap_ms: i64,
    /// How many earlier messages of the channel the linker considers.
    pub max_candidates: usize,
    /// Minimum link probability; below it a message starts a new conversation.
    pub threshold: f32,
    /// With the linker: a message that says whom it is for ("bob: …", "@bob", a mention), is no
    /// question, and that the linker links to nothing continues its addressee's latest message
    /// of the channel: within `max_gap_ms` always, and up to this far back when their latest
    /// messages asked something (a late answer in a support room, hours after the question).
    /// Either way not when that message was said to someone else.
    pub max_reply_gap_ms: i64,
}

impl Default for ConversationOptions {
    fn default() -> Self {
        // the window, the threshold and the hidden layer were chosen on the held-out part of the
        // training data (scripts/train-linker.js --holdout, eval-conversations.js --validation);
        // a threshold above 0.5 pays because a wrong link merges two conversations
        ConversationOptions {
            linker: true,
            max_gap_ms: 2 * 3_600_000,
            max_candidates: 40,
            threshold: 0.65,
            max_reply_gap_ms: 24 * 3_600_000,
        }
    }
}

/// The latest message so far of stream `key` (`latest`: per stream and author) by each of
/// `authors` other than `this` message's author.
fn latest_of<'a>(
    latest: &'a HashMap<(usize, u32), usize>,
    key: usize,
    this: &'a Prepared,
    authors: &'a [u32],
) -> impl Iterator<Item = usize> + 'a {
    authors.iter().filter(move |&&a| a != this.author).filter_map(move |&a| latest.get(&(key, a)).copied())
}

/// Why a message was linked to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkSource {
    /// It starts a conversation.
    Start,
    Reply,
    Thread,
    Mention,
    /// The learned linker (or, with `linker: false`, the time-gap rule).
    Model,
}

impl LinkSource {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkSource::Start => "start",
            LinkSource::Reply => "reply",
            LinkSource::Thread => "thread",
            LinkSource::Mention => "mention",
            LinkSource::Model => "model",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Conversations {
    /// Per input message (input order): its conversation's index.
    pub conversation: Vec<usize>,
    /// Per input message: the earlier message it continues, if any.
    pub parent: Vec<Option<usize>>,
    pub source: Vec<LinkSource>,
    /// Per input message: it says whom it is for (a reply link, a mention, a leading "nick:").
    pub addressed: Vec<bool>,
    /// Per conversation: its messages' indices in chronological order (the first opens it).
    /// Conversations are ordered by their first message.
    pub members: Vec<Vec<usize>>,
}

/// Groups messages (any order, any channels) into conversations.
pub fn conversations(messages: &[Message], opts: &ConversationOptions) -> Conversations {
    conversations_with(messages, opts, None)
}

/// Where a message is handled: its channel, or its thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Channel(&'a str),
    Thread(&'a str),
}

fn thread_of(m: &Message) -> Option<&str> {
    m.thread_id.as_deref().filter(|t| *t != m.id)
}

/// [`conversations`] with a given linker model (`None`: the built-in one).
pub fn conversations_with(
    messages: &[Message],
    opts: &ConversationOptions,
    model: Option<&LinkerModel>,
) -> Conversations {
    let n = messages.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (messages[i].timestamp_ms, i));
    let mut rank = vec![0usize; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(n);
    for (i, m) in messages.iter().enumerate() {
        by_id.entry(m.id.as_str()).or_insert(i);
    }
    let threads: HashSet<&str> = messages.iter().filter_map(thread_of).collect();
    let mut key_ids: HashMap<Key<'_>, usize> = HashMap::new();
    let keys: Vec<usize> = messages
        .iter()
        .map(|m| {
            let k = thread_of(m).map(Key::Thread).unwrap_or(Key::Channel(&m.channel_id));
            let next = key_ids.len();
            *key_ids.entry(k).or_insert(next)
        })
        .collect();
    let mut streams: Vec<Vec<usize>> = vec![Vec::new(); key_ids.len()];
    let prepared: Vec<Prepared> = prepare_all(messages);
    let mut state = State::new(n);
    let mut window = Window::default();
    let mut parent = vec![None; n];
    let mut source = vec![LinkSource::Start; n];
    // per stream and author: their latest message so far
    let mut latest: HashMap<(usize, u32), usize> = HashMap::new();
    for &i in &order {
        let m = &messages[i];
        // a bot's message (an auto-reply, a feed post, a welcome) stands alone: nothing continues
        // it and it continues nothing, so that it neither opens a member's conversation nor
        // answers one
        if m.bot {
            state.assign(i, i, None, &prepared);
            continue;
        }
        let stream = &streams[keys[i]];
        let thread = thread_of(m);
        let starter = thread.and_then(|t| by_id.get(t).copied()).filter(|&s| rank[s] < rank[i] && !messages[s].bot);
        let reply = m.reply_to_id.as_deref().and_then(|r| by_id.get(r).copied()).filter(|&j| {
            !messages[j].bot && rank[j] < rank[i] && (thread.is_none() || keys[j] == keys[i] || Some(j) == starter)
        });
        let within = |j: usize| m.timestamp_ms - messages[j].timestamp_ms <= opts.max_gap_ms;
        let (p, s) = if let Some(j) = reply {
            (Some(j), LinkSource::Reply)
        } else if thread.is_some() {
            match stream.last().copied().or(starter) {
                Some(j) => (Some(j), LinkSource::Thread),
                None => (None, LinkSource::Start),
            }
        } else if let Some(j) = latest_of(&latest, keys[i], &prepared[i], &prepared[i].mentioned)
            .filter(|&j| within(j))
            .max_by_key(|&j| rank[j])
        {
            (Some(j), LinkSource::Mention)
        } else if threads.contains(m.id.as_str()) {
            (None, LinkSource::Start)
        } else if opts.linker {
            window.fill(i, stream, &prepared, &state, opts.max_candidates, opts.max_gap_ms);
            match model.unwrap_or_else(|| linker::builtin()).decide(&window) {
                (Some(j), p) if p >= opts.threshold => (Some(j), LinkSource::Model),
                _ => (None, LinkSource::Start),
            }
        } else {
            match stream.last().copied().filter(|&j| within(j)) {
                Some(j) => (Some(j), LinkSource::Model),
                None => (None, LinkSource::Start),
            }
        };
        // nothing to continue, but said to someone ("bob: …", "@bob"): their latest message of the
        // channel, as a Discord mention of a recent speaker is linked; in a slow room the answer
        // often comes half an hour later, addressed, and the linker alone starts anew. Not a
        // question: "bob: how do I …?" asks a helper anew, it answers nothing. Before the window,
        // only one waiting for an answer: their latest turn asked something, of the room or of
        // this author (a helper last seen greeting the room is being asked anew). Within it or
        // before it, so is a helper last seen answering someone else.
        let (p, s) = match p {
            None if opts.linker && !prepared[i].question && !threads.contains(m.id.as_str()) => {
                let for_me = |j: usize| prepared[j].addressees.iter().all(|&a| a == prepared[i].author);
                let waiting = |j: usize| {
                    let at = stream.partition_point(|&x| rank[x] < rank[j]);
                    stream[..at.min(stream.len() - 1) + 1]
                        .iter()
                        .rev()
                        .take(MAX_TURN)
                        .take_while(|&&x| prepared[x].author == prepared[j].author)
                        .any(|&x| prepared[x].question && for_me(x))
                };
                latest_of(&latest, keys[i], &prepared[i], &prepared[i].addressees)
                    .filter(|&j| {
                        m.timestamp_ms - messages[j].timestamp_ms <= opts.max_reply_gap_ms.max(opts.max_gap_ms)
                    })
                    .filter(|&j| for_me(j) && (within(j) || waiting(j)))
                    .max_by_key(|&j| rank[j])
                    .map_or((None, s), |j| (Some(j), LinkSource::Mention))
            }
            _ => (p, s),
        };
        latest.insert((keys[i], prepared[i].author), i);
        let label = p.map(|j| state.conv[j]).unwrap_or(i);
        state.assign(i, label, p, &prepared);
        parent[i] = p;
        source[i] = s;
        streams[keys[i]].push(i);
    }
    let mut index = vec![usize::MAX; n];
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut conversation = vec![0usize; n];
    for &i in &order {
        let root = state.conv[i];
        if index[root] == usize::MAX {
            index[root] = members.len();
            members.push(Vec::new());
        }
        conversation[i] = index[root];
        members[index[root]].push(i);
    }
    let addressed = (0..n).map(|i| source[i] == LinkSource::Reply || !prepared[i].addressees.is_empty()).collect();
    Conversations { conversation, parent, source, addressed, members }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, channel: &str, author: &str, content: &str, t_s: i64) -> Message {
        Message {
            id: id.into(),
            channel_id: channel.into(),
            author_id: author.into(),
            content: content.into(),
            timestamp_ms: t_s * 1000,
            ..Default::default()
        }
    }

    fn groups(ms: &[Message], c: &Conversations) -> Vec<Vec<String>> {
        c.members.iter().map(|g| g.iter().map(|&i| ms[i].id.clone()).collect()).collect()
    }

    #[test]
    fn reply_links_win_over_everything() {
        let mut ms = vec![
            msg("1", "c", "ann", "how do I mount an nfs share at boot?", 0),
            msg("2", "c", "bob", "anyone know a good pizza place near the station", 10),
            msg("3", "c", "cat", "add it to fstab with the _netdev option", 3000),
        ];
        ms[2].reply_to_id = Some("1".into());
        let c = conversations(&ms, &ConversationOptions::default());
        assert_eq!(c.parent[2], Some(0));
        assert_eq!(c.source[2], LinkSource::Reply);
        assert_eq!(c.conversation[0], c.conversation[2]);
        assert_eq!(c.source[0], LinkSource::Start);
        // a reply to a message that is not in the input, or to a later one, is ignored
        ms[2].reply_to_id = Some("404".into());
        ms[0].reply_to_id = Some("3".into());
        let c = conversations(&ms, &ConversationOptions { linker: false, ..Default::default() });
        assert_eq!(c.source[0], LinkSource::Start);
        assert_ne!(c.source[2], LinkSource::Reply);
    }

    #[test]
    fn a_thread_is_one_conversation_with_its_starter() {
        let mut ms = vec![
            msg("s", "c", "ann", "Docker build fails with no space left on device", 0),
            msg("t1", "c", "cat", "run docker system prune", 20),
            msg("x", "c", "bob", "unrelated chatter in the channel", 5000),
            msg("t2", "c", "ann", "that fixed it, thanks", 5010),
            msg("y", "c", "dan", "more channel chatter", 5020),
        ];
        for i in [1, 3] {
            ms[i].thread_id = Some("s".into());
        }
        ms[0].thread_id = Some("s".into()); // some exports mark the starter too
        for linker in [true, false] {
            let c = conversations(&ms, &ConversationOptions { linker, max_gap_ms: 60_000, ..Default::default() });
            assert_eq!((c.parent[1], c.parent[3]), (Some(0), Some(1)));
            assert_eq!((c.source[1], c.source[3]), (LinkSource::Thread, LinkSource::Thread));
            assert_eq!(c.source[0], LinkSource::Start);
            assert_eq!(groups(&ms, &c)[0], ["s", "t1", "t2"]);
            assert!(!c.members[c.conversation[2]].contains(&3));
        }
        // a thread whose starter is not in the input starts with its first message
        let c = conversations(&ms[1..], &ConversationOptions::default());
        assert_eq!((c.parent[0], c.source[0]), (None, LinkSource::Start));
        assert_eq!(c.parent[2], Some(0));
    }

    #[test]
    fn a_bots_message_stands_alone() {
        let mut ms = vec![
            msg("1", "c", "ann", "how do I mount an nfs share at boot?", 0),
            msg("2", "c", "helper-bot", "Thanks for asking! A helper will be with you soon. Did you read the FAQ?", 5),
            msg("3", "c", "ann", "I tried fstab but it hangs at boot", 30),
            msg("4", "c", "cat", "ann: add the _netdev option to the fstab line", 90),
            msg("5", "c", "bob", "does the FAQ cover samba too?", 120),
            msg("t", "c", "ticket-bot", "Ticket opened by bob. Describe your problem.", 600),
            msg("6", "c", "bob", "my samba share is read-only for everyone", 610),
        ];
        ms[1].reply_to_id = Some("1".into());
        ms[4].reply_to_id = Some("2".into());
        ms[6].thread_id = Some("t".into());
        for i in [1, 5] {
            ms[i].bot = true;
        }
        let c = conversations(&ms, &ConversationOptions::default());
        // the auto-reply to ann's question is a conversation of its own, and ann's turn goes on
        assert_eq!((c.parent[1], c.source[1]), (None, LinkSource::Start));
        assert_eq!(c.members[c.conversation[1]], vec![1]);
        assert_eq!(c.conversation[2], c.conversation[0]);
        assert_eq!(c.conversation[3], c.conversation[0]);
        // a reply to the bot continues nothing, and a thread a bot opened starts with its first
        // member's message
        assert_ne!(c.source[4], LinkSource::Reply);
        assert_ne!(c.parent[4], Some(1));
        assert_eq!(c.members[c.conversation[5]], vec![5]);
        assert_eq!((c.parent[6], c.source[6]), (None, LinkSource::Start));
        // without the flag, the reply links hold
        for i in [1, 5] {
            ms[i].bot = false;
        }
        let c = conversations(&ms, &ConversationOptions::default());
        assert_eq!((c.parent[1], c.source[1]), (Some(0), LinkSource::Reply));
        assert_eq!(c.parent[6], Some(5));
    }

    #[test]
    fn mentions_of_a_recent_speaker_link_to_their_latest_message() {
        let mut ms = vec![
            msg("1", "c", "ann", "my build is broken", 0),
            msg("2", "c", "ann", "it says exit code 137", 30),
            msg("3", "c", "bob", "what a lovely day", 40),
            msg("4", "c", "cat", "that is the OOM killer", 60),
            msg("5", "c", "dan", "hello", 30 * 3600),
        ];
        ms[3].mentions = vec!["ann".into()];
        ms[4].mentions = vec!["ann".into()];
        let c = conversations(&ms, &ConversationOptions::default());
        assert_eq!((c.parent[3], c.source[3]), (Some(1), LinkSource::Mention));
        // ann spoke too long ago for dan's mention to count
        assert_ne!(c.source[4], LinkSource::Mention);
    }

    #[test]
    fn a_late_answer_said_to_the_asker_joins_their_conversation() {
        let ms = vec![
            msg("1", "c", "ann", "is there a way to mark all messages in a room as read?", 0),
            msg("2", "c", "cat", "Hi all, how do I shrink the overlay2 folder?", 3 * 3600),
            msg("3", "c", "bob", "ann: type / and pick the mark-all command at the bottom", 5 * 3600),
            msg("4", "c", "dan", "use docker system prune to shrink it", 5 * 3600 + 60),
            msg("5", "c", "eve", "ann: same here, it still fails for me", 30 * 3600),
            msg("6", "c", "fay", "bob: how do I mark a single room as read?", 6 * 3600),
        ];
        let c = conversations(&ms, &ConversationOptions::default());
        // five hours later, nothing of ann's within the linker's window: said to her, it continues her ask
        assert_eq!((c.parent[2], c.source[2]), (Some(0), LinkSource::Mention));
        assert_eq!(c.conversation[0], c.conversation[2]);
        // said to nobody, it is left to the linker
        assert_ne!(c.conversation[3], c.conversation[0]);
        // more than a day later, it starts anew
        assert_eq!((c.parent[4], c.source[4]), (None, LinkSource::Start));
        // a question said to a helper asks anew
        assert_eq!((c.parent[5], c.source[5]), (None, LinkSource::Start));
        // and so does a request to a helper last seen answering someone else
        let ms = vec![
            msg("1", "c", "ann", "is there a way to mark all messages in a room as read?", 0),
            msg("2", "c", "bob", "ann: type / and pick the mark-all command", 60),
            msg("3", "c", "cat", "bob: my bot stopped posting after the update", 5 * 3600),
            msg("4", "c", "dan", "welcome to the server!", 5 * 3600 + 60),
            msg("5", "c", "eve", "dan: my bot stopped posting after the update", 9 * 3600),
        ];
        let c = conversations(&ms, &ConversationOptions::default());
        assert_eq!((c.parent[2], c.source[2]), (None, LinkSource::Start));
        // or greeting the room
        assert_eq!((c.parent[4], c.source[4]), (None, LinkSource::Start));
        let c = conversations(&ms, &ConversationOptions { max_reply_gap_ms: 0, ..Default::default() });
        assert_eq!((c.parent[2], c.source[2]), (None, LinkSource::Start));
    }

    #[test]
    fn an_answer_said_to_the_asker_within_the_window_joins_their_conversation() {
        let ms = vec![
            msg(
                "1",
                "c",
                "ann",
                "Is there a special reason why there is no alpha channel allowed in upload avatars?",
                0,
            ),
            msg("2", "c", "ann", "That makes all avatars look ugly with the dark design", 22),
            msg(
                "3",
                "c",
                "bob",
                "ann: Alpha channel is just fine but we put a white box behind avatars so they look readable",
                27 * 60,
            ),
        ];
        let c = conversations(&ms, &ConversationOptions::default());
        // half an hour later the linker alone starts anew; said to ann, it continues her latest words
        assert_eq!((c.parent[2], c.source[2]), (Some(1), LinkSource::Mention));
        assert_eq!(c.conversation[0], c.conversation[2]);
        // the same for a late answer, when the asker's question is not their latest message
        let ms = vec![
            msg("1", "c", "ann", "Where can I go to buy an encoder?", 0),
            msg("2", "c", "ann", "https://example.com/encoder-spec.pdf", 150),
            msg("3", "c", "bob", "ann: e-shop", 3 * 3600),
        ];
        let c = conversations(&ms, &ConversationOptions::default());
        assert_eq!((c.parent[2], c.source[2]), (Some(1), LinkSource::Mention));
        // a helper last seen answering someone else is being asked anew
        let ms = vec![
            msg("1", "c", "cat", "my bot ignores every command since I changed its token", 0),
            msg("2", "c", "bob", "cat: restart the bot after changing its token", 60),
            msg("3", "c", "dan", "bob: the dashboard shows no servers after the update", 28 * 60),
        ];
        let c = conversations(&ms, &ConversationOptions::default());
        assert_eq!((c.parent[2], c.source[2]), (None, LinkSource::Start));
    }

    #[test]
    fn the_model_links_an_exchange_and_not_an_unrelated_message() {
        let ms = vec![
            msg("1", "c", "ann", "how do I make docker compose restart a container when it crashes?", 0),
            msg("2", "c", "bob", "ann: use restart: always in the service", 40),
            msg("3", "c", "ann", "bob: thanks, that works", 70),
            msg("4", "c", "cat", "Hi all, is there a way to shrink the overlay2 folder?", 6 * 3600),
        ];
        let c = conversations(&ms, &ConversationOptions::default());
        assert_eq!(c.parent[1], Some(0));
        assert_eq!(c.parent[2], Some(1));
        assert!(c.source[1..3].iter().all(|&s| s == LinkSource::Model));
        assert_eq!((c.parent[3], c.source[3]), (None, LinkSource::Start));
        assert_eq!(groups(&ms, &c), vec![vec!["1", "2", "3"], vec!["4"]]);
    }

    #[test]
    fn input_order_and_channels_do_not_matter() {
        let ms = vec![
            msg("1", "a", "ann", "how do I make docker compose restart a container when it crashes?", 0),
            msg("b1", "b", "zed", "how do I list installed packages?", 5),
            msg("2", "a", "bob", "ann: use restart: always in the service", 40),
            msg("b2", "b", "yan", "zed: dpkg -l", 45),
            msg("3", "a", "ann", "bob: thanks, that works", 70),
        ];
        let c = conversations(&ms, &ConversationOptions::default());
        let mut want = groups(&ms, &c);
        want.sort();
        assert_eq!(want, vec![vec!["1", "2", "3"], vec!["b1", "b2"]]);
        let mut shuffled: Vec<Message> = [4, 1, 3, 0, 2].iter().map(|&i| ms[i].clone()).collect();
        let c2 = conversations(&shuffled, &ConversationOptions::default());
        let mut got = groups(&shuffled, &c2);
        got.sort();
        assert_eq!(got, want);
        // per input message, in input order
        assert_eq!(c2.parent[0].map(|p| shuffled[p].id.as_str()), Some("2"));
        shuffled.clear();
        assert!(conversations(&shuffled, &ConversationOptions::default()).members.is_empty());
    }

    #[test]
    fn the_time_gap_rule_without_the_linker() {
        let ms = vec![
            msg("1", "c", "ann", "a", 0),
            msg("2", "c", "bob", "b", 60),
            msg("3", "c", "cat", "c", 60 + 3600),
            msg("4", "d", "dan", "d", 60 + 3610),
        ];
        let c = conversations(&ms, &ConversationOptions { linker: false, max_gap_ms: 600_000, ..Default::default() });
        assert_eq!(groups(&ms, &c), vec![vec!["1", "2"], vec!["3"], vec!["4"]]);
        assert_eq!(c.source.iter().map(|s| s.as_str()).collect::<Vec<_>>(), ["start", "model", "start", "start"]);
    }
}
