//! Questions → unique questions → clusters: the embedding, dedupe and cluster stages chained,
//! shared by the `cluster()` call and the tenant pipeline.

use std::time::Instant;

use crate::cluster::{cluster, ClusterOptions, Clustering};
use crate::dedupe::{dedupe, Question, UniqueQuestion, DEFAULT_DUPLICATE_THRESHOLD};
use crate::embed::{EmbedOptions, Embedder};
use crate::error::Result;
use crate::similarity::Vectors;

#[derive(Debug, Clone)]
pub struct GroupingOptions {
    /// Run dedupe before clustering.
    pub dedupe: bool,
    pub duplicate_threshold: f32,
    pub cluster: ClusterOptions,
    pub embed: EmbedOptions,
}

impl Default for GroupingOptions {
    fn default() -> Self {
        GroupingOptions {
            dedupe: true,
            duplicate_threshold: DEFAULT_DUPLICATE_THRESHOLD,
            cluster: ClusterOptions::default(),
            embed: EmbedOptions::default(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Timings {
    pub embed_ms: f64,
    pub dedupe_ms: f64,
    pub cluster_ms: f64,
}

#[derive(Debug, Clone)]
pub struct Grouping {
    pub unique: Vec<UniqueQuestion>,
    /// Clustering over `unique` (indices into `unique`).
    pub clustering: Clustering,
    pub timings: Timings,
}

/// Progress of the grouping stages: `(stage, done, total)`; an error (cancellation) stops it.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize) -> Result<()>;

pub fn group(
    embedder: &Embedder,
    questions: &[Question],
    opts: &GroupingOptions,
    progress: Progress<'_>,
) -> Result<Grouping> {
    let mut timings = Timings::default();
    let t = Instant::now();
    // the encoder reads the prose: pastes and links as placeholders (an LLM's rewrite may quote them)
    let prose: Vec<std::borrow::Cow<'_, str>> = questions.iter().map(|q| crate::prose::reduce_cow(&q.text)).collect();
    let texts: Vec<&str> = prose.iter().map(|t| &**t).collect();
    let flat = embedder.embed_flat_with(&texts, opts.embed, &mut |d, n| progress("embed", d, n))?;
    drop(prose);
    // the encoder's worker threads freed their buffers into their own malloc arenas
    crate::models::release_free_memory();
    timings.embed_ms = ms(t);
    let all = Vectors::new(&flat, embedder.dims);

    let t = Instant::now();
    progress("dedupe", 0, questions.len())?;
    // with dedupe off, a threshold above any cosine keeps every question on its own
    let threshold = if opts.dedupe { opts.duplicate_threshold } else { f32::INFINITY };
    let unique = dedupe(questions, all, threshold);
    timings.dedupe_ms = ms(t);
    progress("dedupe", questions.len(), questions.len())?;

    let t = Instant::now();
    progress("cluster", 0, unique.len())?;
    let mut unique_flat = Vec::with_capacity(unique.len() * embedder.dims);
    for u in &unique {
        unique_flat.extend_from_slice(all.row(u.index));
    }
    drop(flat);
    let weights: Vec<usize> = unique.iter().map(|u| u.message_ids.len().max(1)).collect();
    let clustering = cluster(Vectors::new(&unique_flat, embedder.dims), &weights, &opts.cluster);
    timings.cluster_ms = ms(t);
    progress("cluster", unique.len(), unique.len())?;
    Ok(Grouping { unique, clustering, timings })
}

pub fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
