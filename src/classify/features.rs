//! Cheap text features for the question classifier: surface cues (a '?', a leading wh-word or
//! auxiliary verb, length, …) and hashed lexical tokens (first/second/last word, first bigram,
//! every word, final character). Training and inference both use these functions.

/// Number of surface features.
pub const SURFACE: usize = 21;
/// Size of the hashed lexical feature space.
pub const LEXICAL: usize = 4096;

const WH: &[&str] = &[
    "what", "whats", "what's", "who", "whos", "who's", "where", "wheres", "where's", "when", "why", "how", "hows",
    "how's", "which", "whose", "whom", "wat", "wut", "wats", "wuts", "wht", "y",
];
const AUX: &[&str] = &[
    "is", "are", "am", "was", "were", "do", "does", "did", "can", "could", "will", "would", "should", "shall", "may",
    "might", "must", "have", "has", "had", "isnt", "isn't", "arent", "aren't", "dont", "don't", "doesnt", "doesn't",
    "didnt", "didn't", "cant", "can't", "couldnt", "wont", "won't", "wouldnt", "shouldnt", "r", "u", "wanna", "anyone",
    "anybody", "any", "someone", "somebody", "ne1", "you", "ya",
];
const GREET: &[&str] =
    &["hi", "hey", "hello", "hiya", "yo", "sup", "wassup", "wazzup", "heya", "howdy", "evening", "morning"];

/// Lower-cased word tokens: runs of ASCII letters, digits and apostrophes.
pub fn words(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in lower.chars() {
        if c.is_ascii_alphanumeric() || c == '\'' {
            cur.push(c);
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn has_word(words: &[String], set: &[&str]) -> bool {
    words.iter().any(|w| set.contains(&w.as_str()))
}

fn is_in(word: Option<&String>, set: &[&str]) -> bool {
    word.is_some_and(|w| set.contains(&w.as_str()))
}

/// Question marks in any script count as '?'.
fn normalise_marks(text: &str) -> String {
    text.replace(['？', '¿', '؟'], "?")
}

fn b(x: bool) -> f32 {
    if x {
        1.0
    } else {
        0.0
    }
}

/// The surface features of a text, each in [0, 1].
pub fn surface(text: &str) -> [f32; SURFACE] {
    let t = normalise_marks(text);
    let s = t.trim();
    let lower = s.to_lowercase();
    let w = words(s);
    let first = w.first();
    let second = w.get(1);
    let ends_q = s.ends_with('?');
    let has_letters = s.chars().any(char::is_alphabetic);
    let is_upper = has_letters && s.chars().filter(|c| c.is_alphabetic()).all(|c| !c.is_lowercase());
    let word_in = |set: &[&str]| w.iter().any(|x| set.contains(&x.as_str()));
    [
        b(t.contains('?')),
        b(ends_q),
        b(t.matches('?').count() >= 2),
        b(is_in(first, WH)),
        b(is_in(first, AUX)),
        b(word_in(WH)),
        b(has_word(&w[..w.len().min(3)], WH)),
        b(is_in(first, GREET)),
        b(is_in(second, WH)),
        b(is_in(second, AUX)),
        b(w.is_empty()),
        w.len().min(30) as f32 / 30.0,
        ((1.0 + t.chars().count() as f32).ln() / 6.0).min(2.0),
        b(lower.contains("or not")),
        b(w.iter().any(|x| matches!(x.as_str(), "anyone" | "anybody" | "any1" | "ne1"))),
        b(is_upper),
        b(t.contains('!')),
        b(ends_q && w.len() <= 2),
        b(w.iter().any(|x| x == "u" || x == "you")),
        b(ends_q && is_in(first, WH)),
        b(ends_q && is_in(first, AUX)),
    ]
}

/// FNV-1a, so that feature indices are the same on every platform and in every release.
pub(crate) fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for byte in s.bytes() {
        h ^= byte as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Indices (sorted, unique) of the hashed lexical tokens present in a text.
pub fn lexical(text: &str) -> Vec<u32> {
    let t = normalise_marks(text);
    let s = t.trim();
    let w = words(s);
    let word = |i: usize| w.get(i).map(String::as_str).unwrap_or("<e>");
    let mut tokens = vec![
        format!("F_{}", word(0)),
        format!("S_{}", word(1)),
        format!("L_{}", w.last().map(String::as_str).unwrap_or("<e>")),
        format!("FB_{}", w.iter().take(2).cloned().collect::<Vec<_>>().join("_")),
        format!("END_{}", s.chars().last().map(String::from).unwrap_or_default()),
    ];
    tokens.extend(w.iter().map(|x| format!("W_{x}")));
    let mut idx: Vec<u32> = tokens.iter().map(|t| (fnv1a(t) % LEXICAL as u64) as u32).collect();
    idx.sort_unstable();
    idx.dedup();
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surface_cues() {
        let f = surface("How do I reset my password?");
        assert_eq!(f[0], 1.0); // '?'
        assert_eq!(f[1], 1.0); // ends with '?'
        assert_eq!(f[3], 1.0); // leading wh-word
        assert_eq!(f[19], 1.0); // ends with '?' and leading wh-word
        let g = surface("does it work on v2");
        assert_eq!(g[0], 0.0);
        assert_eq!(g[4], 1.0); // leading auxiliary
        let h = surface("日本語のドキュメントはありますか？");
        assert_eq!(h[1], 1.0, "full-width question mark counts");
        assert_eq!(surface("")[10], 1.0);
        assert_eq!(surface("WHY IS IT DOWN")[15], 1.0);
    }

    #[test]
    fn lexical_is_stable_sorted_and_bounded() {
        let a = lexical("how do i install it");
        assert_eq!(a, lexical("How do I install it"));
        assert!(a.windows(2).all(|p| p[0] < p[1]));
        assert!(a.iter().all(|&i| (i as usize) < LEXICAL));
        assert_ne!(a, lexical("i installed it"));
    }
}
