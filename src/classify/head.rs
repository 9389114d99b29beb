//! The built-in question head: two logistic regressions (see the module docs of `classify`),
//! stored as JSON in models/classifier/question-head.json, and optionally a third between them,
//! the static tier (`static`: see `static_tier`), whose table is a file next to the JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::features::{lexical, surface, LEXICAL, SURFACE};
use super::static_tier::StaticStage;
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
    /// The static tier between the lexical stage and the encoder; heads without it skip it.
    #[serde(default, rename = "static", skip_serializing_if = "Option::is_none")]
    pub static_tier: Option<StaticStage>,
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
        let mut head: QuestionHead = serde_json::from_str(&text)
            .map_err(|e| Error::ModelMissing(format!("{} is not a question head: {e}", path.display())))?;
        head.validate().map_err(|m| Error::ModelMissing(format!("{}: {m}", path.display())))?;
        // the static tier only saves encoder runs: without its table (missing, or not the one the
        // head was trained on) the head still classifies, as the lexical + encoder cascade
        if let Some(st) = head.static_tier.as_mut() {
            if let Err(e) = st.load_table(path) {
                eprintln!("question-insights: static tier off: {e}");
                head.static_tier = None;
            }
        }
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
        if let Some(st) = &self.static_tier {
            let l = &st.linear;
            if l.embedding.len() != st.dims || l.surface.len() != SURFACE || l.lexical.len() != LEXICAL {
                return Err("static has the wrong number of weights".into());
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

#[cfg(test)]
mod tests {
    use super::super::static_tier::{StaticStage, StaticTable};
    use super::*;

    fn linear(dims: usize) -> Linear {
        Linear { bias: 0.5, embedding: vec![0.1; dims], surface: vec![0.0; SURFACE], lexical: vec![0.0; LEXICAL] }
    }

    fn head(static_tier: Option<StaticStage>) -> QuestionHead {
        QuestionHead {
            format: FORMAT.into(),
            encoder: "minilm".into(),
            dims: 3,
            band: (0.02, 0.98),
            stage1: linear(0),
            stage2: linear(3),
            static_tier,
            trained: serde_json::Value::Null,
        }
    }

    #[test]
    fn heads_with_and_without_the_static_tier_load() {
        let dir = tempfile::tempdir().unwrap();
        // an old head: no `static` block
        let old = dir.path().join("old.json");
        std::fs::write(&old, serde_json::to_string(&head(None)).unwrap()).unwrap();
        assert!(!std::fs::read_to_string(&old).unwrap().contains("\"static\""));
        assert!(QuestionHead::load(&old).unwrap().static_tier.is_none());
        // a head with its table next to it
        let table = StaticTable::quantize(&[1.0, 0.0, 0.0, 1.0], 2);
        let bytes = table.to_bytes();
        std::fs::write(dir.path().join("t.bin"), &bytes).unwrap();
        let st = StaticStage {
            table: "t.bin".into(),
            sha256: super::super::static_tier::sha256_hex(&bytes),
            dims: 2,
            band: (0.1, 0.9),
            linear: linear(2),
            lookup: None,
        };
        let new = dir.path().join("new.json");
        std::fs::write(&new, serde_json::to_string(&head(Some(st.clone()))).unwrap()).unwrap();
        let loaded = QuestionHead::load(&new).unwrap();
        let s = loaded.static_tier.expect("static tier");
        assert_eq!(s.lookup.as_ref().expect("table loaded").vocab(), 2);
        assert!(s.decides(0.05) && s.decides(0.95) && !s.decides(0.5));
        // a table that is not the one trained on: the head loads without the tier
        let wrong = StaticStage { sha256: "00".repeat(32), ..st };
        std::fs::write(&new, serde_json::to_string(&head(Some(wrong))).unwrap()).unwrap();
        assert!(QuestionHead::load(&new).unwrap().static_tier.is_none());
    }
}
