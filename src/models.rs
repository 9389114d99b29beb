//! Where the model files and the ONNX Runtime library live, and the process-wide engine that
//! holds the loaded sessions. Paths are resolved here and nowhere else (see models/manifest.json).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use once_cell::sync::OnceCell;
use serde::Deserialize;

use crate::classify::Classifier;
use crate::embed::{Embedder, EmbedderConfig};
use crate::error::{Error, Result};

/// The manifest, compiled in so that the library knows what it expects even when `models/` is empty.
pub const MANIFEST_JSON: &str = include_str!("../models/manifest.json");

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub onnxruntime: RuntimeEntry,
    pub models: std::collections::BTreeMap<String, ModelEntry>,
}

#[derive(Debug, Deserialize)]
pub struct RuntimeEntry {
    pub package: String,
    pub version: String,
    pub paths: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct ModelEntry {
    pub dir: String,
    pub dims: usize,
    pub files: std::collections::BTreeMap<String, FileEntry>,
}

#[derive(Debug, Deserialize)]
pub struct FileEntry {
    pub package: String,
    pub version: String,
}

pub fn manifest() -> &'static Manifest {
    static M: OnceCell<Manifest> = OnceCell::new();
    M.get_or_init(|| serde_json::from_str(MANIFEST_JSON).expect("models/manifest.json is valid"))
}

/// `linux-x64`, `darwin-arm64`, … as used by the manifest and by npm.
pub fn platform_key() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{os}-{arch}")
}

/// Options that decide which files are loaded. Empty fields fall back to the environment and
/// then to the package's own folders.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Folder holding `minilm/` etc. Default: `$QUESTION_INSIGHTS_MODELS`, else the package's `models/`.
    pub models_dir: Option<PathBuf>,
    /// The ONNX Runtime shared library. Default: `$ORT_DYLIB_PATH`, else onnxruntime-node's copy.
    pub ort_lib_path: Option<PathBuf>,
    /// Encoder threads. Default: the number of cores, at most 4. The int8 encoder runs this many
    /// single-threaded sessions side by side; fp32 sessions use this many threads per run.
    pub intra_threads: Option<usize>,
    /// A Hugging Face sequence-classification model exported to ONNX, used instead of the
    /// built-in question head.
    pub classifier_model: Option<PathBuf>,
    /// Label (name or index) of the question class of `classifier_model`, when its names do not say.
    pub classifier_question_label: Option<String>,
    /// A question head trained by `npm run train:classifier` (default: models/classifier/question-head.json).
    pub classifier_head: Option<PathBuf>,
}

/// Folders searched for the package root: where this library file lives, then the working directory.
fn search_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(p) = this_library_path() {
        if let Some(dir) = p.parent() {
            roots.push(dir.to_path_buf());
        }
    }
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
}

/// The path of the shared library (the `.node` addon) this code was loaded from.
fn this_library_path() -> Option<PathBuf> {
    #[cfg(unix)]
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        let addr = this_library_path as *const libc::c_void;
        if libc::dladdr(addr, &mut info) != 0 && !info.dli_fname.is_null() {
            let cstr = std::ffi::CStr::from_ptr(info.dli_fname);
            return Some(PathBuf::from(cstr.to_string_lossy().into_owned()));
        }
    }
    None
}

/// `relative` under the package root (where this library lives) or the working directory, or
/// under one of their ancestors.
pub fn find_upwards(relative: &Path) -> Option<PathBuf> {
    for root in search_roots() {
        for dir in root.ancestors() {
            let candidate = dir.join(relative);
            if candidate.exists() {
                return Some(candidate);
            }
        }
    }
    None
}

pub fn resolve_models_dir(opt: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = opt {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("QUESTION_INSIGHTS_MODELS").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    find_upwards(Path::new("models/manifest.json")).and_then(|p| p.parent().map(Path::to_path_buf)).ok_or_else(|| {
        Error::ModelMissing(
            "cannot find the models folder: set modelsDir or QUESTION_INSIGHTS_MODELS, or run `npm run models`".into(),
        )
    })
}

pub fn resolve_ort_lib(opt: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = opt {
        return Ok(p.to_path_buf());
    }
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let m = manifest();
    let key = platform_key();
    let inner = m.onnxruntime.paths.get(&key).ok_or_else(|| {
        Error::ModelMissing(format!("no ONNX Runtime library is known for platform {key}: set ORT_DYLIB_PATH"))
    })?;
    let rel = Path::new("node_modules").join(&m.onnxruntime.package).join(inner);
    find_upwards(&rel).ok_or_else(|| {
        Error::ModelMissing(format!(
            "cannot find the ONNX Runtime library ({}): install {}@{} (npm install) or set ORT_DYLIB_PATH",
            rel.display(),
            m.onnxruntime.package,
            m.onnxruntime.version
        ))
    })
}

/// Everything loaded once per process: the ONNX Runtime environment, the encoder and the
/// question classifier. ONNX Runtime leaks memory when sessions are created repeatedly, so
/// this is created once and shared.
pub struct Engine {
    _env: ort::environment::Environment,
    pub embedder: Embedder,
    pub classifier: Classifier,
    pub models_dir: PathBuf,
    pub ort_lib: PathBuf,
    pub intra_threads: usize,
}

static ENGINE: OnceCell<Arc<Engine>> = OnceCell::new();
static LOAD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn default_intra_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).min(4)
}

/// The engine, loading it with default options on first use.
pub fn engine() -> Result<Arc<Engine>> {
    load(&LoadOptions::default())
}

/// Whether the engine has been loaded in this process.
pub fn loaded() -> Option<Arc<Engine>> {
    ENGINE.get().cloned()
}

/// Loads the engine once. Later calls return the loaded engine; their options are ignored.
pub fn load(opts: &LoadOptions) -> Result<Arc<Engine>> {
    if let Some(e) = ENGINE.get() {
        return Ok(e.clone());
    }
    let _guard = LOAD_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = ENGINE.get() {
        return Ok(e.clone());
    }
    let engine = Arc::new(Engine::create(opts)?);
    let _ = ENGINE.set(engine.clone());
    Ok(engine)
}

impl Engine {
    fn create(opts: &LoadOptions) -> Result<Engine> {
        let models_dir = resolve_models_dir(opts.models_dir.as_deref())?;
        let ort_lib = resolve_ort_lib(opts.ort_lib_path.as_deref())?;
        if !ort_lib.exists() {
            return Err(Error::ModelMissing(format!("ONNX Runtime library not found at {}", ort_lib.display())));
        }
        let env = ort::init_from(&ort_lib)
            .map_err(|e| Error::ModelMissing(format!("cannot load ONNX Runtime from {}: {e}", ort_lib.display())))?
            .with_name("question-insights")
            .build()?;
        let intra_threads = opts.intra_threads.unwrap_or_else(default_intra_threads).max(1);
        let minilm = &manifest().models["minilm"];
        let embedder = Embedder::load(
            &env,
            &EmbedderConfig { dir: models_dir.join(&minilm.dir), dims: minilm.dims, intra_threads },
        )?;
        // the built-in head ships with the package; the classifier itself never searches for files
        let head = opts.classifier_head.clone().or_else(|| find_upwards(Path::new(crate::classify::HEAD_FILE)));
        let classifier = Classifier::load(
            &env,
            head.as_deref(),
            opts.classifier_model.as_deref(),
            opts.classifier_question_label.as_deref(),
            intra_threads,
        )?;
        Ok(Engine { _env: env, embedder, classifier, models_dir, ort_lib, intra_threads })
    }
}

/// Hands the allocator's free pages back to the OS. glibc keeps what a large, short-lived
/// structure freed (the linker's features, the pages' parsed JSON) in its arenas, scattered
/// between live blocks, where it counts as RSS for the rest of the run; the stages call this
/// after freeing such a structure. Elsewhere it does nothing.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory; it is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Resident set size of this process in bytes (Linux), and its peak.
pub fn process_rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_parses_and_names_the_encoder() {
        let m = manifest();
        assert_eq!(m.models["minilm"].dims, 384);
        assert!(m.models["minilm"].files.contains_key("model.onnx"));
        assert!(m.onnxruntime.paths.contains_key("linux-x64"));
    }

    #[test]
    fn explicit_paths_win_over_the_environment() {
        let p = resolve_models_dir(Some(Path::new("/somewhere"))).unwrap();
        assert_eq!(p, PathBuf::from("/somewhere"));
        let l = resolve_ort_lib(Some(Path::new("/lib/x.so"))).unwrap();
        assert_eq!(l, PathBuf::from("/lib/x.so"));
    }

    #[test]
    fn rss_is_reported() {
        let (rss, peak) = process_rss();
        assert!(rss > 0 && peak >= rss);
    }
}
