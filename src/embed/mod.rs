//! Sentence embeddings: tokenizers + ONNX Runtime, mean pooling over the attention mask, L2
//! normalisation.
//!
//! Two encoders share the model file:
//! - **int8** (the default): the graph rewritten by [`int8::rewrite`] so its matrix products run
//!   on integer kernels. Its activations are quantised with one scale per token, so a text's
//!   vector never depends on what else is embedded with it; runs hold at most
//!   [`INT8_TOKEN_BUDGET`] padded tokens. One session per worker thread, each single-threaded,
//!   work-shared over the runs.
//! - **fp32**: the graph as shipped, in batches sorted by length so that padding is per batch.
//!   Loaded on first use: nothing in the pipeline needs it; `precision: 'fp32'` asks for it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

use ndarray::{Array2, Axis};
use once_cell::sync::OnceCell;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::similarity::normalize;

/// Default number of tokens a text is cut to: the smallest cap with which real asks' opening turns
/// find each dialog's replies as well as at 256 tokens (mean reciprocal rank within 0.5 points on
/// both sources of `npm run eval:cluster`: −0.16 and −0.22 at 96, −0.84 on the Gitter rooms at 80,
/// −1.4 at 64). all-MiniLM-L6-v2 was trained on sequences of at most 128 tokens. Against 128, the
/// encoder spends about a tenth less time on the asks of the code-heavy 25k month.
pub const DEFAULT_MAX_TOKENS: usize = 96;
/// Default number of texts per model run.
pub const DEFAULT_BATCH_SIZE: usize = 32;

pub struct EmbedderConfig {
    pub dir: PathBuf,
    pub dims: usize,
    pub intra_threads: usize,
}

pub mod int8;

/// Which encoder computes the vectors (see the module's documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    Int8,
    Fp32,
}

/// Options of one embedding call.
#[derive(Debug, Clone, Copy)]
pub struct EmbedOptions {
    pub max_tokens: usize,
    /// Texts per model run at most (runs also stay within a token budget).
    pub batch_size: usize,
    pub precision: Precision,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions { max_tokens: DEFAULT_MAX_TOKENS, batch_size: DEFAULT_BATCH_SIZE, precision: Precision::Int8 }
    }
}

/// Padded tokens in one model run at most (texts × the longest text's tokens): a run of long
/// texts takes fewer of them, so the encoder's buffers, and ONNX Runtime's arena, which keeps
/// the size of the largest run, stay bounded whatever the length of the pastes.
pub const TOKEN_BUDGET: usize = 2048;

/// The int8 encoder's budget per run: its quantisation adds a few elementwise passes over every
/// activation, which stay in cache at this size (measured on the code-heavy bench: 2,048 was
/// slower and doubled the arenas).
pub const INT8_TOKEN_BUDGET: usize = 256;

/// Consecutive runs of `order` (sorted by length, ascending), each of at most `batch_size`
/// items and at most `budget` padded tokens (always at least one item).
pub fn batches(order: &[usize], len: impl Fn(usize) -> usize, batch_size: usize, budget: usize) -> Vec<&[usize]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (k, &i) in order.iter().enumerate() {
        let n = k - start;
        if n > 0 && (n >= batch_size.max(1) || (n + 1) * len(i) > budget) {
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
    /// The fp32 encoder, loaded on first use (or at once when there is no int8 encoder).
    fp32: OnceCell<Mutex<Session>>,
    env: ort::environment::Environment,
    intra_threads: usize,
    /// The int8 encoder, one single-threaded session per worker; empty when the model has no
    /// int8 weights to compute with (then every call uses the fp32 encoder).
    int8: Vec<Mutex<Session>>,
    /// What the int8 rewrite changed in the graph.
    pub int8_graph: int8::Rewritten,
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
    require_model(path)?;
    session_builder(env, path, intra_threads)?
        .commit_from_file(path)
        .map_err(|e| Error::ModelMissing(format!("cannot load {}: {e}", path.display())))
}

fn require_model(path: &std::path::Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    Err(Error::ModelMissing(format!(
        "model file {} is missing: run `npm run models` (or set QUESTION_INSIGHTS_MODELS)",
        path.display()
    )))
}

fn session_builder(
    env: &ort::environment::Environment,
    path: &std::path::Path,
    intra_threads: usize,
) -> Result<ort::session::builder::SessionBuilder> {
    let map = |e: ort::Error<_>| Error::ModelMissing(format!("cannot load {}: {e}", path.display()));
    Session::builder(env)?
        .with_intra_threads(intra_threads)
        .map_err(map)?
        .with_inter_threads(1)
        .map_err(map)?
        // batch shapes vary run to run (texts × longest text): a memory pattern per shape would
        // only be kept, never reused
        .with_memory_pattern(false)
        .map_err(map)
}

/// The int8 encoder's sessions: `workers` single-threaded sessions of the rewritten graph,
/// sharing their prepacked weights. None when the graph has nothing to compute in int8.
fn load_int8(
    env: &ort::environment::Environment,
    path: &std::path::Path,
    workers: usize,
) -> Result<(Vec<Mutex<Session>>, int8::Rewritten)> {
    require_model(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::ModelMissing(format!("cannot read {}: {e}", path.display())))?;
    let (graph, report) = int8::rewrite(&bytes, calibration_for(&bytes)?, int8::WeightSign::for_this_cpu())?;
    drop(bytes);
    if report.matmuls == 0 {
        return Ok((Vec::new(), report));
    }
    let shared = ort::session::builder::PrepackedWeights::new();
    let sessions = (0..workers.max(1))
        .map(|_| {
            let map = |e: ort::Error<_>| Error::ModelMissing(format!("cannot load {}: {e}", path.display()));
            let mut builder = session_builder(env, path, 1)?
                .with_prepacked_weights(&shared)
                .map_err(map)?
                // Add + LayerNormalization fused into SkipLayerNormalization ran 4× slower than
                // the two apart (measured with ONNX Runtime's profiler on the code-heavy asks)
                .with_config_entry("optimization.disable_specified_optimizers", "SkipLayerNormFusion")
                .map_err(map)?;
            builder
                .commit_from_memory(&graph)
                .map(Mutex::new)
                .map_err(|e| Error::ModelMissing(format!("cannot load {} for int8 compute: {e}", path.display())))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((sessions, report))
}

/// The int8 calibration of the shipped encoder (`scripts/make-int8-calibration.py`), compiled in.
const INT8_CALIBRATION_JSON: &str = include_str!("../../models/int8-calibration.json");

/// The calibration measured on this model file, if it is the one the ranges were measured on.
fn calibration_for(model: &[u8]) -> Result<Option<&'static int8::Calibration>> {
    use sha2::{Digest, Sha256};
    static CALIBRATION: std::sync::OnceLock<std::result::Result<int8::Calibration, String>> =
        std::sync::OnceLock::new();
    let cal = CALIBRATION
        .get_or_init(|| serde_json::from_str(INT8_CALIBRATION_JSON).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| Error::Internal(format!("models/int8-calibration.json: {e}")))?;
    let sha: String = Sha256::digest(model).iter().map(|b| format!("{b:02x}")).collect();
    Ok((sha == cal.model_sha256).then_some(cal))
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
        let (int8, int8_graph) = load_int8(env, &model_path, cfg.intra_threads)?;
        let fp32 = OnceCell::new();
        let has_token_type_ids = match int8.first() {
            Some(s) => {
                s.lock().unwrap_or_else(|p| p.into_inner()).inputs().iter().any(|i| i.name() == "token_type_ids")
            }
            None => {
                let session = load_session(env, &model_path, cfg.intra_threads)?;
                let has = session.inputs().iter().any(|i| i.name() == "token_type_ids");
                let _ = fp32.set(Mutex::new(session));
                has
            }
        };
        Ok(Embedder {
            fp32,
            env: env.clone(),
            intra_threads: cfg.intra_threads,
            int8,
            int8_graph,
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
        let flat = self.embed_flat_with(texts, opts, on_batch)?;
        Ok(flat.chunks_exact(self.dims).map(<[f32]>::to_vec).collect())
    }

    /// Like [`Embedder::embed_with`], the vectors one after the other in one buffer (texts ×
    /// dims): what dedupe and clustering read, without a second copy of the month's vectors.
    pub fn embed_flat_with(
        &self,
        texts: &[&str],
        opts: EmbedOptions,
        on_batch: &mut dyn FnMut(usize, usize) -> Result<()>,
    ) -> Result<Vec<f32>> {
        let tokens = self.tokenize(texts, opts.max_tokens.max(2))?;
        self.embed_tokens(&tokens, opts, on_batch)
    }

    /// Embeds already tokenised texts with the encoder `opts.precision` names, into one buffer:
    /// the texts sorted by length and cut into runs of at most `opts.batch_size` texts and the
    /// encoder's token budget, so that padding is per run.
    pub fn embed_tokens(
        &self,
        tokens: &[Vec<u32>],
        opts: EmbedOptions,
        on_batch: &mut dyn FnMut(usize, usize) -> Result<()>,
    ) -> Result<Vec<f32>> {
        let int8 = opts.precision == Precision::Int8 && !self.int8.is_empty();
        let mut order: Vec<usize> = (0..tokens.len()).collect();
        order.sort_by_key(|&i| tokens[i].len());
        let budget = if int8 { INT8_TOKEN_BUDGET } else { TOKEN_BUDGET };
        let runs = batches(&order, |i| tokens[i].len(), opts.batch_size, budget);
        let mut out = vec![0f32; tokens.len() * self.dims];
        let mut done = 0;
        let mut deliver = |run: &[usize], vectors: Vec<Vec<f32>>| -> Result<()> {
            for (&i, v) in run.iter().zip(vectors) {
                self.store(&mut out, i, &v)?;
            }
            done += run.len();
            on_batch(done, tokens.len())
        };
        if int8 {
            self.run_int8(tokens, &runs, &mut deliver)?;
        } else {
            for &run in &runs {
                let batch: Vec<&Vec<u32>> = run.iter().map(|&i| &tokens[i]).collect();
                deliver(run, self.run_batch(&batch)?)?;
            }
        }
        Ok(out)
    }

    /// The int8 encoder: its workers take the next run as they finish, the longest first, so
    /// that no worker is left with a long paste at the end. `deliver` runs on the calling thread;
    /// an error from it, or from a worker, stops the workers before their next run.
    fn run_int8<'r>(
        &self,
        tokens: &[Vec<u32>],
        runs: &[&'r [usize]],
        deliver: &mut dyn FnMut(&'r [usize], Vec<Vec<f32>>) -> Result<()>,
    ) -> Result<()> {
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<Result<(&[usize], Vec<Vec<f32>>)>>();
            for session in &self.int8 {
                let (tx, next, stop) = (tx.clone(), &next, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        // the runs are sorted by length, ascending: take them from the end
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&run) = runs.len().checked_sub(k + 1).map(|r| &runs[r]) else { break };
                        let batch: Vec<&Vec<u32>> = run.iter().map(|&i| &tokens[i]).collect();
                        let mut session = session.lock().unwrap_or_else(|p| p.into_inner());
                        let vectors = self.run(&mut session, &batch).map(|v| (run, v));
                        drop(session);
                        let failed = vectors.is_err();
                        if tx.send(vectors).is_err() || failed {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let result = rx.iter().try_for_each(|item| item.and_then(|(run, vectors)| deliver(run, vectors)));
            stop.store(true, Ordering::Relaxed);
            result
        })
    }

    /// Writes text `i`'s vector into its place in `out`.
    fn store(&self, out: &mut [f32], i: usize, v: &[f32]) -> Result<()> {
        if v.len() != self.dims {
            return Err(Error::Inference(format!("the encoder gave {} dimensions, expected {}", v.len(), self.dims)));
        }
        out[i * self.dims..(i + 1) * self.dims].copy_from_slice(v);
        Ok(())
    }

    fn run_batch(&self, batch: &[&Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let fp32 = self
            .fp32
            .get_or_try_init(|| load_session(&self.env, &self.model_path, self.intra_threads).map(Mutex::new))?;
        let mut session = fp32.lock().unwrap_or_else(|p| p.into_inner());
        self.run(&mut session, batch)
    }

    fn run(&self, session: &mut Session, batch: &[&Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let (ids, mask) = batch_inputs(batch);
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
        Ok(mean_pool_normalize(&hidden.view(), &mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calibration_applies_only_to_the_model_file_it_was_measured_on() {
        // another file (a different export, a fine-tuned model) gets no ranges: its value
        // projections stay in fp32
        assert!(calibration_for(b"another model").unwrap().is_none());
        let cal: int8::Calibration = serde_json::from_str(INT8_CALIBRATION_JSON).unwrap();
        assert_eq!(cal.model_sha256.len(), 64);
        // the 12 LayerNorm outputs the encoder's products read, 384 channels each, all measured
        assert_eq!(cal.absmax.len(), 12);
        assert!(cal.absmax.values().all(|r| r.len() == 384 && r.iter().all(|&x| x > 0.0 && x.is_finite())));
    }

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
        let sizes: Vec<usize> = batches(&order, |i| lens[i], 32, TOKEN_BUDGET).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![32, 8, 8, 8, 4]);
        for b in batches(&order, |i| lens[i], 32, TOKEN_BUDGET) {
            assert!(b.len() * lens[*b.last().unwrap()] <= TOKEN_BUDGET);
        }
        // one text longer than the budget still runs, alone
        let long = [5000usize];
        assert_eq!(batches(&[0], |i| long[i], 32, TOKEN_BUDGET), vec![&[0usize][..]]);
        assert!(batches(&[], |i: usize| i, 32, TOKEN_BUDGET).is_empty());
        let all: Vec<usize> = batches(&order, |i| lens[i], 7, TOKEN_BUDGET).concat();
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
