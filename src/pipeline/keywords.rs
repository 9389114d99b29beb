//! Distinctive terms per cluster, c-TF-IDF style (as BERTopic): a term's frequency in the
//! cluster, weighted by log(1 + A / f), A the average number of terms per cluster and f the
//! term's frequency over all clusters.

use std::collections::HashMap;

const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "are",
    "but",
    "not",
    "you",
    "all",
    "any",
    "can",
    "her",
    "was",
    "one",
    "our",
    "out",
    "has",
    "have",
    "had",
    "how",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "with",
    "does",
    "did",
    "doing",
    "this",
    "that",
    "these",
    "those",
    "there",
    "their",
    "they",
    "them",
    "then",
    "than",
    "from",
    "into",
    "about",
    "would",
    "could",
    "should",
    "will",
    "just",
    "like",
    "get",
    "got",
    "getting",
    "use",
    "using",
    "used",
    "way",
    "is",
    "it",
    "its",
    "to",
    "of",
    "in",
    "on",
    "a",
    "an",
    "i",
    "my",
    "me",
    "we",
    "do",
    "be",
    "or",
    "if",
    "so",
    "at",
    "by",
    "as",
    "anyone",
    "someone",
    "know",
    "need",
    "want",
    "able",
    "also",
    "some",
    "there's",
    "what's",
    "it's",
    "i'm",
    "don't",
    "can't",
    "doesn't",
    "isn't",
    "your",
    "yours",
    "his",
    "she",
    "him",
    "too",
    "very",
    "really",
    "still",
    "possible",
    "question",
    "help",
    "please",
    "thanks",
    "hi",
    "hello",
    "hey",
    "guys",
    "yes",
    "no",
    "ok",
    "okay",
    "anybody",
    "else",
    "other",
    "make",
    "see",
    "try",
    "work",
    "works",
    "working",
    "thing",
    "things",
    "something",
    "anything",
    "after",
    "before",
    "while",
    "only",
    "more",
    "most",
    "much",
    "many",
    "same",
    "each",
    "every",
    "here",
    "now",
    "new",
    "been",
    "being",
    "were",
    "was",
    "may",
    "might",
];

fn terms(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    lower
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.' || c == '\''))
        .map(|t| t.trim_matches(|c: char| c == '.' || c == '-' || c == '\'' || c == '_'))
        .filter(|t| t.chars().count() >= 3 && !STOPWORDS.contains(t) && !t.chars().all(|c| c.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

/// Top `k` terms for each cluster (documents = the cluster's questions).
pub fn c_tf_idf(clusters: &[Vec<String>], k: usize) -> Vec<Vec<String>> {
    let tfs: Vec<HashMap<String, f64>> = clusters
        .iter()
        .map(|docs| {
            let mut tf = HashMap::new();
            for d in docs {
                for t in terms(d) {
                    *tf.entry(t).or_insert(0.0) += 1.0;
                }
            }
            tf
        })
        .collect();
    let mut freq: HashMap<&str, f64> = HashMap::new();
    let mut total = 0.0;
    for tf in &tfs {
        for (t, c) in tf {
            *freq.entry(t.as_str()).or_insert(0.0) += c;
            total += c;
        }
    }
    let avg = if tfs.is_empty() { 1.0 } else { (total / tfs.len() as f64).max(1.0) };
    tfs.iter()
        .map(|tf| {
            let n: f64 = tf.values().sum::<f64>().max(1.0);
            let mut scored: Vec<(&String, f64)> =
                tf.iter().map(|(t, c)| (t, (c / n) * (1.0 + avg / freq[t.as_str()]).ln())).collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            scored.into_iter().take(k).map(|(t, _)| t.clone()).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinctive_terms_win_over_common_ones() {
        let clusters = vec![
            vec!["How do I install docker on windows?".to_string(), "docker install fails on windows".to_string()],
            vec!["How do I reset my password?".to_string(), "password reset email never arrives".to_string()],
        ];
        let kw = c_tf_idf(&clusters, 3);
        assert!(kw[0].contains(&"docker".to_string()) && kw[0].contains(&"windows".to_string()), "{kw:?}");
        assert!(kw[1].contains(&"password".to_string()) && kw[1].contains(&"reset".to_string()), "{kw:?}");
        assert!(!kw[0].iter().any(|t| t == "how"));
        assert!(c_tf_idf(&[], 3).is_empty());
    }
}
