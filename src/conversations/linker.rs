//! The learned linker: a conditional logit over "B continues candidate A" for each earlier
//! message of the window, plus "B starts a new conversation". Weights live in
//! models/conversations/linker.json (trained by `npm run train:linker`) and are compiled in.

use std::collections::HashSet;

use once_cell::sync::Lazy;
use serde::{Deserialize, Serialize};

use super::features::{pair_features, start_features, FastHash, PairContext, Prepared, NP, NS, PAIR, START};

pub const FORMAT: &str = "question-insights/conversation-linker@1";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkerModel {
    pub format: String,
    pub pair_features: Vec<String>,
    pub start_features: Vec<String>,
    pub pair: Vec<f32>,
    pub start: Vec<f32>,
    /// Optional hidden layer of the pair score (ReLU units): `hidden` holds one row of
    /// `pair_features.len()` weights per unit, `hidden_bias` and `hidden_out` one value per unit.
    /// The pair score is `pair · f + Σ_h hidden_out[h] · relu(hidden[h] · f + hidden_bias[h])`.
    #[serde(default)]
    pub hidden: Vec<f32>,
    #[serde(default)]
    pub hidden_bias: Vec<f32>,
    #[serde(default)]
    pub hidden_out: Vec<f32>,
    /// `hidden` transposed (feature-major), for a vectorisable pair score; see [`Self::ready`].
    #[serde(skip)]
    hidden_t: Vec<f32>,
    /// Free-form record of the data, options and metrics of the training run.
    #[serde(default)]
    pub trained: serde_json::Value,
}

impl LinkerModel {
    pub fn from_json(text: &str) -> Result<LinkerModel, String> {
        let m: LinkerModel = serde_json::from_str(text).map_err(|e| format!("not a conversation linker: {e}"))?;
        if m.format != FORMAT {
            return Err(format!("format {} is not {FORMAT}", m.format));
        }
        if m.pair_features != PAIR || m.start_features != START {
            return Err("its features are not the ones this version computes (retrain it)".into());
        }
        let units = m.hidden_out.len();
        let all = || m.pair.iter().chain(&m.start).chain(&m.hidden).chain(&m.hidden_bias).chain(&m.hidden_out);
        if m.pair.len() != NP
            || m.start.len() != NS
            || m.hidden.len() != units * NP
            || m.hidden_bias.len() != units
            || all().any(|x| !x.is_finite())
        {
            return Err("wrong number of weights or a weight that is not finite".into());
        }
        Ok(m.ready())
    }

    /// Derives what scoring needs from the weights (call after changing them).
    pub fn ready(mut self) -> LinkerModel {
        let units = self.hidden_out.len();
        self.hidden_t = vec![0.0; units * NP];
        for u in 0..units {
            for i in 0..NP {
                self.hidden_t[i * units + u] = self.hidden[u * NP + i];
            }
        }
        self
    }

    pub fn from_weights(weights: &[f64], trained: serde_json::Value) -> LinkerModel {
        LinkerModel {
            format: FORMAT.into(),
            pair_features: PAIR.iter().map(|s| s.to_string()).collect(),
            start_features: START.iter().map(|s| s.to_string()).collect(),
            pair: weights[..NP].iter().map(|&x| x as f32).collect(),
            start: weights[NP..NP + NS].iter().map(|&x| x as f32).collect(),
            hidden: Vec::new(),
            hidden_bias: Vec::new(),
            hidden_out: Vec::new(),
            hidden_t: Vec::new(),
            trained,
        }
    }

    /// The score of "B continues A" from the pair's features.
    pub fn pair_score(&self, f: &[f32; NP]) -> f32 {
        const MAX_UNITS: usize = 64;
        let units = self.hidden_out.len();
        let mut z = 0.0;
        if units == 0 || units > MAX_UNITS {
            z += dot(&self.pair, f);
            for (h, (&out, &bias)) in self.hidden_out.iter().zip(&self.hidden_bias).enumerate() {
                z += out * (dot(&self.hidden[h * NP..(h + 1) * NP], f) + bias).max(0.0);
            }
            return z;
        }
        // feature-major: most features are 0 (one-hot buckets, flags), and the inner loop over
        // units vectorises
        let mut acc = [0.0f32; MAX_UNITS];
        let acc = &mut acc[..units];
        acc.copy_from_slice(&self.hidden_bias);
        for (i, &x) in f.iter().enumerate() {
            if x != 0.0 {
                z += self.pair[i] * x;
                for (a, &w) in acc.iter_mut().zip(&self.hidden_t[i * units..(i + 1) * units]) {
                    *a += w * x;
                }
            }
        }
        z + acc.iter().zip(&self.hidden_out).map(|(&a, &o)| a.max(0.0) * o).sum::<f32>()
    }

    /// `(best candidate, P(B continues some candidate))`; the best is `None` without candidates.
    pub fn decide(&self, w: &Window) -> (Option<usize>, f32) {
        let zs = dot(&self.start, &w.start);
        let mut best: Option<(usize, f32)> = None;
        let zc: Vec<f32> = w.pairs.iter().map(|f| self.pair_score(f)).collect();
        let max = zc.iter().copied().fold(zs, f32::max);
        let mut total = (zs - max).exp();
        for (k, &z) in zc.iter().enumerate() {
            total += (z - max).exp();
            if best.is_none_or(|(_, bz)| z > bz) {
                best = Some((k, z));
            }
        }
        let p_new = (zs - max).exp() / total;
        (best.map(|(k, _)| w.candidates[k]), 1.0 - p_new)
    }
}

fn dot(w: &[f32], f: &[f32]) -> f32 {
    w.iter().zip(f).map(|(a, b)| a * b).sum()
}

static BUILTIN: Lazy<LinkerModel> = Lazy::new(|| {
    LinkerModel::from_json(include_str!("../../models/conversations/linker.json"))
        .expect("models/conversations/linker.json is compiled in and valid")
});

/// The linker trained by `npm run train:linker`.
pub fn builtin() -> &'static LinkerModel {
    &BUILTIN
}

#[derive(Debug, Clone, Default)]
pub struct ConvInfo {
    pub authors: Vec<u32>,
    pub first: usize,
    pub last: usize,
    pub size: u32,
}

/// The conversations built so far, as the dynamic features see them. Conversation labels are
/// below the number of messages (a root message's index at inference, a gold label in training).
#[derive(Debug, Default)]
pub struct State {
    pub conv: Vec<usize>,
    pub convs: Vec<Option<ConvInfo>>,
    talked: HashSet<u64, FastHash>,
}

fn pair_key(a: u32, b: u32) -> u64 {
    ((a.min(b) as u64) << 32) | a.max(b) as u64
}

impl State {
    pub fn new(n: usize) -> State {
        State { conv: vec![usize::MAX; n], convs: vec![None; n], talked: HashSet::default() }
    }

    pub fn assign(&mut self, i: usize, label: usize, parent: Option<usize>, prepared: &[Prepared]) {
        self.conv[i] = label;
        let author = prepared[i].author;
        let c = self.convs[label].get_or_insert_with(|| ConvInfo { authors: Vec::new(), first: i, last: i, size: 0 });
        c.last = i;
        c.size += 1;
        if !c.authors.contains(&author) {
            c.authors.push(author);
        }
        if let Some(p) = parent {
            let a = prepared[p].author;
            if a != author {
                self.talked.insert(pair_key(a, author));
            }
        }
    }
}

/// The candidates of one message and their features.
#[derive(Debug, Default)]
pub struct Window {
    pub candidates: Vec<usize>,
    pub pairs: Vec<[f32; NP]>,
    pub start: [f32; NS],
}

impl Window {
    /// Fills the window of message `b` from `earlier` (the earlier messages of its channel, in
    /// chronological order): at most `max_candidates` of them, none older than `max_gap_ms`.
    #[allow(clippy::too_many_arguments)]
    pub fn fill(
        &mut self,
        b: usize,
        earlier: &[usize],
        prepared: &[Prepared],
        state: &State,
        max_candidates: usize,
        max_gap_ms: i64,
    ) {
        self.candidates.clear();
        self.pairs.clear();
        let tb = prepared[b].ts;
        let pb = &prepared[b];
        let mut seen: Vec<u32> = Vec::with_capacity(16);
        let window = &earlier[earlier.len().saturating_sub(max_candidates)..];
        let b_last_conv = window
            .iter()
            .rev()
            .take_while(|&&a| tb - prepared[a].ts <= max_gap_ms)
            .find(|&&a| prepared[a].author == pb.author)
            .map(|&a| state.conv[a]);
        let mut spoke = false;
        for (k, &a) in window.iter().rev().enumerate() {
            let gap_ms = (tb - prepared[a].ts).max(0);
            if gap_ms > max_gap_ms {
                break;
            }
            let pa = &prepared[a];
            let latest = !seen.contains(&pa.author);
            if latest {
                seen.push(pa.author);
            }
            spoke |= pa.author == pb.author;
            let conv = state.convs.get(state.conv[a]).and_then(Option::as_ref);
            let ctx = PairContext {
                gap_s: gap_ms as f32 / 1000.0,
                distance: k + 1,
                a_latest_of_author: latest,
                b_author_in_conv: conv.is_some_and(|c| c.authors.contains(&pb.author)),
                a_conv_tail: conv.is_some_and(|c| c.last == a),
                authors_talked: state.talked.contains(&pair_key(pa.author, pb.author)),
                a_starts: conv.is_some_and(|c| c.first == a),
                b_author_last_in_conv: b_last_conv == Some(state.conv[a]),
                conv_tail_gap_s: conv.map_or(gap_ms, |c| (tb - prepared[c.last].ts).max(0)) as f32 / 1000.0,
                conv_size: conv.map_or(1, |c| c.size),
            };
            let mut f = [0.0; NP];
            pair_features(pa, pb, &ctx, &mut f);
            self.pairs.push(f);
            self.candidates.push(a);
        }
        let gap_prev = earlier.last().map(|&a| (tb - prepared[a].ts).max(0) as f32 / 1000.0);
        start_features(pb, gap_prev, spoke, self.candidates.len(), &mut self.start);
    }
}
