//! One tenant message as the pipeline keeps it, parsed from JSON with reasons for rejection.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    pub id: String,
    pub channel_id: String,
    pub author_id: String,
    pub content: String,
    pub timestamp_ms: i64,
    pub thread_id: Option<String>,
    pub reply_to_id: Option<String>,
    /// The author's display name, when given (IRC-style "name: …" addressing uses it).
    pub author_name: Option<String>,
    /// Author ids this message mentions (`mentions` and `<@id>` in the content).
    pub mentions: Vec<String>,
    /// The message carries a "resolved" marker: a ✅ reaction or a "solved" tag.
    pub resolved_marker: bool,
    /// Said by a bot or a webhook (`authorIsBot`: Discord's `author.bot`, DiscordChatExporter's
    /// `author.isBot`): an auto-reply, a feed post or a welcome message. It asks nothing for a
    /// member, answers no one, and takes no part in members' conversations.
    pub bot: bool,
}

/// A message that could not be used, and why. It never stops the tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    /// Position in the input (across pages).
    pub index: usize,
    pub id: Option<String>,
    pub reason: String,
}

fn id_of(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Epoch milliseconds of an ISO 8601 string (a missing zone means UTC) or a number.
pub fn parse_timestamp(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite() && x.abs() < 1e15).map(|x| x as i64),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                return Some(t.timestamp_millis());
            }
            for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"] {
                if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
                    return Some(t.and_utc().timestamp_millis());
                }
            }
            chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").ok().map(|t| t.timestamp_millis())
        }
        _ => None,
    }
}

pub fn iso(ms: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// Author ids a message mentions: the `mentions` field (ids, or objects with an `id`) and
/// Discord's `<@id>` / `<@!id>` in the content.
fn mentions(field: Option<&Value>, content: &str) -> Vec<String> {
    let mut out: Vec<String> = match field {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|m| match m {
                Value::Object(o) => id_of(o.get("id")),
                other => id_of(Some(other)),
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut rest = content;
    while let Some(at) = rest.find("<@") {
        rest = &rest[at + 2..];
        let rest_id = rest.strip_prefix('!').unwrap_or(rest);
        if let Some(end) = rest_id.find('>') {
            let id = &rest_id[..end];
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !out.iter().any(|m| m == id) {
                out.push(id.to_string());
            }
        }
    }
    out
}

/// Reactions that mark a message as the accepted answer or a problem as solved.
const RESOLVED_EMOJI: &[&str] = &["✅", "✔️", "☑️", "white_check_mark", "heavy_check_mark", "ballot_box_with_check"];
const RESOLVED_TAGS: &[&str] = &["solved", "resolved", "answered", "fixed"];

/// A ✅ reaction (`reactions`: names, or DiscordChatExporter's `{emoji: {name}}`), or a tag
/// (`tags` / `appliedTags`: names or `{name}`) that says solved.
fn resolved_marker(o: &serde_json::Map<String, Value>) -> bool {
    let name = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o
                .get("name")
                .or_else(|| o.get("emoji").and_then(|e| e.get("name")))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        }
    };
    let names = |key: &str| -> Vec<String> {
        o.get(key).and_then(Value::as_array).map(|a| a.iter().filter_map(name).collect()).unwrap_or_default()
    };
    names("reactions").iter().any(|n| RESOLVED_EMOJI.contains(&n.as_str()))
        || ["tags", "appliedTags"]
            .iter()
            .flat_map(|k| names(k))
            .any(|t| RESOLVED_TAGS.iter().any(|r| t.to_lowercase().contains(r)))
}

/// Parses `{id, channelId, authorId, content, timestamp, threadId?, replyToId?, authorName?,
/// authorIsBot?, mentions?, reactions?, tags?}`.
pub fn parse_message(v: &Value, index: usize) -> Result<Message, Rejected> {
    let reject = |id: Option<String>, reason: String| Rejected { index, id, reason };
    let o = match v {
        Value::Object(o) => o,
        _ => return Err(reject(None, "not an object".into())),
    };
    let id = id_of(o.get("id")).ok_or_else(|| reject(None, "id is missing or not a string".into()))?;
    let field = |name: &str| id_of(o.get(name));
    let channel_id =
        field("channelId").ok_or_else(|| reject(Some(id.clone()), "channelId is missing or not a string".into()))?;
    let author_id =
        field("authorId").ok_or_else(|| reject(Some(id.clone()), "authorId is missing or not a string".into()))?;
    let content = match o.get("content") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => return Err(reject(Some(id), "content is missing".into())),
        Some(_) => return Err(reject(Some(id), "content is not a string".into())),
    };
    let bot = match o.get("authorIsBot") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(reject(Some(id), "authorIsBot is not a boolean".into())),
    };
    let content_for_mentions = content.clone();
    let timestamp_ms = match o.get("timestamp") {
        None | Some(Value::Null) => return Err(reject(Some(id), "timestamp is missing".into())),
        Some(t) => parse_timestamp(t)
            .ok_or_else(|| reject(Some(id.clone()), format!("timestamp {t} is not ISO 8601, epoch ms or a Date")))?,
    };
    Ok(Message {
        id,
        channel_id,
        author_id,
        content,
        timestamp_ms,
        thread_id: field("threadId"),
        reply_to_id: field("replyToId"),
        author_name: o.get("authorName").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string),
        mentions: mentions(o.get("mentions"), &content_for_mentions),
        resolved_marker: resolved_marker(o),
        bot,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_in_every_accepted_form() {
        let want = 1_700_000_000_000i64;
        assert_eq!(parse_timestamp(&json!(want)), Some(want));
        assert_eq!(parse_timestamp(&json!("2023-11-14T22:13:20Z")), Some(want));
        assert_eq!(parse_timestamp(&json!("2023-11-14T23:13:20+01:00")), Some(want));
        assert_eq!(parse_timestamp(&json!("2023-11-14T22:13:20.000")), Some(want));
        assert_eq!(parse_timestamp(&json!("2023-11-14 22:13:20")), Some(want));
        assert_eq!(parse_timestamp(&json!("yesterday")), None);
        assert_eq!(iso(want), "2023-11-14T22:13:20.000Z");
    }

    #[test]
    fn rejects_with_reasons() {
        let ok = json!({"id": "1", "channelId": "c", "authorId": 7, "content": "hi", "timestamp": 0});
        assert!(parse_message(&ok, 0).is_ok());
        let r = parse_message(&json!({"channelId": "c"}), 3).unwrap_err();
        assert_eq!((r.index, r.reason.as_str()), (3, "id is missing or not a string"));
        let r = parse_message(&json!({"id": "1", "channelId": "c", "authorId": "a", "content": 5, "timestamp": 0}), 0)
            .unwrap_err();
        assert_eq!(r.reason, "content is not a string");
        let r = parse_message(
            &json!({"id": "1", "channelId": "c", "authorId": "a", "content": "x", "timestamp": "soon"}),
            0,
        )
        .unwrap_err();
        assert!(r.reason.starts_with("timestamp"));
        assert_eq!(r.id.as_deref(), Some("1"));
        let r = parse_message(
            &json!({"id": "1", "channelId": "c", "authorId": "a", "content": "x", "timestamp": 0, "authorIsBot": "yes"}),
            0,
        )
        .unwrap_err();
        assert_eq!(r.reason, "authorIsBot is not a boolean");
    }

    #[test]
    fn bots_are_flagged() {
        let m = |flag: Value| {
            let v = json!({"id": "1", "channelId": "c", "authorId": "a", "content": "x", "timestamp": 0, "authorIsBot": flag});
            parse_message(&v, 0).unwrap().bot
        };
        assert!(m(json!(true)));
        assert!(!m(json!(false)));
        assert!(!m(Value::Null));
        let v = json!({"id": "1", "channelId": "c", "authorId": "a", "content": "x", "timestamp": 0});
        assert!(!parse_message(&v, 0).unwrap().bot);
    }

    #[test]
    fn mentions_names_and_resolved_markers() {
        let v = json!({"id": "1", "channelId": "c", "authorId": "a", "authorName": "ann", "timestamp": 0,
            "content": "<@42> and <@!43> see this", "mentions": [{"id": "44"}, "42"],
            "reactions": [{"emoji": {"name": "✅"}, "count": 1}]});
        let m = parse_message(&v, 0).unwrap();
        assert_eq!(m.mentions, vec!["44", "42", "43"]);
        assert_eq!(m.author_name.as_deref(), Some("ann"));
        assert!(m.resolved_marker);
        let v = json!({"id": "2", "channelId": "c", "authorId": "a", "timestamp": 0, "content": "x",
            "tags": ["Solved ✔"]});
        assert!(parse_message(&v, 0).unwrap().resolved_marker);
        let v = json!({"id": "3", "channelId": "c", "authorId": "a", "timestamp": 0, "content": "x",
            "reactions": ["👍"]});
        assert!(!parse_message(&v, 0).unwrap().resolved_marker);
    }
}
