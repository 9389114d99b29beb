//! The role model: a multinomial logistic regression over [`Candidate`] features, stored as
//! JSON in models/asks/ask-model.json (written by `npm run train:asks`) and compiled into the
//! library. Dense weights are stored by feature name, so a file from an older feature set
//! still loads (a feature it lacks weighs 0).

use std::collections::BTreeMap;

use once_cell::sync::Lazy;
use serde::{Deserialize, Serialize};

use super::features::{Candidate, DENSE, DENSE_LEN};
use super::Role;
use crate::classify::features::SURFACE;

/// The file format. `asks@1` files also held 1,024 hashed-word weights per class; the words
/// fitted the training room and cost held-out F1, so `asks@2` has none and `asks@1` is refused.
pub const FORMAT: &str = "question-insights/asks@2";

/// The classes, in the order of the model's outputs.
pub const CLASSES: [Role; 4] = [Role::Ask, Role::Clarification, Role::Backchannel, Role::Other];
pub const K: usize = CLASSES.len();

/// Parameters per class: bias, dense, surface.
pub const PARAMS: usize = 1 + DENSE_LEN + SURFACE;

/// The model file as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelFile {
    pub format: String,
    pub classes: Vec<String>,
    /// The tuned minimum P(ask) for the ask role.
    pub threshold: f32,
    pub bias: Vec<f32>,
    /// Feature name → one weight per class.
    pub dense: BTreeMap<String, Vec<f32>>,
    /// Per class, [`SURFACE`] weights (empty: zeros).
    #[serde(default)]
    pub surface: Vec<Vec<f32>>,
    /// Free-form record of the training run (data, options, cross-validation).
    #[serde(default)]
    pub trained: serde_json::Value,
}

/// The model in memory: `w[param * K + class]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AskModel {
    pub threshold: f32,
    pub w: Vec<f32>,
    pub trained: serde_json::Value,
}

fn round4(x: f32) -> f32 {
    (x * 1e4).round() / 1e4
}

impl AskModel {
    pub fn zeros(threshold: f32) -> AskModel {
        AskModel { threshold, w: vec![0.0; PARAMS * K], trained: serde_json::Value::Null }
    }

    pub fn from_file(f: &ModelFile) -> Result<AskModel, String> {
        if f.format != FORMAT {
            return Err(format!("format {:?} is not {FORMAT:?}: retrain it with npm run train:asks", f.format));
        }
        let names: Vec<&str> = CLASSES.iter().map(|c| c.as_str()).collect();
        if f.classes != names {
            return Err(format!("classes must be {names:?}"));
        }
        let mut m = AskModel::zeros(f.threshold);
        m.trained = f.trained.clone();
        let mut set = |param: usize, ws: &[f32], what: &str| -> Result<(), String> {
            if ws.len() != K {
                return Err(format!("{what} needs {K} weights"));
            }
            m.w[param * K..param * K + K].copy_from_slice(ws);
            Ok(())
        };
        set(0, &f.bias, "bias")?;
        for (name, ws) in &f.dense {
            // a feature this build no longer has is ignored
            if let Some(d) = DENSE.iter().position(|n| n == name) {
                set(1 + d, ws, name)?;
            }
        }
        // the surface block: none (zeros), or K rows of SURFACE weights
        if !f.surface.is_empty() {
            if f.surface.len() != K || f.surface.iter().any(|v| v.len() != SURFACE) {
                return Err(format!("surface needs {K} rows of {SURFACE} weights"));
            }
            for (k, row) in f.surface.iter().enumerate() {
                for (j, &x) in row.iter().enumerate() {
                    m.w[(1 + DENSE_LEN + j) * K + k] = x;
                }
            }
        }
        Ok(m)
    }

    pub fn to_file(&self) -> ModelFile {
        let col = |param: usize| self.w[param * K..param * K + K].iter().map(|&x| round4(x)).collect::<Vec<f32>>();
        let block = |offset: usize, len: usize| -> Vec<Vec<f32>> {
            (0..K).map(|k| (0..len).map(|j| round4(self.w[(offset + j) * K + k])).collect()).collect()
        };
        ModelFile {
            format: FORMAT.into(),
            classes: CLASSES.iter().map(|c| c.as_str().to_string()).collect(),
            threshold: round4(self.threshold),
            bias: col(0),
            dense: DENSE.iter().enumerate().map(|(d, n)| (n.to_string(), col(1 + d))).collect(),
            surface: block(1 + DENSE_LEN, SURFACE),
            trained: self.trained.clone(),
        }
    }

    /// The class logits of a candidate.
    pub fn logits(&self, c: &Candidate) -> [f32; K] {
        let mut z = [0f32; K];
        let mut add = |param: usize, x: f32| {
            if x != 0.0 {
                for (k, zk) in z.iter_mut().enumerate() {
                    *zk += self.w[param * K + k] * x;
                }
            }
        };
        add(0, 1.0);
        for (d, &x) in c.dense.iter().enumerate() {
            add(1 + d, x);
        }
        for (s, &x) in c.surface.iter().enumerate() {
            add(1 + DENSE_LEN + s, x);
        }
        z
    }

    /// Class probabilities, in [`CLASSES`] order.
    pub fn predict(&self, c: &Candidate) -> [f32; K] {
        softmax(self.logits(c))
    }
}

pub fn softmax(z: [f32; K]) -> [f32; K] {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut p = z.map(|x| (x - max).exp());
    let s: f32 = p.iter().sum();
    p.iter_mut().for_each(|x| *x /= s);
    p
}

/// Names a model file to use instead of the compiled-in one (for evaluating a freshly trained
/// model without rebuilding: `npm run eval:asks -- --model out/x.json` sets it).
pub const MODEL_ENV: &str = "QUESTION_INSIGHTS_ASK_MODEL";

/// Reads a model file.
pub fn load(path: &std::path::Path) -> Result<AskModel, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let f: ModelFile =
        serde_json::from_str(&text).map_err(|e| format!("{} is not an ask model: {e}", path.display()))?;
    AskModel::from_file(&f).map_err(|e| format!("{}: {e}", path.display()))
}

/// The model in use: the compiled-in one (models/asks/ask-model.json), or the file named by
/// `$QUESTION_INSIGHTS_ASK_MODEL` (when it does not load, the compiled-in one, with a warning).
pub static BUILTIN: Lazy<AskModel> = Lazy::new(|| {
    if let Some(path) = std::env::var_os(MODEL_ENV) {
        match load(std::path::Path::new(&path)) {
            Ok(m) => return m,
            Err(e) => eprintln!("question-insights: {MODEL_ENV}: {e}; using the built-in ask model"),
        }
    }
    let f: ModelFile = serde_json::from_str(include_str!("../../models/asks/ask-model.json"))
        .expect("models/asks/ask-model.json is a model file");
    AskModel::from_file(&f).expect("models/asks/ask-model.json is valid")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_model_loads_and_round_trips() {
        let m = &*BUILTIN;
        assert!(m.threshold > 0.0 && m.threshold < 1.0);
        let back = AskModel::from_file(&m.to_file()).unwrap();
        assert_eq!(back.w, m.w.iter().map(|&x| round4(x)).collect::<Vec<_>>());
        let mut f = m.to_file();
        f.dense.insert("a feature of the future".into(), vec![1.0; K]);
        assert!(AskModel::from_file(&f).is_ok(), "unknown features are ignored");
        f.bias.pop();
        assert!(AskModel::from_file(&f).is_err());
    }

    #[test]
    fn a_file_with_hashed_word_weights_is_refused() {
        let mut f = BUILTIN.to_file();
        f.format = "question-insights/asks@1".into();
        let err = AskModel::from_file(&f).unwrap_err();
        assert!(err.contains("asks@1"), "{err}");
    }
}
