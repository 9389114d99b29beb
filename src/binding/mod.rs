//! The napi binding: converts JS values into owned Rust data, spawns the work off the JS
//! thread (tokio's blocking pool, never libuv's), and converts results and errors back.
//! No analysis logic lives here.

use std::future::Future;
use std::path::PathBuf;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::cluster::{ClusterOptions, Linkage, DEFAULT_AVERAGE_THRESHOLD, DEFAULT_WARD_THRESHOLD};
use crate::embed::{EmbedOptions as CoreEmbedOptions, Precision};
use crate::error::{Error as CoreError, ErrorKind, Result as CoreResult};
use crate::grouping::GroupingOptions;
use crate::js::{self, int_in, num_in, Js, OrString};
use crate::models::{self, LoadOptions};

pub mod asks;
pub mod conversations;
mod convert;
pub mod tenant;

pub(crate) use convert::cast;

fn internal(e: napi::Error) -> CoreError {
    CoreError::Internal(e.to_string())
}

/// A JS argument as [`Js`] (`undefined` when absent).
pub(crate) fn arg(v: Option<&Unknown<'_>>) -> CoreResult<Js> {
    convert::arg(v).map_err(internal)
}

/// Reads an options argument into its `#[napi(object)]` struct, the one definition of its
/// typings and its parser: `undefined`/`null` give the defaults, an unknown key rejects with a
/// `TypeError` that names it and suggests the right place, a wrong type or NaN names the field.
/// `function` names the call in messages, e.g. `"conversations()"`.
pub(crate) fn options<T: DeserializeOwned + Default>(v: Option<&Unknown<'_>>, function: &str) -> CoreResult<T> {
    js::parse_options(&arg(v)?, "options", function)
}

/// Reads a data argument the core keeps as JSON (messages, training streams); what JSON cannot
/// hold (a function, NaN) is a `TypeError` naming the field.
pub(crate) fn json(v: &Unknown<'_>, name: &str) -> CoreResult<serde_json::Value> {
    arg(Some(v))?.into_json(name).map_err(|(path, what)| CoreError::invalid_type(path, format!("must not be {what}")))
}

/// Reads a required data argument (`texts`, `questions`, …) into `T`; errors name the field
/// from `name` (`questions[3].id`).
pub(crate) fn data<T: DeserializeOwned>(v: &Unknown<'_>, name: &str) -> CoreResult<T> {
    js::parse(&arg(Some(v))?, name, "")
}

// ---------------------------------------------------------------------------------------------
// Spawning and error mapping

pub(crate) use crate::compute::blocking;

/// A JS error of the class the core error asks for, with `code` (and `field`) set.
fn js_error(env: &Env, e: &CoreError) -> napi::Error {
    let build = || -> napi::Result<napi::Error> {
        let err = napi::Error::new(e.code().to_string(), e.to_string());
        let raw = match e.kind() {
            ErrorKind::Type => napi::JsTypeError::from(err).into_unknown(*env),
            ErrorKind::Range => napi::JsRangeError::from(err).into_unknown(*env),
            ErrorKind::Plain | ErrorKind::Abort => napi::JsError::from(err).into_unknown(*env),
        };
        let mut obj: Object<'_> = cast(&raw, ValueType::Object)?;
        if let Some(field) = e.field() {
            obj.set("field", field)?;
        }
        if e.kind() == ErrorKind::Abort {
            obj.set("name", "AbortError")?;
        }
        Ok(napi::Error::from(raw))
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
    spawn_then(env, fut, convert, |_| ())
}

/// [`spawn`], with `then` run on the JS thread when `fut` ends, whether it succeeded or failed.
pub(crate) fn spawn_then<'env, T, V, F, C, A>(
    env: &'env Env,
    fut: F,
    convert: C,
    then: A,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue,
    F: Future<Output = CoreResult<T>> + Send + 'static,
    C: FnOnce(&Env, T) -> napi::Result<V> + 'static,
    A: FnOnce(&Env) + 'static,
{
    env.spawn_future_with_callback(async move { Ok(fut.await) }, move |env, result| {
        then(env);
        match result {
            Ok(value) => convert(env, value),
            Err(e) => Err(js_error(env, &e)),
        }
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
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoadModelsOptions {
    /// Folder with the fetched models (default: `$QUESTION_INSIGHTS_MODELS`, else the package's `models/`).
    pub models_dir: Option<String>,
    /// The ONNX Runtime shared library (default: `$ORT_DYLIB_PATH`, else onnxruntime-node's copy).
    pub ort_lib_path: Option<String>,
    /// Encoder threads (default: cores, at most 4): the int8 encoder runs this many single-threaded
    /// sessions side by side; the fp32 encoder and an external classifier use this many threads
    /// inside one model run.
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
    /// Matrix products the int8 encoder computes in int8 (0: the model has no int8 weights,
    /// every call runs in fp32).
    pub int8_mat_muls: u32,
    /// Products with int8 weights it keeps in fp32 (the attention's value projections, unless
    /// their input is smoothed).
    pub fp32_mat_muls: u32,
    /// Activations smoothed before they are quantised (from the encoder's calibration; 0 for a
    /// model file it was not measured on).
    pub smoothed_activations: u32,
    /// GELUs the int8 encoder computes as one fused operator each (written out in five
    /// elementwise operators in the shipped graph).
    pub fused_gelus: u32,
    /// How the int8 products' weights are stored: `'int8'` (uint8 × int8 kernels: x86 with VNNI,
    /// ARM) or `'uint8'` (x86 without VNNI, whose uint8 × int8 kernels saturate in 16 bits; the
    /// same values, exact, slower).
    pub int8_weights: String,
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
            int8_mat_muls: e.embedder.int8_graph.matmuls as u32,
            fp32_mat_muls: e.embedder.int8_graph.kept_fp32 as u32,
            smoothed_activations: e.embedder.int8_graph.smoothed as u32,
            fused_gelus: e.embedder.int8_graph.gelus as u32,
            int8_weights: if e.embedder.int8_graph.unsigned_weights { "uint8" } else { "int8" }.into(),
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
#[napi(ts_args_type = "options?: LoadModelsOptions | undefined | null", ts_return_type = "Promise<ModelInfo>")]
pub fn load_models<'env>(env: &'env Env, options: Option<Unknown<'_>>) -> napi::Result<PromiseRaw<'env, ModelInfo>> {
    let parsed = (|| {
        let o: LoadModelsOptions = self::options(options.as_ref(), "loadModels()")?;
        Ok(LoadOptions {
            models_dir: o.models_dir.map(PathBuf::from),
            ort_lib_path: o.ort_lib_path.map(PathBuf::from),
            intra_threads: int_in(o.intra_threads, "options.intraThreads", 1, u32::MAX as usize)?,
            classifier_model: o.classifier_model.map(PathBuf::from),
            classifier_question_label: o.classifier_question_label,
            classifier_head: o.classifier_head.map(PathBuf::from),
        })
    })();
    let opts = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
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
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmbedOptions {
    /// Tokens a text is cut to (default 96: on real asks, as good as 128 or 256, `npm run eval:cluster`).
    pub max_tokens: Option<u32>,
    /// Texts per model run (default 32; a run of the int8 encoder also holds at most 256 padded tokens).
    pub batch_size: Option<u32>,
    /// `'int8'` (default: integer kernels, one scale per token) or `'fp32'` (the model's
    /// reference arithmetic, slower; the vectors agree to a cosine of about 0.99).
    #[napi(ts_type = "'int8' | 'fp32'")]
    pub precision: Option<String>,
}

/// The embedding options shared by embed(), dedupe() and cluster(); `prefix` names the block.
fn embed_options(
    max_tokens: Option<u32>,
    batch_size: Option<u32>,
    precision: Option<&str>,
    prefix: &str,
) -> CoreResult<CoreEmbedOptions> {
    let d = CoreEmbedOptions::default();
    let precision = match precision {
        None | Some("int8") => Precision::Int8,
        Some("fp32") => Precision::Fp32,
        Some(other) => {
            return Err(CoreError::out_of_range(
                js::join(prefix, "precision"),
                format!("must be 'int8' or 'fp32', got {other:?}"),
            ))
        }
    };
    Ok(CoreEmbedOptions {
        max_tokens: int_in(max_tokens, &js::join(prefix, "maxTokens"), 2, 512)?.unwrap_or(d.max_tokens),
        batch_size: int_in(batch_size, &js::join(prefix, "batchSize"), 1, 4096)?.unwrap_or(d.batch_size),
        precision,
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
        let texts: Vec<String> = data(&texts, "texts")?;
        let o: EmbedOptions = self::options(options.as_ref(), "embed()")?;
        Ok((texts, embed_options(o.max_tokens, o.batch_size, o.precision.as_deref(), "options")?))
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
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuestionInput {
    #[serde(deserialize_with = "js::id")]
    pub id: String,
    pub text: String,
    /// Classifier confidence in [0, 1] (default 1): the most confident of a duplicate group is kept.
    pub confidence: Option<f64>,
    /// Ids of the messages the question stands for (default: `[id]`).
    #[serde(default, deserialize_with = "js::opt_ids")]
    pub message_ids: Option<Vec<String>>,
}

/// `questions`: `[{id, text, confidence?, messageIds?}]` or plain strings (id = index); ids unique.
fn questions(v: &Unknown<'_>) -> CoreResult<Vec<crate::dedupe::Question>> {
    let items: Vec<OrString<QuestionInput>> = data(v, "questions")?;
    let mut seen = std::collections::HashSet::new();
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let q = match item {
                OrString::Str(text) => {
                    crate::dedupe::Question { id: i.to_string(), text, confidence: 1.0, message_ids: vec![] }
                }
                OrString::Item(q) => crate::dedupe::Question {
                    confidence: num_in(q.confidence, &format!("questions[{i}].confidence"), 0.0, 1.0)?.unwrap_or(1.0)
                        as f32,
                    id: q.id,
                    text: q.text,
                    message_ids: q.message_ids.unwrap_or_default(),
                },
            };
            if !seen.insert(q.id.clone()) {
                return Err(CoreError::invalid_type(format!("questions[{i}].id"), format!("duplicate id {:?}", q.id)));
            }
            Ok(q)
        })
        .collect()
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DedupeOptions {
    /// Cosine similarity at or above which two questions are duplicates (default 0.95).
    pub threshold: Option<f64>,
    pub max_tokens: Option<u32>,
    pub batch_size: Option<u32>,
    /// `'int8'` (default: integer kernels, one scale per token) or `'fp32'` (the model's
    /// reference arithmetic, slower; the vectors agree to a cosine of about 0.99).
    #[napi(ts_type = "'int8' | 'fp32'")]
    pub precision: Option<String>,
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
        let qs = self::questions(&questions)?;
        let o: DedupeOptions = self::options(options.as_ref(), "dedupe()")?;
        let threshold = num_in(o.threshold, "options.threshold", 0.0, 1.0)?
            .map(|x| x as f32)
            .unwrap_or(GroupingOptions::default().duplicate_threshold);
        Ok((qs, threshold, embed_options(o.max_tokens, o.batch_size, o.precision.as_deref(), "options")?))
    })();
    let (qs, threshold, eopts) = match parsed {
        Ok(p) => p,
        Err(e) => return reject(env, e),
    };
    spawn(
        env,
        blocking(move || {
            let engine = models::engine()?;
            let prose: Vec<String> = qs.iter().map(|q| crate::grouping::question_prose(&q.text)).collect();
            let texts: Vec<&str> = prose.iter().map(String::as_str).collect();
            let flat = engine.embedder.embed_flat_with(&texts, eopts, &mut |_, _| Ok(()))?;
            let (unique, _) = crate::dedupe::dedupe_owned(&qs, flat, engine.embedder.dims, threshold);
            Ok(unique.iter().map(|u| unique_question(&qs, u)).collect::<Vec<_>>())
        }),
        |_, v| Ok(v),
    )
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterCallOptions {
    /// Merge near-duplicates first (default true).
    pub dedupe: Option<bool>,
    /// Cosine at or above which questions are duplicates (default 0.95).
    pub duplicate_threshold: Option<f64>,
    /// `'ward'` (default), `'average'`, `'complete'` or `'single'`.
    #[napi(ts_type = "'ward' | 'average' | 'complete' | 'single'")]
    pub linkage: Option<String>,
    /// Height at which the dendrogram is cut (default 2.1 for Ward, 1.0 otherwise).
    pub distance_threshold: Option<f64>,
    /// Ward only: never merge groups whose centroids are farther apart than this (default 1.1).
    pub max_centroid_distance: Option<f64>,
    /// Ward only: never make a group less cohesive than this, the mean cosine of its members to
    /// their normalised centroid (default 0.675).
    pub min_cohesion: Option<f64>,
    /// Groups smaller than this, counting duplicates, are returned as unclustered (default 2).
    pub min_cluster_size: Option<u32>,
    /// Samples per cluster (default 5).
    pub max_samples: Option<u32>,
    /// Above this many unique questions, cluster in two stages (default 20000).
    pub direct_limit: Option<u32>,
    pub max_tokens: Option<u32>,
    pub batch_size: Option<u32>,
    /// `'int8'` (default: integer kernels, one scale per token) or `'fp32'` (the model's
    /// reference arithmetic, slower; the vectors agree to a cosine of about 0.99).
    #[napi(ts_type = "'int8' | 'fp32'")]
    pub precision: Option<String>,
}

impl ClusterCallOptions {
    /// The dedupe, embedding and clustering options; `prefix` names the block (`options`,
    /// `options.cluster`).
    pub(crate) fn grouping(&self, prefix: &str) -> CoreResult<GroupingOptions> {
        let d = GroupingOptions::default();
        let f = |k: &str| js::join(prefix, k);
        let linkage = match self.linkage.as_deref() {
            None => d.cluster.linkage,
            Some(s) => Linkage::parse(s).ok_or_else(|| {
                CoreError::out_of_range(
                    f("linkage"),
                    format!("must be 'ward', 'average', 'complete' or 'single', got {s:?}"),
                )
            })?,
        };
        let default_threshold =
            if linkage == Linkage::Ward { DEFAULT_WARD_THRESHOLD } else { DEFAULT_AVERAGE_THRESHOLD };
        Ok(GroupingOptions {
            dedupe: self.dedupe.unwrap_or(d.dedupe),
            duplicate_threshold: num_in(self.duplicate_threshold, &f("duplicateThreshold"), 0.0, 1.0)?
                .map_or(d.duplicate_threshold, |x| x as f32),
            cluster: ClusterOptions {
                linkage,
                distance_threshold: num_in(self.distance_threshold, &f("distanceThreshold"), 0.0, 1000.0)?
                    .map_or(default_threshold, |x| x as f32),
                max_centroid_distance: num_in(self.max_centroid_distance, &f("maxCentroidDistance"), 0.0, 2.0)?
                    .map_or(d.cluster.max_centroid_distance, |x| x as f32),
                min_cohesion: num_in(self.min_cohesion, &f("minCohesion"), -1.0, 1.0)?
                    .map_or(d.cluster.min_cohesion, |x| x as f32),
                min_cluster_size: int_in(self.min_cluster_size, &f("minClusterSize"), 1, usize::MAX >> 1)?
                    .unwrap_or(d.cluster.min_cluster_size),
                max_samples: int_in(self.max_samples, &f("maxSamples"), 0, 1000)?.unwrap_or(d.cluster.max_samples),
                direct_limit: int_in(self.direct_limit, &f("directLimit"), 2, crate::cluster::MAX_DIRECT_WITHIN_2GB)?
                    .unwrap_or(d.cluster.direct_limit),
            },
            embed: embed_options(self.max_tokens, self.batch_size, self.precision.as_deref(), prefix)?,
        })
    }
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
        let qs = self::questions(&questions)?;
        let o: ClusterCallOptions = self::options(options.as_ref(), "cluster()")?;
        Ok((qs, o.grouping("options")?))
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
#[derive(Deserialize)]
pub struct ClassifyMessage {
    #[serde(deserialize_with = "js::id")]
    pub id: String,
    pub content: String,
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClassifyOptions {
    /// `isQuestion` is `confidence >= threshold` (default 0.7).
    pub threshold: Option<f64>,
    /// Messages per model run (default 32).
    pub batch_size: Option<u32>,
    /// Tokens of a message the encoder sees (default 48; the surface features see all of it).
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

/// The question threshold and the classifier's options; `prefix` names the block.
pub(crate) fn classify_options(
    threshold: Option<f64>,
    batch_size: Option<u32>,
    max_tokens: Option<u32>,
    cascade: Option<bool>,
    prefix: &str,
) -> CoreResult<(f32, crate::classify::ClassifyOptions)> {
    let d = crate::classify::ClassifyOptions::default();
    let f = |k: &str| js::join(prefix, k);
    Ok((
        num_in(threshold, &f("threshold"), 0.0, 1.0)?.map_or(crate::classify::DEFAULT_THRESHOLD, |x| x as f32),
        crate::classify::ClassifyOptions {
            batch_size: int_in(batch_size, &f("batchSize"), 1, 4096)?.unwrap_or(d.batch_size),
            max_tokens: int_in(max_tokens, &f("maxTokens"), 2, 512)?.unwrap_or(d.max_tokens),
            cascade: cascade.unwrap_or(d.cascade),
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
        let msgs: Vec<OrString<ClassifyMessage>> = data(&messages, "messages")?;
        let msgs: Vec<(String, String)> = msgs
            .into_iter()
            .enumerate()
            .map(|(i, m)| match m {
                OrString::Str(content) => (i.to_string(), content),
                OrString::Item(m) => (m.id, m.content),
            })
            .collect();
        let o: ClassifyOptions = self::options(options.as_ref(), "classify()")?;
        let (threshold, opts) = classify_options(o.threshold, o.batch_size, o.max_tokens, o.cascade, "options")?;
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
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainingExample {
    pub text: String,
    pub is_question: bool,
}

#[napi(object)]
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrainClassifierOptions {
    /// Inverse L2 strength (default 1).
    pub c: Option<f64>,
    /// Optimiser iterations per stage (default 1500).
    pub iterations: Option<u32>,
    /// Stage-1 probabilities outside `[low, high]` skip the encoder (default: chosen by 5-fold
    /// cross-validation, as wide as it can be without more errors than the encoder makes on the
    /// messages it decides).
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
        let examples: Vec<TrainingExample> = data(&examples, "examples")?;
        let examples: Vec<_> = examples
            .into_iter()
            .map(|e| crate::classify::train::Example { text: e.text, is_question: e.is_question })
            .collect();
        let o: TrainClassifierOptions = self::options(options.as_ref(), "trainClassifier()")?;
        let d = crate::classify::train::TrainOptions::default();
        let band = match o.band.as_deref() {
            None => d.band,
            Some(&[lo, hi]) if 0.0 <= lo && lo < hi && hi <= 1.0 => Some((lo as f32, hi as f32)),
            Some(_) => {
                return Err(CoreError::out_of_range("options.band", "must be [low, high] with 0 <= low < high <= 1"))
            }
        };
        let opts = crate::classify::train::TrainOptions {
            c: num_in(o.c, "options.c", 1e-6, 1e6)?.map_or(d.c, |x| x as f32),
            iterations: int_in(o.iterations, "options.iterations", 1, 100_000)?.unwrap_or(d.iterations),
            band,
            max_tokens: d.max_tokens,
            folds: d.folds,
        };
        Ok((examples, opts))
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
