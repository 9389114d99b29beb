//! Sentence embeddings: tokenizers + ONNX Runtime, mean pooling over the attention mask, L2
//! normalisation. Batches are sorted by length so that padding is per batch, not fixed.

use std::path::PathBuf;
use std::sync::Mutex;

use ndarray::{Array2, Axis};
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::similarity::normalize;

/// Default number of tokens a text is cut to (all-MiniLM-L6-v2 was trained on 256).
pub const DEFAULT_MAX_TOKENS: usize = 256;
/// Default number of texts per model run.
pub const DEFAULT_BATCH_SIZE: usize = 32;

pub struct EmbedderConfig {
    pub dir: PathBuf,
    pub dims: usize,
    pub intra_threads: usize,
}

/// Options of one embedding call.
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions {
    pub max_tokens: usize,
    pub batch_size: usize,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions { max_tokens: DEFAULT_MAX_TOKENS, batch_size: DEFAULT_BATCH_SIZE }
    }
}

/// Padded tokens in one model run at most (texts × the longest text's tokens): a run of long
/// texts takes fewer of them, so the encoder's buffers, and ONNX Runtime's arena, which keeps
/// the size of the largest run, stay bounded whatever the length of the pastes.
pub const TOKEN_BUDGET: usize = 2048;

/// Consecutive runs of `order` (sorted by length, ascending), each of at most `batch_size`
/// items and at most [`TOKEN_BUDGET`] padded tokens (always at least one item).
pub fn batches(order: &[usize], len: impl Fn(usize) -> usize, batch_size: usize) -> Vec<&[usize]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (k, &i) in order.iter().enumerate() {
        let n = k - start;
        if n > 0 && (n >= batch_size.max(1) || (n + 1) * len(i) > TOKEN_BUDGET) {
            out.push(&order[start..k]);
            start = k;
        }
    }
    if start < order.len() {
        out.push(&order[start..]);
    }
    out
}

pub struct Embedder {
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    pub dims: usize,
    pub model_path: PathBuf,
    pub tokenizer_path: PathBuf,
    has_token_type_ids: bool,
}

/// Loads an ONNX model file into a session with the given thread count.
pub fn load_session(
    env: &ort::environment::Environment,
    path: &std::path::Path,
    intra_threads: usize,
) -> Result<Session> {
    if !path.exists() {
        return Err(Error::ModelMissing(format!(
            "model file {} is missing: run `npm run models` (or set QUESTION_INSIGHTS_MODELS)",
            path.display()
        )));
    }
    let map = |e: ort::Error<_>| Error::ModelMissing(format!("cannot load {}: {e}", path.display()));
    Session::builder(env)?
        .with_intra_threads(intra_threads)
        .map_err(map)?
        .with_inter_threads(1)
        .map_err(map)?
        // batch shapes vary run to run (texts × longest text): a memory pattern per shape would
        // only be kept, never reused
        .with_memory_pattern(false)
        .map_err(map)?
        .commit_from_file(path)
        .map_err(|e| Error::ModelMissing(format!("cannot load {}: {e}", path.display())))
}

/// Loads a tokenizer.json with the packaged fixed padding turned off and truncation set per call.
pub fn load_tokenizer(path: &std::path::Path) -> Result<Tokenizer> {
    if !path.exists() {
        return Err(Error::ModelMissing(format!("tokenizer {} is missing: run `npm run models`", path.display())));
    }
    let mut tok = Tokenizer::from_file(path)
        .map_err(|e| Error::ModelMissing(format!("cannot read tokenizer {}: {e}", path.display())))?;
    // The packaged tokenizer pads every text to 128 tokens; that triples the work on short chat.
    tok.with_padding(None);
    tok.with_truncation(None).map_err(|e| Error::Inference(e.to_string()))?;
    Ok(tok)
}

/// Token ids of a text cut to `max_tokens` (keeping [CLS] … [SEP]).
pub fn encode(tokenizer: &Tokenizer, text: &str, max_tokens: usize) -> Result<Vec<u32>> {
    // A 100 kB paste must not be tokenised in full: no WordPiece token is shorter than one
    // char, and a generous cap keeps every token the model will see.
    let cut = truncate_chars(text, max_tokens.saturating_mul(12).max(64));
    let enc = tokenizer.encode(cut, true).map_err(|e| Error::Inference(e.to_string()))?;
    let mut ids = enc.get_ids().to_vec();
    if ids.len() > max_tokens && max_tokens >= 2 {
        let sep = *ids.last().unwrap();
        ids.truncate(max_tokens - 1);
        ids.push(sep);
    }
    Ok(ids)
}

pub fn truncate_chars(text: &str, max_chars: usize) -> &str {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Builds the three BERT inputs for a batch of token id lists, padded to the batch's longest.
pub fn batch_inputs(batch: &[&Vec<u32>]) -> (Array2<i64>, Array2<i64>) {
    let len = batch.iter().map(|ids| ids.len()).max().unwrap_or(1).max(1);
    let mut ids = Array2::<i64>::zeros((batch.len(), len));
    let mut mask = Array2::<i64>::zeros((batch.len(), len));
    for (row, tokens) in batch.iter().enumerate() {
        for (col, &t) in tokens.iter().enumerate() {
            ids[[row, col]] = t as i64;
            mask[[row, col]] = 1;
        }
    }
    (ids, mask)
}

/// Mean of the token vectors where the mask is 1, then L2-normalised.
pub fn mean_pool_normalize(hidden: &ndarray::ArrayView3<f32>, mask: &Array2<i64>) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(hidden.len_of(Axis(0)));
    for (row, tokens) in hidden.outer_iter().enumerate() {
        let mut sum = vec![0f32; tokens.len_of(Axis(1))];
        let mut count = 0f32;
        for (t, vector) in tokens.outer_iter().enumerate() {
            if mask[[row, t]] == 0 {
                continue;
            }
            count += 1.0;
            for (s, v) in sum.iter_mut().zip(vector.iter()) {
                *s += *v;
            }
        }
        let count = count.max(1e-9);
        sum.iter_mut().for_each(|s| *s /= count);
        normalize(&mut sum);
        out.push(sum);
    }
    out
}

impl Embedder {
    pub fn load(env: &ort::environment::Environment, cfg: &EmbedderConfig) -> Result<Embedder> {
        let model_path = cfg.dir.join("model.onnx");
        let tokenizer_path = cfg.dir.join("tokenizer.json");
        let tokenizer = load_tokenizer(&tokenizer_path)?;
        let session = load_session(env, &model_path, cfg.intra_threads)?;
        let has_token_type_ids = session.inputs().iter().any(|i| i.name() == "token_type_ids");
        Ok(Embedder {
            session: Mutex::new(session),
            tokenizer,
            dims: cfg.dims,
            model_path,
            tokenizer_path,
            has_token_type_ids,
        })
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Token ids of each text, cut to `max_tokens`.
    pub fn tokenize(&self, texts: &[&str], max_tokens: usize) -> Result<Vec<Vec<u32>>> {
        texts.iter().map(|t| encode(&self.tokenizer, t, max_tokens)).collect()
    }

    /// Embeddings of `texts`, in input order, each of `dims` floats with unit length.
    pub fn embed(&self, texts: &[&str], opts: EmbedOptions) -> Result<Vec<Vec<f32>>> {
        self.embed_with(texts, opts, &mut |_, _| Ok(()))
    }

    /// Like [`Embedder::embed`], calling `on_batch(done, total)` after every model run; an error
    /// from the callback (e.g. cancellation) stops the work.
    pub fn embed_with(
        &self,
        texts: &[&str],
        opts: EmbedOptions,
        on_batch: &mut dyn FnMut(usize, usize) -> Result<()>,
    ) -> Result<Vec<Vec<f32>>> {
        let tokens = self.tokenize(texts, opts.max_tokens.max(2))?;
        self.embed_tokens(&tokens, opts.batch_size, on_batch)
    }

    /// Embeds already tokenised texts: sorts them by length, runs the model batch by batch.
    pub fn embed_tokens(
        &self,
        tokens: &[Vec<u32>],
        batch_size: usize,
        on_batch: &mut dyn FnMut(usize, usize) -> Result<()>,
    ) -> Result<Vec<Vec<f32>>> {
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); tokens.len()];
        let mut done = 0;
        for chunk in batches(&order, |i| tokens[i].len(), batch_size) {
            let batch: Vec<&Vec<u32>> = chunk.iter().map(|&i| &tokens[i]).collect();
            let vectors = self.run_batch(&batch)?;
            for (&i, v) in chunk.iter().zip(vectors) {
                out[i] = v;
            }
            done += chunk.len();
            on_batch(done, tokens.len())?;
        }
        Ok(out)
    }

    fn run_batch(&self, batch: &[&Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let (ids, mask) = batch_inputs(batch);
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let hidden = {
            let shape = ids.raw_dim();
            let ids_t = Tensor::from_array(ids)?;
            // the mask is needed again for pooling
            let mask_t = Tensor::from_array(mask.clone())?;
            let outputs = if self.has_token_type_ids {
                let types_t = Tensor::from_array(Array2::<i64>::zeros(shape))?;
                session.run(ort::inputs![
                    "input_ids" => ids_t,
                    "attention_mask" => mask_t,
                    "token_type_ids" => types_t
                ])?
            } else {
                session.run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])?
            };
            let view = outputs[0].try_extract_array::<f32>()?;
            view.into_dimensionality::<ndarray::Ix3>()
                .map_err(|e| Error::Inference(format!("unexpected encoder output shape: {e}")))?
                .to_owned()
        };
        drop(session);
        Ok(mean_pool_normalize(&hidden.view(), &mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_ignores_padding_and_normalises() {
        // two rows: the second has one real token and one padded token that must be ignored
        let hidden =
            ndarray::Array3::from_shape_vec((2, 2, 2), vec![1.0, 0.0, 3.0, 0.0, /* row 2 */ 0.0, 2.0, 100.0, 100.0])
                .unwrap();
        let mask = ndarray::arr2(&[[1, 1], [1, 0]]);
        let out = mean_pool_normalize(&hidden.view(), &mask);
        assert_eq!(out[0], vec![1.0, 0.0]);
        assert_eq!(out[1], vec![0.0, 1.0]);
    }

    #[test]
    fn batches_respect_the_count_and_the_token_budget() {
        // 40 short texts (10 tokens), then 20 of 256: 32 + 8 short, then 8 + 8 + 4 long
        let lens: Vec<usize> = [vec![10; 40], vec![256; 20]].concat();
        let order: Vec<usize> = (0..lens.len()).collect();
        let sizes: Vec<usize> = batches(&order, |i| lens[i], 32).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![32, 8, 8, 8, 4]);
        for b in batches(&order, |i| lens[i], 32) {
            assert!(b.len() * lens[*b.last().unwrap()] <= TOKEN_BUDGET);
        }
        // one text longer than the budget still runs, alone
        let long = [5000usize];
        assert_eq!(batches(&[0], |i| long[i], 32), vec![&[0usize][..]]);
        assert!(batches(&[], |i: usize| i, 32).is_empty());
        let all: Vec<usize> = batches(&order, |i| lens[i], 7).concat();
        assert_eq!(all, order, "every item once, in order");
    }

    #[test]
    fn batch_inputs_pad_to_the_longest_in_the_batch() {
        let a = vec![101, 7, 102];
        let b = vec![101, 102];
        let (ids, mask) = batch_inputs(&[&a, &b]);
        assert_eq!(ids.shape(), &[2, 3]);
        assert_eq!(mask.row(1).to_vec(), vec![1, 1, 0]);
        assert_eq!(ids.row(1).to_vec(), vec![101, 102, 0]);
    }

    #[test]
    fn truncate_chars_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé");
        assert_eq!(truncate_chars("ab", 10), "ab");
        assert_eq!(truncate_chars("🙂🙂🙂", 1), "🙂");
    }
}
