//! Training of the role model: an L2-regularised multinomial logistic regression fitted with
//! full-batch Adam (deterministic: fixed order, zero initialisation), with `C`, the weight of
//! the hand labels and the ask threshold chosen by cross-validation on the hand labels.
//!
//! Rows come in two kinds: weak labels (from the structure of dialog corpora: the opening turn
//! of a dialog by its starter is an ask, …), always trained on, and hand labels, which carry a
//! fold and are the only rows the cross-validation scores.

use std::collections::HashMap;

use serde::Serialize;

use super::features::{Candidate, DENSE_LEN};
use super::model::{softmax, AskModel, K, PARAMS};
use crate::conversations::{Conversations, LinkSource};
use crate::pipeline::Message;

#[derive(Debug, Clone)]
pub struct Row {
    pub x: Candidate,
    /// Index into [`super::model::CLASSES`].
    pub label: usize,
    pub weight: f32,
    /// Hand labels: their cross-validation fold. `None`: a weak label.
    pub fold: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Inverse L2 strengths to try (scikit-learn's `C`).
    pub c: Vec<f32>,
    /// Multipliers of the hand labels' weight to try.
    pub hand_weight: Vec<f32>,
    pub iterations: usize,
    /// Number of folds of the hand labels (rows' folds are taken modulo this).
    pub folds: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions { c: vec![0.3, 1.0], hand_weight: vec![3.0, 10.0], iterations: 400, folds: 5 }
    }
}

/// One point of the cross-validation grid, scored on the hand labels out of fold.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GridPoint {
    pub c: f32,
    pub hand_weight: f32,
    pub threshold: f32,
    pub precision: f32,
    pub recall: f32,
    pub f1: f32,
}

fn for_each_param(x: &Candidate, mut f: impl FnMut(usize, f32)) {
    f(0, 1.0);
    for (d, &v) in x.dense.iter().enumerate() {
        if v != 0.0 {
            f(1 + d, v);
        }
    }
    for (s, &v) in x.surface.iter().enumerate() {
        if v != 0.0 {
            f(1 + DENSE_LEN + s, v);
        }
    }
}

/// Fits the model on `rows` (each with its effective weight).
pub fn fit(rows: &[(&Row, f32)], c: f32, iterations: usize) -> AskModel {
    let mut model = AskModel::zeros(0.5);
    let total: f32 = rows.iter().map(|r| r.1).sum::<f32>().max(1e-6);
    let l2 = 1.0 / (c * total);
    let size = PARAMS * K;
    let (mut m, mut v) = (vec![0f32; size], vec![0f32; size]);
    let (lr, b1, b2, eps) = (0.05f32, 0.9f32, 0.999f32, 1e-8f32);
    let mut g = vec![0f32; size];
    for t in 1..=iterations {
        g.iter_mut().for_each(|x| *x = 0.0);
        for &(r, w) in rows {
            let p = softmax(model.logits(&r.x));
            let mut d = [0f32; K];
            for k in 0..K {
                d[k] = w * (p[k] - if k == r.label { 1.0 } else { 0.0 }) / total;
            }
            for_each_param(&r.x, |param, x| {
                for k in 0..K {
                    g[param * K + k] += d[k] * x;
                }
            });
        }
        let (c1, c2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
        for (j, p) in model.w.iter_mut().enumerate() {
            // the biases are not regularised
            let grad = g[j] + if j < K { 0.0 } else { l2 * *p };
            m[j] = b1 * m[j] + (1.0 - b1) * grad;
            v[j] = b2 * v[j] + (1.0 - b2) * grad * grad;
            *p -= lr * (m[j] / c1) / ((v[j] / c2).sqrt() + eps);
        }
    }
    model
}

/// Precision, recall and F1 of the ask class at `threshold`, from (P(ask), is an ask, weight).
pub fn ask_scores(scored: &[(f32, bool)], threshold: f32) -> (f32, f32, f32) {
    let tp = scored.iter().filter(|(p, y)| *y && *p >= threshold).count() as f32;
    let fp = scored.iter().filter(|(p, y)| !*y && *p >= threshold).count() as f32;
    let fnn = scored.iter().filter(|(p, y)| *y && *p < threshold).count() as f32;
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fnn > 0.0 { tp / (tp + fnn) } else { 0.0 };
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    (precision, recall, f1)
}

/// F1 differences below this are cross-validation noise: such ties go to precision, because the
/// product's first promise is that what it reports are asks.
pub const CV_TIE: f32 = 0.005;

/// The threshold (on a 0.05 grid) with the best F1; near ties ([`CV_TIE`]) go to the higher
/// threshold.
pub fn best_threshold(scored: &[(f32, bool)]) -> (f32, (f32, f32, f32)) {
    let points: Vec<(f32, (f32, f32, f32))> = (4..=18)
        .map(|i| {
            let t = i as f32 * 0.05;
            (t, ask_scores(scored, t))
        })
        .collect();
    let top = points.iter().map(|p| p.1 .2).fold(0.0, f32::max);
    points.into_iter().rev().find(|p| p.1 .2 >= top - CV_TIE).expect("a non-empty grid")
}

/// Trains on all rows with the grid point that scores best out of fold on the hand labels.
/// `progress(done, total)` counts fits.
pub fn train(rows: &[Row], opts: &TrainOptions, progress: &mut dyn FnMut(usize, usize)) -> (AskModel, Vec<GridPoint>) {
    let folds = opts.folds.max(2);
    let has_hand = rows.iter().any(|r| r.fold.is_some());
    let grid: Vec<(f32, f32)> = opts.c.iter().flat_map(|&c| opts.hand_weight.iter().map(move |&h| (c, h))).collect();
    let weighted = |h: f32, keep: &dyn Fn(&Row) -> bool| -> Vec<(&Row, f32)> {
        rows.iter().filter(|r| keep(r)).map(|r| (r, if r.fold.is_some() { r.weight * h } else { r.weight })).collect()
    };
    let total = if has_hand { grid.len() * folds + 1 } else { 1 };
    let mut done = 0;
    let mut points = Vec::new();
    if has_hand {
        for &(c, h) in &grid {
            let mut scored: Vec<(f32, bool)> = Vec::new();
            for f in 0..folds {
                let train_rows = weighted(h, &|r: &Row| r.fold.is_none_or(|x| x % folds != f));
                let model = fit(&train_rows, c, opts.iterations);
                for r in rows.iter().filter(|r| r.fold.is_some_and(|x| x % folds == f)) {
                    scored.push((model.predict(&r.x)[0], r.label == 0));
                }
                done += 1;
                progress(done, total);
            }
            let (threshold, (precision, recall, f1)) = best_threshold(&scored);
            points.push(GridPoint { c, hand_weight: h, threshold, precision, recall, f1 });
        }
    }
    // the best F1; near ties (CV_TIE) go to the higher precision
    let top = points.iter().map(|p| p.f1).fold(0.0, f32::max);
    let best = points
        .iter()
        .filter(|p| p.f1 >= top - CV_TIE)
        .cloned()
        .reduce(|a, b| if b.precision > a.precision { b } else { a })
        .unwrap_or(GridPoint {
            c: opts.c.first().copied().unwrap_or(1.0),
            hand_weight: opts.hand_weight.first().copied().unwrap_or(1.0),
            threshold: 0.5,
            precision: 0.0,
            recall: 0.0,
            f1: 0.0,
        });
    let mut model = fit(&weighted(best.hand_weight, &|_| true), best.c, opts.iterations);
    model.threshold = best.threshold;
    progress(total, total);
    (model, points)
}

/// Conversations as a corpus gives them: `ids[i]` names message i's conversation. Members are
/// in time order (ties in input order); each message continues the one before it.
pub fn conversations_from_ids(messages: &[Message], ids: &[String]) -> Conversations {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut members: Vec<Vec<usize>> = Vec::new();
    let mut conversation = vec![0; messages.len()];
    let mut order: Vec<usize> = (0..messages.len()).collect();
    order.sort_by_key(|&i| (messages[i].timestamp_ms, i));
    for i in order {
        let next = members.len();
        let c = *index.entry(ids[i].as_str()).or_insert(next);
        if c == next {
            members.push(Vec::new());
        }
        members[c].push(i);
        conversation[i] = c;
    }
    let mut parent = vec![None; messages.len()];
    let mut source = vec![LinkSource::Start; messages.len()];
    for m in &members {
        for w in m.windows(2) {
            parent[w[1]] = Some(w[0]);
            source[w[1]] = LinkSource::Model;
        }
    }
    Conversations { conversation, parent, source, addressed: vec![false; messages.len()], members }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asks::features::DENSE_LEN;
    use crate::classify::features::SURFACE;

    /// `cue` sets one more dense feature (1 to 4), one per class.
    fn row(dense0: f32, cue: usize, label: usize, fold: Option<usize>) -> Row {
        let mut dense = vec![0.0; DENSE_LEN];
        dense[0] = dense0;
        dense[cue] = 1.0;
        Row { x: Candidate { dense, surface: [0.0; SURFACE], asks_nothing: false }, label, weight: 1.0, fold }
    }

    #[test]
    fn fit_separates_the_classes_and_cross_validation_picks_a_point() {
        let mut rows = Vec::new();
        for i in 0..40 {
            rows.push(row(1.0, 1, 0, None)); // ask
            rows.push(row(0.0, 2, 1, None)); // clarification
            rows.push(row(0.0, 3, 2, None)); // back-channel
            rows.push(row(0.0, 4, 3, if i % 2 == 0 { Some(i) } else { None })); // other
            rows.push(row(1.0, 1, 0, Some(i)));
        }
        let opts = TrainOptions { c: vec![1.0], hand_weight: vec![1.0, 2.0], iterations: 150, folds: 3 };
        let mut calls = 0;
        let (model, points) = train(&rows, &opts, &mut |_, _| calls += 1);
        assert_eq!(points.len(), 2);
        assert!(points.iter().all(|p| p.f1 > 0.99), "{points:?}");
        assert_eq!(calls, 2 * 3 + 1);
        for (r, want) in rows.iter().zip([0, 1, 2, 3, 0]) {
            let p = model.predict(&r.x);
            let arg = (0..K).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(arg, want);
        }
    }

    #[test]
    fn thresholds_and_scores() {
        let s = [(0.9, true), (0.8, false), (0.3, true), (0.1, false)];
        assert_eq!(ask_scores(&s, 0.5), (0.5, 0.5, 0.5));
        let (t, (p, r, f)) = best_threshold(&s);
        assert!(t <= 0.3 && p > 0.6 && r == 1.0 && f > 0.79, "{t} {p} {r} {f}");
    }

    #[test]
    fn near_ties_go_to_precision() {
        // at t ≤ 0.5 everything is an ask: F1 200/209 = 0.957; from 0.55 to 0.9 only the 91
        // sure ones: P 1, F1 182/191 = 0.953, within CV_TIE of the best
        let mut s = vec![(0.95, true); 91];
        s.extend([(0.53, true); 9]);
        s.extend([(0.53, false); 9]);
        s.extend([(0.1, false); 50]);
        let (t, (p, r, f)) = best_threshold(&s);
        assert!((t - 0.9).abs() < 1e-6, "{t}");
        assert_eq!((p, r), (1.0, 0.91));
        assert!(ask_scores(&s, 0.5).2 - f < CV_TIE && ask_scores(&s, 0.5).2 > f);
    }
}
