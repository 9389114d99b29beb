//! Questions → unique questions → clusters: the embedding, dedupe and cluster stages chained,
//! shared by the `cluster()` call and the tenant pipeline.

use std::time::Instant;

use crate::cluster::{cluster, ClusterOptions, Clustering};
use crate::dedupe::{dedupe_owned, Question, UniqueQuestion, DEFAULT_DUPLICATE_THRESHOLD};
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

/// What the encoder reads of a question given as text (`cluster()`, `dedupe()`): its prose
/// (pastes and links as placeholders) without the greeting, mention or plea to the room it opens
/// with ("hi all, can anyone help me with …"), as `analyzeTenant` reads an ask, so that neither
/// groups questions.
pub fn question_prose(text: &str) -> String {
    crate::prose::without_salutation(&crate::prose::reduce(text), &|_| false).to_string()
}

/// Dedupes and clusters questions given as text, each read as [`question_prose`].
pub fn group(
    embedder: &Embedder,
    questions: &[Question],
    opts: &GroupingOptions,
    progress: Progress<'_>,
) -> Result<Grouping> {
    let t = Instant::now();
    let prose: Vec<String> = questions.iter().map(|q| question_prose(&q.text)).collect();
    let texts: Vec<&str> = prose.iter().map(String::as_str).collect();
    let flat = embedder.embed_flat_with(&texts, opts.embed, &mut |d, n| progress("embed", d, n))?;
    // the encoder's worker threads freed their buffers into their own malloc arenas
    crate::models::release_free_memory();
    let embed_ms = ms(t);
    let mut g = group_embedded(questions, flat, embedder.dims, opts, progress)?;
    g.timings.embed_ms = embed_ms;
    Ok(g)
}

/// The vectors of `texts`, one after the other, as the encoder reads them: their prose, with
/// pastes and links as placeholders (an LLM's rewrite may quote them).
fn embed_prose<'t>(
    embedder: &Embedder,
    texts: impl Iterator<Item = &'t str>,
    opts: EmbedOptions,
    on_batch: &mut dyn FnMut(usize, usize) -> Result<()>,
) -> Result<Vec<f32>> {
    let prose: Vec<std::borrow::Cow<'t, str>> = texts.map(crate::prose::reduce_cow).collect();
    let texts: Vec<&str> = prose.iter().map(|t| &**t).collect();
    embedder.embed_flat_with(&texts, opts, on_batch)
}

/// The dedupe and cluster stages over questions already embedded: `flat` holds question `i`'s
/// vector at `i * dims`.
pub fn group_embedded(
    questions: &[Question],
    flat: Vec<f32>,
    dims: usize,
    opts: &GroupingOptions,
    progress: Progress<'_>,
) -> Result<Grouping> {
    let mut timings = Timings::default();

    let t = Instant::now();
    progress("dedupe", 0, questions.len())?;
    // with dedupe off, a threshold above any cosine keeps every question on its own
    let threshold = if opts.dedupe { opts.duplicate_threshold } else { f32::INFINITY };
    // the buffer comes back with the unique questions' vectors only, in order
    let (unique, flat) = dedupe_owned(questions, flat, dims, threshold);
    timings.dedupe_ms = ms(t);
    progress("dedupe", questions.len(), questions.len())?;

    let t = Instant::now();
    progress("cluster", 0, unique.len())?;
    // dedupe's buffers go back to the OS before the distance matrix is made
    crate::models::release_free_memory();
    let weights: Vec<usize> = unique.iter().map(|u| u.message_ids.len().max(1)).collect();
    let clustering = cluster(Vectors::new(&flat, dims), &weights, &opts.cluster);
    timings.cluster_ms = ms(t);
    progress("cluster", unique.len(), unique.len())?;
    Ok(Grouping { unique, clustering, timings })
}

/// The encoder working in the background while the caller waits for something else (the LLM):
/// texts are `push`ed as they become ready, in any order and any number at a time, and a
/// blocking thread embeds what has queued up (taking a core of the compute pool for each chunk), in chunks of at most [`STREAM_CHUNK`].
/// `finish` returns one buffer with text `k`'s vector at `k * dims`. A text's vector does not
/// depend on the texts it is embedded with (the encoders' test checks it bit for bit), so the
/// result is the one a single `embed` call over all texts gives.
pub struct EmbedStream {
    tx: Option<std::sync::mpsc::Sender<(usize, String)>>,
    job: tokio::task::JoinHandle<Result<(Vec<f32>, f64)>>,
    done: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    total: usize,
}

/// The most texts the background encoder takes at once: enough for length-sorted runs, few
/// enough that the encoder starts while the rest are still coming.
pub const STREAM_CHUNK: usize = 1024;

/// Below this many queued texts the background encoder waits up to [`STREAM_GATHER`] for more.
pub const STREAM_MIN_CHUNK: usize = 64;
pub const STREAM_GATHER: std::time::Duration = std::time::Duration::from_millis(250);

impl EmbedStream {
    /// A stream for `total` texts (indices `0..total`), embedded with `opts` by `engine`'s encoder.
    /// Must be called within a tokio runtime.
    pub fn start(engine: std::sync::Arc<crate::models::Engine>, total: usize, opts: EmbedOptions) -> EmbedStream {
        use std::sync::atomic::Ordering;
        let (tx, rx) = std::sync::mpsc::channel::<(usize, String)>();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (done_w, stop_w) = (done.clone(), stop.clone());
        let job = tokio::task::spawn_blocking(move || {
            let embedder = &engine.embedder;
            let dims = embedder.dims;
            let mut out = vec![0f32; total * dims];
            let mut busy_ms = 0.0;
            while let Ok(first) = rx.recv() {
                let mut chunk = vec![first];
                // what has queued up; when that is little (answers trickling in), a moment more,
                // so that runs are not a text or two each
                let gather = Instant::now() + STREAM_GATHER;
                while chunk.len() < STREAM_CHUNK {
                    let item = match rx.try_recv() {
                        Ok(item) => Ok(item),
                        Err(_) if chunk.len() < STREAM_MIN_CHUNK => {
                            rx.recv_timeout(gather.saturating_duration_since(Instant::now()))
                        }
                        Err(_) => break,
                    };
                    match item {
                        Ok(item) => chunk.push(item),
                        Err(_) => break,
                    }
                }
                let _core = crate::compute::core_blocking()?;
                let t = Instant::now();
                let before = done_w.load(Ordering::Relaxed);
                let texts = chunk.iter().map(|(_, text)| text.as_str());
                let flat = embed_prose(embedder, texts, opts, &mut |d, _| {
                    done_w.store(before + d, Ordering::Relaxed);
                    if stop_w.load(Ordering::Relaxed) {
                        Err(crate::error::Error::Aborted)
                    } else {
                        Ok(())
                    }
                })?;
                for ((k, _), v) in chunk.iter().zip(flat.chunks_exact(dims)) {
                    let row = out.get_mut(k * dims..(k + 1) * dims).ok_or_else(|| {
                        crate::error::Error::Internal(format!("text {k} of {total} pushed to the encoder"))
                    })?;
                    row.copy_from_slice(v);
                }
                drop((flat, chunk));
                // the encoder's and the chunk's buffers, in the worker threads' malloc arenas
                crate::models::release_free_memory();
                busy_ms += ms(t);
            }
            Ok((out, busy_ms))
        });
        EmbedStream { tx: Some(tx), job, done, stop, total }
    }

    /// Queues text `k` for the encoder.
    pub fn push(&self, k: usize, text: String) {
        if let Some(tx) = &self.tx {
            // a closed channel means the job failed: `finish` returns its error
            let _ = tx.send((k, text));
        }
    }

    /// How many texts are embedded, of how many.
    pub fn progress(&self) -> (usize, usize) {
        (self.done.load(std::sync::atomic::Ordering::Relaxed), self.total)
    }

    /// Waits for the texts queued so far; returns the buffer and the time the encoder was busy
    /// (ms). `on_wait` is called about twice a second while waiting; an error from it stops the
    /// encoder and is returned.
    pub async fn finish(
        mut self,
        mut on_wait: impl FnMut(usize, usize) -> Result<()> + Send,
    ) -> Result<(Vec<f32>, f64)> {
        self.tx = None;
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tokio::select! {
                joined = &mut self.job => {
                    return match joined {
                        Ok(r) => r,
                        Err(e) if e.is_panic() => Err(crate::error::Error::Internal(crate::compute::panic_message(e.into_panic()))),
                        Err(e) => Err(crate::error::Error::Internal(e.to_string())),
                    };
                }
                _ = tick.tick() => {
                    let (d, n) = self.progress();
                    if let Err(e) = on_wait(d, n) {
                        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        }
    }
}

impl Drop for EmbedStream {
    /// A stream dropped unfinished (an error or an abort upstream) stops its encoder at the next run.
    fn drop(&mut self) {
        if !self.job.is_finished() {
            self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

pub fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}
