//! The napi binding: converts JS values into owned Rust data, spawns the work off the JS
//! thread (tokio's blocking pool, never libuv's), and converts results and errors back.
//! No analysis logic lives here.

use std::future::Future;
use std::path::PathBuf;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

use crate::cluster::{ClusterOptions, Linkage, DEFAULT_AVERAGE_THRESHOLD, DEFAULT_WARD_THRESHOLD};
use crate::embed::EmbedOptions as CoreEmbedOptions;
use crate::error::{Error as CoreError, ErrorKind, Result as CoreResult};
use crate::grouping::GroupingOptions;
use crate::input;
use crate::models::{self, LoadOptions};

pub mod conversations;
pub mod asks;
mod convert;
pub mod tenant;

/// A JS argument as JSON for validation; `None` when it is absent.
pub(crate) fn arg_json(env: &Env, v: Option<Unknown<'_>>, name: &str) -> CoreResult<Option<Value>> {
    match v {
        None => Ok(None),
        Some(u) => {
            unsafe { convert::to_json(env.raw(), u.raw(), name) }.map(|j| if j.is_null() { None } else { Some(j) })
        }
    }
}

pub(crate) fn required_json(env: &Env, v: Unknown<'_>, name: &str) -> CoreResult<Value> {
    unsafe { convert::to_json(env.raw(), v.raw(), name) }
}

// ---------------------------------------------------------------------------------------------
// Spawning and error mapping

pub(crate) use crate::compute::blocking;

/// A JS error of the class the core error asks for, with `code` (and `field`) set.
fn js_error(env: &Env, e: &CoreError) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let msg = env.create_string(e.to_string())?;
        let code = env.create_string(e.code())?;
        let mut raw = std::ptr::null_mut();
        let status = unsafe {
            match e.kind() {
                ErrorKind::Type => sys::napi_create_type_error(env.raw(), code.raw(), msg.raw(), &mut raw),
                ErrorKind::Range => sys::napi_create_range_error(env.raw(), code.raw(), msg.raw(), &mut raw),
                ErrorKind::Plain | ErrorKind::Abort => {
                    sys::napi_create_error(env.raw(), code.raw(), msg.raw(), &mut raw)
                }
            }
        };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_reason(e.to_string()));
        }
        let mut obj = unsafe { Object::from_napi_value(env.raw(), raw)? };
        if let Some(field) = e.field() {
            obj.set("field", field)?;
        }
        if e.kind() == ErrorKind::Abort {
            obj.set("name", "AbortError")?;
        }
        let unknown = unsafe { Unknown::from_napi_value(env.raw(), raw)? };
        Ok(napi::Error::from(unknown))
    };
    build().unwrap_or_else(|err| err)
}

/// Runs `fut` off the JS thread and returns a Promise; `convert` turns its output into JS on the
/// JS thread. Core errors reject with a `TypeError`/`RangeError`/`Error` carrying `code`.
pub(crate) fn spawn<'env, T, V, F, C>(env: &'env Env, fut: F, convert: C) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = CoreResult<T>> + Send + 'static,
    C: FnOnce(&Env, T) -> napi::Result<V> + 'static,
{
    env.spawn_future_with_callback(async move { Ok(fut.await) }, move |env, result| match result {
        Ok(value) => convert(env, value),
        Err(e) => Err(js_error(env, &e)),
    })
}

/// Rejects at once (validation that needs no work).
pub(crate) fn reject<'env, V: ToNapiValue + 'static>(
    env: &'env Env,
    e: CoreError,
) -> napi::Result<PromiseRaw<'env, V>> {
    spawn(env, async move { Err::<(), _>(e) }, |_, _| unreachable!("always an error"))
}

// ---------------------------------------------------------------------------------------------
// Models

/// Where models and ONNX Runtime come from. Every field is optional.
#[napi(object)]
pub struct LoadModelsOptions {
    /// Folder with the fetched models (default: `$QUESTION_INSIGHTS_MODELS`, else the package's `models/`).
    pub models_dir: Option<String>,
    /// The ONNX Runtime shared library (default: `$ORT_DYLIB_PATH`, else onnxruntime-node's copy).
    pub ort_lib_path: Option<String>,
    /// Threads ONNX Runtime uses inside one model run (default: cores, at most 4).
    pub intra_threads: Option<u32>,
    /// Folder of a Hugging Face sequence-classification model exported to ONNX, used instead of
    /// the built-in question head.
    pub classifier_model: Option<String>,
    /// With `classifierModel`: the label (name or index) of the question class, when the
    /// model's `id2label` names do not make it clear.
    pub classifier_question_label: Option<String>,
    /// A question head trained by `npm run train:classifier` (default: the package's
    /// models/classifier/question-head.json).
    pub classifier_head: Option<String>,
}

#[napi(object)]
pub struct LoadedModel {
    pub name: String,
    pub path: String,
    pub package: String,
    pub version: String,
    pub dims: u32,
}

/// Health information: loaded models, their paths and versions, and the process memory.
#[napi(object)]
pub struct ModelInfo {
    pub loaded: bool,
    pub models_dir: Option<String>,
    pub ort_library: Option<String>,
    pub onnx_runtime_version: String,
    pub intra_threads: Option<u32>,
    pub models: Vec<LoadedModel>,
    /// `'question-head'` (built-in), `'external'` (classifierModel) or `'missing'`.
    pub classifier: Option<String>,
    pub classifier_path: Option<String>,
    pub rss_bytes: f64,
    pub peak_rss_bytes: f64,
}

fn model_info_now() -> ModelInfo {
    let (rss, peak) = models::process_rss();
    let manifest = models::manifest();
    let engine = models::loaded();
    let mut list = Vec::new();
    if let Some(e) = &engine {
        let minilm = &manifest.models["minilm"];
        let file = &minilm.files["model.onnx"];
        list.push(LoadedModel {
            name: "minilm".into(),
            path: e.embedder.model_path.display().to_string(),
            package: file.package.clone(),
            version: file.version.clone(),
            dims: e.embedder.dims as u32,
        });
    }
    ModelInfo {
        loaded: engine.is_some(),
        models_dir: engine.as_ref().map(|e| e.models_dir.display().to_string()),
        ort_library: engine.as_ref().map(|e| e.ort_lib.display().to_string()),
        onnx_runtime_version: manifest.onnxruntime.version.clone(),
        intra_threads: engine.as_ref().map(|e| e.intra_threads as u32),
        models: list,
        classifier: engine.as_ref().map(|e| e.classifier.describe().0.to_string()),
        classifier_path: engine.as_ref().and_then(|e| e.classifier.describe().1),
        rss_bytes: rss as f64,
        peak_rss_bytes: peak as f64,
    }
}

/// Loads the models now instead of on first use (once per process; later calls return the
/// loaded models and ignore their options).
#[napi(ts_return_type = "Promise<ModelInfo>")]
pub fn load_models<'env>(
    env: &'env Env,
    options: Option<LoadModelsOptions>,
) -> napi::Result<PromiseRaw<'env, ModelInfo>> {
    let opts = match options {
        None => LoadOptions::default(),
        Some(o) => {
            if let Some(0) = o.intra_threads {
                return reject(env, CoreError::out_of_range("options.intraThreads", "must be at least 1"));
            }
            LoadOptions {
                models_dir: o.models_dir.map(PathBuf::from),
                ort_lib_path: o.ort_lib_path.map(PathBuf::from),
                intra_threads: o.intra_threads.map(|n| n as usize),
                classifier_model: o.classifier_model.map(PathBuf::from),
                classifier_question_label: o.classifier_question_label,
                classifier_head: o.classifier_head.map(PathBuf::from),
            }
        }
    };
    spawn(env, blocking(move || models::load(&opts).map(|_| ())), |_, ()| Ok(model_info_now()))
}

/// Loaded models, their paths and versions, and the process RSS. Does not load anything.
#[napi]
pub fn model_info() -> ModelInfo {
    model_info_now()
}

// ---------------------------------------------------------------------------------------------
// embed

#[napi(object)]
pub struct EmbedOptions {
    /// Tokens a text is cut to (default 256).
    pub max_tokens: Option<u32>,
    /// Texts per model run (default 32).
    pub batch_size: Option<u32>,
}

pub(crate) fn embed_options(o: Option<&serde_json::Map<String, Value>>, prefix: &str) -> CoreResult<CoreEmbedOptions> {
    let d = CoreEmbedOptions::default();
    Ok(CoreEmbedOptions {
        max_tokens: input::opt_usize(o, "maxTokens", prefix, 2, 512)?.unwrap_or(d.max_tokens),
        batch_size: input::opt_usize(o, "batchSize", prefix, 1, 4096)?.unwrap_or(d.batch_size),
    })
}

/// Sentence embeddings (all-MiniLM-L6-v2, 384 dimensions, unit length), in input order.
#[napi(ts_args_type = "texts: string[], options?: EmbedOptions", ts_return_type = "Promise<Float32Array[]>")]
pub fn embed<'env>(
    env: &'env Env,
    texts: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, Vec<Float32Array>>> {
    let parsed = (|| {
        let texts = input::strings(&required_json(env, texts, "texts")?, "texts")?;
        let options = arg_json(env, options, "options")?;
        let opts = embed_options(input::options(options.as_ref(), "options")?, "options")?;
        Ok((texts, opts))
    })();
    let (texts, opts) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let engine = models::engine()?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            engine.embedder.embed(&refs, opts)
        }),
        |_, vectors| Ok(vectors.into_iter().map(Float32Array::new).collect()),
    )
}

// ---------------------------------------------------------------------------------------------
// dedupe and cluster

/// A question to dedupe or cluster. Plain strings are accepted too (their index is the id).
#[napi(object)]
pub struct QuestionInput {
    pub id: String,
    pub text: String,
    /// Classifier confidence in [0, 1] (default 1): the most confident of a duplicate group is kept.
    pub confidence: Option<f64>,
    /// Ids of the messages the question stands for (default: `[id]`).
    pub message_ids: Option<Vec<String>>,
}

#[napi(object)]
pub struct DedupeOptions {
    /// Cosine similarity at or above which two questions are duplicates (default 0.95).
    pub threshold: Option<f64>,
    pub max_tokens: Option<u32>,
    pub batch_size: Option<u32>,
}

#[napi(object)]
pub struct UniqueQuestion {
    pub id: String,
    pub text: String,
    pub confidence: f64,
    /// Its own message ids and those of every duplicate it absorbed.
    pub message_ids: Vec<String>,
    /// Ids of the questions merged into this one.
    pub duplicate_ids: Vec<String>,
}

pub(crate) fn grouping_options(o: Option<&serde_json::Map<String, Value>>) -> CoreResult<GroupingOptions> {
    let d = GroupingOptions::default();
    let linkage = match input::opt_string(o, "linkage", "options")? {
        None => Linkage::Ward,
        Some(s) => Linkage::parse(&s).ok_or_else(|| {
            CoreError::out_of_range(
                "options.linkage",
                format!("must be 'ward', 'average', 'complete' or 'single', got {s:?}"),
            )
        })?,
    };
    let default_threshold = if linkage == Linkage::Ward { DEFAULT_WARD_THRESHOLD } else { DEFAULT_AVERAGE_THRESHOLD };
    Ok(GroupingOptions {
        dedupe: input::opt_bool(o, "dedupe", "options")?.unwrap_or(true),
        duplicate_threshold: input::opt_f64(o, "duplicateThreshold", "options", 0.0, 1.0)?
            .map(|x| x as f32)
            .unwrap_or(d.duplicate_threshold),
        cluster: ClusterOptions {
            linkage,
            distance_threshold: input::opt_f64(o, "distanceThreshold", "options", 0.0, 1000.0)?
                .map(|x| x as f32)
                .unwrap_or(default_threshold),
            max_centroid_distance: input::opt_f64(o, "maxCentroidDistance", "options", 0.0, 2.0)?
                .map(|x| x as f32)
                .unwrap_or(d.cluster.max_centroid_distance),
            min_cluster_size: input::opt_usize(o, "minClusterSize", "options", 1, usize::MAX >> 1)?
                .unwrap_or(d.cluster.min_cluster_size),
            max_samples: input::opt_usize(o, "maxSamples", "options", 0, 1000)?.unwrap_or(d.cluster.max_samples),
            direct_limit: input::opt_usize(o, "directLimit", "options", 2, crate::cluster::MAX_DIRECT_WITHIN_2GB)?
                .unwrap_or(d.cluster.direct_limit),
        },
        embed: embed_options(o, "options")?,
    })
}

/// Merges near-duplicate questions (cosine ≥ threshold), keeping the most confident of each
/// group and the message ids of all.
#[napi(
    ts_args_type = "questions: Array<QuestionInput | string>, options?: DedupeOptions",
    ts_return_type = "Promise<UniqueQuestion[]>"
)]
pub fn dedupe<'env>(
    env: &'env Env,
    questions: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, Vec<UniqueQuestion>>> {
    let parsed = (|| {
        let qs = input::questions(&required_json(env, questions, "questions")?, "questions")?;
        let options = arg_json(env, options, "options")?;
        let o = input::options(options.as_ref(), "options")?;
        let threshold = input::opt_f64(o, "threshold", "options", 0.0, 1.0)?.unwrap_or(0.95) as f32;
        Ok((qs, threshold, embed_options(o, "options")?))
    })();
    let (qs, threshold, eopts) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let engine = models::engine()?;
            let texts: Vec<&str> = qs.iter().map(|q| q.text.as_str()).collect();
            let flat: Vec<f32> = engine.embedder.embed(&texts, eopts)?.into_iter().flatten().collect();
            let unique =
                crate::dedupe::dedupe(&qs, crate::similarity::Vectors::new(&flat, engine.embedder.dims), threshold);
            Ok(unique.iter().map(|u| unique_question(&qs, u)).collect::<Vec<_>>())
        }),
        |_, v| Ok(v),
    )
}

#[napi(object)]
pub struct ClusterCallOptions {
    /// Merge near-duplicates first (default true).
    pub dedupe: Option<bool>,
    /// Cosine at or above which questions are duplicates (default 0.95).
    pub duplicate_threshold: Option<f64>,
    /// `'ward'` (default), `'average'`, `'complete'` or `'single'`.
    pub linkage: Option<String>,
    /// Height at which the dendrogram is cut (default 2.1 for Ward, 1.0 otherwise).
    pub distance_threshold: Option<f64>,
    /// Ward only: never merge groups whose centroids are farther apart than this (default 1.2).
    pub max_centroid_distance: Option<f64>,
    /// Groups smaller than this, counting duplicates, are returned as unclustered (default 2).
    pub min_cluster_size: Option<u32>,
    /// Samples per cluster (default 5).
    pub max_samples: Option<u32>,
    /// Above this many unique questions, cluster in two stages (default 20000).
    pub direct_limit: Option<u32>,
    pub max_tokens: Option<u32>,
    pub batch_size: Option<u32>,
}

#[napi(object)]
pub struct QuestionRef {
    pub id: String,
    pub text: String,
    /// Cosine similarity to the cluster centroid.
    pub similarity: f64,
}

#[napi(object)]
pub struct QuestionCluster {
    pub id: u32,
    /// Number of messages in the cluster (duplicates count).
    pub size: u32,
    /// The question nearest the centroid.
    pub representative: QuestionRef,
    /// Questions nearest the centroid, the representative first.
    pub samples: Vec<QuestionRef>,
    /// Ids of the unique questions in the cluster, nearest the centroid first.
    pub member_ids: Vec<String>,
    /// Ids of every message the cluster stands for.
    pub message_ids: Vec<String>,
    /// Mean cosine of the members to the centroid.
    pub cohesion: f64,
}

#[napi(object)]
pub struct ClusterStats {
    pub questions: u32,
    pub unique: u32,
    pub duplicates: u32,
    pub clusters: u32,
    pub unclustered: u32,
    pub two_stage: bool,
    pub embed_ms: f64,
    pub dedupe_ms: f64,
    pub cluster_ms: f64,
}

#[napi(object)]
pub struct ClusterResult {
    /// Largest first.
    pub clusters: Vec<QuestionCluster>,
    /// Unique questions in groups below `minClusterSize`.
    pub unclustered: Vec<UniqueQuestion>,
    pub stats: ClusterStats,
}

/// Dedupes (unless told not to) and clusters questions.
#[napi(
    ts_args_type = "questions: Array<QuestionInput | string>, options?: ClusterCallOptions",
    ts_return_type = "Promise<ClusterResult>"
)]
pub fn cluster<'env>(
    env: &'env Env,
    questions: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, ClusterResult>> {
    let parsed = (|| {
        let qs = input::questions(&required_json(env, questions, "questions")?, "questions")?;
        let options = arg_json(env, options, "options")?;
        let o = input::options(options.as_ref(), "options")?;
        Ok((qs, grouping_options(o)?))
    })();
    let (qs, opts) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let engine = models::engine()?;
            let g = crate::grouping::group(&engine.embedder, &qs, &opts, &mut |_, _, _| Ok(()))?;
            Ok(cluster_result(&qs, g))
        }),
        |_, v| Ok(v),
    )
}

fn unique_question(qs: &[crate::dedupe::Question], u: &crate::dedupe::UniqueQuestion) -> UniqueQuestion {
    let q = &qs[u.index];
    UniqueQuestion {
        id: q.id.clone(),
        text: q.text.clone(),
        confidence: q.confidence as f64,
        message_ids: u.message_ids.clone(),
        duplicate_ids: u.duplicates.iter().map(|&d| qs[d].id.clone()).collect(),
    }
}

fn cluster_result(qs: &[crate::dedupe::Question], g: crate::grouping::Grouping) -> ClusterResult {
    let qref = |ui: usize, sim: f32| QuestionRef {
        id: qs[g.unique[ui].index].id.clone(),
        text: qs[g.unique[ui].index].text.clone(),
        similarity: sim as f64,
    };
    let clusters: Vec<QuestionCluster> = g
        .clustering
        .clusters
        .iter()
        .enumerate()
        .map(|(cid, c)| QuestionCluster {
            id: cid as u32,
            size: c.size as u32,
            representative: qref(c.representative, c.samples.first().map(|s| s.1).unwrap_or(1.0)),
            samples: c.samples.iter().map(|&(ui, s)| qref(ui, s)).collect(),
            member_ids: c.members.iter().map(|&ui| qs[g.unique[ui].index].id.clone()).collect(),
            message_ids: c.members.iter().flat_map(|&ui| g.unique[ui].message_ids.iter().cloned()).collect(),
            cohesion: c.cohesion as f64,
        })
        .collect();
    let unclustered: Vec<UniqueQuestion> =
        g.clustering.unclustered.iter().map(|&ui| unique_question(qs, &g.unique[ui])).collect();
    ClusterResult {
        stats: ClusterStats {
            questions: qs.len() as u32,
            unique: g.unique.len() as u32,
            duplicates: (qs.len() - g.unique.len()) as u32,
            clusters: clusters.len() as u32,
            unclustered: unclustered.len() as u32,
            two_stage: g.clustering.two_stage,
            embed_ms: g.timings.embed_ms,
            dedupe_ms: g.timings.dedupe_ms,
            cluster_ms: g.timings.cluster_ms,
        },
        clusters,
        unclustered,
    }
}

// ---------------------------------------------------------------------------------------------
// classify

#[napi(object)]
pub struct ClassifyMessage {
    pub id: String,
    pub content: String,
}

#[napi(object)]
pub struct ClassifyOptions {
    /// `isQuestion` is `confidence >= threshold` (default 0.7).
    pub threshold: Option<f64>,
    /// Messages per model run (default 32).
    pub batch_size: Option<u32>,
    /// Tokens of a message the encoder sees (default 64; the surface features see all of it).
    pub max_tokens: Option<u32>,
    /// Let the cheap lexical stage decide clear cases without the encoder (default true).
    pub cascade: Option<bool>,
}

#[napi(object)]
pub struct MessageClassification {
    pub id: String,
    pub is_question: bool,
    /// P(question) in [0, 1].
    pub confidence: f64,
    #[napi(ts_type = "'question' | 'statement'")]
    pub label: String,
    /// Why the model was skipped.
    #[napi(ts_type = "'empty' | 'emoji-only' | 'links-or-mentions-only' | 'bot-command'")]
    pub reason: Option<String>,
    /// What decided: a rule, the lexical stage, the encoder stage, or a classifierModel.
    #[napi(ts_type = "'rule' | 'lexical' | 'encoder' | 'model'")]
    pub stage: String,
}

pub(crate) fn classify_options(
    o: Option<&serde_json::Map<String, Value>>,
    prefix: &str,
) -> CoreResult<(f32, crate::classify::ClassifyOptions)> {
    let d = crate::classify::ClassifyOptions::default();
    let threshold = input::opt_f64(o, "threshold", prefix, 0.0, 1.0)?
        .map(|x| x as f32)
        .unwrap_or(crate::classify::DEFAULT_THRESHOLD);
    Ok((
        threshold,
        crate::classify::ClassifyOptions {
            batch_size: input::opt_usize(o, "batchSize", prefix, 1, 4096)?.unwrap_or(d.batch_size),
            max_tokens: input::opt_usize(o, "maxTokens", prefix, 2, 512)?.unwrap_or(d.max_tokens),
            cascade: input::opt_bool(o, "cascade", prefix)?.unwrap_or(d.cascade),
        },
    ))
}

/// Question or statement, with P(question), for each message, in input order.
#[napi(
    ts_args_type = "messages: Array<ClassifyMessage | string>, options?: ClassifyOptions",
    ts_return_type = "Promise<MessageClassification[]>"
)]
pub fn classify<'env>(
    env: &'env Env,
    messages: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, Vec<MessageClassification>>> {
    let parsed = (|| {
        let msgs = input::classify_messages(&required_json(env, messages, "messages")?, "messages")?;
        let options = arg_json(env, options, "options")?;
        let (threshold, opts) = classify_options(input::options(options.as_ref(), "options")?, "options")?;
        Ok((msgs, threshold, opts))
    })();
    let (msgs, threshold, opts) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let engine = models::engine()?;
            let texts: Vec<&str> = msgs.iter().map(|(_, c)| c.as_str()).collect();
            let out = engine.classifier.classify(&engine.embedder, &texts, &opts, &mut |_, _| Ok(()))?;
            Ok(msgs
                .into_iter()
                .zip(out)
                .map(|((id, _), c)| {
                    let is_question = c.confidence >= threshold;
                    MessageClassification {
                        id,
                        is_question,
                        confidence: c.confidence as f64,
                        label: if is_question { "question" } else { "statement" }.into(),
                        reason: c.reason.map(|r| r.as_str().to_string()),
                        stage: c.stage.as_str().into(),
                    }
                })
                .collect::<Vec<_>>())
        }),
        |_, v| Ok(v),
    )
}

#[napi(object)]
pub struct TrainingExample {
    pub text: String,
    pub is_question: bool,
}

#[napi(object)]
pub struct TrainClassifierOptions {
    /// Inverse L2 strength (default 1).
    pub c: Option<f64>,
    /// Optimiser iterations per stage (default 1500).
    pub iterations: Option<u32>,
    /// Stage-1 probabilities outside `[low, high]` skip the encoder (default [0.02, 0.98]).
    pub band: Option<Vec<f64>>,
}

/// Trains a question head on labelled examples and returns it as JSON (what
/// `npm run train:classifier` writes to models/classifier/question-head.json).
#[napi(
    ts_args_type = "examples: TrainingExample[], options?: TrainClassifierOptions",
    ts_return_type = "Promise<string>"
)]
pub fn train_classifier<'env>(
    env: &'env Env,
    examples: Unknown<'_>,
    options: Option<Unknown<'_>>,
) -> napi::Result<PromiseRaw<'env, String>> {
    let parsed = (|| {
        let v = required_json(env, examples, "examples")?;
        let items = input::array(&v, "examples")?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let o = item.as_object().ok_or_else(|| {
                CoreError::invalid_type(format!("examples[{i}]"), "must be an object {text, isQuestion}")
            })?;
            let text = input::required_string(o, "text", &format!("examples[{i}]"))?;
            let is_question = input::opt_bool(Some(o), "isQuestion", &format!("examples[{i}]"))?.ok_or_else(|| {
                CoreError::invalid_type(format!("examples[{i}].isQuestion"), "is required (a boolean)")
            })?;
            out.push(crate::classify::train::Example { text, is_question });
        }
        let options = arg_json(env, options, "options")?;
        let o = input::options(options.as_ref(), "options")?;
        let d = crate::classify::train::TrainOptions::default();
        let band = match o.and_then(|m| m.get("band")) {
            None | Some(Value::Null) => d.band,
            Some(b) => {
                let arr = input::array(b, "options.band")?;
                let lo = arr.first().and_then(Value::as_f64);
                let hi = arr.get(1).and_then(Value::as_f64);
                match (lo, hi) {
                    (Some(lo), Some(hi)) if arr.len() == 2 && 0.0 <= lo && lo < hi && hi <= 1.0 => {
                        (lo as f32, hi as f32)
                    }
                    _ => {
                        return Err(CoreError::out_of_range(
                            "options.band",
                            "must be [low, high] with 0 <= low < high <= 1",
                        ))
                    }
                }
            }
        };
        let opts = crate::classify::train::TrainOptions {
            c: input::opt_f64(o, "c", "options", 1e-6, 1e6)?.map(|x| x as f32).unwrap_or(d.c),
            iterations: input::opt_usize(o, "iterations", "options", 1, 100_000)?.unwrap_or(d.iterations),
            band,
            max_tokens: d.max_tokens,
        };
        Ok((out, opts))
    })();
    let (examples, opts) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let engine = models::engine()?;
            let head = crate::classify::train::train(&engine.embedder, &examples, &opts, &mut |_, _, _| {})?;
            serde_json::to_string(&head).map_err(|e| CoreError::Internal(e.to_string()))
        }),
        |_, v| Ok(v),
    )
}
