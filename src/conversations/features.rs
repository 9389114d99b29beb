//! Cheap features of "message B continues earlier message A" (pair features) and of "B starts a
//! new conversation" (start features). Everything the linker needs of a message is computed once
//! per message ([`Prepared`]); a pair then costs a few comparisons and one merge of two short
//! sorted hash lists.

use std::collections::HashMap;

use once_cell::sync::Lazy;

use crate::pipeline::Message;

/// Names of the pair features, in the order of [`pair_features`]' output (the model file lists
/// them so that a stale model is refused).
pub const PAIR: [&str; 40] = [
    "gap=0s",
    "gap<=1m",
    "gap<=2m",
    "gap<=5m",
    "gap<=10m",
    "gap<=20m",
    "gap<=1h",
    "gap>1h",
    "logGap",
    "dist=1",
    "dist=2",
    "dist=3",
    "dist<=5",
    "dist<=10",
    "dist<=20",
    "dist>20",
    "logDist",
    "sameAuthor",
    "ownPrevious",
    "aLatestOfAuthor",
    "bAddressesA",
    "bAddressesLatestA",
    "aAddressesB",
    "bAddressesOther",
    "bNamesA",
    "jaccard",
    "sharedWords",
    "aQuestionOtherAuthor",
    "bReplyLike",
    "bReplyLikeDist1",
    "bShortOtherAuthor",
    "bAuthorInConv",
    "aConvTail",
    "authorsTalked",
    "aStartsQuestion",
    "aAddressesOtherThanB",
    "idfCosine",
    "bAuthorLastInConv",
    "logGapConvTail",
    "logConvSize",
];

/// Names of the start ("new conversation") features.
pub const START: [&str; 12] = [
    "bias",
    "question",
    "opener",
    "addresses",
    "replyLike",
    "logGapPrev",
    "authorSpokeRecently",
    "short",
    "long",
    "logCandidates",
    "lowercaseStart",
    "code",
];

pub const NP: usize = PAIR.len();
pub const NS: usize = START.len();

/// What the features need of one message, computed once.
#[derive(Debug, Clone, Default)]
pub struct Prepared {
    /// The author, interned per call.
    pub author: u32,
    /// Authors the message addresses ("nick: …", "@nick", Discord mentions), interned.
    pub addressees: Vec<u32>,
    /// Hashes of the content words (stop words removed), sorted and deduplicated.
    pub words: Vec<u32>,
    /// Hashes of every token (for "B names A's author" anywhere in the text), sorted.
    pub tokens: Vec<u32>,
    pub question: bool,
    pub reply_like: bool,
    pub opener: bool,
    pub lowercase_start: bool,
    pub code: bool,
    pub n_words: u32,
    /// Per word (aligned with `words`): its squared IDF in the input, and their sum.
    pub idf2: Vec<f32>,
    pub idf2_sum: f32,
    /// Authors mentioned explicitly (`mentions`, `<@id>`), a subset of `addressees`.
    pub mentioned: Vec<u32>,
    /// Hashes of the author's normalised id and name, for "B names A" anywhere in B.
    pub name_hashes: [u32; 2],
    /// The message's timestamp (ms).
    pub ts: i64,
}

const STOP: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "for", "with", "by", "from", "as", "is",
    "are", "was", "were", "be", "been", "am", "do", "does", "did", "have", "has", "had", "it", "its", "this", "that",
    "these", "those", "there", "here", "i", "me", "my", "you", "your", "he", "she", "we", "they", "them", "his", "her",
    "our", "their", "what", "which", "who", "how", "why", "when", "where", "not", "no", "yes", "so", "can", "could",
    "would", "should", "will", "just", "im", "i'm", "it's", "dont", "don't", "any", "some", "all", "get", "got",
    "then", "than", "also", "too", "about", "up", "out", "now", "like", "know", "ok", "okay", "one", "use", "using",
    "try",
];

const REPLY_WORDS: &[&str] = &[
    "yes", "yeah", "yep", "yup", "no", "nope", "nah", "thanks", "thank", "thx", "ty", "ok", "okay", "k", "sure", "try",
    "did", "do", "does", "it", "that", "this", "then", "so", "because", "cause", "but", "and", "well", "right",
    "exactly", "correct", "true", "hmm", "hm", "ah", "oh", "ahh", "cool", "great", "nice", "np", "yw", "lol", "what",
    "which", "sorry", "maybe", "perhaps", "probably", "depends", "same", "you", "your", "use", "run", "check", "see",
    "look", "there", "should", "worked", "works", "solved", "fixed", "indeed", "+1", "^", "^^",
];

const OPENERS: &[&str] =
    &["hi", "hello", "hey", "hiya", "howdy", "greetings", "anyone", "anybody", "someone", "somebody", "guys", "all"];

static STOP_HASHES: Lazy<Vec<u32>> = Lazy::new(|| {
    let mut v: Vec<u32> = STOP.iter().map(|w| hash(w)).collect();
    v.sort_unstable();
    v
});

/// FNV-1a of a string (lowercase already).
pub fn hash(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// A name as it is matched: lowercase, without surrounding punctuation ("@Nick_" → "nick").
pub fn normalize_name(s: &str) -> String {
    s.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()
}

/// Interns authors and resolves the names they are addressed by.
#[derive(Debug, Default)]
pub struct Names {
    ids: HashMap<String, u32>,
    /// Normalised name → author; `u32::MAX` when two authors share it.
    by_name: HashMap<String, u32>,
    /// Sorted names, for unique-prefix lookups ("seb:" for "seb128").
    sorted: Vec<(String, u32)>,
}

impl Names {
    pub fn new(messages: &[Message]) -> Names {
        let mut names = Names::default();
        for m in messages {
            let next = names.ids.len() as u32;
            let a = *names.ids.entry(m.author_id.clone()).or_insert(next);
            for n in std::iter::once(m.author_id.as_str()).chain(m.author_name.as_deref()) {
                let key = normalize_name(n);
                if key.is_empty() {
                    continue;
                }
                let e = names.by_name.entry(key).or_insert(a);
                if *e != a {
                    *e = u32::MAX;
                }
            }
        }
        names.sorted = names.by_name.iter().filter(|(_, &a)| a != u32::MAX).map(|(k, &a)| (k.clone(), a)).collect();
        names.sorted.sort();
        names
    }

    pub fn author(&self, id: &str) -> u32 {
        self.ids[id]
    }

    pub fn author_count(&self) -> usize {
        self.ids.len()
    }

    /// The author a written name designates: exact match, else a unique author whose name
    /// starts with it (at least 3 characters).
    pub fn resolve(&self, written: &str) -> Option<u32> {
        let key = normalize_name(written);
        if key.is_empty() {
            return None;
        }
        if let Some(&a) = self.by_name.get(&key) {
            return (a != u32::MAX).then_some(a);
        }
        if key.chars().count() < 3 {
            return None;
        }
        let start = self.sorted.partition_point(|(k, _)| k.as_str() < key.as_str());
        let mut found = None;
        for (k, a) in &self.sorted[start..] {
            if !k.starts_with(&key) {
                break;
            }
            match found {
                None => found = Some(*a),
                Some(f) if f == *a => {}
                Some(_) => return None,
            }
        }
        found
    }
}

/// Discord's `<@123>` / `<@!123>` mentions in a text.
fn discord_mentions(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("<@").filter_map(move |(i, _)| {
        let rest = &text[i + 2..];
        let rest = rest.strip_prefix('!').unwrap_or(rest);
        let end = rest.find('>')?;
        let id = &rest[..end];
        (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
    })
}

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | '+' | '#' | '\'')
}

pub fn prepare(m: &Message, names: &Names) -> Prepared {
    let text = m.content.as_str();
    let mut p = Prepared { author: names.author(&m.author_id), ts: m.timestamp_ms, ..Default::default() };
    let add = |a: Option<u32>, p: &mut Prepared| {
        if let Some(a) = a {
            if !p.addressees.contains(&a) {
                p.addressees.push(a);
            }
        }
    };
    for id in m.mentions.iter().map(String::as_str).chain(discord_mentions(text)) {
        if let Some(&a) = names.ids.get(id) {
            if !p.mentioned.contains(&a) {
                p.mentioned.push(a);
            }
            add(Some(a), &mut p);
        }
    }
    let name_hash = |s: &str| {
        let k = normalize_name(s);
        if k.is_empty() {
            0
        } else {
            hash(&k)
        }
    };
    p.name_hashes = [name_hash(&m.author_id), m.author_name.as_deref().map(name_hash).unwrap_or(0)];
    let trimmed = text.trim_start();
    let mut lead_words = trimmed.split_whitespace();
    let first_raw = lead_words.next().unwrap_or("");
    // "nick : …" (a space before the colon) reads as "nick: …"
    let spaced = matches!(lead_words.next(), Some(":" | ","));
    let first_raw: std::borrow::Cow<'_, str> = if spaced { format!("{first_raw}:").into() } else { first_raw.into() };
    // "nick: …", "nick, …" or "@nick …" at the start
    if first_raw.len() > 1 && (first_raw.ends_with(':') || first_raw.ends_with(',') || first_raw.starts_with('@')) {
        let name = first_raw.trim_end_matches([':', ',']);
        if !name.contains("://") {
            add(names.resolve(name), &mut p);
        }
    }
    for w in trimmed.split_whitespace().skip(1) {
        if let Some(name) = w.strip_prefix('@') {
            add(names.resolve(name), &mut p);
        }
    }
    p.question = text.contains('?');
    p.code = text.contains("```") || text.contains("[<-CODE->]") || text.contains("[<-LINK->]") || text.contains("://");
    p.lowercase_start = trimmed.chars().next().is_some_and(|c| c.is_lowercase());
    let mut n_words = 0u32;
    let mut first: Option<String> = None;
    let mut lower = String::new();
    // the words of the prose: a paste counts as one word ("code", "log", "link", as the
    // training logs' `[<-CODE->]` markers do), so its hundreds of tokens are neither stored
    // for the whole month nor matched against the next message
    let prose = crate::prose::reduce_cow(text);
    for raw in prose.split(|c: char| !is_token_char(c)) {
        let t = raw.trim_matches(|c: char| matches!(c, '.' | '-' | '\'' | '/'));
        if t.is_empty() {
            continue;
        }
        n_words += 1;
        lower.clear();
        if t.is_ascii() {
            lower.push_str(t);
            lower.make_ascii_lowercase();
        } else {
            lower.extend(t.chars().flat_map(char::to_lowercase));
        }
        if first.is_none() {
            first = Some(lower.clone());
        }
        let h = hash(&lower);
        p.tokens.push(h);
        if lower.len() >= 2 && STOP_HASHES.binary_search(&h).is_err() {
            p.words.push(h);
        }
    }
    p.n_words = n_words;
    p.words.sort_unstable();
    p.words.dedup();
    p.tokens.sort_unstable();
    p.tokens.dedup();
    let addressed_first = !p.addressees.is_empty() && first_raw.ends_with([':', ',']);
    // the first word after any "nick:" prefix
    let lead = if addressed_first {
        trimmed
            .split_whitespace()
            .nth(if spaced { 2 } else { 1 })
            .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase())
    } else {
        first.clone()
    };
    if let Some(w) = lead {
        p.reply_like = REPLY_WORDS.contains(&w.as_str());
        p.opener = OPENERS.contains(&w.as_str()) && !addressed_first;
    }
    p
}

/// What the linker needs of each message of one call (or one training stream).
pub fn prepare_all(messages: &[Message]) -> Vec<Prepared> {
    let names = Names::new(messages);
    let mut prepared: Vec<Prepared> = messages.iter().map(|m| prepare(m, &names)).collect();
    weigh(&mut prepared);
    prepared
}

/// Weighs each message's words by their IDF among `prepared` (the messages of one call).
pub fn weigh(prepared: &mut [Prepared]) {
    let mut df: HashMap<u32, u32, FastHash> = HashMap::default();
    for p in prepared.iter() {
        for &w in &p.words {
            *df.entry(w).or_insert(0) += 1;
        }
    }
    let n = prepared.len() as f32;
    for p in prepared.iter_mut() {
        p.idf2 = p.words.iter().map(|w| (1.0 + n / df[w] as f32).ln().powi(2)).collect();
        p.idf2_sum = p.idf2.iter().sum();
    }
}

/// A fast hasher for integer keys (FxHash's multiply-rotate).
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

pub type FastHash = std::hash::BuildHasherDefault<FxHasher>;

/// Sizes of the intersection and the union of two messages' words, and the IDF cosine.
fn overlap(a: &Prepared, b: &Prepared) -> (usize, usize, f32) {
    let (wa, wb) = (&a.words, &b.words);
    let (mut i, mut j, mut inter, mut shared) = (0, 0, 0, 0.0f32);
    while i < wa.len() && j < wb.len() {
        match wa[i].cmp(&wb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                inter += 1;
                shared += a.idf2.get(i).copied().unwrap_or(1.0);
                i += 1;
                j += 1;
            }
        }
    }
    let norm = (a.idf2_sum * b.idf2_sum).sqrt();
    (inter, wa.len() + wb.len() - inter, if norm > 0.0 { shared / norm } else { 0.0 })
}

/// What the pair features know of A beyond its text: its place in the window and its
/// conversation so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct PairContext {
    /// Seconds from A to B (0 when B is not later).
    pub gap_s: f32,
    /// How many messages of the channel back A is (1 = the previous one).
    pub distance: usize,
    /// No later message in the window is by A's author.
    pub a_latest_of_author: bool,
    /// B's author has spoken in A's conversation (and is not A's author).
    pub b_author_in_conv: bool,
    /// A is the latest message of its conversation.
    pub a_conv_tail: bool,
    /// A's and B's authors have replied to each other before.
    pub authors_talked: bool,
    /// A opened its conversation.
    pub a_starts: bool,
    /// B's author's latest message in the window is in A's conversation.
    pub b_author_last_in_conv: bool,
    /// Seconds from the latest message of A's conversation to B.
    pub conv_tail_gap_s: f32,
    /// Messages in A's conversation so far.
    pub conv_size: u32,
}

fn gap_bucket(gap_s: f32) -> usize {
    match gap_s {
        g if g <= 0.5 => 0,
        g if g <= 60.0 => 1,
        g if g <= 120.0 => 2,
        g if g <= 300.0 => 3,
        g if g <= 600.0 => 4,
        g if g <= 1200.0 => 5,
        g if g <= 3600.0 => 6,
        _ => 7,
    }
}

fn dist_bucket(d: usize) -> usize {
    match d {
        0 | 1 => 9,
        2 => 10,
        3 => 11,
        4..=5 => 12,
        6..=10 => 13,
        11..=20 => 14,
        _ => 15,
    }
}

/// The pair features of "B continues A".
pub fn pair_features(a: &Prepared, b: &Prepared, c: &PairContext, out: &mut [f32; NP]) {
    out.fill(0.0);
    let f = |b: bool| b as u8 as f32;
    out[gap_bucket(c.gap_s)] = 1.0;
    out[8] = (1.0 + c.gap_s.max(0.0)).ln() / 5.0;
    out[dist_bucket(c.distance)] = 1.0;
    out[16] = (c.distance.max(1) as f32).ln() / 2.0;
    let same = a.author == b.author;
    out[17] = f(same);
    out[18] = f(same && c.a_latest_of_author);
    out[19] = f(!same && c.a_latest_of_author);
    let b_addr_a = !same && b.addressees.contains(&a.author);
    out[20] = f(b_addr_a);
    out[21] = f(b_addr_a && c.a_latest_of_author);
    let a_addr_b = !same && a.addressees.contains(&b.author);
    out[22] = f(a_addr_b);
    out[23] = f(!b.addressees.is_empty() && !b.addressees.contains(&a.author));
    out[24] = f(!same && !b_addr_a && a.name_hashes.iter().any(|h| *h != 0 && b.tokens.binary_search(h).is_ok()));
    let (inter, union, cosine) = overlap(a, b);
    out[25] = if union > 0 { inter as f32 / union as f32 } else { 0.0 };
    out[26] = inter.min(4) as f32 / 4.0;
    out[27] = f(!same && a.question);
    out[28] = f(b.reply_like && !same);
    out[29] = f(b.reply_like && !same && c.distance <= 1);
    out[30] = f(!same && b.n_words <= 4);
    out[31] = f(c.b_author_in_conv && !same);
    out[32] = f(c.a_conv_tail);
    out[33] = f(c.authors_talked && !same);
    out[34] = f(c.a_starts && a.question && !same);
    out[35] = f(!a.addressees.is_empty() && !a.addressees.contains(&b.author));
    out[36] = cosine;
    out[37] = f(c.b_author_last_in_conv && !same);
    out[38] = (1.0 + c.conv_tail_gap_s.max(0.0)).ln() / 5.0;
    out[39] = (c.conv_size.max(1) as f32).ln() / 3.0;
}

/// The features of "B starts a new conversation".
pub fn start_features(
    b: &Prepared,
    gap_prev_s: Option<f32>,
    author_spoke_recently: bool,
    candidates: usize,
    out: &mut [f32; NS],
) {
    let f = |b: bool| b as u8 as f32;
    *out = [
        1.0,
        f(b.question),
        f(b.opener),
        f(!b.addressees.is_empty()),
        f(b.reply_like),
        gap_prev_s.map(|g| (1.0 + g.max(0.0)).ln() / 5.0).unwrap_or(2.0),
        f(author_spoke_recently),
        f(b.n_words <= 3),
        f(b.n_words >= 20),
        ((1 + candidates) as f32).ln() / 3.0,
        f(b.lowercase_start),
        f(b.code),
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, author: &str, content: &str) -> Message {
        Message {
            id: id.into(),
            channel_id: "c".into(),
            author_id: author.into(),
            content: content.into(),
            ..Default::default()
        }
    }

    #[test]
    fn addressing_by_prefix_at_sign_and_mention() {
        let mut ms = vec![msg("1", "seb128", "hi"), msg("2", "alice", "x"), msg("3", "42", "y")];
        ms[2].author_name = Some("Bob".into());
        let names = Names::new(&ms);
        let p = |t: &str| prepare(&msg("9", "alice", t), &names).addressees;
        assert_eq!(p("seb128: try this"), vec![0]);
        assert_eq!(p("seb: try this"), vec![0], "unique prefix");
        assert_eq!(p("thanks @bob"), vec![2]);
        assert_eq!(p("<@42> look"), vec![2]);
        assert_eq!(p("http://x.org: no"), Vec::<u32>::new());
        assert_eq!(p("nobody: here"), Vec::<u32>::new());
        // a space before the colon, as some people type it
        assert_eq!(p("seb128 : yes it works"), vec![0]);
        assert_eq!(p("seb128 , that would be cool"), vec![0]);
        assert_eq!(p("so : what now"), Vec::<u32>::new());
        assert!(prepare(&msg("9", "alice", "seb128: yes it works"), &names).reply_like);
        assert!(prepare(&msg("9", "alice", "seb128 : yes it works"), &names).reply_like);
        assert!(prepare(&msg("9", "alice", "Hello, anyone around?"), &names).opener);
    }

    #[test]
    fn overlap_counts() {
        let ms = [msg("1", "a", "nfs mount fails"), msg("2", "b", "nfs mount works"), msg("3", "c", "pizza")];
        let names = Names::new(&ms);
        let mut p: Vec<Prepared> = ms.iter().map(|m| prepare(m, &names)).collect();
        weigh(&mut p);
        let (inter, union, cosine) = overlap(&p[0], &p[1]);
        assert_eq!((inter, union), (2, 4));
        assert!(cosine > 0.3 && cosine < 1.0, "{cosine}");
        assert_eq!(overlap(&p[0], &p[2]).2, 0.0);
        assert!((overlap(&p[0], &p[0]).2 - 1.0).abs() < 1e-6);
    }
}
