//! The built-in question head: two logistic regressions (see the module docs of `classify`),
//! stored as JSON in models/classifier/question-head.json.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::features::{lexical, surface, LEXICAL, SURFACE};
use crate::error::{Error, Result};

pub const FORMAT: &str = "question-insights/question-head@1";

/// Surface features are scaled up so that the shared L2 penalty restrains them less than the
/// thousands of sparse lexical weights.
pub const SURFACE_SCALE: f32 = 3.0;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Linear {
    pub bias: f32,
    /// Weights of the sentence embedding (stage 2 only; empty for stage 1).
    #[serde(default)]
    pub embedding: Vec<f32>,
    pub surface: Vec<f32>,
    pub lexical: Vec<f32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionHead {
    pub format: String,
    /// The encoder the embedding weights belong to (models/manifest.json name).
    pub encoder: String,
    pub dims: usize,
    /// Stage-1 probabilities at or below `band.0` or at or above `band.1` are final.
    pub band: (f32, f32),
    pub stage1: Linear,
    pub stage2: Linear,
    /// Free-form record of the data, options and metrics of the training run.
    #[serde(default)]
    pub trained: serde_json::Value,
}

/// The cheap features of one text.
#[derive(Debug, Clone)]
pub struct Features {
    pub surface: [f32; SURFACE],
    pub lexical: Vec<u32>,
}

impl Features {
    pub fn of(text: &str) -> Features {
        let mut s = surface(text);
        s.iter_mut().for_each(|x| *x *= SURFACE_SCALE);
        Features { surface: s, lexical: lexical(text) }
    }
}

pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

impl Linear {
    pub fn logit(&self, embedding: Option<&[f32]>, f: &Features) -> f32 {
        let mut z = self.bias;
        if let Some(e) = embedding {
            z += e.iter().zip(&self.embedding).map(|(a, b)| a * b).sum::<f32>();
        }
        z += f.surface.iter().zip(&self.surface).map(|(a, b)| a * b).sum::<f32>();
        z += f.lexical.iter().map(|&i| self.lexical[i as usize]).sum::<f32>();
        z
    }
}

impl QuestionHead {
    pub fn load(path: &Path) -> Result<QuestionHead> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let head: QuestionHead = serde_json::from_str(&text)
            .map_err(|e| Error::ModelMissing(format!("{} is not a question head: {e}", path.display())))?;
        head.validate().map_err(|m| Error::ModelMissing(format!("{}: {m}", path.display())))?;
        Ok(head)
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("unsupported format {:?}", self.format));
        }
        for (name, l, dims) in [("stage1", &self.stage1, 0), ("stage2", &self.stage2, self.dims)] {
            if l.embedding.len() != dims || l.surface.len() != SURFACE || l.lexical.len() != LEXICAL {
                return Err(format!("{name} has the wrong number of weights"));
            }
        }
        Ok(())
    }

    pub fn stage1(&self, f: &Features) -> f32 {
        sigmoid(self.stage1.logit(None, f))
    }

    pub fn stage2(&self, embedding: &[f32], f: &Features) -> f32 {
        sigmoid(self.stage2.logit(Some(embedding), f))
    }
}
