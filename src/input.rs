//! Field readers for data the core keeps as JSON (the messages and training streams of
//! conversations() and asks(), read by `pipeline::parse_message`): every error names the
//! offending field, e.g. `streams[2].messages[3].weight`. Options objects are not read here:
//! they are parsed from their `#[napi(object)]` structs (`crate::js`).

use serde_json::{Map, Value};

use crate::error::{Error, Result};
pub use crate::js::join;

fn type_name(v: &Value) -> &'static str {
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

fn get<'a>(obj: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Value> {
    obj.and_then(|o| o.get(key)).filter(|v| !v.is_null())
}

pub fn opt_f64(obj: Option<&Map<String, Value>>, key: &str, prefix: &str, min: f64, max: f64) -> Result<Option<f64>> {
    match get(obj, key) {
        None => Ok(None),
        Some(Value::Number(n)) => crate::js::num_in(n.as_f64(), &join(prefix, key), min, max),
        Some(other) => {
            Err(Error::invalid_type(join(prefix, key), format!("must be a number, got {}", type_name(other))))
        }
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
        Some(Value::Number(n)) => match n.as_u64() {
            Some(x) if (min as u64..=max as u64).contains(&x) => Ok(Some(x as usize)),
            _ => Err(Error::out_of_range(field, format!("must be an integer in [{min}, {max}], got {n}"))),
        },
        Some(other) => Err(Error::invalid_type(field, format!("must be an integer, got {}", type_name(other)))),
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

/// An id: a non-empty string, or a number.
pub fn id(v: Option<&Value>, field: &str) -> Result<String> {
    match v {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(Error::invalid_type(field, "must be a non-empty string")),
        Some(Value::Number(n)) => Ok(n.to_string()),
        None | Some(Value::Null) => Err(Error::invalid_type(field, "is required (a string)")),
        Some(other) => Err(Error::invalid_type(field, format!("must be a string, got {}", type_name(other)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_named_and_ranged() {
        let o = json!({"w": 2, "n": 1.5, "s": 3, "id": ""});
        let m = o.as_object();
        assert_eq!(opt_f64(m, "w", "x[0]", 0.0, 1.0).unwrap_err().field(), Some("x[0].w"));
        assert_eq!(opt_usize(m, "n", "x", 0, 10).unwrap_err().code(), "ERR_OUT_OF_RANGE");
        assert_eq!(opt_string(m, "s", "x").unwrap_err().code(), "ERR_INVALID_ARG_TYPE");
        assert_eq!(opt_usize(m, "w", "x", 0, 10).unwrap(), Some(2));
        assert_eq!(opt_f64(m, "missing", "x", 0.0, 1.0).unwrap(), None);
        assert!(id(m.and_then(|m| m.get("id")), "x.id").is_err());
        assert_eq!(id(Some(&json!(7)), "x.id").unwrap(), "7");
        assert_eq!(array(&json!("no"), "xs").unwrap_err().field(), Some("xs"));
    }
}
