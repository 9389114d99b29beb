//! JS values → [`Js`] (owned data the parsers read with serde), and the one checked cast from
//! an `Unknown` to a typed napi value. Nothing here fails on what a value holds: functions,
//! symbols, NaN and Dates are kept as such, for the parser to accept or reject by field.

use napi::bindgen_prelude::*;
use napi::{JsDate, JsValue};

use crate::js::Js;

const MAX_DEPTH: usize = 64;

/// `v` as `T`, after checking that its JS type is `ty`. The one cast of the binding: `T` must
/// be a type that reads values of type `ty` (`f64` for `Number`, `Object` for `Object`, …).
pub(crate) fn cast<'a, T: FromNapiValue + 'a>(v: &Unknown<'a>, ty: ValueType) -> napi::Result<T> {
    let actual = v.get_type()?;
    if actual != ty {
        return Err(napi::Error::new(Status::InvalidArg, format!("expected {ty:?}, got {actual:?}")));
    }
    // SAFETY: the value is live in the current scope and its JS type was just checked to be `ty`.
    unsafe { v.cast::<T>() }
}

/// Reads a JS value. Fails only when napi itself does (e.g. a getter that throws).
pub(crate) fn to_js(v: &Unknown<'_>) -> napi::Result<Js> {
    convert(v, 0)
}

/// Reads an optional argument (`None` → `undefined`).
pub(crate) fn arg(v: Option<&Unknown<'_>>) -> napi::Result<Js> {
    v.map_or(Ok(Js::Undefined), to_js)
}

fn convert(v: &Unknown<'_>, depth: usize) -> napi::Result<Js> {
    if depth > MAX_DEPTH {
        return Ok(Js::Unreadable("nested too deeply"));
    }
    let ty = v.get_type()?;
    Ok(match ty {
        ValueType::Undefined => Js::Undefined,
        ValueType::Null => Js::Null,
        ValueType::Boolean => Js::Bool(cast(v, ty)?),
        ValueType::Number => Js::Number(cast(v, ty)?),
        ValueType::String => Js::String(cast(v, ty)?),
        ValueType::BigInt => {
            let b: BigInt = cast(v, ty)?;
            match b.get_i128() {
                (x, true) => Js::BigInt(x.to_string()),
                _ => Js::Unreadable("a BigInt beyond 128 bits"),
            }
        }
        ValueType::Object if v.is_array()? => {
            let a: Array<'_> = cast(v, ty)?;
            let mut items = Vec::with_capacity(a.len() as usize);
            for i in 0..a.len() {
                let item: Option<Unknown<'_>> = a.get(i)?;
                items.push(item.map_or(Ok(Js::Undefined), |u| convert(&u, depth + 1))?);
            }
            Js::Array(items)
        }
        ValueType::Object if v.is_date()? => Js::Date(cast::<JsDate<'_>>(v, ty)?.value_of()?),
        ValueType::Object => {
            let o: Object<'_> = cast(v, ty)?;
            let keys = Object::keys(&o)?;
            let mut props = Vec::with_capacity(keys.len());
            for key in keys {
                let value: Unknown<'_> = o.get_named_property(&key)?;
                let value = convert(&value, depth + 1)?;
                if value != Js::Undefined {
                    props.push((key, value));
                }
            }
            Js::Object(props)
        }
        ValueType::Function => Js::Function,
        ValueType::Symbol => Js::Symbol,
        _ => Js::Unreadable("a value of an unsupported type"),
    })
}
