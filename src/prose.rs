//! The prose of a chat message: fenced and inline code, stack traces, logs and links reduced to
//! short typed placeholders, so that an encoder spends its tokens on the question and an
//! embedding reflects the topic, not the paste. The original text is kept for display and for
//! the LLM; only what encoders see is reduced.

use once_cell::sync::Lazy;
use regex::Regex;

pub const CODE: &str = "[code]";
pub const LOG: &str = "[log]";
pub const LINK: &str = "[link]";

static FENCED: Lazy<Regex> = Lazy::new(|| Regex::new(r"(?s)```.*?(```|$)").expect("fenced code regex"));
static INLINE: Lazy<Regex> = Lazy::new(|| Regex::new(r"`([^`\n]+)`").expect("inline code regex"));
static URL: Lazy<Regex> = Lazy::new(|| Regex::new(r"(?i)\b(?:https?://|www\.)[^\s<>()]+").expect("url regex"));
/// Exports that already replaced code and links (Gitter's `[<-CODE->]`, `[<-LINK->]`).
static EXPORTED: Lazy<Regex> = Lazy::new(|| Regex::new(r"\[<-(CODE|LINK)->\]").expect("export marker regex"));

/// Inline code longer than this is a paste, shorter is a name ("run `npm ci`").
const INLINE_KEEP_CHARS: usize = 40;

/// Whether a line of a multi-line message reads as a log, a stack trace or code rather than prose.
fn is_paste_line(line: &str) -> Option<&'static str> {
    let t = line.trim();
    if t.is_empty() {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let stack = lower.starts_with("at ")
        || lower.starts_with("file \"")
        || lower.starts_with("traceback")
        || lower.starts_with("caused by:")
        || lower.starts_with("...") && lower.contains("more")
        || lower.starts_with("thread '") && lower.contains("panicked");
    let stamped = t.len() > 10
        && t.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && matches!(t.as_bytes()[4], b'-' | b'/' | b'.');
    let level = ["error:", "warn:", "info:", "debug:", "trace:", "[error]", "[warn]", "[info]", "[debug]"]
        .iter()
        .any(|p| lower.starts_with(p))
        && t.len() > 60;
    if stack || stamped || level {
        return Some(LOG);
    }
    let letters = t.chars().filter(|c| c.is_alphabetic() || c.is_whitespace()).count();
    let symbols = t.chars().filter(|c| "{}[]();=<>$#&|\\/*:\"'_.,-+".contains(*c)).count();
    let ends_code = t.ends_with(';') || t.ends_with('{') || t.ends_with('}') || t.ends_with(',') && symbols > 3;
    let indented = line.starts_with("    ") || line.starts_with('\t');
    if ends_code || (symbols * 3 > letters && symbols >= 4) || (indented && symbols >= 2) {
        return Some(CODE);
    }
    None
}

/// Reduces pastes and links to placeholders; runs of the same placeholder collapse to one.
pub fn reduce(text: &str) -> String {
    let text = FENCED.replace_all(text, |_: &regex::Captures| format!("\n{CODE}\n"));
    let text = EXPORTED.replace_all(&text, |c: &regex::Captures| if &c[1] == "CODE" { CODE } else { LINK });
    let text = URL.replace_all(&text, LINK);
    let text = INLINE.replace_all(&text, |c: &regex::Captures| {
        if c[1].chars().count() > INLINE_KEEP_CHARS {
            CODE.to_string()
        } else {
            c[1].to_string()
        }
    });
    let multiline = text.lines().filter(|l| !l.trim().is_empty()).count() > 1;
    let mut parts: Vec<&str> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let piece = match multiline.then(|| is_paste_line(line)).flatten() {
            Some(p) => p,
            None => t,
        };
        if parts.last() == Some(&piece) && (piece == CODE || piece == LOG) {
            continue;
        }
        parts.push(piece);
    }
    parts.join(" ")
}

/// [`reduce`], borrowing the text when there is nothing to reduce (most chat: one line, no
/// backtick, no link), so that the common case costs a scan and no allocation.
pub fn reduce_cow(text: &str) -> std::borrow::Cow<'_, str> {
    let plain = !text.contains(['`', '\n']) && !text.contains("://") && !text.contains("www.") && !text.contains("[<-");
    if plain {
        std::borrow::Cow::Borrowed(text)
    } else {
        std::borrow::Cow::Owned(reduce(text))
    }
}

/// Whether a message is mostly a paste: what is left after reduction has few words of its own.
pub fn is_mostly_paste(text: &str) -> bool {
    let reduced = reduce(text);
    let words = reduced
        .split_whitespace()
        .filter(|w| ![CODE, LOG, LINK].contains(w) && w.chars().any(char::is_alphabetic))
        .count();
    // a one-line message that reads as a statement of code ("const x = a ? b : c;")
    let one_line_code =
        !text.trim().contains('\n') && is_paste_line(&reduced.replace(CODE, "").replace(LINK, "")) == Some(CODE);
    (reduced.len() < text.len() / 2 && words < 4) || one_line_code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_code_and_links_become_placeholders() {
        let m = "why does this fail?\n```js\nconst x = await fetch(url)\nconsole.log(x)\n```\nsee https://example.com/a?b=1";
        assert_eq!(reduce(m), "why does this fail? [code] see [link]");
    }

    #[test]
    fn stack_traces_and_log_lines_collapse_to_one_placeholder() {
        let m = "I'm getting this when I start the bot\nTypeError: Cannot read properties of undefined (reading 'id')\n    at Client.<anonymous> (/app/index.js:12:5)\n    at Client.emit (node:events:517:28)\n2024-01-02 10:00:01 ERROR shard 0 disconnected";
        let r = reduce(m);
        assert!(r.starts_with("I'm getting this when I start the bot"), "{r}");
        assert_eq!(r.matches(LOG).count(), 1, "{r}");
        assert!(!r.contains("node:events"), "{r}");
    }

    #[test]
    fn short_inline_code_is_kept_long_inline_code_is_not() {
        assert_eq!(reduce("should I run `npm ci` here?"), "should I run npm ci here?");
        assert_eq!(
            reduce("what does `docker run --rm -it -v $(pwd):/app -w /app node:20 npm test` do?"),
            "what does [code] do?"
        );
    }

    #[test]
    fn plain_prose_is_unchanged_and_exported_markers_map() {
        assert_eq!(reduce("how do I mount a volume in compose?"), "how do I mount a volume in compose?");
        assert_eq!(reduce("try this [<-CODE->] from [<-LINK->]"), "try this [code] from [link]");
    }

    #[test]
    fn a_paste_with_a_question_mark_is_mostly_paste() {
        let m = "```\nlet y = x ? a : b;\nif (y) { return z; }\n```";
        assert!(is_mostly_paste(m));
        assert!(!is_mostly_paste("how do I configure the reverse proxy for websockets?"));
        assert!(is_mostly_paste("[<-CODE->] const port = env.PORT ? Number(env.PORT) : 8080;"));
        assert!(!is_mostly_paste("what does x ?? y do in typescript?"));
    }
}
