//! Training of the built-in question head: two L2-regularised logistic regressions fitted with
//! full-batch Adam (deterministic: fixed order, zero initialisation).

use super::features::{LEXICAL, SURFACE};
use super::head::{Features, Linear, QuestionHead, FORMAT};
use super::rules::trivial;
use crate::embed::{EmbedOptions, Embedder};
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub is_question: bool,
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Inverse L2 strength, as scikit-learn's `C`.
    pub c: f32,
    pub iterations: usize,
    pub band: (f32, f32),
    pub max_tokens: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions { c: 1.0, iterations: 1500, band: (0.02, 0.98), max_tokens: super::DEFAULT_CLASSIFY_MAX_TOKENS }
    }
}

struct Row<'a> {
    embedding: Option<&'a [f32]>,
    f: &'a Features,
    y: f32,
}

/// Fits one logistic regression; `dims` is 0 for the lexical stage.
fn fit(rows: &[Row<'_>], dims: usize, c: f32, iterations: usize) -> Linear {
    let n = rows.len().max(1) as f32;
    let mut w =
        Linear { bias: 0.0, embedding: vec![0.0; dims], surface: vec![0.0; SURFACE], lexical: vec![0.0; LEXICAL] };
    let size = 1 + dims + SURFACE + LEXICAL;
    let (mut m, mut v) = (vec![0f32; size], vec![0f32; size]);
    let (lr, b1, b2, eps) = (0.05f32, 0.9f32, 0.999f32, 1e-8f32);
    let l2 = 1.0 / (c * n);
    for t in 1..=iterations {
        let mut g = vec![0f32; size];
        for r in rows {
            let p = super::head::sigmoid(w.logit(r.embedding, r.f));
            let d = (p - r.y) / n;
            g[0] += d;
            if let Some(e) = r.embedding {
                for (gi, x) in g[1..1 + dims].iter_mut().zip(e) {
                    *gi += d * x;
                }
            }
            for (gi, x) in g[1 + dims..1 + dims + SURFACE].iter_mut().zip(&r.f.surface) {
                *gi += d * x;
            }
            for &i in &r.f.lexical {
                g[1 + dims + SURFACE + i as usize] += d;
            }
        }
        // the bias is not regularised
        let params: Vec<&mut f32> = std::iter::once(&mut w.bias)
            .chain(w.embedding.iter_mut())
            .chain(w.surface.iter_mut())
            .chain(w.lexical.iter_mut())
            .collect();
        for (k, p) in params.into_iter().enumerate() {
            let grad = g[k] + if k == 0 { 0.0 } else { l2 * *p };
            m[k] = b1 * m[k] + (1.0 - b1) * grad;
            v[k] = b2 * v[k] + (1.0 - b2) * grad * grad;
            let mh = m[k] / (1.0 - b1.powi(t as i32));
            let vh = v[k] / (1.0 - b2.powi(t as i32));
            *p -= lr * mh / (vh.sqrt() + eps);
        }
    }
    w
}

/// Trains both stages on `examples` (messages the rules skip are left out: they never reach
/// the head). `progress(stage, done, total)`.
pub fn train(
    embedder: &Embedder,
    examples: &[Example],
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&str, usize, usize),
) -> Result<QuestionHead> {
    let kept: Vec<&Example> = examples.iter().filter(|e| trivial(&e.text).is_none()).collect();
    let positives = kept.iter().filter(|e| e.is_question).count();
    if positives == 0 || positives == kept.len() {
        return Err(Error::out_of_range("examples", "need both questions and statements to train on"));
    }
    // the prose, as classify() sees it
    let prose: Vec<std::borrow::Cow<'_, str>> = kept.iter().map(|e| crate::prose::reduce_cow(&e.text)).collect();
    let feats: Vec<Features> = prose.iter().map(|t| Features::of(t)).collect();
    let texts: Vec<&str> = prose.iter().map(|t| &**t).collect();
    let eopts = EmbedOptions { max_tokens: opts.max_tokens, batch_size: 32 };
    let vectors = embedder.embed_with(&texts, eopts, &mut |d, n| {
        progress("embed", d, n);
        Ok(())
    })?;
    let rows1: Vec<Row<'_>> =
        kept.iter().zip(&feats).map(|(e, f)| Row { embedding: None, f, y: e.is_question as u8 as f32 }).collect();
    progress("stage1", 0, 1);
    let stage1 = fit(&rows1, 0, opts.c, opts.iterations);
    progress("stage1", 1, 1);
    let rows2: Vec<Row<'_>> = kept
        .iter()
        .zip(&feats)
        .zip(&vectors)
        .map(|((e, f), v)| Row { embedding: Some(v.as_slice()), f, y: e.is_question as u8 as f32 })
        .collect();
    progress("stage2", 0, 1);
    let stage2 = fit(&rows2, embedder.dims, opts.c, opts.iterations);
    progress("stage2", 1, 1);
    Ok(QuestionHead {
        format: FORMAT.into(),
        encoder: "minilm".into(),
        dims: embedder.dims,
        band: opts.band,
        stage1,
        stage2,
        trained: serde_json::json!({
            "examples": kept.len(),
            "questions": positives,
            "skippedByRules": examples.len() - kept.len(),
            "c": opts.c,
            "iterations": opts.iterations,
            "maxTokens": opts.max_tokens,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logistic_fit_separates_a_lexical_cue() {
        let texts = ["how do i do it", "how can this be", "how is that", "i did it", "this is fine", "that was good"];
        let feats: Vec<Features> = texts.iter().map(|t| Features::of(t)).collect();
        let rows: Vec<Row<'_>> = feats
            .iter()
            .enumerate()
            .map(|(i, f)| Row { embedding: None, f, y: if i < 3 { 1.0 } else { 0.0 } })
            .collect();
        let w = fit(&rows, 0, 10.0, 300);
        for (i, f) in feats.iter().enumerate() {
            let p = super::super::head::sigmoid(w.logit(None, f));
            assert_eq!(p > 0.5, i < 3, "{} → {p}", texts[i]);
        }
    }
}
