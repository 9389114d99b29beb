//! Values that come from JavaScript, as owned Rust data ([`Js`]), and a serde `Deserializer`
//! over them. The binding's `#[napi(object)]` structs derive `Deserialize` and are read through
//! [`parse`] / [`parse_options`]: one definition gives the typings (index.d.ts) and the parser.
//! Errors name the field (`options.llm.timeoutMs`, `questions[3].id`); an unknown key of an
//! options object names the function and suggests the right place when one is close. NaN,
//! ±Infinity, Dates and functions are kept as what they are, so a check can say "got NaN".

use std::cell::RefCell;
use std::fmt;

use serde::de::{
    self, Deserialize as _, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use crate::error::{Error, Result};

/// A JS value. Object properties keep their order; `undefined` properties are left out.
#[derive(Debug, Clone, PartialEq)]
pub enum Js {
    Undefined,
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    /// A BigInt, as its decimal digits.
    BigInt(String),
    /// A Date, as epoch milliseconds.
    Date(f64),
    Array(Vec<Js>),
    Object(Vec<(String, Js)>),
    Function,
    Symbol,
    /// Something that cannot be read, and why (e.g. "nested too deeply").
    Unreadable(&'static str),
}

impl Js {
    pub fn is_nullish(&self) -> bool {
        matches!(self, Js::Undefined | Js::Null)
    }

    /// What the value is, for messages ("got a string", "got NaN").
    pub fn describe(&self) -> String {
        match self {
            Js::Undefined => "undefined".into(),
            Js::Null => "null".into(),
            Js::Bool(_) => "a boolean".into(),
            Js::Number(x) if x.is_finite() => format!("{x}"),
            Js::Number(x) if x.is_nan() => "NaN".into(),
            Js::Number(x) => (if *x > 0.0 { "Infinity" } else { "-Infinity" }).into(),
            Js::String(_) => "a string".into(),
            Js::BigInt(_) => "a BigInt".into(),
            Js::Date(_) => "a Date".into(),
            Js::Array(_) => "an array".into(),
            Js::Object(_) => "an object".into(),
            Js::Function => "a function".into(),
            Js::Symbol => "a symbol".into(),
            Js::Unreadable(why) => (*why).into(),
        }
    }

    /// A property of an object (`None` for other values and absent keys).
    pub fn get(&self, key: &str) -> Option<&Js> {
        match self {
            Js::Object(props) => props.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// As JSON, for data the core keeps as JSON (tenant messages). Fails on what JSON cannot
    /// hold faithfully (functions, symbols, NaN and ±Infinity) with its path and what it is.
    pub fn into_json(self, path: &str) -> std::result::Result<serde_json::Value, (String, String)> {
        use serde_json::Value;
        Ok(match self {
            Js::Undefined | Js::Null => Value::Null,
            Js::Bool(b) => Value::Bool(b),
            Js::Number(x) | Js::Date(x) => match json_number(x) {
                Some(n) => n,
                None => return Err((path.to_string(), Js::Number(x).describe())),
            },
            Js::String(s) | Js::BigInt(s) => Value::String(s),
            Js::Array(items) => Value::Array(
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| v.into_json(&format!("{path}[{i}]")))
                    .collect::<std::result::Result<_, _>>()?,
            ),
            Js::Object(props) => Value::Object(
                props
                    .into_iter()
                    .map(|(k, v)| {
                        let at = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                        v.into_json(&at).map(|v| (k, v))
                    })
                    .collect::<std::result::Result<_, _>>()?,
            ),
            other => return Err((path.to_string(), other.describe())),
        })
    }
}

fn json_number(x: f64) -> Option<serde_json::Value> {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Some(serde_json::Value::Number((x as i64).into()))
    } else {
        serde_json::Number::from_f64(x).map(serde_json::Value::Number)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// What went wrong while reading a value; [`parse`] adds the path.
#[derive(Debug)]
pub enum JsError {
    Type(String),
    Range(String),
    /// A key the struct does not have (`deny_unknown_fields`).
    UnknownKey,
    /// A required field is absent.
    Missing(&'static str),
}

impl fmt::Display for JsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsError::Type(m) | JsError::Range(m) => f.write_str(m),
            JsError::UnknownKey => f.write_str("unknown key"),
            JsError::Missing(k) => write!(f, "{k} is required"),
        }
    }
}

impl std::error::Error for JsError {}

impl de::Error for JsError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        JsError::Type(msg.to_string())
    }
    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        JsError::Type(format!("must be {exp}, got {unexp}"))
    }
    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        JsError::Range(format!("must be {exp}, got {unexp}"))
    }
    fn unknown_field(_field: &str, _expected: &'static [&'static str]) -> Self {
        JsError::UnknownKey
    }
    fn missing_field(field: &'static str) -> Self {
        JsError::Missing(field)
    }
}

fn type_error(what: &str, v: &Js) -> JsError {
    JsError::Type(format!("must be {what}, got {}", v.describe()))
}

// ---------------------------------------------------------------------------------------------
// The deserializer

macro_rules! integer {
    ($($method:ident: $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
            match self {
                Js::Number(x) if x.fract() == 0.0 && *x >= <$t>::MIN as f64 && *x <= <$t>::MAX as f64 => {
                    if *x < 0.0 { visitor.visit_i64(*x as i64) } else { visitor.visit_u64(*x as u64) }
                }
                Js::Number(_) => Err(JsError::Range(format!(
                    "must be an integer in [{}, {}], got {}", <$t>::MIN, <$t>::MAX, self.describe()
                ))),
                other => Err(type_error("an integer", other)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &'de Js {
    type Error = JsError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        match self {
            Js::Undefined | Js::Null => visitor.visit_unit(),
            Js::Bool(b) => visitor.visit_bool(*b),
            Js::Number(x) | Js::Date(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => {
                if *x < 0.0 {
                    visitor.visit_i64(*x as i64)
                } else {
                    visitor.visit_u64(*x as u64)
                }
            }
            Js::Number(x) | Js::Date(x) => visitor.visit_f64(*x),
            Js::String(s) | Js::BigInt(s) => visitor.visit_borrowed_str(s),
            Js::Array(items) => visitor.visit_seq(Seq { items: items.iter() }),
            Js::Object(props) => visitor.visit_map(Map { props: props.iter(), value: None }),
            other => Err(JsError::Type(format!("must not be {}", other.describe()))),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        if self.is_nullish() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        match self {
            Js::Bool(b) => visitor.visit_bool(*b),
            other => Err(type_error("a boolean", other)),
        }
    }

    integer!(deserialize_i8: i8, deserialize_i16: i16, deserialize_i32: i32, deserialize_i64: i64,
        deserialize_u8: u8, deserialize_u16: u16, deserialize_u32: u32, deserialize_u64: u64);

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        match self {
            Js::Number(x) => visitor.visit_f64(*x),
            other => Err(type_error("a number", other)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        match self {
            Js::String(s) => visitor.visit_borrowed_str(s),
            other => Err(type_error("a string", other)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        match self {
            Js::Array(items) => visitor.visit_seq(Seq { items: items.iter() }),
            other => Err(type_error("an array", other)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        match self {
            Js::Object(props) => visitor.visit_map(Map { props: props.iter(), value: None }),
            other => Err(type_error("an object", other)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> std::result::Result<V::Value, JsError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> std::result::Result<V::Value, JsError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> std::result::Result<V::Value, JsError> {
        match self {
            Js::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => Err(type_error("a string", other)),
        }
    }

    /// Anything, functions included: for fields the binding reads itself (`signal`, `onLog`).
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! { i128 u128 bytes byte_buf unit unit_struct tuple_struct }
}

struct Seq<'de> {
    items: std::slice::Iter<'de, Js>,
}

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = JsError;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> std::result::Result<Option<T::Value>, JsError> {
        self.items.next().map(|v| seed.deserialize(v)).transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'de> {
    props: std::slice::Iter<'de, (String, Js)>,
    value: Option<&'de Js>,
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = JsError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> std::result::Result<Option<K::Value>, JsError> {
        match self.props.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(de::value::BorrowedStrDeserializer::new(k)).map(Some)
            }
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> std::result::Result<V::Value, JsError> {
        seed.deserialize(self.value.take().unwrap_or(&Js::Undefined))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a value

/// Reads `value` as `T`; errors name the field from `prefix` (`options`, `questions`, or `""`
/// for the fields of a top-level object) and, for an unknown key, the function it was given to.
pub fn parse<T: DeserializeOwned>(value: &Js, prefix: &str, function: &str) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let segments: Vec<Segment> = e
            .path()
            .iter()
            .map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Segment::Index(*index),
                serde_path_to_error::Segment::Map { key } | serde_path_to_error::Segment::Enum { variant: key } => {
                    Segment::Key(key.clone())
                }
                serde_path_to_error::Segment::Unknown => Segment::Key("?".into()),
            })
            .collect();
        let field = field_path(prefix, &segments);
        match e.into_inner() {
            JsError::Type(m) => Error::invalid_type(field, m),
            JsError::Range(m) => Error::out_of_range(field, m),
            JsError::Missing(k) => Error::invalid_type(join(&field, k), "is required"),
            JsError::UnknownKey => {
                let (here, key) = match segments.split_last() {
                    Some((Segment::Key(k), here)) => (here, k.as_str()),
                    _ => (&segments[..], "?"),
                };
                let here: Vec<String> = here.iter().map(|s| s.to_string()).collect();
                Error::UnknownOption { message: unknown_key_message::<T>(prefix, function, &here, key), field }
            }
        }
    })
}

/// An options argument: `undefined`/`null` give the defaults (every field `None`).
pub fn parse_options<T: DeserializeOwned + Default>(value: &Js, prefix: &str, function: &str) -> Result<T> {
    if value.is_nullish() {
        Ok(T::default())
    } else {
        parse(value, prefix, function)
    }
}

enum Segment {
    Key(String),
    Index(usize),
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Key(k) => f.write_str(k),
            Segment::Index(i) => write!(f, "[{i}]"),
        }
    }
}

fn field_path(prefix: &str, segments: &[Segment]) -> String {
    let mut out = prefix.to_string();
    for s in segments {
        match s {
            Segment::Key(k) => out = join(&out, k),
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// `prefix.key`, or `key` when there is no prefix.
pub fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

// ---------------------------------------------------------------------------------------------
// Unknown keys: where they belong

/// Field names of structs by path.
pub type Keys = Vec<(Vec<String>, &'static [&'static str])>;

/// The keys of `T` and of the structs nested in it, by path (`[]`, `["llm"]`, …), read from
/// `T`'s own `Deserialize` so they cannot drift from it.
pub fn option_keys<T: DeserializeOwned>() -> Keys {
    let out = RefCell::new(Vec::new());
    // the probe yields a value for every field, so this only fails for types it cannot walk
    let _ = T::deserialize(Probe { path: vec![], out: &out });
    out.into_inner()
}

/// "options.apiKey is not an option of extract(); did you mean options.llm.apiKey?"
fn unknown_key_message<T: DeserializeOwned>(prefix: &str, function: &str, here: &[String], key: &str) -> String {
    let schema = option_keys::<T>();
    let path_of = |p: &[String], k: &str| join(&p.iter().fold(prefix.to_string(), |acc, s| join(&acc, s)), k);
    let field = path_of(here, key);
    let of = if function.is_empty() { String::new() } else { format!(" of {function}") };
    // the same key in another block (shallowest first), else the nearest spelling (here first)
    let mut blocks: Vec<&(Vec<String>, &[&str])> = schema.iter().collect();
    blocks.sort_by_key(|(p, _)| (p.as_slice() != here, p.len()));
    let elsewhere = blocks.iter().filter(|(p, _)| p.as_slice() != here).find(|(_, keys)| keys.contains(&key));
    let lower = key.to_lowercase();
    let len = key.chars().count();
    let candidates = || blocks.iter().flat_map(|(p, keys)| keys.iter().map(move |k| (p, *k)));
    let near = || {
        let limit = (len / 3).clamp(1, 3);
        candidates()
            .enumerate()
            .map(|(order, (p, k))| (edit_distance(&lower, &k.to_lowercase()), order, p, k))
            .filter(|&(d, ..)| d <= limit && d < len)
            .min_by_key(|&(d, order, ..)| (d, order))
            .map(|(_, _, p, k)| path_of(p, k))
    };
    // `batch` for `batchSize`, `maxTokensPerText` for `maxTokens`
    let prefix_of = || {
        candidates()
            .find(|(_, k)| {
                let k = k.to_lowercase();
                len >= 4 && k.len() >= 4 && (k.starts_with(&lower) || lower.starts_with(&k))
            })
            .map(|(p, k)| path_of(p, k))
    };
    let suggestion = elsewhere.map(|(p, _)| path_of(p, key)).or_else(near).or_else(prefix_of);
    match suggestion {
        Some(s) => format!("{field} is not an option{of}; did you mean {s}?"),
        None => {
            let keys = schema.iter().find(|(p, _)| p.as_slice() == here).map(|(_, k)| k.join(", ")).unwrap_or_default();
            format!("{field} is not an option{of} (its options: {keys})")
        }
    }
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Walks a type's `Deserialize`, giving each struct every one of its fields once, and records
/// the field names of each struct by path.
struct Probe<'a> {
    path: Vec<String>,
    out: &'a RefCell<Keys>,
}

const MAX_PROBE_DEPTH: usize = 8;

impl<'de> de::Deserializer<'de> for Probe<'_> {
    type Error = JsError;

    /// A number: what ids, timestamps and JSON values all accept.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_u64(0)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_bool(false)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_u64(0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_f64(0.0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_str("")
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_some(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_seq(de::value::SeqDeserializer::<std::iter::Empty<()>, JsError>::new(std::iter::empty()))
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_map(de::value::MapDeserializer::<std::iter::Empty<((), ())>, JsError>::new(std::iter::empty()))
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> std::result::Result<V::Value, JsError> {
        if self.path.len() > MAX_PROBE_DEPTH {
            return Err(JsError::Type("nested too deeply".into()));
        }
        self.out.borrow_mut().push((self.path.clone(), fields));
        visitor.visit_map(ProbeFields { fields: fields.iter(), current: "", path: self.path, out: self.out })
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> std::result::Result<V::Value, JsError> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_unit()
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_seq(visitor)
    }

    serde::forward_to_deserialize_any! { unit unit_struct tuple_struct enum bytes byte_buf }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_u64(visitor)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_f64(visitor)
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        visitor.visit_char(' ')
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_str(visitor)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> std::result::Result<V::Value, JsError> {
        self.deserialize_str(visitor)
    }
}

struct ProbeFields<'a> {
    fields: std::slice::Iter<'static, &'static str>,
    current: &'static str,
    path: Vec<String>,
    out: &'a RefCell<Keys>,
}

impl<'de> MapAccess<'de> for ProbeFields<'_> {
    type Error = JsError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> std::result::Result<Option<K::Value>, JsError> {
        match self.fields.next() {
            None => Ok(None),
            Some(f) => {
                self.current = f;
                seed.deserialize(de::value::BorrowedStrDeserializer::new(f)).map(Some)
            }
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> std::result::Result<V::Value, JsError> {
        let mut path = self.path.clone();
        path.push(self.current.to_string());
        seed.deserialize(Probe { path, out: self.out })
    }
}

// ---------------------------------------------------------------------------------------------
// Field helpers: `deserialize_with` functions and range checks

/// `deserialize_with` for fields the binding reads from the JS object itself (an AbortSignal,
/// a callback, the messages of analyzeTenant): any value is accepted here and left at its default.
pub fn skip<'de, D: de::Deserializer<'de>, T: Default>(d: D) -> std::result::Result<T, D::Error> {
    de::IgnoredAny::deserialize(d).map(|_| T::default())
}

/// An id: a non-empty string, or a finite number (Discord snowflakes often arrive as strings,
/// test data as numbers).
#[derive(Debug, Clone, PartialEq)]
pub struct Id(pub String);

impl<'de> de::Deserialize<'de> for Id {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Id, E> {
                if s.is_empty() {
                    Err(E::custom("must be a non-empty string"))
                } else {
                    Ok(Id(s.to_string()))
                }
            }
            fn visit_u64<E: de::Error>(self, x: u64) -> std::result::Result<Id, E> {
                Ok(Id(x.to_string()))
            }
            fn visit_i64<E: de::Error>(self, x: i64) -> std::result::Result<Id, E> {
                Ok(Id(x.to_string()))
            }
            fn visit_f64<E: de::Error>(self, x: f64) -> std::result::Result<Id, E> {
                if x.is_finite() {
                    Ok(Id(x.to_string()))
                } else {
                    Err(E::custom(format!("must be a string, got {}", Js::Number(x).describe())))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `deserialize_with` for a `String` id (see [`Id`]).
pub fn id<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<String, D::Error> {
    Id::deserialize(d).map(|i| i.0)
}

/// `deserialize_with` for an optional id.
pub fn opt_id<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Option::<Id>::deserialize(d).map(|o| o.map(|i| i.0))
}

/// `deserialize_with` for an optional list of ids.
pub fn opt_ids<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<Option<Vec<String>>, D::Error> {
    Option::<Vec<Id>>::deserialize(d).map(|o| o.map(|v| v.into_iter().map(|i| i.0).collect()))
}

/// `deserialize_with` for a timestamp given as an ISO 8601 string, epoch ms or a Date: kept as
/// ISO 8601 (UTC, milliseconds).
pub fn opt_timestamp<'de, D: de::Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    let bad = || de::Error::custom("must be an ISO 8601 string, epoch ms or a Date");
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(v @ (serde_json::Value::String(_) | serde_json::Value::Number(_))) => {
            crate::pipeline::message::parse_timestamp(&v)
                .map(|ms| Some(crate::pipeline::message::iso(ms)))
                .ok_or_else(bad)
        }
        Some(_) => Err(bad()),
    }
}

/// An optional whole number in `[min, max]` (`RangeError` naming `field` otherwise).
pub fn int_in(v: Option<u32>, field: &str, min: usize, max: usize) -> Result<Option<usize>> {
    match v {
        Some(x) if (x as usize) < min || (x as usize) > max => {
            Err(Error::out_of_range(field, format!("must be an integer in [{min}, {max}], got {x}")))
        }
        other => Ok(other.map(|x| x as usize)),
    }
}

/// An optional number in `[min, max]`; NaN and ±Infinity are out of range.
pub fn num_in(v: Option<f64>, field: &str, min: f64, max: f64) -> Result<Option<f64>> {
    match v {
        Some(x) if !x.is_finite() => Err(Error::out_of_range(
            field,
            format!("must be a finite number in [{min}, {max}], got {}", Js::Number(x).describe()),
        )),
        Some(x) if x < min || x > max => {
            Err(Error::out_of_range(field, format!("must be a number in [{min}, {max}], got {x}")))
        }
        other => Ok(other),
    }
}

/// An array item given either as an object (`T`) or as a plain string.
#[derive(Debug)]
pub enum OrString<T> {
    Str(String),
    Item(T),
}

impl<'de, T: de::Deserialize<'de>> de::Deserialize<'de> for OrString<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: de::Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OrString<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object or a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Self::Value, E> {
                Ok(OrString::Str(s.to_string()))
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> std::result::Result<Self::Value, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(OrString::Item)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Default, Debug)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Llm {
        api_key: Option<String>,
        timeout_ms: Option<u32>,
    }

    #[derive(Deserialize, Default, Debug)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Opts {
        threshold: Option<f64>,
        batch_size: Option<u32>,
        cascade: Option<bool>,
        llm: Option<Llm>,
        names: Option<Vec<String>>,
        #[serde(default, deserialize_with = "crate::js::skip")]
        signal: Option<()>,
    }

    fn obj(props: &[(&str, Js)]) -> Js {
        Js::Object(props.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    fn err(v: Js) -> Error {
        parse_options::<Opts>(&v, "options", "extract()").unwrap_err()
    }

    #[test]
    fn reads_values_and_defaults() {
        let v = obj(&[
            ("threshold", Js::Number(0.5)),
            ("batchSize", Js::Number(100000.0)),
            ("llm", obj(&[("apiKey", Js::String("k".into()))])),
            ("names", Js::Array(vec![Js::String("a".into())])),
            ("signal", Js::Function),
        ]);
        let o: Opts = parse_options(&v, "options", "extract()").unwrap();
        assert_eq!(o.threshold, Some(0.5));
        assert_eq!(o.batch_size, Some(100_000));
        assert_eq!(o.llm.unwrap().api_key.as_deref(), Some("k"));
        assert_eq!(o.names.unwrap(), vec!["a"]);
        let d: Opts = parse_options(&Js::Undefined, "options", "extract()").unwrap();
        assert!(d.threshold.is_none() && d.llm.is_none());
    }

    #[test]
    fn errors_name_the_field_and_class() {
        let e = err(obj(&[("llm", obj(&[("timeoutMs", Js::String("5".into()))]))]));
        assert_eq!((e.field(), e.code()), (Some("options.llm.timeoutMs"), "ERR_INVALID_ARG_TYPE"));
        assert_eq!(e.to_string(), "options.llm.timeoutMs: must be an integer, got a string");
        let e = err(obj(&[("batchSize", Js::Number(f64::NAN))]));
        assert_eq!((e.field(), e.code()), (Some("options.batchSize"), "ERR_OUT_OF_RANGE"));
        assert!(e.to_string().ends_with("got NaN"), "{e}");
        let e = err(obj(&[("batchSize", Js::Number(1.5))]));
        assert_eq!(e.code(), "ERR_OUT_OF_RANGE");
        let e = err(obj(&[("cascade", Js::String("yes".into()))]));
        assert_eq!(
            (e.field(), e.to_string().as_str()),
            (Some("options.cascade"), "options.cascade: must be a boolean, got a string")
        );
        let e = err(obj(&[("names", Js::Array(vec![Js::String("a".into()), Js::Number(2.0)]))]));
        assert_eq!(e.field(), Some("options.names[1]"));
        let e = err(Js::String("fast".into()));
        assert_eq!(e.field(), Some("options"));
        // NaN reaches the value, for the range check to report
        let o: Opts = parse(&obj(&[("threshold", Js::Number(f64::NAN))]), "options", "").unwrap();
        assert!(o.threshold.unwrap().is_nan());
    }

    #[test]
    fn unknown_keys_suggest_the_right_place() {
        let e = err(obj(&[("apiKey", Js::String("k".into()))]));
        assert_eq!(e.code(), "ERR_UNKNOWN_OPTION");
        assert_eq!(e.field(), Some("options.apiKey"));
        assert_eq!(e.to_string(), "options.apiKey is not an option of extract(); did you mean options.llm.apiKey?");
        let e = err(obj(&[("treshold", Js::Number(0.5))]));
        assert_eq!(e.to_string(), "options.treshold is not an option of extract(); did you mean options.threshold?");
        let e = err(obj(&[("llm", obj(&[("timeout", Js::Number(5.0))]))]));
        assert_eq!(e.field(), Some("options.llm.timeout"));
        assert_eq!(
            e.to_string(),
            "options.llm.timeout is not an option of extract(); did you mean options.llm.timeoutMs?"
        );
        let e = err(obj(&[("llm", obj(&[("threshold", Js::Number(5.0))]))]));
        assert_eq!(
            e.to_string(),
            "options.llm.threshold is not an option of extract(); did you mean options.threshold?"
        );
        let e = err(obj(&[("zzz", Js::Null)]));
        assert_eq!(
            e.to_string(),
            "options.zzz is not an option of extract() (its options: threshold, batchSize, cascade, llm, names, signal)"
        );
    }

    #[test]
    fn keys_come_from_the_type() {
        let keys = option_keys::<Opts>();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1], (vec!["llm".to_string()], &["apiKey", "timeoutMs"][..]));
    }

    #[test]
    fn json_of_messages_keeps_what_json_can_hold() {
        let v = obj(&[("id", Js::Number(7.0)), ("when", Js::Date(1.0e12)), ("big", Js::BigInt("1".into()))]);
        assert_eq!(v.into_json("").unwrap(), serde_json::json!({"id": 7, "when": 1_000_000_000_000i64, "big": "1"}));
        let bad = obj(&[("content", Js::Function)]);
        assert_eq!(bad.into_json("message").unwrap_err(), ("message.content".into(), "a function".into()));
        assert_eq!(obj(&[("t", Js::Number(f64::NAN))]).into_json("").unwrap_err(), ("t".into(), "NaN".into()));
        assert_eq!(edit_distance("treshold", "threshold"), 1);
    }

    #[derive(Deserialize, Debug)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Question {
        #[serde(deserialize_with = "crate::js::id")]
        id: String,
        text: String,
        confidence: Option<f64>,
        #[serde(default, deserialize_with = "crate::js::opt_ids")]
        message_ids: Option<Vec<String>>,
    }

    fn questions(v: Js) -> Result<Vec<OrString<Question>>> {
        parse(&v, "questions", "")
    }

    #[test]
    fn data_items_name_the_field() {
        let q = |props: &[(&str, Js)]| obj(props);
        let s = |x: &str| Js::String(x.into());
        let e = questions(Js::Array(vec![
            q(&[("id", s("a")), ("text", s("x"))]),
            q(&[("id", Js::Number(3.0)), ("text", Js::Number(5.0))]),
        ]))
        .unwrap_err();
        assert_eq!((e.field(), e.code()), (Some("questions[1].text"), "ERR_INVALID_ARG_TYPE"));
        let e = questions(Js::Array(vec![q(&[("text", s("x"))])])).unwrap_err();
        assert_eq!(e.to_string(), "questions[0].id: is required");
        let e = questions(Js::Array(vec![q(&[("id", s("")), ("text", s("x"))])])).unwrap_err();
        assert_eq!(e.field(), Some("questions[0].id"));
        let e = questions(Js::Array(vec![q(&[("id", Js::Number(f64::NAN)), ("text", s("x"))])])).unwrap_err();
        assert_eq!(e.to_string(), "questions[0].id: must be a string, got NaN");
        let e =
            questions(Js::Array(vec![q(&[("id", s("a")), ("text", s("x")), ("messageIds", s("m1"))])])).unwrap_err();
        assert_eq!(e.field(), Some("questions[0].messageIds"));
        let e = questions(Js::Array(vec![Js::Bool(true)])).unwrap_err();
        assert_eq!(e.to_string(), "questions[0]: must be an object or a string, got boolean `true`");
        assert_eq!(questions(s("nope")).unwrap_err().field(), Some("questions"));
        // extra keys of data items are allowed: only options objects are closed
        let ok = questions(Js::Array(vec![
            s("how?"),
            q(&[
                ("id", Js::Number(7.0)),
                ("text", s("why?")),
                ("messageIds", Js::Array(vec![s("m1"), Js::Number(2.0)])),
                ("extra", Js::Null),
            ]),
        ]))
        .unwrap();
        assert!(matches!(&ok[0], OrString::Str(t) if t == "how?"));
        match &ok[1] {
            OrString::Item(q) => {
                assert_eq!((q.id.as_str(), q.confidence), ("7", None));
                assert_eq!(q.message_ids.as_deref(), Some(&["m1".to_string(), "2".to_string()][..]));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn range_checks() {
        assert_eq!(int_in(Some(0), "options.n", 1, 10).unwrap_err().field(), Some("options.n"));
        assert_eq!(int_in(Some(100_000), "options.batchSize", 1, 1_000_000).unwrap(), Some(100_000));
        let e = num_in(Some(f64::NAN), "q[0].confidence", 0.0, 1.0).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("ERR_OUT_OF_RANGE", "q[0].confidence: must be a finite number in [0, 1], got NaN")
        );
        assert_eq!(num_in(None, "x", 0.0, 1.0).unwrap(), None);
    }
}
