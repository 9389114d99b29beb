//! Training of the linker: a conditional logit (softmax over the window's candidates and "new
//! conversation") fitted by damped Newton steps with an L2 penalty. Deterministic: the same
//! streams give the same weights.
//!
//! The features see the gold conversations of the earlier messages (teacher forcing); a
//! message whose gold parents all lie outside its window is not an example.

use std::collections::HashMap;

use super::features::{prepare, Names, Prepared, NP, NS};
use super::linker::{LinkerModel, State, Window};
use crate::error::{Error, Result};
use crate::pipeline::Message;

/// One channel's messages in stream order, with gold structure.
#[derive(Debug, Clone, Default)]
pub struct TrainStream {
    pub messages: Vec<Message>,
    /// Per message: the earlier messages (indices) it continues; empty when it starts one.
    pub parents: Vec<Vec<usize>>,
    /// Per message: its gold conversation (any numbering).
    pub conversation: Vec<usize>,
    /// Per message: whether it is a training example (its context is always used).
    pub scored: Vec<bool>,
    /// Weight of this stream's examples.
    pub weight: f32,
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub max_candidates: usize,
    pub max_gap_ms: i64,
    /// L2 penalty per unit of example weight.
    pub l2: f64,
    pub iterations: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        let d = super::ConversationOptions::default();
        TrainOptions { max_candidates: d.max_candidates, max_gap_ms: d.max_gap_ms, l2: 1e-4, iterations: 40 }
    }
}

const D: usize = NP + NS;

struct Example {
    pairs: (usize, usize),
    start: usize,
    /// Range in `targets`; empty means "new conversation".
    targets: (usize, usize),
    weight: f64,
}

#[derive(Default)]
struct Data {
    pairs: Vec<[f32; NP]>,
    starts: Vec<[f32; NS]>,
    targets: Vec<usize>,
    examples: Vec<Example>,
}

fn collect(streams: &[TrainStream], opts: &TrainOptions) -> Result<Data> {
    let mut data = Data::default();
    let mut window = Window::default();
    for (s, st) in streams.iter().enumerate() {
        let n = st.messages.len();
        if st.parents.len() != n || st.conversation.len() != n || st.scored.len() != n {
            return Err(Error::invalid_type(
                format!("streams[{s}]"),
                "parents, conversation and scored need one entry per message",
            ));
        }
        let names = Names::new(&st.messages);
        let prepared: Vec<Prepared> = st.messages.iter().map(|m| prepare(m, &names)).collect();
        let mut labels: HashMap<usize, usize> = HashMap::new();
        let mut state = State::new(n);
        let mut earlier: Vec<usize> = Vec::with_capacity(n);
        for i in 0..n {
            let parents = &st.parents[i];
            if parents.iter().any(|&p| p >= i) {
                return Err(Error::out_of_range(format!("streams[{s}].parents[{i}]"), "a parent must come earlier"));
            }
            if st.scored[i] {
                window.fill(i, &earlier, &st.messages, &prepared, &state, opts.max_candidates, opts.max_gap_ms);
                let begin = data.targets.len();
                data.targets
                    .extend(window.candidates.iter().enumerate().filter(|(_, a)| parents.contains(a)).map(|(k, _)| k));
                let usable = !window.candidates.is_empty() && (parents.is_empty() || data.targets.len() > begin);
                if usable {
                    let p0 = data.pairs.len();
                    data.pairs.extend_from_slice(&window.pairs);
                    data.starts.push(window.start);
                    data.examples.push(Example {
                        pairs: (p0, data.pairs.len()),
                        start: data.starts.len() - 1,
                        targets: (begin, data.targets.len()),
                        weight: st.weight as f64,
                    });
                } else {
                    data.targets.truncate(begin);
                }
            }
            let next = labels.len();
            let label = *labels.entry(st.conversation[i]).or_insert(next);
            state.assign(i, label, parents.iter().copied().max(), &prepared);
            earlier.push(i);
        }
    }
    Ok(data)
}

/// Per example: logits of its candidates then of "new".
fn logits(data: &Data, e: &Example, w: &[f64], z: &mut Vec<f64>) {
    z.clear();
    for f in &data.pairs[e.pairs.0..e.pairs.1] {
        z.push(f.iter().zip(&w[..NP]).map(|(&x, &y)| x as f64 * y).sum());
    }
    z.push(data.starts[e.start].iter().zip(&w[NP..]).map(|(&x, &y)| x as f64 * y).sum());
}

fn softmax(z: &mut [f64]) {
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut total = 0.0;
    for x in z.iter_mut() {
        *x = (*x - max).exp();
        total += *x;
    }
    z.iter_mut().for_each(|x| *x /= total);
}

/// P of the gold choice (the sum over gold candidates, or P(new)).
fn gold_mass(data: &Data, e: &Example, p: &[f64]) -> f64 {
    if e.targets.0 == e.targets.1 {
        p[p.len() - 1]
    } else {
        data.targets[e.targets.0..e.targets.1].iter().map(|&k| p[k]).sum()
    }
}

fn objective(data: &Data, w: &[f64], l2: f64, total: f64) -> f64 {
    let mut z = Vec::new();
    let mut loss = 0.0;
    for e in &data.examples {
        logits(data, e, w, &mut z);
        softmax(&mut z);
        loss -= e.weight * gold_mass(data, e, &z).max(1e-300).ln();
    }
    loss / total + 0.5 * l2 * w.iter().map(|x| x * x).sum::<f64>()
}

fn row(data: &Data, e: &Example, k: usize) -> [f64; D] {
    let mut phi = [0.0; D];
    if k < e.pairs.1 - e.pairs.0 {
        for (d, &x) in data.pairs[e.pairs.0 + k].iter().enumerate() {
            phi[d] = x as f64;
        }
    } else {
        for (d, &x) in data.starts[e.start].iter().enumerate() {
            phi[NP + d] = x as f64;
        }
    }
    phi
}

/// Gradient and (Fisher) curvature of the objective at `w`.
fn derivatives(data: &Data, w: &[f64], l2: f64, total: f64) -> (Vec<f64>, Vec<f64>) {
    let mut g = vec![0.0; D];
    let mut h = vec![0.0; D * D];
    let mut z = Vec::new();
    for e in &data.examples {
        logits(data, e, w, &mut z);
        softmax(&mut z);
        let gold = gold_mass(data, e, &z).max(1e-300);
        let mut mu = [0.0; D];
        let mut mu_gold = [0.0; D];
        for (k, &p) in z.iter().enumerate() {
            let phi = row(data, e, k);
            let is_gold = if e.targets.0 == e.targets.1 {
                k == z.len() - 1
            } else {
                data.targets[e.targets.0..e.targets.1].contains(&k)
            };
            for a in 0..D {
                if phi[a] == 0.0 {
                    continue;
                }
                mu[a] += p * phi[a];
                if is_gold {
                    mu_gold[a] += p / gold * phi[a];
                }
                let pa = e.weight * p * phi[a];
                for b in a..D {
                    h[a * D + b] += pa * phi[b];
                }
            }
        }
        for a in 0..D {
            g[a] += e.weight * (mu[a] - mu_gold[a]);
            for b in a..D {
                h[a * D + b] -= e.weight * mu[a] * mu[b];
            }
        }
    }
    for a in 0..D {
        g[a] = g[a] / total + l2 * w[a];
        for b in a..D {
            h[a * D + b] /= total;
            h[b * D + a] = h[a * D + b];
        }
        h[a * D + a] += l2;
    }
    (g, h)
}

/// Solves `h x = g` for a symmetric positive definite `h` (Cholesky).
fn solve(h: &[f64], g: &[f64]) -> Vec<f64> {
    let n = g.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i * n + k] * l[j * n + k]).sum();
            if i == j {
                l[i * n + i] = (h[i * n + i] - s).max(1e-12).sqrt();
            } else {
                l[i * n + j] = (h[i * n + j] - s) / l[j * n + j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (g[i] - (0..i).map(|k| l[i * n + k] * y[k]).sum::<f64>()) / l[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k * n + i] * x[k]).sum::<f64>()) / l[i * n + i];
    }
    x
}

/// Trains a linker on streams with gold structure; `progress(iteration, objective)`.
pub fn train(
    streams: &[TrainStream],
    opts: &TrainOptions,
    progress: &mut dyn FnMut(usize, f64),
) -> Result<LinkerModel> {
    let data = collect(streams, opts)?;
    let news = data.examples.iter().filter(|e| e.targets.0 == e.targets.1).count();
    if news == 0 || news == data.examples.len() {
        return Err(Error::out_of_range("streams", "need both links and conversation starts to train on"));
    }
    let total: f64 = data.examples.iter().map(|e| e.weight).sum();
    let mut w = vec![0.0; D];
    let mut f = objective(&data, &w, opts.l2, total);
    let mut iterations = 0;
    for it in 0..opts.iterations {
        iterations = it + 1;
        let (g, h) = derivatives(&data, &w, opts.l2, total);
        let step = solve(&h, &g);
        let slope: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum();
        let mut t = 1.0;
        let mut improved = false;
        while t > 1e-4 {
            let cand: Vec<f64> = w.iter().zip(&step).map(|(a, s)| a - t * s).collect();
            let fc = objective(&data, &cand, opts.l2, total);
            if fc <= f - 1e-4 * t * slope {
                let gain = f - fc;
                w = cand;
                f = fc;
                improved = gain > 1e-9;
                break;
            }
            t /= 2.0;
        }
        progress(it, f);
        if !improved {
            break;
        }
    }
    // decisions on the training examples, as the linker makes them
    let model = LinkerModel::from_weights(&w, serde_json::Value::Null);
    let (mut right, mut z) = (0usize, Vec::new());
    for e in &data.examples {
        logits(&data, e, &w, &mut z);
        softmax(&mut z);
        let new = z.len() - 1;
        let best = (0..new).max_by(|&a, &b| z[a].total_cmp(&z[b]));
        let choice = match best {
            Some(k) if 1.0 - z[new] >= 0.5 => k,
            _ => new,
        };
        let ok = if e.targets.0 == e.targets.1 {
            choice == new
        } else {
            data.targets[e.targets.0..e.targets.1].contains(&choice)
        };
        right += ok as usize;
    }
    Ok(LinkerModel {
        trained: serde_json::json!({
            "examples": data.examples.len(),
            "starts": news,
            "pairs": data.pairs.len(),
            "objective": f,
            "iterations": iterations,
            "trainingAccuracy": right as f64 / data.examples.len() as f64,
            "l2": opts.l2,
            "maxCandidates": opts.max_candidates,
            "maxGapMs": opts.max_gap_ms,
        }),
        ..model
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newton_fit_learns_addressing_and_gaps() {
        // two interleaved exchanges per stream; replies address their parent's author
        let mut streams = Vec::new();
        for s in 0..20 {
            let mut st = TrainStream { weight: 1.0, ..Default::default() };
            let t0 = s as i64 * 1_000_000;
            let rows: [(&str, &str, i64, Option<usize>, usize); 6] = [
                ("ann", "how do I configure nginx as a proxy?", 0, None, 0),
                ("bob", "anyone tried the new kernel release?", 20, None, 1),
                ("cat", "ann: use proxy_pass in the location block", 40, Some(0), 0),
                ("dan", "bob: yes it works fine for me", 50, Some(1), 1),
                ("ann", "cat: thanks, that did it", 70, Some(2), 0),
                ("eve", "hello, is there a way to speed up apt?", 4000, None, 2),
            ];
            for (i, (author, text, t, parent, conv)) in rows.iter().enumerate() {
                st.messages.push(Message {
                    id: format!("{s}-{i}"),
                    channel_id: "c".into(),
                    author_id: author.to_string(),
                    content: text.to_string(),
                    timestamp_ms: t0 + t * 1000,
                    ..Default::default()
                });
                st.parents.push(parent.iter().copied().collect());
                st.conversation.push(*conv);
                st.scored.push(true);
            }
            streams.push(st);
        }
        let opts = TrainOptions { l2: 1e-3, ..Default::default() };
        let a = train(&streams, &opts, &mut |_, _| {}).unwrap();
        let b = train(&streams, &opts, &mut |_, _| {}).unwrap();
        assert_eq!(a.pair, b.pair, "deterministic");
        assert!(a.trained["trainingAccuracy"].as_f64().unwrap() > 0.95, "{}", a.trained);
        let idx = |name: &str| super::super::features::PAIR.iter().position(|n| *n == name).unwrap();
        assert!(a.pair[idx("bAddressesA")] > 0.5, "{:?}", a.pair);
        let bad = TrainStream { messages: streams[0].messages.clone(), ..Default::default() };
        assert!(train(&[bad], &opts, &mut |_, _| {}).is_err());
    }
}
