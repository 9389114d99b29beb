//! The one error type of the core. The binding maps it once to a JS error with a stable `code`.

use thiserror::Error;

/// Which JS error class an [`Error`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Wrong type of an argument or field (`TypeError`).
    Type,
    /// A value of the right type outside its allowed range (`RangeError`).
    Range,
    /// Anything else (`Error`).
    Plain,
    /// The caller cancelled the work (`AbortError`).
    Abort,
}

#[derive(Debug, Error)]
pub enum Error {
    /// A field has the wrong type. `field` is the path of the offending value, e.g. `questions[3].id`.
    #[error("{field}: {message}")]
    InvalidType { field: String, message: String },
    /// A field has a value outside its range.
    #[error("{field}: {message}")]
    OutOfRange { field: String, message: String },
    /// An options object has a key that is not one of its options (`TypeError`); the message
    /// names it and suggests the right place when one is close.
    #[error("{message}")]
    UnknownOption { field: String, message: String },
    /// A model file or the ONNX Runtime library is missing or unusable.
    #[error("{0}")]
    ModelMissing(String),
    /// ONNX Runtime or the tokenizer failed while running a model.
    #[error("inference failed: {0}")]
    Inference(String),
    /// An I/O problem (reading model files, manifest).
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    /// The caller's message source (a pull function or async iterator) failed.
    #[error("messages: the message source failed: {0}")]
    Source(String),
    /// The work was cancelled through an AbortSignal.
    #[error("The operation was aborted")]
    Aborted,
    /// A bug: a panic inside the library, caught before it could reach Node.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid_type(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidType { field: field.into(), message: message.into() }
    }

    pub fn out_of_range(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::OutOfRange { field: field.into(), message: message.into() }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io { context: context.into(), source }
    }

    /// Stable machine-readable code, exposed to JS as `err.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidType { .. } => "ERR_INVALID_ARG_TYPE",
            Error::OutOfRange { .. } => "ERR_OUT_OF_RANGE",
            Error::UnknownOption { .. } => "ERR_UNKNOWN_OPTION",
            Error::ModelMissing(_) => "ERR_MODEL_MISSING",
            Error::Inference(_) => "ERR_INFERENCE",
            Error::Io { .. } => "ERR_IO",
            Error::Source(_) => "ERR_MESSAGE_SOURCE",
            Error::Aborted => "ABORT_ERR",
            Error::Internal(_) => "ERR_INTERNAL",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidType { .. } | Error::UnknownOption { .. } => ErrorKind::Type,
            Error::OutOfRange { .. } => ErrorKind::Range,
            Error::Aborted => ErrorKind::Abort,
            _ => ErrorKind::Plain,
        }
    }

    /// The offending field, for validation errors.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidType { field, .. } | Error::OutOfRange { field, .. } | Error::UnknownOption { field, .. } => {
                Some(field)
            }
            _ => None,
        }
    }
}

impl From<ort::Error> for Error {
    fn from(e: ort::Error) -> Self {
        Error::Inference(e.to_string())
    }
}
