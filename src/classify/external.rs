//! A Hugging Face sequence-classification model exported to ONNX (`model.onnx`,
//! `tokenizer.json`, `config.json` with `id2label`), used instead of the built-in head —
//! e.g. `optimum-cli export onnx --model shahrukhx01/question-vs-statement-classifier out/`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ndarray::Array2;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use super::ClassifyOptions;
use crate::embed::{batch_inputs, encode, load_session, load_tokenizer};
use crate::error::{Error, Result};

pub struct External {
    pub dir: PathBuf,
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    /// Index of the question label in the model's output.
    pub question_index: usize,
    pub labels: Vec<String>,
    input_names: Vec<String>,
}

/// Finds the question label: the one named like "question" (not "non-question"), or `wanted`
/// (a label name or index) when given.
pub fn question_label(labels: &[String], wanted: Option<&str>) -> std::result::Result<usize, String> {
    if let Some(w) = wanted {
        if let Some(i) = labels.iter().position(|l| l.eq_ignore_ascii_case(w)) {
            return Ok(i);
        }
        if let Ok(i) = w.parse::<usize>() {
            if i < labels.len() {
                return Ok(i);
            }
        }
        return Err(format!("label {w:?} is not one of {labels:?}"));
    }
    let candidates: Vec<usize> = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.to_lowercase();
            l.contains("question") && !l.contains("non") && !l.contains("not")
        })
        .map(|(i, _)| i)
        .collect();
    match candidates.as_slice() {
        [i] => Ok(*i),
        _ => Err(format!("cannot tell which of the labels {labels:?} means 'question': set classifierQuestionLabel")),
    }
}

impl External {
    pub fn load(
        env: &ort::environment::Environment,
        dir: &Path,
        question: Option<&str>,
        intra_threads: usize,
    ) -> Result<External> {
        let config_path = dir.join("config.json");
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&config_path)
                .map_err(|e| Error::io(format!("reading {}", config_path.display()), e))?,
        )
        .map_err(|e| Error::ModelMissing(format!("{} is not JSON: {e}", config_path.display())))?;
        let id2label = config
            .get("id2label")
            .and_then(|v| v.as_object())
            .ok_or_else(|| Error::ModelMissing(format!("{} has no id2label", config_path.display())))?;
        let mut labels = vec![String::new(); id2label.len()];
        for (k, v) in id2label {
            let i: usize = k.parse().map_err(|_| Error::ModelMissing(format!("id2label key {k:?} is not an index")))?;
            let slot =
                labels.get_mut(i).ok_or_else(|| Error::ModelMissing(format!("id2label index {i} is out of range")))?;
            *slot = v.as_str().unwrap_or_default().to_string();
        }
        let question_index = question_label(&labels, question).map_err(Error::ModelMissing)?;
        let tokenizer = load_tokenizer(&dir.join("tokenizer.json"))?;
        let session = load_session(env, &dir.join("model.onnx"), intra_threads)?;
        let input_names = session.inputs().iter().map(|i| i.name().to_string()).collect();
        Ok(External {
            dir: dir.to_path_buf(),
            session: Mutex::new(session),
            tokenizer,
            question_index,
            labels,
            input_names,
        })
    }

    /// P(question) of each text, in input order.
    pub fn predict(
        &self,
        texts: &[&str],
        opts: &ClassifyOptions,
        on_batch: &mut dyn FnMut(usize, usize) -> Result<()>,
    ) -> Result<Vec<f32>> {
        let tokens: Vec<Vec<u32>> =
            texts.iter().map(|t| encode(&self.tokenizer, t, opts.max_tokens.max(2))).collect::<Result<_>>()?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let mut out = vec![0f32; texts.len()];
        let mut done = 0;
        for chunk in crate::embed::batches(&order, |i| tokens[i].len(), opts.batch_size, crate::embed::TOKEN_BUDGET) {
            let batch: Vec<&Vec<u32>> = chunk.iter().map(|&i| &tokens[i]).collect();
            let (ids, mask) = batch_inputs(&batch);
            let mut inputs: Vec<(String, ort::session::SessionInputValue<'_>)> = Vec::new();
            for name in &self.input_names {
                let value = match name.as_str() {
                    "input_ids" => Tensor::from_array(ids.clone())?,
                    "attention_mask" => Tensor::from_array(mask.clone())?,
                    "token_type_ids" => Tensor::from_array(Array2::<i64>::zeros(ids.raw_dim()))?,
                    other => return Err(Error::ModelMissing(format!("unsupported model input {other:?}"))),
                };
                inputs.push((name.clone(), value.into()));
            }
            let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
            let outputs = session.run(inputs)?;
            let logits = outputs[0].try_extract_array::<f32>()?;
            let logits = logits
                .into_dimensionality::<ndarray::Ix2>()
                .map_err(|e| Error::Inference(format!("expected logits [batch, labels]: {e}")))?;
            if logits.ncols() != self.labels.len() {
                return Err(Error::Inference(format!(
                    "model gives {} logits for {} labels",
                    logits.ncols(),
                    self.labels.len()
                )));
            }
            for (row, &i) in logits.outer_iter().zip(chunk) {
                let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
                let sum: f32 = row.iter().map(|x| (x - max).exp()).sum();
                out[i] = (row[self.question_index] - max).exp() / sum;
            }
            drop(outputs);
            drop(session);
            done += chunk.len();
            on_batch(done, texts.len())?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_question_label_by_name() {
        let l = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(question_label(&l(&["STATEMENT", "QUESTION"]), None), Ok(1));
        assert_eq!(question_label(&l(&["question", "non-question"]), None), Ok(0));
        assert!(question_label(&l(&["LABEL_0", "LABEL_1"]), None).is_err());
        assert_eq!(question_label(&l(&["LABEL_0", "LABEL_1"]), Some("LABEL_1")), Ok(1));
        assert_eq!(question_label(&l(&["LABEL_0", "LABEL_1"]), Some("0")), Ok(0));
        assert!(question_label(&l(&["a", "b"]), Some("7")).is_err());
    }
}
