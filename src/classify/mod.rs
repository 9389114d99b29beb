//! Question classification: message → P(question).
//!
//! The default model is a two-stage cascade trained by `npm run train:classifier`:
//! 1. a logistic regression over cheap surface and hashed lexical features decides the clear
//!    cases (most chat messages) without running the transformer;
//! 2. messages it is unsure about (P between `band.0` and `band.1`, a band chosen in training
//!    by cross-validation) get a second logistic regression over the MiniLM sentence embedding
//!    plus the same features.
//!
//! On NPS Chat this is as accurate as running the encoder on every message while sending only
//! a small part of real chat through it. Messages that cannot be questions (empty, emoji-only,
//! links or mentions only, bot commands) skip both with confidence 0 and a reason.
//! A Hugging Face sequence-classification model exported to ONNX can replace the cascade.

pub mod external;
pub mod features;
pub mod head;
pub mod rules;
pub mod train;

use std::path::{Path, PathBuf};

use crate::embed::{EmbedOptions, Embedder};
use crate::error::{Error, Result};
pub use external::External;
pub use head::QuestionHead;
pub use rules::{trivial, SkipReason};

/// The seed's threshold: a message counts as a question at confidence ≥ 0.7.
pub const DEFAULT_THRESHOLD: f32 = 0.7;
/// Messages per model run.
pub const DEFAULT_BATCH_SIZE: usize = 32;
/// Tokens the encoder sees of a message when classifying; the surface features see it all.
pub const DEFAULT_CLASSIFY_MAX_TOKENS: usize = 48;

#[derive(Debug, Clone, Copy)]
pub struct ClassifyOptions {
    pub batch_size: usize,
    pub max_tokens: usize,
    /// Decide clear cases without the encoder (default true). Off: the encoder sees every message.
    pub cascade: bool,
}

impl Default for ClassifyOptions {
    fn default() -> Self {
        ClassifyOptions { batch_size: DEFAULT_BATCH_SIZE, max_tokens: DEFAULT_CLASSIFY_MAX_TOKENS, cascade: true }
    }
}

/// Which part of the classifier decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// A cheap rule: the message cannot be a question.
    Rule,
    /// The lexical first stage was confident.
    Lexical,
    /// The encoder stage.
    Encoder,
    /// A user-provided sequence-classification model.
    Model,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Rule => "rule",
            Stage::Lexical => "lexical",
            Stage::Encoder => "encoder",
            Stage::Model => "model",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// P(question) in [0, 1].
    pub confidence: f32,
    pub stage: Stage,
    /// Set when a rule skipped the model.
    pub reason: Option<SkipReason>,
}

/// The loaded classifier: the built-in cascade or an external model.
pub struct Classifier {
    backend: Backend,
}

enum Backend {
    Head(Box<QuestionHead>, PathBuf),
    External(Box<External>),
    /// No head file was found; classification fails with this message, embedding still works.
    Missing(String),
}

/// Where the built-in head is looked for when no path is given.
pub const HEAD_FILE: &str = "models/classifier/question-head.json";

impl Classifier {
    pub fn load(
        env: &ort::environment::Environment,
        head_path: Option<&Path>,
        external: Option<&Path>,
        question_label: Option<&str>,
        intra_threads: usize,
    ) -> Result<Classifier> {
        if let Some(dir) = external {
            return Ok(Classifier {
                backend: Backend::External(Box::new(External::load(env, dir, question_label, intra_threads)?)),
            });
        }
        let backend = match head_path.map(Path::to_path_buf) {
            Some(p) => Backend::Head(Box::new(QuestionHead::load(&p)?), p),
            None => Backend::Missing(format!(
                "no question classifier head found ({HEAD_FILE}): run `npm run train:classifier` or pass classifierModel"
            )),
        };
        Ok(Classifier { backend })
    }

    /// A description for health output: `(kind, path)`.
    pub fn describe(&self) -> (&'static str, Option<String>) {
        match &self.backend {
            Backend::Head(_, p) => ("question-head", Some(p.display().to_string())),
            Backend::External(e) => ("external", Some(e.dir.display().to_string())),
            Backend::Missing(_) => ("missing", None),
        }
    }

    /// Classifies `texts` in input order. `on_batch(done, total)` is called as work completes;
    /// an error from it (cancellation) stops the work.
    pub fn classify(
        &self,
        embedder: &Embedder,
        texts: &[&str],
        opts: &ClassifyOptions,
        on_batch: &mut dyn FnMut(usize, usize) -> Result<()>,
    ) -> Result<Vec<Classification>> {
        let mut out: Vec<Option<Classification>> = vec![None; texts.len()];
        // 1. rules
        let mut pending: Vec<usize> = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            match trivial(t) {
                Some(reason) => {
                    out[i] = Some(Classification { confidence: 0.0, stage: Stage::Rule, reason: Some(reason) })
                }
                None => pending.push(i),
            }
        }
        let total = texts.len();
        let mut done = total - pending.len();
        on_batch(done, total)?;
        match &self.backend {
            Backend::Missing(msg) => return Err(Error::ModelMissing(msg.clone())),
            Backend::External(model) => {
                let sub: Vec<&str> = pending.iter().map(|&i| texts[i]).collect();
                let probs = model.predict(&sub, opts, &mut |d, _| on_batch(done + d, total))?;
                for (&i, p) in pending.iter().zip(probs) {
                    out[i] = Some(Classification { confidence: p, stage: Stage::Model, reason: None });
                }
            }
            Backend::Head(head, _) => {
                // 2. the lexical stage
                // both stages read the prose: code, logs and links reduced to placeholders
                let prose: Vec<std::borrow::Cow<'_, str>> =
                    pending.iter().map(|&i| crate::prose::reduce_cow(texts[i])).collect();
                let mut uncertain = Vec::new();
                let mut uncertain_prose = Vec::new();
                let mut feats = Vec::with_capacity(pending.len());
                for (&i, p_text) in pending.iter().zip(&prose) {
                    let f = head::Features::of(p_text);
                    let p = head.stage1(&f);
                    if opts.cascade && (p <= head.band.0 || p >= head.band.1) {
                        out[i] = Some(Classification { confidence: p, stage: Stage::Lexical, reason: None });
                        done += 1;
                    } else {
                        uncertain.push(i);
                        uncertain_prose.push(&**p_text);
                        feats.push(f);
                    }
                }
                on_batch(done, total)?;
                // 3. the encoder stage
                let sub = uncertain_prose;
                let eopts = EmbedOptions {
                    max_tokens: opts.max_tokens,
                    batch_size: opts.batch_size,
                    ..EmbedOptions::default()
                };
                let vectors = embedder.embed_with(&sub, eopts, &mut |d, _| on_batch(done + d, total))?;
                for ((&i, f), v) in uncertain.iter().zip(&feats).zip(&vectors) {
                    out[i] =
                        Some(Classification { confidence: head.stage2(v, f), stage: Stage::Encoder, reason: None });
                }
            }
        }
        Ok(out.into_iter().map(|c| c.expect("every message is classified")).collect())
    }
}
