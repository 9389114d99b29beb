//! Near-duplicate questions: cosine ≥ threshold. The highest-confidence question of a group is
//! kept (ties: the earliest) and carries the message ids of every duplicate it absorbed.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use crate::similarity::{dots, nearest_above, Vectors};

pub const DEFAULT_DUPLICATE_THRESHOLD: f32 = 0.95;

/// Questions decided per step: their similarities to the questions kept in earlier steps are
/// computed in tiles, those among themselves in one small product.
const STEP: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: String,
    pub text: String,
    pub confidence: f32,
    /// Ids of the messages this question stands for; empty means just `[id]`.
    pub message_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UniqueQuestion {
    /// Index of the kept question in the input.
    pub index: usize,
    /// Indices of the questions merged into it (not including itself), in input order.
    pub duplicates: Vec<usize>,
    /// Its own message ids followed by its duplicates', without repeats.
    pub message_ids: Vec<String>,
}

/// Groups near-duplicates. `vectors` holds one unit vector per question, in input order.
/// Returns the unique questions in input order of the kept ones.
///
/// Each question, in order of decreasing confidence, joins the most similar already-kept
/// question with cosine ≥ `threshold` (ties: the one kept first), or is kept itself. No pair is
/// stored: questions are decided in steps against the kept ones (tiled matrix products), and
/// exact duplicates (same text up to case and spacing, or the same vector) of a kept question
/// join it without any product, so memory is O(n · dims) even for a wave of identical questions.
pub fn dedupe(questions: &[Question], vectors: Vectors<'_>, threshold: f32) -> Vec<UniqueQuestion> {
    dedupe_owned(questions, vectors.data.to_vec(), vectors.dims, threshold).0
}

/// [`dedupe`] on a buffer of vectors it owns (question `i`'s at `i * dims`): the kept questions'
/// vectors are gathered at the front of the buffer as they are kept, instead of into a second
/// copy, and the buffer comes back holding the unique questions' vectors, in the order of the
/// returned list.
pub fn dedupe_owned(
    questions: &[Question],
    mut flat: Vec<f32>,
    dims: usize,
    threshold: f32,
) -> (Vec<UniqueQuestion>, Vec<f32>) {
    let n = questions.len();
    assert_eq!(n * dims, flat.len(), "one vector per question");
    let mut order: Vec<usize> = (0..n).collect();
    // NaN confidences are rejected at the API boundary; total_cmp keeps this a total order anyway.
    order.sort_by(|&a, &b| questions[b].confidence.total_cmp(&questions[a].confidence).then(a.cmp(&b)));
    let (owner, kept) = owners(questions, &mut flat, dims, &order, threshold);
    if let Some(kept) = kept {
        in_input_order(&mut flat, dims, &kept);
        flat.truncate(kept.len() * dims);
        flat.shrink_to_fit();
    }
    (unique_of(questions, &owner), flat)
}

/// The rows at the front of `flat`, those of the questions `kept` (in that order), sorted by
/// question index: a gather by cycles, one row of scratch.
fn in_input_order(flat: &mut [f32], dims: usize, kept: &[usize]) {
    // new row r is old row from[r]
    let mut from: Vec<usize> = (0..kept.len()).collect();
    from.sort_by_key(|&k| kept[k]);
    let mut done = vec![false; kept.len()];
    let mut scratch = vec![0f32; dims];
    for start in 0..kept.len() {
        if done[start] {
            continue;
        }
        scratch.copy_from_slice(&flat[start * dims..(start + 1) * dims]);
        let mut r = start;
        loop {
            done[r] = true;
            let src = from[r];
            if src == start {
                flat[r * dims..(r + 1) * dims].copy_from_slice(&scratch);
                break;
            }
            flat.copy_within(src * dims..(src + 1) * dims, r * dims);
            r = src;
        }
    }
}

/// The unique questions of an owner map, in input order of the kept ones.
fn unique_of(questions: &[Question], owner: &[usize]) -> Vec<UniqueQuestion> {
    let n = questions.len();
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, &o) in owner.iter().enumerate() {
        if o != i {
            groups[o].push(i);
        }
    }
    (0..n)
        .filter(|&i| owner[i] == i)
        .map(|i| {
            let duplicates = std::mem::take(&mut groups[i]);
            let mut seen = std::collections::HashSet::new();
            let mut message_ids = Vec::new();
            for &q in std::iter::once(&i).chain(duplicates.iter()) {
                let ids: Vec<&String> = if questions[q].message_ids.is_empty() {
                    vec![&questions[q].id]
                } else {
                    questions[q].message_ids.iter().collect()
                };
                for id in ids {
                    if seen.insert(id.as_str()) {
                        message_ids.push(id.clone());
                    }
                }
            }
            UniqueQuestion { index: i, duplicates, message_ids }
        })
        .collect()
}

/// The kept question each question joins (itself when kept), deciding them in `order`; and the
/// kept questions in the order they were kept, their rows moved to the front of `flat` (`None`
/// when the threshold keeps every question and nothing moved).
fn owners(
    questions: &[Question],
    flat: &mut [f32],
    dims: usize,
    order: &[usize],
    threshold: f32,
) -> (Vec<usize>, Option<Vec<usize>>) {
    let n = questions.len();
    // a threshold above any cosine (or NaN) keeps every question on its own
    if threshold.is_nan() || threshold > 1.0 {
        return ((0..n).collect(), None);
    }
    let first = exact_duplicates(questions, Vectors::new(flat, dims), order);
    const UNDECIDED: usize = usize::MAX;
    let mut owner = vec![UNDECIDED; n];
    // the kept questions in the order they were kept; their rows are flat's first rows, in that
    // order. `pos[i]`: the row of question i; `at[p]`: the question whose row is row p.
    let mut kept: Vec<usize> = Vec::new();
    let mut pos: Vec<usize> = (0..n).collect();
    let mut at: Vec<usize> = (0..n).collect();
    for step in order.chunks(STEP) {
        // an exact duplicate of a question kept in an earlier step joins it: it is the most
        // similar kept question there can be
        let mut open = Vec::with_capacity(step.len());
        for &i in step {
            let f = first[i];
            if f != i && owner[f] == f {
                owner[i] = f;
            } else {
                open.push(i);
            }
        }
        let mut rows = Vec::with_capacity(open.len() * dims);
        for &i in &open {
            rows.extend_from_slice(&flat[pos[i] * dims..(pos[i] + 1) * dims]);
        }
        let rows = Vectors::new(&rows, dims);
        let earlier = nearest_above(rows, Vectors::new(&flat[..kept.len() * dims], dims), threshold);
        let among = dots(rows, rows);
        // positions in `open` of the questions kept in this step, in order
        let mut kept_here: Vec<usize> = Vec::new();
        for (k, &i) in open.iter().enumerate() {
            let f = first[i];
            if f != i && owner[f] == f {
                owner[i] = f;
                continue;
            }
            // questions kept in earlier steps were kept first: one kept here wins only if closer
            let mut best = earlier[k].map(|(c, sim)| (kept[c as usize], sim));
            for &k2 in &kept_here {
                let sim = among[[k, k2]];
                if sim >= threshold && best.is_none_or(|(_, b)| sim > b) {
                    best = Some((open[k2], sim));
                }
            }
            match best {
                Some((j, _)) => owner[i] = j,
                None => {
                    owner[i] = i;
                    kept_here.push(k);
                }
            }
        }
        for k in kept_here {
            // the kept row joins the front; the row it displaces (a question not kept) takes its place
            let (i, p) = (open[k], kept.len());
            let (pi, j) = (pos[i], at[p]);
            debug_assert!(pi >= p, "a question not yet kept has its row behind the kept ones");
            if pi != p {
                let (front, back) = flat.split_at_mut(pi * dims);
                front[p * dims..(p + 1) * dims].swap_with_slice(&mut back[..dims]);
                (pos[i], at[p], pos[j], at[pi]) = (p, i, pi, j);
            }
            kept.push(i);
        }
    }
    (owner, Some(kept))
}

/// For each question, the first question in `order` that is an exact duplicate of it: the same
/// text up to case and runs of whitespace (what the uncased encoder sees), or bit for bit the
/// same vector. Itself when there is none.
fn exact_duplicates(questions: &[Question], vectors: Vectors<'_>, order: &[usize]) -> Vec<usize> {
    let n = questions.len();
    let mut rank = vec![0usize; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut first: Vec<usize> = (0..n).collect();
    let mut by_text: HashMap<String, usize> = HashMap::new();
    let mut by_vector: HashMap<u64, usize> = HashMap::new();
    for &i in order {
        let text: String = questions[i].text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let row = vectors.row(i);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        row.iter().for_each(|x| x.to_bits().hash(&mut hasher));
        let bits = hasher.finish();
        let same_text = by_text.get(&text).map(|&j| first[j]);
        let same_vector = by_vector
            .get(&bits)
            .filter(|&&j| vectors.row(j).iter().zip(row).all(|(a, b)| a.to_bits() == b.to_bits()))
            .map(|&j| first[j]);
        if let Some(f) = same_text.into_iter().chain(same_vector).min_by_key(|&f| rank[f]) {
            first[i] = f;
        }
        by_text.entry(text).or_insert(i);
        by_vector.entry(bits).or_insert(i);
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str, confidence: f32) -> Question {
        Question { id: id.into(), text: id.into(), confidence, message_ids: vec![] }
    }

    fn unit(v: [f32; 3]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn unit_n(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    /// Today's rule written out plainly: every pair's cosine by a loop, each question in order of
    /// confidence joining the most similar kept one (ties: kept first) or kept itself.
    fn reference(qs: &[Question], v: Vectors<'_>, threshold: f32) -> Vec<(usize, Vec<usize>)> {
        let n = qs.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| qs[b].confidence.total_cmp(&qs[a].confidence).then(a.cmp(&b)));
        let mut owner = vec![usize::MAX; n];
        let mut kept: Vec<usize> = Vec::new();
        for &i in &order {
            let mut best: Option<(usize, f32)> = None;
            for &j in &kept {
                let sim: f32 = v.row(i).iter().zip(v.row(j)).map(|(a, b)| a * b).sum();
                if sim >= threshold && best.is_none_or(|(_, b)| sim > b) {
                    best = Some((j, sim));
                }
            }
            owner[i] = best.map_or(i, |b| b.0);
            if owner[i] == i {
                kept.push(i);
            }
        }
        (0..n).filter(|&i| owner[i] == i).map(|i| (i, (0..n).filter(|&d| d != i && owner[d] == i).collect())).collect()
    }

    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f32 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 40) as f32 / (1u64 << 24) as f32
        }
    }

    #[test]
    fn matches_a_brute_force_reference_on_random_data() {
        let dims = 16;
        for seed in 1..4u64 {
            let mut rng = Lcg(seed);
            // 1,400 topics (more kept questions than one tile), 3,000 questions: a topic's questions
            // are its vector plus noise of a random size, so some pairs fall above the threshold
            // and some below; every tenth question is an exact copy of an earlier one
            let topics: Vec<Vec<f32>> =
                (0..1400).map(|_| unit_n(&(0..dims).map(|_| rng.next() - 0.5).collect::<Vec<_>>())).collect();
            let mut qs: Vec<Question> = Vec::new();
            let mut data: Vec<f32> = Vec::new();
            for i in 0..3000usize {
                if i % 10 == 9 {
                    let j = (rng.next() * i as f32) as usize;
                    qs.push(Question { id: format!("q{i}"), ..qs[j].clone() });
                    let row = data[j * dims..(j + 1) * dims].to_vec();
                    data.extend(row);
                    continue;
                }
                let t = &topics[(rng.next() * topics.len() as f32) as usize % topics.len()];
                let noise = 0.3 * rng.next();
                let v: Vec<f32> = t.iter().map(|x| x + noise * (rng.next() - 0.5)).collect();
                // a few confidence levels, so that ties are common
                let confidence = 0.5 + (rng.next() * 5.0).floor() / 10.0;
                qs.push(Question {
                    id: format!("q{i}"),
                    text: format!("question {i}"),
                    confidence,
                    message_ids: vec![],
                });
                data.extend(unit_n(&v));
            }
            let v = Vectors::new(&data, dims);
            for threshold in [0.9, 0.95] {
                let fast: Vec<(usize, Vec<usize>)> =
                    dedupe(&qs, v, threshold).into_iter().map(|u| (u.index, u.duplicates)).collect();
                let slow = reference(&qs, v, threshold);
                assert!(slow.len() < 2500 && slow.len() > 1000, "a mix of merged and kept: {}", slow.len());
                assert_eq!(fast, slow, "seed {seed}, threshold {threshold}");
            }
        }
    }

    #[test]
    fn a_later_copy_joins_the_best_question_kept_by_then() {
        // g0 and g1 are the same question. g0 (0.9) joins j (cos 0.96); k (0.85) is kept after
        // it and is closer to them (cos 0.99) but not to j (cos 0.91); g1 (0.8) joins k, as the
        // rule says, not g0's owner
        let at = |deg: f32| vec![deg.to_radians().cos(), deg.to_radians().sin()];
        let qs = vec![q("j", 0.95), q("g0", 0.9), q("k", 0.85), q("g1", 0.8)];
        let qs: Vec<Question> = qs
            .into_iter()
            .enumerate()
            .map(|(i, x)| if i % 2 == 1 { Question { text: "g".into(), ..x } } else { x })
            .collect();
        let data = [at(16.26), at(0.0), at(-8.1), at(0.0)].concat();
        let out: Vec<(usize, Vec<usize>)> =
            dedupe(&qs, Vectors::new(&data, 2), 0.95).into_iter().map(|u| (u.index, u.duplicates)).collect();
        assert_eq!(out, vec![(0, vec![1]), (2, vec![3])]);
        assert_eq!(out, reference(&qs, Vectors::new(&data, 2), 0.95));
    }

    #[test]
    fn a_wave_of_identical_questions_becomes_one() {
        // 20,000 copies of one question (the same text, vectors a hair apart as batches make them)
        // among 500 others: one kept question carries every copy's message id
        let mut qs = Vec::new();
        let mut data = Vec::new();
        let mut rng = Lcg(9);
        for i in 0..20_500usize {
            if i % 41 == 0 {
                qs.push(Question {
                    id: format!("o{i}"),
                    text: format!("other {i}"),
                    confidence: 0.9,
                    message_ids: vec![],
                });
                data.extend(unit_n(&(0..8).map(|_| rng.next() - 0.5).collect::<Vec<_>>()));
            } else {
                let text = if i % 2 == 0 { "Is the server down?" } else { "is the  server down?" };
                qs.push(Question { id: format!("s{i}"), text: text.into(), confidence: 0.7, message_ids: vec![] });
                data.extend(unit_n(&[1.0, 1e-6 * (i % 3) as f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]));
            }
        }
        let out = dedupe(&qs, Vectors::new(&data, 8), 0.95);
        let wave: Vec<&UniqueQuestion> = out.iter().filter(|u| qs[u.index].id.starts_with('s')).collect();
        assert_eq!(wave.len(), 1);
        assert_eq!(wave[0].index, 1, "the first of the most confident copies");
        assert_eq!(wave[0].message_ids.len(), 20_000);
    }

    #[test]
    fn keeps_the_most_confident_and_collects_every_message_id() {
        let qs =
            vec![Question { message_ids: vec!["m1".into(), "m1b".into()], ..q("a", 0.8) }, q("b", 0.9), q("c", 0.99)];
        let data = [unit([1.0, 0.0, 0.0]), unit([1.0, 0.01, 0.0]), unit([0.0, 1.0, 0.0])].concat();
        let out = dedupe(&qs, Vectors::new(&data, 3), 0.95);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].index, 1, "b (0.9) beats a (0.8)");
        assert_eq!(out[0].duplicates, vec![0]);
        assert_eq!(out[0].message_ids, vec!["b", "m1", "m1b"]);
        assert_eq!(out[1].index, 2);
        assert!(out[1].duplicates.is_empty());
    }

    #[test]
    fn ties_keep_the_earliest() {
        let qs = vec![q("a", 0.9), q("b", 0.9)];
        let data = [unit([1.0, 0.0, 0.0]), unit([1.0, 0.0, 0.0])].concat();
        let out = dedupe(&qs, Vectors::new(&data, 3), 0.95);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].index, 0);
        assert_eq!(out[0].message_ids, vec!["a", "b"]);
    }

    #[test]
    fn threshold_above_one_disables_merging_and_empty_input_is_fine() {
        let qs = vec![q("a", 0.9), q("b", 0.9)];
        let data = [unit([1.0, 0.0, 0.0]), unit([1.0, 0.0, 0.0])].concat();
        assert_eq!(dedupe(&qs, Vectors::new(&data, 3), 1.01).len(), 2);
        assert!(dedupe(&[], Vectors::new(&[], 3), 0.95).is_empty());
    }

    #[test]
    fn a_chain_does_not_merge_beyond_the_threshold() {
        // a~b and b~c are above 0.95 but a~c is not: c must not be absorbed through b
        let a = unit([1.0, 0.0, 0.0]);
        let b = unit([1.0, 0.3, 0.0]);
        let c = unit([1.0, 0.62, 0.0]);
        let sim = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
        assert!(sim(&a, &b) >= 0.95 && sim(&b, &c) >= 0.95 && sim(&a, &c) < 0.95);
        let qs = vec![q("a", 0.99), q("b", 0.5), q("c", 0.9)];
        let data = [a, b, c].concat();
        let out = dedupe(&qs, Vectors::new(&data, 3), 0.95);
        let kept: Vec<usize> = out.iter().map(|u| u.index).collect();
        assert_eq!(kept, vec![0, 2]);
    }

    #[test]
    fn the_owned_buffer_comes_back_with_the_unique_vectors_in_order() {
        // 60 questions around 7 directions in 16 dimensions, confidences out of input order, so
        // that kept rows move to the front out of order and come back sorted
        let dims = 16;
        let mut data = Vec::new();
        let mut qs = Vec::new();
        for i in 0..60usize {
            let topic = (i * 5) % 7;
            let mut v: Vec<f32> = (0..dims).map(|d| if d == topic { 1.0 } else { 0.0 }).collect();
            if i % 3 == 0 {
                // a third are apart from their topic: kept on their own
                v[7 + i % 9] = 1.5;
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            data.extend(v.iter().map(|x| x / norm));
            qs.push(q(&format!("q{i}"), ((i * 37) % 60) as f32 / 60.0));
        }
        let (owned, rows) = dedupe_owned(&qs, data.clone(), dims, 0.95);
        assert!(owned.len() > 7 && owned.len() < 60, "{}", owned.len());
        assert_eq!(rows.len(), owned.len() * dims);
        for (r, u) in owned.iter().enumerate() {
            assert_eq!(&rows[r * dims..(r + 1) * dims], &data[u.index * dims..(u.index + 1) * dims]);
        }
        // a threshold above any cosine: every question, every row, as they were
        let (all, rows) = dedupe_owned(&qs, data.clone(), dims, 1.01);
        assert_eq!(all.len(), 60);
        assert_eq!(rows, data);
    }
}
