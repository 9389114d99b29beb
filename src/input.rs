//! Validation of values that come from JavaScript (as JSON values): every error names the
//! offending field, e.g. `questions[3].confidence`.

use serde_json::{Map, Value};

use crate::dedupe::Question;
use crate::error::{Error, Result};

/// Markers for numbers JSON cannot hold (set by the binding's JS → JSON conversion).
pub const NAN_MARK: &str = "\u{0}NaN";
pub const INFINITY_MARK: &str = "\u{0}Infinity";
pub const NEG_INFINITY_MARK: &str = "\u{0}-Infinity";

fn non_finite(v: &Value) -> Option<&'static str> {
    match v.as_str()? {
        NAN_MARK => Some("NaN"),
        INFINITY_MARK => Some("Infinity"),
        NEG_INFINITY_MARK => Some("-Infinity"),
        _ => None,
    }
}

fn type_name(v: &Value) -> &'static str {
    if let Some(n) = non_finite(v) {
        return n;
    }
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

pub fn array<'a>(v: &'a Value, field: &str) -> Result<&'a Vec<Value>> {
    v.as_array().ok_or_else(|| Error::invalid_type(field, format!("must be an array, got {}", type_name(v))))
}

/// The options object, or an empty one when absent (`undefined`/`null`).
pub fn options<'a>(v: Option<&'a Value>, field: &str) -> Result<Option<&'a Map<String, Value>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(Error::invalid_type(field, format!("must be an object, got {}", type_name(other)))),
    }
}

fn get<'a>(obj: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Value> {
    obj.and_then(|o| o.get(key)).filter(|v| !v.is_null())
}

pub fn opt_f64(obj: Option<&Map<String, Value>>, key: &str, prefix: &str, min: f64, max: f64) -> Result<Option<f64>> {
    let field = join(prefix, key);
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if !x.is_finite() || x < min || x > max {
                Err(Error::out_of_range(field, format!("must be a number in [{min}, {max}], got {x}")))
            } else {
                Ok(Some(x))
            }
        }
        Some(v) if non_finite(v).is_some() => {
            Err(Error::out_of_range(field, format!("must be a finite number in [{min}, {max}], got {}", type_name(v))))
        }
        Some(other) => Err(Error::invalid_type(field, format!("must be a number, got {}", type_name(other)))),
    }
}

pub fn opt_usize(
    obj: Option<&Map<String, Value>>,
    key: &str,
    prefix: &str,
    min: usize,
    max: usize,
) -> Result<Option<usize>> {
    let field = join(prefix, key);
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if !x.is_finite() || x.fract() != 0.0 || x < min as f64 || x > max as f64 {
                Err(Error::out_of_range(field, format!("must be an integer in [{min}, {max}], got {x}")))
            } else {
                Ok(Some(x as usize))
            }
        }
        Some(v) if non_finite(v).is_some() => {
            Err(Error::out_of_range(field, format!("must be an integer in [{min}, {max}], got {}", type_name(v))))
        }
        Some(other) => Err(Error::invalid_type(field, format!("must be an integer, got {}", type_name(other)))),
    }
}

pub fn opt_bool(obj: Option<&Map<String, Value>>, key: &str, prefix: &str) -> Result<Option<bool>> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => {
            Err(Error::invalid_type(join(prefix, key), format!("must be a boolean, got {}", type_name(other))))
        }
    }
}

pub fn opt_string(obj: Option<&Map<String, Value>>, key: &str, prefix: &str) -> Result<Option<String>> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => {
            Err(Error::invalid_type(join(prefix, key), format!("must be a string, got {}", type_name(other))))
        }
    }
}

/// A string field that must be present (`prefix.key: is required (a string)` otherwise).
pub fn required_string(obj: &Map<String, Value>, key: &str, prefix: &str) -> Result<String> {
    opt_string(Some(obj), key, prefix)?.ok_or_else(|| Error::invalid_type(join(prefix, key), "is required (a string)"))
}

pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// An id: a non-empty string, or a finite number (Discord snowflakes often arrive as strings,
/// test data as numbers).
pub fn id(v: Option<&Value>, field: &str) -> Result<String> {
    match v {
        Some(v) if non_finite(v).is_some() => {
            Err(Error::invalid_type(field, format!("must be a string, got {}", type_name(v))))
        }
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(Error::invalid_type(field, "must be a non-empty string")),
        Some(Value::Number(n)) => Ok(n.to_string()),
        None | Some(Value::Null) => Err(Error::invalid_type(field, "is required (a string)")),
        Some(other) => Err(Error::invalid_type(field, format!("must be a string, got {}", type_name(other)))),
    }
}

/// `texts`: an array of strings.
pub fn strings(v: &Value, field: &str) -> Result<Vec<String>> {
    array(v, field)?
        .iter()
        .enumerate()
        .map(|(i, t)| match t {
            Value::String(s) => Ok(s.clone()),
            other => {
                Err(Error::invalid_type(format!("{field}[{i}]"), format!("must be a string, got {}", type_name(other))))
            }
        })
        .collect()
}

/// `messages` for classification: `[{id, content}]`, or plain strings (id = index).
pub fn classify_messages(v: &Value, field: &str) -> Result<Vec<(String, String)>> {
    array(v, field)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("{field}[{i}]");
            match item {
                Value::String(s) => Ok((i.to_string(), s.clone())),
                Value::Object(o) => {
                    let id = id(o.get("id"), &format!("{at}.id"))?;
                    Ok((id, required_string(o, "content", &at)?))
                }
                other => Err(Error::invalid_type(
                    at,
                    format!("must be an object {{id, content}} or a string, got {}", type_name(other)),
                )),
            }
        })
        .collect()
}

/// `questions`: `[{id, text, confidence?, messageIds?}]`, or plain strings (id = index).
pub fn questions(v: &Value, field: &str) -> Result<Vec<Question>> {
    let items = array(v, field)?;
    let mut out = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let q = match item {
            Value::String(s) => Question { id: i.to_string(), text: s.clone(), confidence: 1.0, message_ids: vec![] },
            Value::Object(o) => {
                let qid = id(o.get("id"), &format!("{at}.id"))?;
                let text = required_string(o, "text", &at)?;
                let confidence = opt_f64(Some(o), "confidence", &at, 0.0, 1.0)?.unwrap_or(1.0) as f32;
                let message_ids = match o.get("messageIds") {
                    None | Some(Value::Null) => vec![],
                    Some(v) => array(v, &format!("{at}.messageIds"))?
                        .iter()
                        .enumerate()
                        .map(|(j, m)| id(Some(m), &format!("{at}.messageIds[{j}]")))
                        .collect::<Result<_>>()?,
                };
                Question { id: qid, text, confidence, message_ids }
            }
            other => {
                return Err(Error::invalid_type(
                    at,
                    format!("must be an object {{id, text}} or a string, got {}", type_name(other)),
                ))
            }
        };
        if !seen.insert(q.id.clone()) {
            return Err(Error::invalid_type(format!("{at}.id"), format!("duplicate id {:?}", q.id)));
        }
        out.push(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_field() {
        let e = questions(&json!([{"id": "a", "text": "x"}, {"id": 3, "text": 5}]), "questions").unwrap_err();
        assert_eq!(e.field(), Some("questions[1].text"));
        let e = questions(&json!([{"text": "x"}]), "questions").unwrap_err();
        assert_eq!(e.field(), Some("questions[0].id"));
        let e = questions(&json!([{"id": "a", "text": "x", "confidence": 1.5}]), "questions").unwrap_err();
        assert_eq!(e.field(), Some("questions[0].confidence"));
        assert_eq!(e.code(), "ERR_OUT_OF_RANGE");
        let e = questions(&json!("nope"), "questions").unwrap_err();
        assert_eq!(e.code(), "ERR_INVALID_ARG_TYPE");
        let e = questions(&json!([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}]), "questions").unwrap_err();
        assert_eq!(e.field(), Some("questions[1].id"));
    }

    #[test]
    fn accepts_strings_and_numbers_as_ids_and_defaults_confidence() {
        let q = questions(&json!(["how?", {"id": 7, "text": "why?", "messageIds": ["m1", 2]}]), "q").unwrap();
        assert_eq!(q[0].id, "0");
        assert_eq!(q[0].confidence, 1.0);
        assert_eq!(q[1].id, "7");
        assert_eq!(q[1].message_ids, vec!["m1", "2"]);
    }

    #[test]
    fn option_ranges() {
        let o = json!({"threshold": 2, "n": 1.5, "flag": "yes"});
        let m = o.as_object();
        assert_eq!(opt_f64(m, "threshold", "options", 0.0, 1.0).unwrap_err().field(), Some("options.threshold"));
        assert!(opt_usize(m, "n", "options", 1, 10).is_err());
        assert!(opt_bool(m, "flag", "options").is_err());
        let nan = json!({ "confidence": NAN_MARK });
        let e = opt_f64(nan.as_object(), "confidence", "q[0]", 0.0, 1.0).unwrap_err();
        assert_eq!(e.code(), "ERR_OUT_OF_RANGE");
        assert!(e.to_string().contains("NaN"), "{e}");
        assert_eq!(opt_f64(m, "missing", "options", 0.0, 1.0).unwrap(), None);
    }
}
