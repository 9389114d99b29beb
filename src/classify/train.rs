//! Training of the built-in question head: two L2-regularised logistic regressions fitted with
//! full-batch Adam (deterministic: fixed order, zero initialisation). The band of the lexical
//! stage is chosen on out-of-fold predictions of both stages: as wide as it can be without more
//! errors than the encoder makes on the messages it decides.

use super::features::{fnv1a, LEXICAL, SURFACE};
use super::head::{sigmoid, Features, Linear, QuestionHead, FORMAT};
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
    /// The lexical stage's band; `None`: chosen by cross-validation (`choose_band`).
    pub band: Option<(f32, f32)>,
    pub max_tokens: usize,
    /// Folds of the cross-validation that chooses the band.
    pub folds: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions { c: 1.0, iterations: 1500, band: None, max_tokens: super::DEFAULT_CLASSIFY_MAX_TOKENS, folds: 5 }
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

/// One side of a band: messages decided, and the errors of the side's kind (missed questions
/// below, false questions above) of the lexical stage and of the encoder on them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BandSide {
    pub bound: f32,
    pub decided: usize,
    pub stage_errors: usize,
    pub encoder_errors: usize,
}

/// The thresholds the lexical stage's band must hold at (those the evaluation sweeps): it never
/// decides a message whose P lies between the lowest and the highest, so that a user's threshold
/// in that range does not meet a lexical decision close to it.
pub const BAND_THRESHOLDS: [f32; 7] = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// Chooses the lexical stage's band from out-of-fold `(p_lexical, p_encoder, is_question)`: on
/// each side the widest bound (grid of 0.005, outside `thresholds`) at which, at every one of
/// `thresholds`, the lexical stage makes no more errors of that side's kind than the
/// encoder on the messages it decides: no more missed questions below the band (recall), no
/// more false questions above (precision). The sides report their errors at `report`.
pub fn choose_band(rows: &[(f32, f32, bool)], thresholds: &[f32], report: f32) -> (BandSide, BandSide) {
    // (the side at `report`, whether it holds at every threshold)
    let side = |bound: f32, low: bool| {
        let decided: Vec<_> =
            rows.iter().filter(|&&(p, _, _)| if low { p <= bound } else { p >= bound }).copied().collect();
        // errors of the kind the side makes: missed questions below, false questions above
        let errors = |t: f32, p: fn(&(f32, f32, bool)) -> f32| {
            decided.iter().filter(|r| r.2 == low && (p(r) >= t) != r.2).count()
        };
        let holds = thresholds.iter().all(|&t| errors(t, |r| r.0) <= errors(t, |r| r.1));
        let s = BandSide {
            bound,
            decided: decided.len(),
            stage_errors: errors(report, |r| r.0),
            encoder_errors: errors(report, |r| r.1),
        };
        (s, holds)
    };
    // the first (most extreme) bound that decides the most messages
    let widest = |best: Option<BandSide>, (s, holds): (BandSide, bool)| match best {
        Some(b) if !holds || b.decided >= s.decided => Some(b),
        _ if holds => Some(s),
        _ => best,
    };
    let lowest = thresholds.iter().copied().fold(report, f32::min);
    let highest = thresholds.iter().copied().fold(report, f32::max);
    let low = (1..)
        .map(|k| (k as f64 * 0.005) as f32)
        .take_while(|&b| b < lowest)
        .map(|b| side(b, true))
        .fold(None, widest)
        .unwrap_or(side(0.0, true).0);
    let high = (1..)
        .map(|k| (1.0 - k as f64 * 0.005) as f32)
        .take_while(|&b| b > highest)
        .map(|b| side(b, false))
        .fold(None, widest)
        .unwrap_or(side(1.0, false).0);
    (low, high)
}

fn round3(x: f32) -> f64 {
    (x as f64 * 1000.0).round() / 1000.0
}

/// Trains both stages on `examples` (messages the rules skip are left out: they never reach
/// the head) and, unless `opts.band` is given, chooses the band. `progress(stage, done, total)`.
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
    let eopts = EmbedOptions { max_tokens: opts.max_tokens, batch_size: 32, ..EmbedOptions::default() };
    let vectors = embedder.embed_with(&texts, eopts, &mut |d, n| {
        progress("embed", d, n);
        Ok(())
    })?;
    let y: Vec<f32> = kept.iter().map(|e| e.is_question as u8 as f32).collect();
    fn select<'a>(idx: &[usize], emb: Option<&'a [Vec<f32>]>, feats: &'a [Features], y: &[f32]) -> Vec<Row<'a>> {
        idx.iter().map(|&i| Row { embedding: emb.map(|e| e[i].as_slice()), f: &feats[i], y: y[i] }).collect()
    }
    let all: Vec<usize> = (0..kept.len()).collect();
    progress("stage1", 0, 1);
    let stage1 = fit(&select(&all, None, &feats, &y), 0, opts.c, opts.iterations);
    progress("stage1", 1, 1);
    progress("stage2", 0, 1);
    let stage2 = fit(&select(&all, Some(&vectors), &feats, &y), embedder.dims, opts.c, opts.iterations);
    progress("stage2", 1, 1);
    let mut trained = serde_json::json!({
        "examples": kept.len(),
        "questions": positives,
        "skippedByRules": examples.len() - kept.len(),
        "c": opts.c,
        "iterations": opts.iterations,
        "maxTokens": opts.max_tokens,
    });
    let band = match opts.band {
        Some(b) => b,
        None => {
            // out-of-fold P of both stages; folds by text, so that copies stay together
            let k = opts.folds.max(2);
            let fold: Vec<usize> = kept.iter().map(|e| (fnv1a(&e.text) % k as u64) as usize).collect();
            let mut oof = vec![(0f32, 0f32, false); kept.len()];
            for f in 0..k {
                progress("folds", f, k);
                let (test, train): (Vec<usize>, Vec<usize>) = all.iter().partition(|&&i| fold[i] == f);
                let s1 = fit(&select(&train, None, &feats, &y), 0, opts.c, opts.iterations);
                let s2 = fit(&select(&train, Some(&vectors), &feats, &y), embedder.dims, opts.c, opts.iterations);
                for i in test {
                    oof[i] = (
                        sigmoid(s1.logit(None, &feats[i])),
                        sigmoid(s2.logit(Some(&vectors[i]), &feats[i])),
                        kept[i].is_question,
                    );
                }
            }
            progress("folds", k, k);
            let (low, high) = choose_band(&oof, &BAND_THRESHOLDS, super::DEFAULT_THRESHOLD);
            let side = |s: &BandSide| serde_json::json!({ "bound": round3(s.bound), "decided": s.decided, "lexicalErrors": s.stage_errors, "encoderErrors": s.encoder_errors });
            trained["band"] = serde_json::json!({ "folds": k, "low": side(&low), "high": side(&high) });
            (low.bound, high.bound)
        }
    };
    Ok(QuestionHead {
        format: FORMAT.into(),
        encoder: "minilm".into(),
        dims: embedder.dims,
        band,
        stage1,
        stage2,
        trained,
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

    #[test]
    fn the_band_is_as_wide_as_the_encoder_allows() {
        // (p_lexical, p_encoder, is_question)
        let rows = [
            (0.01, 0.1, false),
            (0.05, 0.2, false),
            (0.10, 0.9, true), // the encoder finds it, the lexical stage would miss it: stop below 0.10
            (0.30, 0.3, true), // both miss it
            (0.40, 0.8, false), // an encoder false question does not count below the band
            (0.95, 0.9, true),
            (0.99, 0.2, true),  // the encoder misses it, the lexical stage finds it
            (0.90, 0.8, false), // both take it for a question
            (0.80, 0.1, false), // only the lexical stage does: stop above 0.80
        ];
        let (low, high) = choose_band(&rows, &[0.7], 0.7);
        assert_eq!((low.decided, low.stage_errors, low.encoder_errors), (2, 0, 0));
        assert!(low.bound >= 0.05 && low.bound < 0.10, "{low:?}");
        assert_eq!((high.decided, high.stage_errors, high.encoder_errors), (3, 1, 1));
        assert!(high.bound <= 0.90 && high.bound > 0.80, "{high:?}");
        // more thresholds: no bound between them, and the errors must hold at each
        let (low, high) = choose_band(&rows, &[0.25, 0.7, 0.85], 0.7);
        assert!(low.bound < 0.25 && high.bound > 0.85, "{low:?} {high:?}");
        assert_eq!(high.decided, 2, "0.90 is a false question the encoder (0.8) does not make at 0.85");
        // nothing to decide: the band is the whole interval
        let (low, high) = choose_band(&[], &[0.7], 0.7);
        assert_eq!((low.decided, high.decided), (0, 0));
    }
}
