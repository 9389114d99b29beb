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
        Some(Value::String(s)) if !s.is_empty() && !s.starts_with('\u{0}') => Some(s.clone()),
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

/// Parses `{id, channelId, authorId, content, timestamp, threadId?, replyToId?}`.
pub fn parse_message(v: &Value, index: usize) -> Result<Message, Rejected> {
    let reject = |id: Option<String>, reason: String| Rejected { index, id, reason };
    let o = match v {
        Value::Object(o) => o,
        // the binding marks an element it could not convert with "\0<reason>"
        Value::String(s) if s.starts_with('\u{0}') => return Err(reject(None, s[1..].to_string())),
        _ => return Err(reject(None, "not an object".into())),
    };
    let id = id_of(o.get("id")).ok_or_else(|| reject(None, "id is missing or not a string".into()))?;
    let field = |name: &str| id_of(o.get(name));
    let channel_id =
        field("channelId").ok_or_else(|| reject(Some(id.clone()), "channelId is missing or not a string".into()))?;
    let author_id =
        field("authorId").ok_or_else(|| reject(Some(id.clone()), "authorId is missing or not a string".into()))?;
    let content = match o.get("content") {
        Some(Value::String(s)) if !s.starts_with('\u{0}') => s.clone(),
        None | Some(Value::Null) => return Err(reject(Some(id), "content is missing".into())),
        Some(_) => return Err(reject(Some(id), "content is not a string".into())),
    };
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
        author_name: None,
        mentions: Vec::new(),
        resolved_marker: false,
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
    }
}
