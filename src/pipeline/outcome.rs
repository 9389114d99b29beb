//! What became of an ask in its conversation: the asker's turn around it, whether someone else
//! replied (answered), whether the asker acknowledged an answer or a marker says solved
//! (resolved), and the reply to link to as the answer.

use std::collections::HashMap;

use crate::asks::features;
use crate::conversations::{Conversations, LinkSource};
use crate::pipeline::{Message, People};
use crate::prose;

/// Longest asker's turn kept as context.
const MAX_TURN: usize = 20;
/// Messages before the turn kept as its lead.
pub const LEAD: usize = 3;
/// How many reply links back a reply to nobody in particular may be from the asker's words.
const FOLLOWS: usize = 3;
/// How many messages of the conversation after the turn may hold its answer or the asker's
/// thanks (and, as far before the turn, the people a reply may be said to): a long thread's
/// later messages are about other things, and each ask must cost no more than this.
const REACH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Index of the reply's message.
    pub message: usize,
    /// The asker acknowledged it ("thanks, that worked") or a ✅ marks it.
    pub acknowledged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The asker's messages around the ask before someone else speaks, in time order (the ask
    /// included).
    pub turn: Vec<usize>,
    /// The conversation's messages just before the turn (at most [`LEAD`]; none for a turn that
    /// opens it): what the ask may be a reaction to.
    pub lead: Vec<usize>,
    /// What the encoder reads of the ask, in this order: the turn, and where the turn alone names
    /// no topic ("how do I fix it?", "can anyone help?"), the messages that do: the conversation's
    /// opening turn for a later turn, the asker's next turn for an opening one.
    pub topic: Vec<usize>,
    pub answered: bool,
    pub resolved: bool,
    pub answer: Option<Answer>,
}

const ACK: &[&str] =
    &["thanks", "thank", "thx", "ty", "tysm", "tyvm", "cheers", "solved", "fixed", "resolved", "worked", "perfect"];
const ACK_PHRASES: &[&str] = &[
    "works now",
    "working now",
    "that did it",
    "did the trick",
    "got it working",
    "it works",
    "that works",
    "that helped",
    "makes sense now",
];
const NOT_ACK: &[&str] = &[
    "didn't work",
    "didnt work",
    "doesn't work",
    "doesnt work",
    "not working",
    "still",
    "no luck",
    "same error",
    "no thanks",
    "thanks in advance",
    "thanks for any",
    "thx in advance",
];

/// "thanks, that worked", "solved it", "ty!" — and not "still doesn't work, thanks".
pub fn is_acknowledgement(text: &str) -> bool {
    let lower = text.to_lowercase();
    if NOT_ACK.iter().any(|p| lower.contains(p)) {
        return false;
    }
    let words = crate::classify::features::words(&lower);
    words.iter().any(|w| ACK.contains(&w.as_str())) || ACK_PHRASES.iter().any(|p| lower.contains(p))
}

/// A reply with content of its own: a few words of prose, or a paste or link; not a note on
/// where or how to ask ("don't ask to ask, just ask", "please ask elsewhere").
fn is_substantial(text: &str) -> bool {
    let reduced = prose::reduce(text);
    says_enough(&reduced) && !features::is_etiquette(&reduced)
}

/// A few words of prose, or a paste or link, and no short question back (`reduced` by
/// [`prose::reduce`]).
fn says_enough(reduced: &str) -> bool {
    let words = reduced.split_whitespace().count();
    !is_short_question(reduced, words) && (words >= 5 || has_paste(reduced))
}

fn has_paste(reduced: &str) -> bool {
    [prose::CODE, prose::LOG, prose::LINK].iter().any(|p| reduced.contains(p))
}

/// "what OS?", "you're on oneiric?": a reply that asks back rather than answers.
fn is_short_question(reduced: &str, words: usize) -> bool {
    reduced.trim_end().ends_with('?') && words < 12
}

/// Whether a reply can be shown as the answer the asker thanked for. A short one will do when it
/// is said to the asker and names something ("bob: partimage"), but not thanks of its own, a
/// question back, or chatter ("lol", "yeah", "ciao").
fn is_answer_like(text: &str, to_asker: bool) -> bool {
    let reduced = prose::reduce(text);
    if features::is_etiquette(&reduced) {
        return false;
    }
    if says_enough(&reduced) {
        return true;
    }
    // short: "bob: thanks", "lol", "what OS?" are not answers
    let words = reduced.split_whitespace().count();
    to_asker && !is_acknowledgement(text) && !is_short_question(&reduced, words) && prose::topic_words(&reduced) >= 1
}

/// Whom a message is said to, as far as its reply link, mentions and leading "nick:" tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Said {
    /// To the asker.
    ToAsker,
    /// To a given author (an index of one of their messages), not the asker.
    To(usize),
    /// To nobody in particular.
    ToRoom,
}

/// One message of each author of a stretch of a conversation.
fn one_of_each(messages: &[Message], stretch: &[usize]) -> Vec<usize> {
    let mut seen = std::collections::HashSet::new();
    stretch.iter().copied().filter(|&j| seen.insert(messages[j].author_id.as_str())).collect()
}

/// Whom message `i` is said to, among the authors of `near` (one message of each; the month's
/// `people` give their names); `ask` is the ask's message.
fn said_to(messages: &[Message], convs: &Conversations, people: &People, near: &[usize], ask: usize, i: usize) -> Said {
    let m = &messages[i];
    let asker = &messages[ask].author_id;
    let other = |j: usize| if messages[j].author_id == *asker { Said::ToAsker } else { Said::To(j) };
    if convs.source[i] == LinkSource::Reply {
        if let Some(j) = convs.parent[i].filter(|&j| messages[j].author_id != m.author_id) {
            return other(j);
        }
    }
    if m.mentions.contains(asker) {
        return Said::ToAsker;
    }
    if let Some(name) = features::addressee(&m.content) {
        if features::names(&name, &messages[ask]) {
            return Said::ToAsker;
        }
        if let Some(&j) =
            near.iter().find(|&&j| messages[j].author_id != m.author_id && features::names(&name, &messages[j]))
        {
            return other(j);
        }
    }
    // "bob do you mean …", "bob> …": a first word that is exactly someone's name
    let first = m.content.split_whitespace().next().unwrap_or("").trim_end_matches([':', ',', '>', ';', '.']);
    if first.chars().count() >= 3 {
        if let Some(id) = people.id(&first.to_lowercase()) {
            if let Some(&j) = near.iter().find(|&&j| messages[j].author_id == id && id != m.author_id) {
                return other(j);
            }
        }
    }
    if let Some(id) = m.mentions.iter().find(|id| **id != m.author_id) {
        if let Some(&j) = near.iter().find(|&&j| messages[j].author_id == *id) {
            return other(j);
        }
    }
    Said::ToRoom
}

/// Share of a channel's messages that say whom they are for, from which a reply said to nobody in
/// particular is not taken as an answer: where people name whom they answer, as on IRC (44 % of
/// the messages of the labelled #ubuntu stretches), such a reply is mostly said to the room or
/// belongs to another conversation; where naming is rare (16 % in the Gitter rooms, 18 % in
/// docker's), it is mostly the answer.
const NAMING: f64 = 0.3;

/// The fewest messages of a channel that tell its habit ([`NAMING`]).
const HABIT_MESSAGES: usize = 20;

/// How each channel's people reply: whether they name whom a reply is for ([`NAMING`]). Bots'
/// messages do not count.
#[derive(Debug, Default)]
pub struct Habits(HashMap<String, bool>);

impl Habits {
    pub fn of(messages: &[Message], convs: &Conversations) -> Habits {
        let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
        // how people reply: a bot's welcome or auto-reply says nothing of it
        for (m, &addressed) in messages.iter().zip(&convs.addressed).filter(|(m, _)| !m.bot) {
            let c = counts.entry(m.channel_id.as_str()).or_default();
            c.0 += addressed as usize;
            c.1 += 1;
        }
        let naming = |a: usize, n: usize| n >= HABIT_MESSAGES && a as f64 >= NAMING * n as f64;
        Habits(counts.into_iter().map(|(k, (a, n))| (k.to_string(), naming(a, n))).collect())
    }

    fn name_replies(&self, channel: &str) -> bool {
        self.0.get(channel).copied().unwrap_or(false)
    }
}

/// The outcome of the ask `ask` (an index into `messages`); `people` are the month's.
pub(super) fn outcome(
    messages: &[Message],
    convs: &Conversations,
    habits: &Habits,
    people: &People,
    ask: usize,
) -> Outcome {
    let members = &convs.members[convs.conversation[ask]];
    let asker = messages[ask].author_id.as_str();
    let by_asker = |i: usize| messages[i].author_id == asker;
    let pos = members.iter().position(|&i| i == ask).unwrap_or(0);
    let mut start = pos;
    while start > 0 && by_asker(members[start - 1]) && pos - (start - 1) < MAX_TURN {
        start -= 1;
    }
    let mut end = pos + 1;
    while end < members.len() && by_asker(members[end]) && end - start < MAX_TURN {
        end += 1;
    }
    let turn = members[start..end].to_vec();
    let lead = members[start.saturating_sub(LEAD)..start].to_vec();
    let after = &members[end..];
    let mut topic = turn.clone();
    let words: usize = turn.iter().map(|&i| prose::topic_words(&prose::reduce_cow(&messages[i].content))).sum();
    if words < prose::MIN_TOPIC_WORDS {
        let of = |author: &str, from: &[usize]| -> Vec<usize> {
            from.iter().copied().take_while(|&i| messages[i].author_id == author).take(MAX_TURN).collect()
        };
        topic.extend(if start > 0 {
            // a later turn: what the conversation is about
            of(&messages[members[0]].author_id, members)
        } else {
            // an opening turn: what the asker said once someone replied
            let next = after.iter().position(|&i| by_asker(i)).unwrap_or(after.len());
            of(asker, &after[next..])
        });
    }
    let answered = after.iter().any(|&i| !by_asker(i));
    // the people around the turn: whom a reply may be said to
    let near = one_of_each(messages, &members[start.saturating_sub(REACH)..(end + REACH).min(members.len())]);
    let after = &after[..REACH.min(after.len())];
    // each message is weighed once per ask (the passes below and the reply links meet the same ones)
    let memo = std::cell::RefCell::new(HashMap::<usize, Said>::new());
    let said =
        |i: usize| *memo.borrow_mut().entry(i).or_insert_with(|| said_to(messages, convs, people, &near, ask, i));
    // whether a reply to nobody in particular may be the answer: in a thread it is said to the
    // thread; in a channel, where its people do not name whom they answer
    let room_answers = !habits.name_replies(&messages[ask].channel_id);
    let to_room = |i: usize| messages[i].thread_id.is_some() || room_answers;
    // a reply that continues, within a few links, the asker's own words
    let follows_asker = |i: usize| {
        let mut at = convs.parent[i];
        for _ in 0..FOLLOWS {
            match at {
                Some(j) if by_asker(j) => return true,
                Some(j) if said(j) == Said::ToRoom => at = convs.parent[j],
                _ => return false,
            }
        }
        false
    };

    // the asker's acknowledgement of an earlier reply, or a ✅ on a reply
    let mut acknowledged = false;
    let mut answer = None;
    for (k, &i) in after.iter().enumerate() {
        if !by_asker(i) {
            if messages[i].resolved_marker {
                acknowledged = true;
                answer = Some(Answer { message: i, acknowledged: true });
                break;
            }
        } else if after[..k].iter().any(|&r| !by_asker(r)) && is_acknowledgement(&messages[i].content) {
            acknowledged = true;
            answer = thanked(messages, &after[..k], said(i), &to_room, &by_asker, &said)
                .map(|message| Answer { message, acknowledged: true });
            break;
        }
    }
    let marked = turn.iter().any(|&i| messages[i].resolved_marker);
    let resolved = acknowledged || marked;
    if answer.is_none() {
        // the first substantial reply said to the asker, else one to nobody in particular that
        // follows on from the asker's words
        // (one pass; whom a reply is said to is cheaper to tell than whether it says enough)
        let mut to_asker = None;
        let mut room = None;
        for &i in after.iter().filter(|&&i| !by_asker(i)) {
            match said(i) {
                Said::ToAsker if is_substantial(&messages[i].content) => {
                    to_asker = Some(i);
                    break;
                }
                Said::ToRoom
                    if room.is_none() && to_room(i) && follows_asker(i) && is_substantial(&messages[i].content) =>
                {
                    room = Some(i)
                }
                _ => {}
            }
        }
        answer = to_asker.or(room).map(|message| Answer { message, acknowledged: false });
    }
    Outcome { turn, lead, topic, answered, resolved, answer }
}

/// The reply an acknowledgement thanks for, among the replies `before` it: the latest one by
/// whom the thanks are said to, else the latest one said to the asker, else one said to nobody
/// in particular where such a one may be the answer (`to_room`); only one that can stand as an
/// answer ([`is_answer_like`]).
fn thanked(
    messages: &[Message],
    before: &[usize],
    thanks: Said,
    to_room: &dyn Fn(usize) -> bool,
    by_asker: &dyn Fn(usize) -> bool,
    said: &dyn Fn(usize) -> Said,
) -> Option<usize> {
    let latest = |want: &dyn Fn(usize, Said) -> bool| {
        before.iter().rev().copied().find(|&r| {
            let s = said(r);
            !by_asker(r) && want(r, s) && is_answer_like(&messages[r].content, s == Said::ToAsker)
        })
    };
    match thanks {
        Said::To(j) => latest(&|r, _| messages[r].author_id == messages[j].author_id),
        _ => latest(&|_, s| s == Said::ToAsker).or_else(|| latest(&|r, s| to_room(r) && s == Said::ToRoom)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The outcome of ask `ask` in a channel of no known habit.
    fn plain(m: &[Message], c: &Conversations, ask: usize) -> Outcome {
        outcome(m, c, &Habits::default(), &People::of(m), ask)
    }

    fn conv(msgs: &[(&str, &str)]) -> (Vec<Message>, Conversations) {
        let messages: Vec<Message> = msgs
            .iter()
            .enumerate()
            .map(|(i, (author, text))| Message {
                id: format!("m{i}"),
                channel_id: "c".into(),
                author_id: (*author).into(),
                content: (*text).into(),
                timestamp_ms: i as i64 * 1000,
                ..Message::default()
            })
            .collect();
        let n = messages.len();
        let convs = Conversations {
            conversation: vec![0; n],
            parent: (0..n).map(|i| i.checked_sub(1)).collect(),
            source: vec![LinkSource::Model; n],
            addressed: vec![false; n],
            members: vec![(0..n).collect()],
        };
        (messages, convs)
    }

    #[test]
    fn the_turn_is_the_askers_messages_before_someone_else_speaks() {
        let (m, c) = conv(&[("a", "hi all"), ("a", "how do I mount a volume?"), ("a", "on windows"), ("b", "use -v")]);
        let o = plain(&m, &c, 1);
        assert_eq!(o.turn, vec![0, 1, 2]);
        assert!(o.answered);
        assert!(!o.resolved);
        // "use -v" is a reply, but too short to link as the answer
        assert_eq!(o.answer, None);
    }

    #[test]
    fn the_lead_is_what_came_just_before_a_later_turn() {
        let (m, c) = conv(&[
            ("a", "how do I mount a volume?"),
            ("b", "use -v"),
            ("c", "or a bind mount"),
            ("b", "see the docs"),
            ("a", "thanks. and how do I list them?"),
            ("a", "on windows"),
        ]);
        // an opening turn has no lead
        assert!(plain(&m, &c, 0).lead.is_empty());
        let o = plain(&m, &c, 4);
        assert_eq!(o.turn, vec![4, 5]);
        assert_eq!(o.lead, vec![1, 2, 3]);
        assert_eq!(plain(&m, &c, 1).lead, vec![0]);
    }

    #[test]
    fn a_turn_that_names_no_topic_is_read_with_what_it_refers_to() {
        let (m, c) = conv(&[
            ("a", "hi all"),
            ("a", "my nginx container exits with code 137"),
            ("b", "out of memory, raise the limit"),
            ("a", "how do I do that?"),
            ("d", "can anyone help me?"),
            ("b", "with what?"),
            ("d", "the compose file will not start"),
            ("d", "on windows"),
        ]);
        // a turn that says what it is about is read alone
        assert_eq!(plain(&m, &c, 1).topic, vec![0, 1]);
        // a later turn that says nothing of its own: with the conversation's opening turn
        assert_eq!(plain(&m, &c, 3).topic, vec![3, 0, 1]);
        let (m, c) = conv(&[
            ("d", "can anyone help me?"),
            ("b", "with what?"),
            ("d", "the compose file will not start"),
            ("d", "on windows"),
            ("b", "what error?"),
        ]);
        // an opening turn that says nothing of its own: with the asker's next turn
        assert_eq!(plain(&m, &c, 0).topic, vec![0, 2, 3]);
    }

    #[test]
    fn an_acknowledged_reply_is_the_answer_and_resolves_the_ask() {
        let (m, c) = conv(&[
            ("a", "docker build fails with permission denied on the socket"),
            ("b", "what OS?"),
            ("a", "ubuntu 22.04"),
            ("b", "add your user to the docker group and log in again"),
            ("c", "or use sudo for a quick check of the whole thing"),
            ("a", "thanks, that worked!"),
        ]);
        let o = plain(&m, &c, 0);
        assert_eq!(o.turn, vec![0]);
        assert!(o.answered && o.resolved);
        assert_eq!(o.answer, Some(Answer { message: 4, acknowledged: true }));
    }

    #[test]
    fn a_note_on_how_or_where_to_ask_is_no_answer() {
        let (m, c) = conv(&[
            ("ultratek", "can anyone help me with themes?"),
            ("ubottu", "ultratek: Please don't ask to ask a question, simply ask the question (all on ONE line)"),
            ("ultratek", "ok thanks"),
            ("ultratek", "how do I add themes to the gnome panel?"),
            ("mod", "ultratek: this channel is for ubuntu support, please ask elsewhere for gnome-look themes"),
            ("optiks", "ultratek: download the theme and drag it onto the Appearance window"),
        ]);
        let o = plain(&m, &c, 0);
        // the thanks were for the etiquette: nothing to link as the answer it acknowledged
        assert!(o.answered);
        assert_eq!(o.answer, Some(Answer { message: 5, acknowledged: false }));
        for text in [
            "Please don't ask to ask a question, simply ask the question",
            "sken: Please watch your language and topic to help keep this channel family friendly.",
            "DuckGod: Don't feel ignored and repeat your question quickly",
            "with respect, that's not a Gitter support question. Please ask elsewhere",
            "fplini: just ask and you'll see :)",
        ] {
            assert!(!is_substantial(text) && !is_answer_like(text, true), "{text}");
        }
        assert!(is_substantial("you can ask apt: apt-cache policy shows where a package comes from"));
        assert!(is_substantial("ask your ISP whether the port is blocked, many block 25"));
    }

    #[test]
    fn without_acknowledgement_the_first_substantial_reply_is_linked() {
        let (m, c) = conv(&[
            ("a", "how do I run migrations on deploy?"),
            ("b", "which framework?"),
            ("a", "kysely"),
            ("b", "call migrateToLatest from your start script before the server listens"),
            ("a", "still doesn't work, thanks"),
        ]);
        let o = plain(&m, &c, 0);
        assert!(o.answered && !o.resolved);
        assert_eq!(o.answer, Some(Answer { message: 3, acknowledged: false }));
    }

    #[test]
    fn the_thanks_go_to_whom_they_are_said_to_and_never_to_chatter() {
        let (m, c) = conv(&[
            ("alice", "how do I back up a whole partition to an image?"),
            ("bob", "alice: partimage"),
            ("carol", "dave: sure, the wiki has a page on grub rescue for that"),
            ("eve", "lol"),
            ("alice", "bob: thanks!"),
        ]);
        let o = plain(&m, &c, 0);
        assert!(o.resolved);
        assert_eq!(o.answer, Some(Answer { message: 1, acknowledged: true }));
        // thanks said to nobody: the latest reply said to the asker that can stand as an answer,
        // not the chatter after it, nor a reply said to someone else
        let (m, c) = conv(&[
            ("alice", "how do I back up a whole partition to an image?"),
            ("bob", "alice: partimage"),
            ("carol", "dave: sure, the wiki has a page on grub rescue for that"),
            ("eve", "lol"),
            ("alice", "thanks!"),
        ]);
        assert_eq!(plain(&m, &c, 0).answer, Some(Answer { message: 1, acknowledged: true }));
        // an answer that says "fixed" is no thanks of its own
        let (m, c) = conv(&[
            ("alice", "is there a release date for version 2?"),
            ("bob", "this is fixed in 2.3.1, upgrade and it goes away"),
            ("alice", "works now, thank you"),
        ]);
        assert_eq!(plain(&m, &c, 0).answer, Some(Answer { message: 1, acknowledged: true }));
        // thanks for chatter alone: resolved, but no reply to show as its answer
        let (m, c) = conv(&[("alice", "how do I back up a whole partition?"), ("eve", "lol"), ("alice", "ty")]);
        let o = plain(&m, &c, 0);
        assert!(o.resolved);
        assert_eq!(o.answer, None);
    }

    #[test]
    fn a_reply_said_to_someone_else_or_off_the_askers_words_is_not_the_answer() {
        let (m, mut c) = conv(&[
            ("alice", "how do I connect securely to my ftp server?"),
            ("carol", "dave: run sudo update-grub and then reboot into the new kernel"),
            ("frank", "anyway, all this windows stuff is off topic in here"),
            ("bob", "alice: install gftp-gtk, it speaks sftp out of the box"),
        ]);
        // frank's words continue carol's, not alice's
        c.parent = vec![None, Some(0), Some(1), Some(0)];
        let o = plain(&m, &c, 0);
        assert!(o.answered && !o.resolved);
        assert_eq!(o.answer, Some(Answer { message: 3, acknowledged: false }));
        // to nobody in particular, but following on from the asker's words: the answer
        let (m, c) = conv(&[
            ("alice", "how do I connect securely to my ftp server?"),
            ("frank", "use sftp instead, gftp and filezilla both speak it"),
        ]);
        assert_eq!(plain(&m, &c, 0).answer, Some(Answer { message: 1, acknowledged: false }));
    }

    #[test]
    fn where_people_name_whom_they_answer_a_reply_to_the_room_is_not_the_answer() {
        let (mut m, mut c) = conv(&[
            ("alice", "how do I connect securely to my ftp server?"),
            ("frank", "I am still trying to install ubuntu on my laptop, mouse frozen"),
        ]);
        // the rest of the channel's month, elsewhere
        let n = HABIT_MESSAGES;
        m.extend((0..n).map(|k| Message { channel_id: "c".into(), author_id: format!("u{k}"), ..Message::default() }));
        c.addressed.resize(n + 2, false);
        // a room where people rarely say whom they answer (Gitter): frank's words are the answer
        let habits = Habits::of(&m, &c);
        assert_eq!(
            outcome(&m, &c, &habits, &People::of(&m), 0).answer,
            Some(Answer { message: 1, acknowledged: false })
        );
        // a room where they do (IRC): frank's words are not said to alice
        c.addressed[2..2 + n / 2].fill(true);
        let habits = Habits::of(&m, &c);
        assert_eq!(outcome(&m, &c, &habits, &People::of(&m), 0).answer, None);
        // unless they are in a thread: there they are said to the thread
        m[1].thread_id = Some("m0".into());
        assert_eq!(
            outcome(&m, &c, &habits, &People::of(&m), 0).answer,
            Some(Answer { message: 1, acknowledged: false })
        );
        // "alice do you mean …": a first word that is exactly the asker's name says it is for her
        let (m, c) = conv(&[
            ("alice", "how do I install ubuntu in text-only mode?"),
            ("carol", "dave: grub rescue is on the wiki, see the boot repair page"),
            ("bob", "alice do you mean without a desktop at the end, or without the graphical installer?"),
        ]);
        let habits = Habits(HashMap::from([("c".to_string(), true)]));
        assert_eq!(
            outcome(&m, &c, &habits, &People::of(&m), 0).answer,
            Some(Answer { message: 2, acknowledged: false })
        );
    }

    #[test]
    fn a_discord_reply_or_mention_says_whom_a_reply_is_for() {
        let (mut m, mut c) = conv(&[
            ("alice", "how do I rotate my bot token?"),
            ("carol", "how do I get the gateway intents right for member events?"),
            ("bob", "open the developer portal, Bot, then Reset Token and update your env"),
            ("dave", "enable the server members intent in the portal and in your client options"),
        ]);
        c.parent = vec![None, Some(0), Some(0), Some(1)];
        c.source = vec![LinkSource::Start, LinkSource::Model, LinkSource::Reply, LinkSource::Reply];
        let o = plain(&m, &c, 1);
        // bob's reply link points at alice's message: not carol's answer, dave's is
        assert_eq!(o.answer, Some(Answer { message: 3, acknowledged: false }));
        c.source[3] = LinkSource::Model;
        m[3].mentions = vec!["alice".into()];
        // dave mentions alice: bob's and dave's are both for alice, and carol has none
        assert_eq!(plain(&m, &c, 1).answer, None);
        assert_eq!(plain(&m, &c, 0).answer, Some(Answer { message: 2, acknowledged: false }));
    }

    #[test]
    fn nobody_else_spoke_so_it_is_unanswered() {
        let (m, c) = conv(&[("a", "anyone know why my container exits with 137?"), ("a", "bump")]);
        let o = plain(&m, &c, 0);
        assert!(!o.answered && !o.resolved && o.answer.is_none());
    }

    #[test]
    fn a_check_mark_on_a_reply_resolves() {
        let (mut m, c) = conv(&[("a", "how to pin a node version?"), ("b", "use an .nvmrc file in the repo root")]);
        m[1].resolved_marker = true;
        let o = plain(&m, &c, 0);
        assert!(o.resolved);
        assert_eq!(o.answer, Some(Answer { message: 1, acknowledged: true }));
    }

    #[test]
    fn acknowledgements() {
        for t in ["thanks!", "ty", "that did it", "Solved it, cheers", "works now :)"] {
            assert!(is_acknowledgement(t), "{t}");
        }
        for t in ["thanks in advance", "still doesn't work", "what about arm64?", "no luck, same error"] {
            assert!(!is_acknowledgement(t), "{t}");
        }
    }
}
