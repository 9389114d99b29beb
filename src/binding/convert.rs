//! JS value → `serde_json::Value`, keeping what JSON cannot hold visible to validation:
//! NaN and ±Infinity become marker strings (so `confidence: NaN` is reported as NaN, not as a
//! conversion failure), Dates become epoch milliseconds, BigInts decimal strings. Functions and
//! symbols are rejected with the path of the offending field.

use napi::sys;
use serde_json::{Map, Number, Value};

use crate::error::{Error, Result};
use crate::input::{INFINITY_MARK, NAN_MARK, NEG_INFINITY_MARK};

const MAX_DEPTH: usize = 64;

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::Internal(format!("napi call failed: {what} (status {status})")))
    }
}

/// Converts `value`; `path` names it in errors (e.g. `questions`).
///
/// # Safety
/// `env` and `value` must be valid handles of the current callback scope.
pub unsafe fn to_json(env: sys::napi_env, value: sys::napi_value, path: &str) -> Result<Value> {
    convert(env, value, path, 0)
}

unsafe fn convert(env: sys::napi_env, value: sys::napi_value, path: &str, depth: usize) -> Result<Value> {
    if depth > MAX_DEPTH {
        return Err(Error::invalid_type(path, "is nested too deeply"));
    }
    let mut ty = 0;
    check(sys::napi_typeof(env, value, &mut ty), "typeof")?;
    match ty {
        sys::ValueType::napi_undefined | sys::ValueType::napi_null => Ok(Value::Null),
        sys::ValueType::napi_boolean => {
            let mut b = false;
            check(sys::napi_get_value_bool(env, value, &mut b), "bool")?;
            Ok(Value::Bool(b))
        }
        sys::ValueType::napi_number => {
            let mut x = 0f64;
            check(sys::napi_get_value_double(env, value, &mut x), "number")?;
            Ok(number(x))
        }
        sys::ValueType::napi_string => Ok(Value::String(string(env, value)?)),
        sys::ValueType::napi_bigint => {
            let mut x = 0i64;
            let mut lossless = false;
            check(sys::napi_get_value_bigint_int64(env, value, &mut x, &mut lossless), "bigint")?;
            if !lossless {
                return Err(Error::out_of_range(path, "BigInt does not fit in 64 bits"));
            }
            Ok(Value::String(x.to_string()))
        }
        sys::ValueType::napi_object => object(env, value, path, depth),
        sys::ValueType::napi_function => Err(Error::invalid_type(path, "must not be a function")),
        sys::ValueType::napi_symbol => Err(Error::invalid_type(path, "must not be a symbol")),
        _ => Err(Error::invalid_type(path, "has an unsupported type")),
    }
}

fn number(x: f64) -> Value {
    if x.is_nan() {
        Value::String(NAN_MARK.into())
    } else if x == f64::INFINITY {
        Value::String(INFINITY_MARK.into())
    } else if x == f64::NEG_INFINITY {
        Value::String(NEG_INFINITY_MARK.into())
    } else if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::Number(Number::from(x as i64))
    } else {
        Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null)
    }
}

unsafe fn string(env: sys::napi_env, value: sys::napi_value) -> Result<String> {
    let mut len = 0usize;
    check(sys::napi_get_value_string_utf8(env, value, std::ptr::null_mut(), 0, &mut len), "string length")?;
    let mut buf = vec![0u8; len + 1];
    let mut written = 0usize;
    check(sys::napi_get_value_string_utf8(env, value, buf.as_mut_ptr().cast(), buf.len(), &mut written), "string")?;
    buf.truncate(written);
    // napi returns valid UTF-8 (lone surrogates become U+FFFD)
    Ok(String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

unsafe fn object(env: sys::napi_env, value: sys::napi_value, path: &str, depth: usize) -> Result<Value> {
    let mut is = false;
    check(sys::napi_is_array(env, value, &mut is), "is_array")?;
    if is {
        let mut len = 0u32;
        check(sys::napi_get_array_length(env, value, &mut len), "array length")?;
        let mut out = Vec::with_capacity(len as usize);
        for i in 0..len {
            let mut item = std::ptr::null_mut();
            check(sys::napi_get_element(env, value, i, &mut item), "array element")?;
            out.push(convert(env, item, &format!("{path}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    check(sys::napi_is_date(env, value, &mut is), "is_date")?;
    if is {
        let mut ms = 0f64;
        check(sys::napi_get_date_value(env, value, &mut ms), "date")?;
        return Ok(number(ms));
    }
    let mut names = std::ptr::null_mut();
    check(
        sys::napi_get_all_property_names(
            env,
            value,
            sys::KeyCollectionMode::own_only,
            sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
            sys::KeyConversion::numbers_to_strings,
            &mut names,
        ),
        "property names",
    )?;
    let mut len = 0u32;
    check(sys::napi_get_array_length(env, names, &mut len), "property count")?;
    let mut map = Map::new();
    for i in 0..len {
        let mut key = std::ptr::null_mut();
        check(sys::napi_get_element(env, names, i, &mut key), "property name")?;
        let key_str = string(env, key)?;
        let mut item = std::ptr::null_mut();
        check(sys::napi_get_property(env, value, key, &mut item), "property")?;
        let field = if path.is_empty() { key_str.clone() } else { format!("{path}.{key_str}") };
        let mut item_ty = 0;
        check(sys::napi_typeof(env, item, &mut item_ty), "typeof")?;
        if item_ty == sys::ValueType::napi_undefined {
            continue;
        }
        map.insert(key_str, convert(env, item, &field, depth + 1)?);
    }
    Ok(Value::Object(map))
}
