//! What became of an ask in its conversation: the asker's turn around it, whether someone else
//! replied (answered), whether the asker acknowledged an answer or a marker says solved
//! (resolved), and the reply to link to as the answer.

use crate::conversations::Conversations;
use crate::pipeline::Message;
use crate::prose;

/// Longest asker's turn kept as context.
const MAX_TURN: usize = 20;
/// Messages before the turn kept as its lead.
pub const LEAD: usize = 3;

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

/// A reply with content of its own: a few words of prose, or a paste or link.
fn is_substantial(text: &str) -> bool {
    let reduced = prose::reduce(text);
    let has_paste = [prose::CODE, prose::LOG, prose::LINK].iter().any(|p| reduced.contains(p));
    let words = reduced.split_whitespace().count();
    let clarifying = reduced.trim_end().ends_with('?') && words < 12;
    !clarifying && (words >= 5 || has_paste)
}

/// The outcome of the ask `ask` (an index into `messages`).
pub fn outcome(messages: &[Message], convs: &Conversations, ask: usize) -> Outcome {
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

    // the asker's acknowledgement of an earlier reply, or a ✅ on a reply
    let mut answer = None;
    let mut last_reply = None;
    for &i in after {
        if !by_asker(i) {
            last_reply = Some(i);
            if messages[i].resolved_marker {
                answer = Some(Answer { message: i, acknowledged: true });
                break;
            }
        } else if let Some(r) = last_reply {
            if is_acknowledgement(&messages[i].content) {
                answer = Some(Answer { message: r, acknowledged: true });
                break;
            }
        }
    }
    let marked = turn.iter().any(|&i| messages[i].resolved_marker);
    let resolved = answer.is_some() || marked;
    if answer.is_none() {
        answer = after
            .iter()
            .copied()
            .find(|&i| !by_asker(i) && is_substantial(&messages[i].content))
            .map(|message| Answer { message, acknowledged: false });
    }
    Outcome { turn, lead, topic, answered, resolved, answer }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversations::LinkSource;

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
            members: vec![(0..n).collect()],
        };
        (messages, convs)
    }

    #[test]
    fn the_turn_is_the_askers_messages_before_someone_else_speaks() {
        let (m, c) = conv(&[("a", "hi all"), ("a", "how do I mount a volume?"), ("a", "on windows"), ("b", "use -v")]);
        let o = outcome(&m, &c, 1);
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
        assert!(outcome(&m, &c, 0).lead.is_empty());
        let o = outcome(&m, &c, 4);
        assert_eq!(o.turn, vec![4, 5]);
        assert_eq!(o.lead, vec![1, 2, 3]);
        assert_eq!(outcome(&m, &c, 1).lead, vec![0]);
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
        assert_eq!(outcome(&m, &c, 1).topic, vec![0, 1]);
        // a later turn that says nothing of its own: with the conversation's opening turn
        assert_eq!(outcome(&m, &c, 3).topic, vec![3, 0, 1]);
        let (m, c) = conv(&[
            ("d", "can anyone help me?"),
            ("b", "with what?"),
            ("d", "the compose file will not start"),
            ("d", "on windows"),
            ("b", "what error?"),
        ]);
        // an opening turn that says nothing of its own: with the asker's next turn
        assert_eq!(outcome(&m, &c, 0).topic, vec![0, 2, 3]);
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
        let o = outcome(&m, &c, 0);
        assert_eq!(o.turn, vec![0]);
        assert!(o.answered && o.resolved);
        assert_eq!(o.answer, Some(Answer { message: 4, acknowledged: true }));
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
        let o = outcome(&m, &c, 0);
        assert!(o.answered && !o.resolved);
        assert_eq!(o.answer, Some(Answer { message: 3, acknowledged: false }));
    }

    #[test]
    fn nobody_else_spoke_so_it_is_unanswered() {
        let (m, c) = conv(&[("a", "anyone know why my container exits with 137?"), ("a", "bump")]);
        let o = outcome(&m, &c, 0);
        assert!(!o.answered && !o.resolved && o.answer.is_none());
    }

    #[test]
    fn a_check_mark_on_a_reply_resolves() {
        let (mut m, c) = conv(&[("a", "how to pin a node version?"), ("b", "use an .nvmrc file in the repo root")]);
        m[1].resolved_marker = true;
        let o = outcome(&m, &c, 0);
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
