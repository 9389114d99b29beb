//! Question classification. Placeholder until the classifier issue lands: loads nothing.

use std::path::Path;

use crate::error::Result;

pub struct Classifier {}

impl Classifier {
    pub fn load(
        _env: &ort::environment::Environment,
        _models_dir: &Path,
        _external: Option<&Path>,
        _intra_threads: usize,
    ) -> Result<Classifier> {
        Ok(Classifier {})
    }
}
