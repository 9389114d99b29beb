//! Training of the linker: a conditional logit (softmax over the window's candidates and "new
//! conversation") fitted by damped Newton steps with an L2 penalty. Deterministic: the same
//! streams give the same weights.
//!
//! The features see the gold conversations of the earlier messages (teacher forcing); a
//! message whose gold parents all lie outside its window is not an example.

use std::collections::HashMap;

use super::features::{prepare_all, Prepared, NP, NS};
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
    /// Training rounds: the first sees gold conversations, the others the model's own.
    pub rounds: usize,
    /// Hidden ReLU units of the pair score (0: a linear model), fitted by Adam after the
    /// linear model.
    pub hidden: usize,
    /// Adam epochs for the hidden layer.
    pub epochs: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        let d = super::ConversationOptions::default();
        TrainOptions {
            max_candidates: d.max_candidates,
            max_gap_ms: d.max_gap_ms,
            l2: 1e-4,
            iterations: 40,
            rounds: 1,
            hidden: 0,
            epochs: 6,
        }
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

/// The examples of all streams. The features see the gold conversations of the earlier
/// messages, or with `guide`, the conversations that model builds.
fn collect(streams: &[TrainStream], opts: &TrainOptions, guide: Option<&LinkerModel>) -> Result<Data> {
    let threshold = super::ConversationOptions::default().threshold;
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
        let prepared: Vec<Prepared> = prepare_all(&st.messages);
        let mut labels: HashMap<usize, usize> = HashMap::new();
        let mut state = State::new(n);
        let mut earlier: Vec<usize> = Vec::with_capacity(n);
        for i in 0..n {
            let parents = &st.parents[i];
            if parents.iter().any(|&p| p >= i) {
                return Err(Error::out_of_range(format!("streams[{s}].parents[{i}]"), "a parent must come earlier"));
            }
            if st.scored[i] || guide.is_some() {
                window.fill(i, &earlier, &prepared, &state, opts.max_candidates, opts.max_gap_ms);
            }
            if st.scored[i] {
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
            match guide {
                None => {
                    let next = labels.len();
                    let label = *labels.entry(st.conversation[i]).or_insert(next);
                    state.assign(i, label, parents.iter().copied().max(), &prepared);
                }
                Some(model) => {
                    let p = match model.decide(&window) {
                        (Some(j), p) if p >= threshold => Some(j),
                        _ => None,
                    };
                    state.assign(i, p.map_or(i, |j| state.conv[j]), p, &prepared);
                }
            }
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

/// Damped Newton from `w`; returns the objective reached and the iterations made.
fn fit(data: &Data, opts: &TrainOptions, w: &mut Vec<f64>, progress: &mut dyn FnMut(&str, usize, f64)) -> (f64, usize) {
    let total: f64 = data.examples.iter().map(|e| e.weight).sum();
    let mut f = objective(data, w, opts.l2, total);
    let mut iterations = 0;
    for it in 0..opts.iterations {
        iterations = it + 1;
        let (g, h) = derivatives(data, w, opts.l2, total);
        let step = solve(&h, &g);
        let slope: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum();
        let mut t = 1.0;
        let mut improved = false;
        while t > 1e-4 {
            let cand: Vec<f64> = w.iter().zip(&step).map(|(a, s)| a - t * s).collect();
            let fc = objective(data, &cand, opts.l2, total);
            if fc <= f - 1e-4 * t * slope {
                improved = f - fc > 1e-9;
                *w = cand;
                f = fc;
                break;
            }
            t /= 2.0;
        }
        progress("newton", it, f);
        if !improved {
            break;
        }
    }
    (f, iterations)
}

/// Share of examples where the linker's decision (threshold 0.5) is a gold one.
fn accuracy(data: &Data, w: &[f64]) -> f64 {
    let (mut right, mut z) = (0usize, Vec::new());
    for e in &data.examples {
        logits(data, e, w, &mut z);
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
    right as f64 / data.examples.len().max(1) as f64
}

/// Trains a linker on streams with gold structure; `progress(stage, step, objective)`. The first
/// round's features see the gold conversations; each further round (`opts.rounds`) sees the
/// conversations the previous round's model builds, as it will at run time.
pub fn train(
    streams: &[TrainStream],
    opts: &TrainOptions,
    progress: &mut dyn FnMut(&str, usize, f64),
) -> Result<LinkerModel> {
    let mut w = vec![0.0; D];
    let mut model: Option<LinkerModel> = None;
    let mut record = Vec::new();
    for round in 0..opts.rounds.max(1) {
        let data = collect(streams, opts, model.as_ref())?;
        let news = data.examples.iter().filter(|e| e.targets.0 == e.targets.1).count();
        if news == 0 || news == data.examples.len() {
            return Err(Error::out_of_range("streams", "need both links and conversation starts to train on"));
        }
        let (f, iterations) = fit(&data, opts, &mut w, progress);
        record.push(serde_json::json!({
            "round": round,
            "examples": data.examples.len(),
            "starts": news,
            "pairs": data.pairs.len(),
            "objective": f,
            "iterations": iterations,
            "trainingAccuracy": accuracy(&data, &w),
        }));
        let mut m = LinkerModel::from_weights(&w, serde_json::Value::Null);
        if opts.hidden > 0 {
            adam(&data, opts, &mut m, progress);
            record.push(serde_json::json!({ "hidden": opts.hidden, "epochs": opts.epochs, "trainingAccuracy": accuracy_of(&data, &m) }));
        }
        model = Some(m);
    }
    let mut model = model.expect("at least one round");
    model.trained = serde_json::json!({
        "examples": record[0]["examples"],
        "trainingAccuracy": record[record.len() - 1]["trainingAccuracy"],
        "rounds": record,
        "l2": opts.l2,
        "maxCandidates": opts.max_candidates,
        "maxGapMs": opts.max_gap_ms,
        "hidden": opts.hidden,
    });
    Ok(model)
}

/// Share of examples where `m` decides as the gold says.
fn accuracy_of(data: &Data, m: &LinkerModel) -> f64 {
    let mut right = 0;
    for e in &data.examples {
        let w = Window {
            candidates: (0..e.pairs.1 - e.pairs.0).collect(),
            pairs: data.pairs[e.pairs.0..e.pairs.1].to_vec(),
            start: data.starts[e.start],
        };
        let choice = match m.decide(&w) {
            (Some(k), p) if p >= 0.5 => Some(k),
            _ => None,
        };
        let targets = &data.targets[e.targets.0..e.targets.1];
        right += match choice {
            None => targets.is_empty(),
            Some(k) => targets.contains(&k),
        } as usize;
    }
    right as f64 / data.examples.len().max(1) as f64
}

/// A deterministic pseudo-random stream (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Adds a hidden layer to the linear model `m` and fits all weights by Adam on minibatches
/// (fixed seed and order: deterministic).
fn adam(data: &Data, opts: &TrainOptions, m: &mut LinkerModel, progress: &mut dyn FnMut(&str, usize, f64)) {
    let h = opts.hidden;
    let mut rng = Rng(0x5eed);
    let scale = (1.0 / NP as f32).sqrt();
    m.hidden = (0..h * NP).map(|_| (rng.uniform() * 2.0 - 1.0) * scale).collect();
    m.hidden_bias = vec![0.0; h];
    m.hidden_out = (0..h).map(|_| (rng.uniform() * 2.0 - 1.0) * 0.1).collect();
    // parameters as one vector: pair, start, hidden, hidden_bias, hidden_out
    let sizes = [NP, NS, h * NP, h, h];
    let mut theta: Vec<f32> =
        [&m.pair, &m.start, &m.hidden, &m.hidden_bias, &m.hidden_out].iter().flat_map(|v| v.iter().copied()).collect();
    let offs: Vec<usize> = sizes.iter().scan(0, |acc, &s| Some(std::mem::replace(acc, *acc + s))).collect();
    let (o_pair, o_start, o_hid, o_bias, o_out) = (offs[0], offs[1], offs[2], offs[3], offs[4]);
    let (mut m1, mut m2) = (vec![0.0f32; theta.len()], vec![0.0f32; theta.len()]);
    let (lr, b1, b2, eps) = (2e-3f32, 0.9f32, 0.999f32, 1e-8f32);
    let mut order: Vec<usize> = (0..data.examples.len()).collect();
    let batch = 256;
    let mut t = 0i32;
    let mut grad = vec![0.0f32; theta.len()];
    let mut act = vec![0.0f32; h];
    for epoch in 0..opts.epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let mut loss = 0.0f64;
        for chunk in order.chunks(batch) {
            grad.iter_mut().for_each(|g| *g = 0.0);
            for &ei in chunk {
                let e = &data.examples[ei];
                let pairs = &data.pairs[e.pairs.0..e.pairs.1];
                let k = pairs.len();
                // forward
                let mut z: Vec<f32> = Vec::with_capacity(k + 1);
                let mut acts: Vec<f32> = Vec::with_capacity(k * h);
                for f in pairs {
                    let mut s = dot(&theta[o_pair..o_pair + NP], f);
                    for u in 0..h {
                        let a = dot(&theta[o_hid + u * NP..o_hid + (u + 1) * NP], f) + theta[o_bias + u];
                        act[u] = a.max(0.0);
                        s += theta[o_out + u] * act[u];
                    }
                    acts.extend_from_slice(&act);
                    z.push(s);
                }
                z.push(dot(&theta[o_start..o_start + NS], &data.starts[e.start]));
                let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let mut p: Vec<f32> = z.iter().map(|x| (x - max).exp()).collect();
                let total: f32 = p.iter().sum();
                p.iter_mut().for_each(|x| *x /= total);
                let targets = &data.targets[e.targets.0..e.targets.1];
                let gold: f32 = if targets.is_empty() { p[k] } else { targets.iter().map(|&j| p[j]).sum() };
                let gold = gold.max(1e-30);
                loss -= e.weight * (gold as f64).ln();
                // backward: dL/dz_j = p_j - q_j, q = p restricted to the gold choices
                let w = e.weight as f32;
                for j in 0..=k {
                    let is_gold = if targets.is_empty() { j == k } else { targets.contains(&j) };
                    let d = w * (p[j] - if is_gold { p[j] / gold } else { 0.0 });
                    if d == 0.0 {
                        continue;
                    }
                    if j == k {
                        for (g, &x) in grad[o_start..o_start + NS].iter_mut().zip(&data.starts[e.start]) {
                            *g += d * x;
                        }
                        continue;
                    }
                    let f = &pairs[j];
                    for (g, &x) in grad[o_pair..o_pair + NP].iter_mut().zip(f) {
                        *g += d * x;
                    }
                    for u in 0..h {
                        let a = acts[j * h + u];
                        grad[o_out + u] += d * a;
                        if a > 0.0 {
                            let du = d * theta[o_out + u];
                            grad[o_bias + u] += du;
                            for (g, &x) in grad[o_hid + u * NP..o_hid + (u + 1) * NP].iter_mut().zip(f) {
                                *g += du * x;
                            }
                        }
                    }
                }
            }
            t += 1;
            let n = chunk.len() as f32;
            let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
            for i in 0..theta.len() {
                let g = grad[i] / n + opts.l2 as f32 * theta[i];
                m1[i] = b1 * m1[i] + (1.0 - b1) * g;
                m2[i] = b2 * m2[i] + (1.0 - b2) * g * g;
                theta[i] -= lr * (m1[i] / c1) / ((m2[i] / c2).sqrt() + eps);
            }
        }
        progress("adam", epoch, loss / data.examples.len() as f64);
    }
    m.pair = theta[o_pair..o_start].to_vec();
    m.start = theta[o_start..o_hid].to_vec();
    m.hidden = theta[o_hid..o_bias].to_vec();
    m.hidden_bias = theta[o_bias..o_out].to_vec();
    m.hidden_out = theta[o_out..].to_vec();
    *m = std::mem::take(m).ready();
}

fn dot(w: &[f32], f: &[f32]) -> f32 {
    w.iter().zip(f).map(|(a, b)| a * b).sum()
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
        let a = train(&streams, &opts, &mut |_, _, _| {}).unwrap();
        let b = train(&streams, &opts, &mut |_, _, _| {}).unwrap();
        assert_eq!(a.pair, b.pair, "deterministic");
        assert!(a.trained["trainingAccuracy"].as_f64().unwrap() > 0.95, "{}", a.trained);
        let idx = |name: &str| super::super::features::PAIR.iter().position(|n| *n == name).unwrap();
        assert!(a.pair[idx("bAddressesA")] > 0.5, "{:?}", a.pair);
        let bad = TrainStream { messages: streams[0].messages.clone(), ..Default::default() };
        assert!(train(&[bad], &opts, &mut |_, _, _| {}).is_err());
    }
}
