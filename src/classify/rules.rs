//! Messages that cannot be questions, decided without a model.

use once_cell::sync::Lazy;
use regex::Regex;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    Empty,
    EmojiOnly,
    LinksOrMentionsOnly,
    BotCommand,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Empty => "empty",
            SkipReason::EmojiOnly => "emoji-only",
            SkipReason::LinksOrMentionsOnly => "links-or-mentions-only",
            SkipReason::BotCommand => "bot-command",
        }
    }
}

static URL: Lazy<Regex> = Lazy::new(|| Regex::new(r"(?i)\b(?:https?://|www\.)\S+").unwrap());
// Discord user/role/channel mentions, @everyone/@here, custom emoji, timestamps.
static MENTION: Lazy<Regex> =
    Lazy::new(|| Regex::new(r"<(?:@[!&]?\d+|#\d+|a?:\w+:\d+|t:\d+(?::\w)?)>|@everyone|@here").unwrap());
static CUSTOM_EMOJI: Lazy<Regex> = Lazy::new(|| Regex::new(r"<a?:\w+:\d+>|:[a-z0-9_+-]+:").unwrap());
// A bot command: a prefix (!, /, ?, $, ;;, -, %, >) glued to a word, e.g. `!play lofi`, `/help`.
static BOT_COMMAND: Lazy<Regex> = Lazy::new(|| Regex::new(r"^(?:!|/|\?|\$|;;|-|%|>)[a-zA-Z][\w-]*(?:\s|$)").unwrap());

fn has_text(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

/// Why `text` needs no model, or `None` when the model must decide.
pub fn trivial(text: &str) -> Option<SkipReason> {
    let t = text.trim();
    if t.is_empty() {
        return Some(SkipReason::Empty);
    }
    if BOT_COMMAND.is_match(t) {
        return Some(SkipReason::BotCommand);
    }
    if !has_text(&CUSTOM_EMOJI.replace_all(t, "")) {
        return Some(SkipReason::EmojiOnly);
    }
    let stripped = MENTION.replace_all(&URL.replace_all(t, ""), "").into_owned();
    if !has_text(&stripped) {
        return Some(SkipReason::LinksOrMentionsOnly);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_what_cannot_be_a_question() {
        assert_eq!(trivial("   "), Some(SkipReason::Empty));
        assert_eq!(trivial("🙂🙂 🎉"), Some(SkipReason::EmojiOnly));
        assert_eq!(trivial("<:pepe:123456> :thumbsup:"), Some(SkipReason::EmojiOnly));
        assert_eq!(trivial("https://example.com/x?y=1"), Some(SkipReason::LinksOrMentionsOnly));
        assert_eq!(trivial("<@123456789> <#987> https://a.b"), Some(SkipReason::LinksOrMentionsOnly));
        assert_eq!(trivial("!play lofi hip hop"), Some(SkipReason::BotCommand));
        assert_eq!(trivial("/help"), Some(SkipReason::BotCommand));
        assert_eq!(trivial(";;skip"), Some(SkipReason::BotCommand));
    }

    #[test]
    fn keeps_real_messages() {
        for t in [
            "how do I install it?",
            "<@123> does this work on v2?",
            "check https://example.com, is that the right doc?",
            "? anyone",
            ".net 8 support?",
            "日本語のドキュメントはありますか？",
            "is 42 the answer",
        ] {
            assert_eq!(trivial(t), None, "{t}");
        }
    }
}
