//! Features of a candidate message for the role model: what the text says (cue phrases,
//! code, addressing, the classifier's P(question) and its surface cues) and where it sits in
//! its conversation (the starter's opening turn, who spoke before and after, gaps). Training
//! and inference both use [`candidates`].

use std::collections::HashMap;

use once_cell::sync::Lazy;
use regex::Regex;

use crate::classify::features::{surface, words, SURFACE};
use crate::conversations::{Conversations, LinkSource};
use crate::pipeline::Message;
use crate::prose::{self, ADDRESS, GREETING_START};

/// Number of dense features.
pub const DENSE_LEN: usize = 52;

/// Names of the dense features, in the order [`Candidate::dense`] holds them. The model file
/// stores its weights by these names.
pub const DENSE: [&str; DENSE_LEN] = [
    // the text
    "q",
    "q_question",
    "q_half",
    "words_log",
    "short",
    "one_word",
    "backchannel",
    "code",
    "code_only",
    "link",
    "problem",
    "need",
    "appeal",
    "request",
    "first_person",
    "second_person",
    "thanks",
    "greeting_only",
    "greeting_start",
    "check_back",
    "addressed",
    "addressed_to_starter",
    "addressed_to_other",
    // the conversation
    "in_opening",
    "first_of_conversation",
    "opening_pos_1",
    "opening_pos_2plus",
    "opening_len_log",
    "opening_first_request",
    "author_is_starter",
    "others_before",
    "other_after",
    "starter_after",
    "single",
    "size_log",
    "later_turn",
    "turn_pos_1plus",
    "first_question_of_turn",
    "most_question_of_turn",
    "gap_log",
    "own_gap_log",
    "parent_is_starter",
    "source_reply",
    "source_mention",
    "source_model",
    // interactions
    "opening_x_q",
    "opening_x_request",
    "helper_x_q",
    "starter_later_x_q",
    "starter_later_x_request",
    "opening_x_backchannel",
    "opening_x_code_only",
];

/// Index of a named dense feature (panics on an unknown name: a programming error).
pub fn dense_index(name: &str) -> usize {
    DENSE.iter().position(|n| *n == name).unwrap_or_else(|| panic!("unknown ask feature {name}"))
}

/// The features of one candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub dense: Vec<f32>,
    /// The classifier's surface cues of the text.
    pub surface: [f32; SURFACE],
    /// Small talk to the room ([`is_small_talk`]), a rhetorical question ([`is_rhetorical`]) or
    /// sending someone elsewhere ([`is_redirect`]): it asks for no help. A rule of the stage, not
    /// a model feature.
    pub asks_nothing: bool,
}

/// Single-line code: ends like a statement or a block.
static CODE_LINE: Lazy<Regex> = Lazy::new(|| Regex::new(r"[;{}]\s*$|^\s*(?:\$|>>>) \S").unwrap());

const BACKCHANNEL: &[&str] = &[
    "huh",
    "oh",
    "ohh",
    "ohhh",
    "hm",
    "hmm",
    "hmmm",
    "hmmmm",
    "really",
    "ok",
    "okay",
    "okey",
    "k",
    "kk",
    "lol",
    "lmao",
    "rofl",
    "what",
    "wat",
    "wut",
    "eh",
    "ah",
    "ahh",
    "ahhh",
    "aha",
    "ahah",
    "wow",
    "right",
    "yes",
    "no",
    "yeah",
    "yep",
    "nope",
    "nice",
    "cool",
    "great",
    "sure",
    "i",
    "see",
    "ic",
    "seriously",
    "srsly",
    "orly",
    "o",
    "rly",
    "hehe",
    "heh",
    "haha",
    "hah",
    "damn",
    "dang",
    "sweet",
    "awesome",
    "yea",
    "ya",
    "mm",
    "mhm",
    "uh",
    "um",
    "hrm",
    "meh",
    "indeed",
    "true",
    "interesting",
    "ahha",
    "oops",
    "ops",
    "whoa",
    "woah",
    "alright",
    "sorry",
    "so",
    "and",
    "then",
    "now",
    "again",
    "exactly",
    "perfect",
    "good",
    "fine",
    "weird",
    "strange",
    "thanks",
    "thx",
    "ty",
];
const GREETINGS: &[&str] = &[
    "hi",
    "hey",
    "hello",
    "hiya",
    "heya",
    "yo",
    "sup",
    "howdy",
    "morning",
    "evening",
    "afternoon",
    "good",
    "all",
    "everyone",
    "everybody",
    "guys",
    "folks",
    "there",
    "people",
    "y'all",
    "yall",
    "again",
    "o",
    "hola",
    "greetings",
];
const THANKS: &[&str] = &["thanks", "thank", "thx", "ty", "cheers", "thanx", "tnx", "tks", "merci", "danke"];
const FIRST_PERSON: &[&str] =
    &["i", "i'm", "im", "i've", "ive", "my", "me", "mine", "myself", "i'd", "i'll", "we", "our"];
const SECOND_PERSON: &[&str] = &["you", "your", "you're", "youre", "u", "ur", "yours", "you've", "you'd"];
const APPEAL: &[&str] = &["anyone", "anybody", "any1", "ne1", "someone", "somebody", "help", "halp", "ideas", "idea"];

/// A problem report: something fails or is in the way.
static PROBLEM: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)\b(?:error|errors|exception|fail|fails|failed|failing|failure|crash\w*|broken|break[s]?|denied|refused|timeout|timed out|not working|doesn'?t work|don'?t work|didn'?t work|won'?t|wont|can'?t|cannot|can not|couldn'?t|unable|issue|issues|problem|problems|stuck|bug|wrong|weird|strange|missing|not found|no such|invalid|freez\w*|hang\w*|segfault|panic|warning|getting|i get|i got|keeps?|still)\b",
    )
    .unwrap()
});
/// A need or goal of the author's: what they want to do or know.
static NEED: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)\b(?:how (?:do|can|could|should|would) (?:i|we|one|you)|how to|is (?:there|it possible)|i (?:want|need|would like|'d like|wanted|am trying|was trying|'m trying|try|tried|am looking|'m looking|was wondering|wonder)|im (?:trying|looking)|trying to|looking for|what(?:'s| is) the (?:best|right|correct|proper)|any (?:way|idea|ideas|suggestions?|tips?|advice|help|pointers?)|please|pls|plz|recommend\w*|suggest\w*|advice|help me|wondering|possible to)\b",
    )
    .unwrap()
});
/// Small talk addressed to the room: how people are, what they are up to, who is going to an
/// event. A question, and not a request for help.
static SMALL_TALK: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)\bhow(?:'s| is| are| r)? (?:every(?:one|body)|y'?all|you all|you guys|u guys|people|things|life|your (?:day|weekend|week|morning|evening))(?: doing| going)?\b|\bhow(?:'s| is) it going(?:\s*[?!.,]|\s*$)|\bhow (?:are|r) (?:you|u)(?: doing| all| guys)?\W*$|\bwhat (?:are|is|r) (?:you|u|every(?:one|body)|people|y'?all)(?: all| guys)? (?:working on|up to|doing (?:this|today|tonight))\b|\b(?:any(?:one|body)|who(?:'s| is)|are you|you) going to (?:the |this )?(?:meetup|meet-up|conf\w*|event|talk|summit|party|stream|hackathon)\b|\bhow was (?:your|the) (?:weekend|day|week|holidays?|trip)\b",
    )
    .unwrap()
});

/// A rhetorical question or a point of debate: a question that expects no answer, or argues
/// (`data/labels/ASKS-RUBRIC.md`: "rhetorical questions, debate and opinion" are `other`).
static RHETORICAL: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)\bwhy (?:on earth |the hell |tf )?would (?:any(?:one|body)|some(?:one|body)|people|you ever|you even|one ever)\b|\bwho (?:even|actually|really|still|in their right mind|would ever|would even) (?:\w+ )?(?:use|uses|need|needs|care|cares|want|wants|bother|bothers)\b|\bwho cares\b|\bdoes any(?:one|body) (?:still|even|actually|really) (?:use|care|need|want)\b|\bdon'?t you think\b|\bwhat could (?:possibly )?go wrong\b|\bhow hard (?:can|could) it be\b|\b(?:prefer|like|love|hate) \w+ (?:that|so) much\b|\bif (?:nobody|no one|noone) (?:\w+ ){0,2}(?:uses?|hits?|notices?|cares?|reads?)\b",
    )
    .unwrap()
});

/// Sending someone elsewhere: a moderator's or helper's note that a question belongs in another
/// place ("please ask elsewhere", "this room is for Gitter support", "take it to #offtopic",
/// "not a Gitter support question"). The rubric makes it `other` or a clarification: it asks
/// nothing of the room.
static REDIRECT: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)\bask (?:it |that |this |them )?(?:elsewhere|somewhere else)\b|\bthis (?:room|channel|chat) is (?:only )?(?:for|about|not for)\b|\bnot an? (?:\w+ ){0,3}support question\b|\bplease (?:read|see|check) (?:the |our )?(?:welcome|guidelines|rules|faq|room rules)\b|\btake (?:it|this|that) to #|\b(?:better luck|ask) in #[\w-]+ instead\b",
    )
    .unwrap()
});

/// How to ask, or how to behave: "don't ask to ask, just ask your question", "bob: just ask",
/// "please watch your language", "don't feel ignored and repeat your question". A channel's
/// etiquette, said by a bot or a moderator: no answer to anything.
static ETIQUETTE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(
        r"(?i)\bdon'?t ask to ask\b|\b(?:just|simply) ask (?:the |your )?question\b|^\W*(?:[\w.-]+[:,]\s*)?(?:just|simply) ask\b|\bwatch your language\b|\bfamily[- ]friendly\b|\bdon'?t feel ignored\b|\brepeat your question\b",
    )
    .unwrap()
});

/// Whether a reply (reduced by [`prose::reduce`]) is about where or how to ask, or how to
/// behave ([`REDIRECT`], [`ETIQUETTE`]), rather than about what was asked.
pub fn is_etiquette(reduced: &str) -> bool {
    REDIRECT.is_match(reduced) || ETIQUETTE.is_match(reduced)
}

/// Whether a message sends someone elsewhere ([`REDIRECT`]), with no word of its author about
/// themselves (an asker's "I was told to ask elsewhere, but how do I …?" stays an ask).
pub fn is_redirect(text: &str) -> bool {
    redirect(&prose::reduce(text))
}

fn redirect(reduced: &str) -> bool {
    REDIRECT.is_match(reduced) && !words(reduced).iter().any(|w| FIRST_PERSON.contains(&w.as_str()))
}

/// Whether a message is small talk to the room ("how is everyone doing?", "anyone going to the
/// meetup?") with no problem or need of its author in it.
pub fn is_small_talk(text: &str) -> bool {
    small_talk(&prose::reduce(text))
}

/// Whether a message is a rhetorical question or debate ("why would anyone self-host?", "who
/// even uses X?", "you prefer syntax that much?") with no need of its author's in it, and no
/// word of theirs about themselves (a problem of their own makes it an ask).
pub fn is_rhetorical(text: &str) -> bool {
    rhetorical(&prose::reduce(text))
}

/// [`is_small_talk`] of a text already reduced by [`prose::reduce`].
fn small_talk(reduced: &str) -> bool {
    SMALL_TALK.is_match(reduced) && !PROBLEM.is_match(reduced) && !NEED.is_match(reduced)
}

/// [`is_rhetorical`] of a text already reduced by [`prose::reduce`].
fn rhetorical(reduced: &str) -> bool {
    RHETORICAL.is_match(reduced)
        && !NEED.is_match(reduced)
        && !words(reduced).iter().any(|w| FIRST_PERSON.contains(&w.as_str()))
}

/// A check-back on what someone said ("so I just run X?", "you mean …?").
static CHECK_BACK: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"(?i)^\s*(?:so|you mean|do you mean|u mean|like|or|and|then|even|also|but)\b").unwrap());

fn b(x: bool) -> f32 {
    if x {
        1.0
    } else {
        0.0
    }
}

fn log_scaled(x: f32, scale: f32) -> f32 {
    ((1.0 + x.max(0.0)).ln() / scale).min(2.0)
}

/// The leading addressee of a text ("nick: …", "nick, …", "@nick …"), lower-cased.
pub fn addressee(text: &str) -> Option<String> {
    let c = ADDRESS.captures(text)?;
    let name = c.get(1).or_else(|| c.get(2))?.as_str().to_lowercase();
    // "so, …", "ok, …", "well: …" are not addressees
    if words(&name).len() == 1 && BACKCHANNEL.contains(&name.as_str()) || GREETING_START.contains(&name.as_str()) {
        return None;
    }
    Some(name)
}

/// Whether an addressee names a person (id or display name; nicks are often cut short).
pub fn names(addressee: &str, m: &Message) -> bool {
    let same = |n: &str| {
        // (without allocating for the common ASCII name: this runs for every reply of every ask)
        let starts =
            |s: &str, p: &str| s.len() >= p.len() && s.as_bytes()[..p.len()].eq_ignore_ascii_case(p.as_bytes());
        if n.is_ascii() {
            let a = addressee;
            return n.eq_ignore_ascii_case(a) || (a.len() >= 3 && starts(n, a)) || (n.len() >= 3 && starts(a, n));
        }
        let n = n.to_lowercase();
        n == addressee
            || (addressee.len() >= 3 && n.starts_with(addressee))
            || (n.len() >= 3 && addressee.starts_with(&n))
    };
    same(&m.author_id) || m.author_name.as_deref().is_some_and(same)
}

/// What the text alone says (position-free features).
struct Text {
    q: f32,
    words: usize,
    backchannel: bool,
    code: bool,
    code_only: bool,
    link: bool,
    problem: bool,
    need: bool,
    appeal: bool,
    first_person: bool,
    second_person: bool,
    thanks: bool,
    greeting_only: bool,
    greeting_start: bool,
    check_back: bool,
    asks_nothing: bool,
    addressee: Option<String>,
    /// The text without pastes and links: what the surface features read.
    prose: String,
}

impl Text {
    /// A problem report, a need, or an appeal to the room.
    fn request(&self) -> bool {
        self.problem || self.need || self.appeal
    }

    fn of(m: &Message, q: f32) -> Text {
        let t = m.content.as_str();
        let reduced = prose::reduce(t);
        let one_line_code = !t.trim().contains('\n') && (CODE_LINE.is_match(t) || symbol_ratio(t) > 0.12);
        let pasted = one_line_code || reduced.contains(prose::CODE) || reduced.contains(prose::LOG);
        let link = reduced.contains(prose::LINK) || t.contains("[<-ISSUE->]");
        // what the author wrote in their own words: pastes and links left out
        let text = if one_line_code {
            String::new()
        } else {
            reduced
                .replace(prose::CODE, " ")
                .replace(prose::LOG, " ")
                .replace(prose::LINK, " ")
                .replace("[<-ISSUE->]", " ")
        };
        let w = words(&text);
        let has = |set: &[&str]| w.iter().any(|x| set.contains(&x.as_str()));
        let all = |set: &[&str]| !w.is_empty() && w.iter().all(|x| set.contains(&x.as_str()));
        Text {
            q,
            words: w.len(),
            backchannel: !pasted && w.len() <= 3 && (w.is_empty() || all(BACKCHANNEL)),
            code: pasted,
            code_only: (pasted || link) && w.len() <= 2 || prose::is_mostly_paste(t),
            link,
            problem: PROBLEM.is_match(&text),
            need: NEED.is_match(&text),
            appeal: has(APPEAL),
            first_person: has(FIRST_PERSON),
            second_person: has(SECOND_PERSON),
            thanks: has(THANKS),
            greeting_only: all(GREETINGS),
            greeting_start: w.first().is_some_and(|x| GREETING_START.contains(&x.as_str())),
            check_back: CHECK_BACK.is_match(&text),
            asks_nothing: small_talk(&reduced) || rhetorical(&reduced) || redirect(&reduced),
            addressee: addressee(t),
            prose: text,
        }
    }
}

/// Share of characters that are code punctuation.
fn symbol_ratio(t: &str) -> f32 {
    let n = t.chars().count();
    if n < 20 {
        return 0.0;
    }
    let s = t
        .chars()
        .filter(|c| {
            matches!(c, '{' | '}' | '[' | ']' | '(' | ')' | ';' | '=' | '<' | '>' | '/' | '\\' | '|' | '$' | '_')
        })
        .count();
    s as f32 / n as f32
}

/// The position of each message in its conversation.
#[derive(Debug, Clone, Default)]
struct Position {
    in_opening: bool,
    first: bool,
    opening_pos: usize,
    opening_len: usize,
    author_is_starter: bool,
    others_before: bool,
    other_after: bool,
    starter_after: bool,
    size: usize,
    later_turn: bool,
    turn_pos: usize,
    first_question_of_turn: bool,
    most_question_of_turn: bool,
    gap_ms: i64,
    own_gap_ms: Option<i64>,
    parent_is_starter: bool,
    starter: usize,
}

fn positions(messages: &[Message], convs: &Conversations, question: &[f32]) -> Vec<Position> {
    let mut out = vec![Position::default(); messages.len()];
    for members in &convs.members {
        let Some(&first) = members.first() else { continue };
        let starter = messages[first].author_id.as_str();
        // the opening turn: the starter's messages before anyone else speaks
        let opening_len = members.iter().take_while(|&&i| messages[i].author_id == starter).count();
        // turns: runs of one author
        let mut turns: Vec<(usize, usize)> = Vec::new();
        for (k, &i) in members.iter().enumerate() {
            match turns.last_mut() {
                Some((_, end)) if messages[members[*end]].author_id == messages[i].author_id => *end = k,
                _ => turns.push((k, k)),
            }
        }
        // after position k: does the starter speak, and who speaks (one author, or two or more)
        let n = members.len();
        let mut starter_later = vec![false; n + 1];
        let mut later_authors: Vec<(Option<&str>, bool)> = vec![(None, false); n + 1];
        for k in (0..n).rev() {
            let a = messages[members[k]].author_id.as_str();
            starter_later[k] = starter_later[k + 1] || a == starter;
            let (first, many) = later_authors[k + 1];
            later_authors[k] = (Some(a), many || first.is_some_and(|f| f != a));
        }
        let mut turns_of: HashMap<&str, usize> = HashMap::new();
        let mut last_of: HashMap<&str, i64> = HashMap::new();
        for &(s, e) in &turns {
            let author = messages[members[s]].author_id.as_str();
            let turn_index = turns_of.get(author).copied().unwrap_or(0);
            let best = (s..=e).max_by(|&x, &y| question[members[x]].total_cmp(&question[members[y]]).then(y.cmp(&x)));
            let first_q = (s..=e).find(|&k| question[members[k]] >= 0.5);
            for k in s..=e {
                let i = members[k];
                let m = &messages[i];
                let p = &mut out[i];
                p.in_opening = k < opening_len;
                p.first = k == 0;
                p.opening_pos = if p.in_opening { k } else { 0 };
                p.opening_len = opening_len;
                p.author_is_starter = m.author_id == starter;
                p.others_before = s > 0;
                p.other_after = match later_authors[k + 1] {
                    (Some(a), many) => many || a != m.author_id,
                    (None, _) => false,
                };
                p.starter_after = !p.author_is_starter && starter_later[k + 1];
                p.size = members.len();
                p.later_turn = turn_index > 0;
                p.turn_pos = k - s;
                p.first_question_of_turn = first_q == Some(k);
                p.most_question_of_turn = best == Some(k);
                p.gap_ms = if k == 0 { 0 } else { m.timestamp_ms - messages[members[k - 1]].timestamp_ms };
                p.own_gap_ms = last_of.get(m.author_id.as_str()).map(|&t| m.timestamp_ms - t);
                p.parent_is_starter = convs
                    .parent
                    .get(i)
                    .copied()
                    .flatten()
                    .is_some_and(|j| messages[j].author_id == starter && !p.author_is_starter);
                p.starter = first;
                last_of.insert(m.author_id.as_str(), m.timestamp_ms);
            }
            *turns_of.entry(author).or_insert(0) += 1;
        }
    }
    out
}

/// Whether message `i` is a candidate: question-like, or in the opening turn of its conversation.
fn is_candidate(p: &Position, q: f32, question_threshold: f32) -> bool {
    q >= question_threshold || p.in_opening
}

/// The features of every candidate (`None` for the other messages). `question[i]` is the
/// classifier's P(question) (`None`: not scored, taken as 0).
pub fn candidates(
    messages: &[Message],
    convs: &Conversations,
    question: &[Option<f32>],
    question_threshold: f32,
) -> Vec<Option<Candidate>> {
    let q: Vec<f32> = (0..messages.len()).map(|i| question.get(i).copied().flatten().unwrap_or(0.0)).collect();
    let pos = positions(messages, convs, &q);
    let texts: Vec<Option<Text>> = (0..messages.len())
        // a bot's message asks nothing for a member
        .map(|i| {
            (!messages[i].bot && is_candidate(&pos[i], q[i], question_threshold)).then(|| Text::of(&messages[i], q[i]))
        })
        .collect();
    // the message of the opening turn that carries the request: its first with a cue
    let mut first_request = vec![false; messages.len()];
    for members in &convs.members {
        let mut opening = members.iter().take_while(|&&i| pos[i].in_opening);
        if let Some(&i) = opening.find(|&&i| texts[i].as_ref().is_some_and(|t| t.request() || t.q >= 0.5)) {
            first_request[i] = true;
        }
    }
    messages
        .iter()
        .zip(texts)
        .enumerate()
        .map(|(i, (m, t))| {
            let p = &pos[i];
            let t = t?;
            let starter = &messages[p.starter];
            let addressed_to_starter = !p.author_is_starter
                && t.addressee.as_deref().is_some_and(|a| names(a, starter))
                || m.mentions.iter().any(|id| *id == starter.author_id && !p.author_is_starter);
            let addressed = t.addressee.is_some() || !m.mentions.is_empty();
            let request = t.request();
            let source = convs.source.get(i).copied().unwrap_or(LinkSource::Start);
            let starter_later = p.author_is_starter && p.others_before;
            let mut dense = vec![0f32; DENSE.len()];
            let values: [(&str, f32); DENSE_LEN] = [
                ("q", t.q),
                ("q_question", b(t.q >= question_threshold)),
                ("q_half", b(t.q >= 0.5)),
                ("words_log", log_scaled(t.words as f32, 4.0)),
                ("short", b(t.words <= 3)),
                ("one_word", b(t.words <= 1)),
                ("backchannel", b(t.backchannel)),
                ("code", b(t.code)),
                ("code_only", b(t.code_only)),
                ("link", b(t.link)),
                ("problem", b(t.problem)),
                ("need", b(t.need)),
                ("appeal", b(t.appeal)),
                ("request", b(request)),
                ("first_person", b(t.first_person)),
                ("second_person", b(t.second_person)),
                ("thanks", b(t.thanks)),
                ("greeting_only", b(t.greeting_only)),
                ("greeting_start", b(t.greeting_start)),
                ("check_back", b(t.check_back)),
                ("addressed", b(addressed)),
                ("addressed_to_starter", b(addressed_to_starter)),
                ("addressed_to_other", b(addressed && !addressed_to_starter)),
                ("in_opening", b(p.in_opening)),
                ("first_of_conversation", b(p.first)),
                ("opening_pos_1", b(p.in_opening && p.opening_pos == 1)),
                ("opening_pos_2plus", b(p.in_opening && p.opening_pos >= 2)),
                ("opening_len_log", log_scaled(p.opening_len as f32 - 1.0, 3.0)),
                ("opening_first_request", b(first_request[i])),
                ("author_is_starter", b(p.author_is_starter)),
                ("others_before", b(p.others_before)),
                ("other_after", b(p.other_after)),
                ("starter_after", b(p.starter_after)),
                ("single", b(p.size <= 1)),
                ("size_log", log_scaled(p.size as f32 - 1.0, 4.0)),
                ("later_turn", b(p.later_turn)),
                ("turn_pos_1plus", b(p.turn_pos >= 1)),
                ("first_question_of_turn", b(p.first_question_of_turn)),
                ("most_question_of_turn", b(p.most_question_of_turn)),
                ("gap_log", log_scaled(p.gap_ms as f32 / 60_000.0, 4.0)),
                ("own_gap_log", p.own_gap_ms.map_or(2.0, |g| log_scaled(g as f32 / 60_000.0, 4.0))),
                ("parent_is_starter", b(p.parent_is_starter)),
                ("source_reply", b(matches!(source, LinkSource::Reply | LinkSource::Thread))),
                ("source_mention", b(source == LinkSource::Mention)),
                ("source_model", b(source == LinkSource::Model)),
                ("opening_x_q", b(p.in_opening) * t.q),
                ("opening_x_request", b(p.in_opening && request)),
                ("helper_x_q", b(!p.author_is_starter) * t.q),
                ("starter_later_x_q", b(starter_later) * t.q),
                ("starter_later_x_request", b(starter_later && request)),
                ("opening_x_backchannel", b(p.in_opening && t.backchannel)),
                ("opening_x_code_only", b(p.in_opening && t.code_only)),
            ];
            for (name, v) in values {
                dense[dense_index(name)] = v;
            }
            Some(Candidate { dense, surface: surface(&t.prose), asks_nothing: t.asks_nothing })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_talk_to_the_room() {
        for t in [
            "how is everyone doing?",
            "hey all, how's it going?",
            "what are you all working on this week?",
            "anyone going to the meetup on friday?",
            "how was your weekend?",
            "how are you?",
        ] {
            assert!(is_small_talk(t), "{t}");
        }
        for t in [
            "how are you deploying it?",
            "can we do wget inside a container? how is it going to talk to the outside world",
            "how is everyone handling secrets in compose? I need to keep them out of git",
            "anyone know why my container exits?",
            "what are you working on? I get a permission error when I build",
            "how do I mount a volume?",
        ] {
            assert!(!is_small_talk(t), "{t}");
        }
    }

    #[test]
    fn rhetorical_questions_and_debate() {
        for t in [
            "why would anyone self-host in 2026?",
            "who even uses the old dashboard anymore?",
            "you prefer syntax that much ?",
            "is it really a bug if nobody hits it?",
            "does anyone actually use swarm?",
            "lol. why would someone do dat",
            "that would be a personal preference don't you think?",
        ] {
            assert!(is_rhetorical(t), "{t}");
        }
        for t in [
            "why would my container exit right after it starts?",
            "who can help me with compose?",
            "why would anyone get permission denied here? I run it as root",
            "does anyone use swarm in production? I need to pick an orchestrator",
            "how do I self-host it?",
            "what happens if nobody is subscribed to the channel?",
        ] {
            assert!(!is_rhetorical(t), "{t}");
        }
    }

    #[test]
    fn sending_someone_elsewhere() {
        for t in [
            "Is the project Gitter-related?  If it's not a Gitter support question, please ask elsewhere. Thanks.",
            "Performance of Gitter? If it's not a Gitter support question, please ask elsewhere. Thanks.",
            "bob: This room is for Gitter support, not general technical support. Please read the welcome note",
            "take it to #ubuntu-offtopic",
            "is this about the bot? otherwise ask in #general instead",
        ] {
            assert!(is_redirect(t), "{t}");
        }
        for t in [
            "I was told to ask elsewhere, but how do I mount a volume in compose?",
            "is this channel for support questions about the desktop app?",
            "where should I ask about billing?",
            "my bot says this channel is for admins only, how do I change that?",
        ] {
            assert!(!is_redirect(t), "{t}");
        }
    }

    #[test]
    fn addressees_and_cues() {
        assert_eq!(addressee("bob: try -v").as_deref(), Some("bob"));
        assert_eq!(addressee("bob : try -v").as_deref(), Some("bob"));
        assert_eq!(addressee("@Alice what OS?").as_deref(), Some("alice"));
        assert_eq!(addressee("ok, that works"), None);
        assert_eq!(addressee("hi, anyone here?"), None);
        assert_eq!(addressee("how do I mount a volume?"), None);
        let m = |t: &str| Message { content: t.into(), ..Default::default() };
        let t = Text::of(&m("I'm getting permission denied when I run docker build"), 0.1);
        assert!(t.problem && t.first_person && !t.code);
        assert!(Text::of(&m("how do I mount a volume in compose"), 0.9).need);
        assert!(Text::of(&m("huh?"), 0.9).backchannel);
        assert!(!Text::of(&m("what OS?"), 0.9).backchannel);
        assert!(Text::of(&m("[<-CODE->]"), 0.0).code_only);
        let code = Text::of(&m("if (x == null) { return a ? b : c; }"), 0.9);
        assert!(code.code && code.code_only && !code.prose.contains('?'));
        assert!(Text::of(&m("```js\nconst p = env.PORT ? Number(env.PORT) : 8080\n```"), 0.9).code_only);
        let mixed = Text::of(&m("why does this fail?\n```\nlet y = x ? a : b;\n```"), 0.9);
        assert!(mixed.code && !mixed.code_only && mixed.prose.contains('?'));
        assert!(DENSE.iter().enumerate().all(|(i, n)| dense_index(n) == i), "unique names");
    }

    #[test]
    fn positions_in_a_conversation() {
        let m = |a: &str, t: &str, min: i64| Message {
            author_id: a.into(),
            content: t.into(),
            timestamp_ms: min * 60_000,
            ..Default::default()
        };
        let messages = vec![
            m("ann", "hi", 0),
            m("ann", "my build fails", 1),
            m("bob", "what OS?", 2),
            m("ann", "ubuntu", 3),
            m("ann", "so I reinstall it?", 9),
        ];
        let ids: Vec<String> = vec!["a".into(); 5];
        let convs = crate::asks::train::conversations_from_ids(&messages, &ids);
        let q = [0.0, 0.2, 0.9, 0.0, 0.8];
        let p = positions(&messages, &convs, &q);
        assert!(p[0].in_opening && p[0].first && p[1].in_opening && !p[2].in_opening && !p[3].in_opening);
        assert_eq!((p[1].opening_pos, p[1].opening_len), (1, 2));
        assert!(p[0].other_after && p[2].other_after && !p[3].other_after && !p[4].other_after);
        assert!(p[2].starter_after && !p[2].author_is_starter && p[2].others_before);
        assert!(p[3].later_turn && p[4].turn_pos == 1 && p[4].most_question_of_turn && p[4].first_question_of_turn);
        assert!(p[1].most_question_of_turn && !p[0].most_question_of_turn);
        assert_eq!(p[4].gap_ms, 6 * 60_000);
        assert_eq!(p[2].own_gap_ms, None);
        assert_eq!(p[3].own_gap_ms, Some(2 * 60_000));
        // candidates: the opening turn and the question-like messages
        let qo: Vec<Option<f32>> = q.iter().map(|&x| Some(x)).collect();
        let c = candidates(&messages, &convs, &qo, 0.7);
        assert_eq!(c.iter().map(Option::is_some).collect::<Vec<_>>(), [true, true, true, false, true]);
    }
}
