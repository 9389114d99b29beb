//! Near-duplicate questions: cosine ≥ threshold. The highest-confidence question of a group is
//! kept (ties: the earliest) and carries the message ids of every duplicate it absorbed.

use crate::similarity::{pairs_above, Vectors};

pub const DEFAULT_DUPLICATE_THRESHOLD: f32 = 0.95;

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
/// question with cosine ≥ `threshold`, or is kept itself. Only pairs above the threshold are
/// ever materialised (tiled matrix products), so 25 000 questions take seconds.
pub fn dedupe(questions: &[Question], vectors: Vectors<'_>, threshold: f32) -> Vec<UniqueQuestion> {
    let n = questions.len();
    assert_eq!(n, vectors.len(), "one vector per question");
    let mut neighbours: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    if threshold <= 1.0 {
        for (i, j, sim) in pairs_above(vectors, threshold) {
            neighbours[i as usize].push((j, sim));
            neighbours[j as usize].push((i, sim));
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    // NaN confidences are rejected at the API boundary; total_cmp keeps this a total order anyway.
    order.sort_by(|&a, &b| questions[b].confidence.total_cmp(&questions[a].confidence).then(a.cmp(&b)));
    let mut rank = vec![0usize; n];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    // owner[i] = index of the kept question that i belongs to
    let mut owner: Vec<Option<usize>> = vec![None; n];
    for &i in &order {
        let best = neighbours[i]
            .iter()
            .filter(|&&(j, _)| owner[j as usize] == Some(j as usize))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(rank[b.0 as usize].cmp(&rank[a.0 as usize])));
        owner[i] = Some(match best {
            Some(&(j, _)) => j as usize,
            None => i,
        });
    }
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, o) in owner.iter().enumerate() {
        let o = o.expect("every question is assigned");
        if o != i {
            groups[o].push(i);
        }
    }
    (0..n)
        .filter(|&i| owner[i] == Some(i))
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
}
