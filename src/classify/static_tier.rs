//! The static tier of the question classifier: a Model2Vec-style static token embedding
//! distilled from the MiniLM encoder the library ships, and a logistic regression over
//! [mean of a message's token rows + the lexical features].
//!
//! Distillation (`npm run distill:static`, [`distill`]): every vocabulary token is encoded on its
//! own (`[CLS] tok [SEP]`) by the encoder and mean-pooled as the embedder does; the 384-d
//! vectors are reduced by PCA to `dims` components, weighted by a SIF weight of their rank
//! (Model2Vec's Zipf assumption: a lower id is a more frequent token) and stored as int8 rows
//! with one f32 scale per row. It is deterministic: the same encoder gives the same bytes.
//!
//! At classification time a message's static vector is the mean of the rows of its tokens
//! (the same tokenizer and prose-reduced text as the encoder, [CLS]/[SEP] left out), L2
//! normalised: a table lookup instead of a transformer run.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::head::{sigmoid, Features, Linear};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::similarity::normalize;

/// First bytes of a table file.
pub const MAGIC: &[u8; 8] = b"QISTAT01";
/// Where the built-in table lives, next to the head.
pub const TABLE_FILE: &str = "static-minilm.bin";
/// Default number of PCA components.
pub const DEFAULT_DIMS: usize = 32;
/// Default SIF coefficient (Model2Vec's): weight = sif / (sif + p(rank)).
pub const DEFAULT_SIF: f64 = 1e-4;

/// A static embedding: one int8 row (with a scale) per vocabulary token.
#[derive(Clone)]
pub struct StaticTable {
    pub dims: usize,
    scales: Vec<f32>,
    rows: Vec<i8>,
}

impl std::fmt::Debug for StaticTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticTable {{ vocab: {}, dims: {} }}", self.vocab(), self.dims)
    }
}

impl StaticTable {
    /// Quantises float rows (`vocab × dims`, row-major) to int8 with a scale per row.
    pub fn quantize(values: &[f32], dims: usize) -> StaticTable {
        assert!(dims > 0 && values.len().is_multiple_of(dims));
        let mut scales = Vec::with_capacity(values.len() / dims);
        let mut rows = Vec::with_capacity(values.len());
        for row in values.chunks(dims) {
            let max = row.iter().fold(0f32, |m, x| m.max(x.abs()));
            let scale = if max > 0.0 { max / 127.0 } else { 0.0 };
            scales.push(scale);
            rows.extend(
                row.iter().map(|x| if scale > 0.0 { (x / scale).round().clamp(-127.0, 127.0) as i8 } else { 0 }),
            );
        }
        StaticTable { dims, scales, rows }
    }

    pub fn vocab(&self) -> usize {
        self.scales.len()
    }

    /// Row `id`, dequantised into `out` (added, times `weight`).
    fn add_row(&self, id: usize, out: &mut [f32]) {
        let s = self.scales[id];
        for (o, &q) in out.iter_mut().zip(&self.rows[id * self.dims..(id + 1) * self.dims]) {
            *o += s * q as f32;
        }
    }

    /// Row `id`, dequantised.
    pub fn row(&self, id: u32) -> Vec<f32> {
        let mut v = vec![0f32; self.dims];
        if (id as usize) < self.vocab() {
            self.add_row(id as usize, &mut v);
        }
        v
    }

    /// The static vector of a token id list as [`crate::embed::encode`] returns it
    /// (`[CLS] … [SEP]`, both left out): the mean of the rows, L2-normalised; all zeros when no
    /// token is left. Ids outside the table are skipped.
    pub fn pool(&self, ids: &[u32]) -> Vec<f32> {
        let inner = if ids.len() >= 2 { &ids[1..ids.len() - 1] } else { &[][..] };
        let mut v = vec![0f32; self.dims];
        for &id in inner {
            if (id as usize) < self.vocab() {
                self.add_row(id as usize, &mut v);
            }
        }
        normalize(&mut v);
        v
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + 4 * self.scales.len() + self.rows.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.vocab() as u32).to_le_bytes());
        out.extend_from_slice(&(self.dims as u32).to_le_bytes());
        for s in &self.scales {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out.extend(self.rows.iter().map(|&q| q as u8));
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<StaticTable, String> {
        if bytes.len() < 16 || &bytes[..8] != MAGIC {
            return Err("not a static table (bad magic)".into());
        }
        let u = |k: usize| u32::from_le_bytes(bytes[k..k + 4].try_into().unwrap()) as usize;
        let (vocab, dims) = (u(8), u(12));
        if dims == 0 || bytes.len() != 16 + vocab * 4 + vocab * dims {
            return Err(format!("static table of {vocab} × {dims} has {} bytes", bytes.len()));
        }
        let scales = bytes[16..16 + vocab * 4].chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        let rows = bytes[16 + vocab * 4..].iter().map(|&b| b as i8).collect();
        Ok(StaticTable { dims, scales, rows })
    }

    /// Reads a table file; with `sha256`, the file must have that digest.
    pub fn read(path: &Path, sha256: Option<&str>) -> Result<(StaticTable, String)> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let digest = sha256_hex(&bytes);
        if let Some(want) = sha256 {
            if !want.eq_ignore_ascii_case(&digest) {
                return Err(Error::ModelMissing(format!(
                    "{}: sha256 {digest} is not the head's {want} (run `npm run distill:static` and retrain)",
                    path.display()
                )));
            }
        }
        let table =
            StaticTable::from_bytes(&bytes).map_err(|m| Error::ModelMissing(format!("{}: {m}", path.display())))?;
        Ok((table, digest))
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The static stage of a question head (the `static` block of question-head.json).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticStage {
    /// The table file, relative to the head's folder.
    pub table: String,
    pub sha256: String,
    pub dims: usize,
    /// Probabilities at or below `band.0` or at or above `band.1` are final.
    pub band: (f32, f32),
    /// `embedding` holds the weights of the static vector.
    pub linear: Linear,
    /// The loaded table (set by [`StaticStage::load_table`]).
    #[serde(skip)]
    pub lookup: Option<Arc<StaticTable>>,
}

impl StaticStage {
    /// Loads and checks the table next to the head file `head_path`.
    pub fn load_table(&mut self, head_path: &Path) -> Result<()> {
        let dir = head_path.parent().unwrap_or(Path::new("."));
        let (table, _) = StaticTable::read(&dir.join(&self.table), Some(&self.sha256))?;
        if table.dims != self.dims || self.linear.embedding.len() != self.dims {
            return Err(Error::ModelMissing(format!(
                "{}: static table has {} dims, the head expects {}",
                head_path.display(),
                table.dims,
                self.dims
            )));
        }
        self.lookup = Some(Arc::new(table));
        Ok(())
    }

    /// P(question) of a message from its static vector and features.
    pub fn p(&self, vector: &[f32], f: &Features) -> f32 {
        sigmoid(self.linear.logit(Some(vector), f))
    }

    pub fn decides(&self, p: f32) -> bool {
        p <= self.band.0 || p >= self.band.1
    }
}

/// Eigen-decomposition of a symmetric `n × n` matrix (row-major) by cyclic Jacobi rotations:
/// eigenvalues in descending order and the matching unit eigenvectors (each a `Vec` of `n`),
/// signs fixed so that each vector's largest component is positive (deterministic output).
pub fn symmetric_eigen(a: &[f64], n: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut a = a.to_vec();
    let mut v = vec![0f64; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let total: f64 = a.iter().map(|x| x * x).sum::<f64>().max(1e-300);
    for _sweep in 0..60 {
        let off: f64 = (0..n).flat_map(|p| (p + 1..n).map(move |q| (p, q))).map(|(p, q)| a[p * n + q].powi(2)).sum();
        if off <= 1e-24 * total {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| a[j * n + j].total_cmp(&a[i * n + i]).then(i.cmp(&j)));
    let values = order.iter().map(|&k| a[k * n + k]).collect();
    let vectors = order
        .iter()
        .map(|&k| {
            let mut col: Vec<f64> = (0..n).map(|i| v[i * n + k]).collect();
            let big = col.iter().copied().fold(0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if big < 0.0 {
                col.iter_mut().for_each(|x| *x = -*x);
            }
            col
        })
        .collect();
    (values, vectors)
}

/// PCA of `rows` (each of the same length) to `dims` components: the centred rows projected
/// on the top principal axes, and the share of the variance kept.
pub fn pca(rows: &[Vec<f32>], dims: usize) -> (Vec<Vec<f32>>, f64) {
    let d = rows.first().map_or(0, Vec::len);
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0f64; d];
    for r in rows {
        for (m, &x) in mean.iter_mut().zip(r) {
            *m += x as f64 / n;
        }
    }
    let mut cov = vec![0f64; d * d];
    let mut centred = vec![0f64; d];
    for r in rows {
        for (c, (&x, m)) in centred.iter_mut().zip(r.iter().zip(&mean)) {
            *c = x as f64 - m;
        }
        for i in 0..d {
            let ci = centred[i];
            for j in i..d {
                cov[i * d + j] += ci * centred[j];
            }
        }
    }
    for i in 0..d {
        for j in i..d {
            cov[i * d + j] /= n;
            cov[j * d + i] = cov[i * d + j];
        }
    }
    let (values, vectors) = symmetric_eigen(&cov, d);
    let dims = dims.min(d);
    let kept = values[..dims].iter().sum::<f64>() / values.iter().sum::<f64>().max(1e-300);
    let out = rows
        .iter()
        .map(|r| {
            vectors[..dims]
                .iter()
                .map(|axis| {
                    axis.iter().zip(r.iter().zip(&mean)).map(|(a, (&x, m))| a * (x as f64 - m)).sum::<f64>() as f32
                })
                .collect()
        })
        .collect();
    (out, kept)
}

/// Model2Vec's SIF weights of the tokens of a vocabulary of `n`, by rank (0 = most frequent)
/// under a Zipf law: `sif / (sif + p)`, `p ∝ 1 / (rank + 2)`.
pub fn sif_weights(n: usize, sif: f64) -> Vec<f64> {
    let norm: f64 = (0..n).map(|r| 1.0 / (r as f64 + 2.0)).sum();
    (0..n).map(|r| sif / (sif + 1.0 / (r as f64 + 2.0) / norm)).collect()
}

#[derive(Debug, Clone, Copy)]
pub struct DistillOptions {
    pub dims: usize,
    /// SIF coefficient; 0 = no weighting.
    pub sif: f64,
    /// Token lists per encoder run.
    pub batch_size: usize,
}

impl Default for DistillOptions {
    fn default() -> Self {
        DistillOptions { dims: DEFAULT_DIMS, sif: DEFAULT_SIF, batch_size: 256 }
    }
}

/// Distils a static table from the encoder: each vocabulary token encoded alone, PCA, SIF.
/// Returns the table and the share of variance the PCA kept.
pub fn distill(
    embedder: &Embedder,
    opts: &DistillOptions,
    progress: &mut dyn FnMut(usize, usize) -> Result<()>,
) -> Result<(StaticTable, f64)> {
    let tok = embedder.tokenizer();
    let id = |t: &str| tok.token_to_id(t).ok_or_else(|| Error::ModelMissing(format!("the tokenizer has no {t} token")));
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    let vocab = tok.get_vocab_size(true);
    let tokens: Vec<Vec<u32>> = (0..vocab as u32).map(|t| vec![cls, t, sep]).collect();
    let vectors = embedder.embed_tokens(&tokens, opts.batch_size, progress)?;
    let (mut reduced, kept) = pca(&vectors, opts.dims);
    if opts.sif > 0.0 {
        for (row, w) in reduced.iter_mut().zip(sif_weights(vocab, opts.sif)) {
            row.iter_mut().for_each(|x| *x *= w as f32);
        }
    }
    let dims = reduced.first().map_or(opts.dims, Vec::len);
    Ok((StaticTable::quantize(&reduced.concat(), dims), kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> StaticTable {
        // 4 tokens × 2 dims
        StaticTable::quantize(&[0.0, 0.0, 1.0, 0.0, 0.0, 0.5, -2.0, 2.0], 2)
    }

    #[test]
    fn quantised_rows_round_trip() {
        let t = table();
        assert_eq!(t.vocab(), 4);
        assert_eq!(t.row(0), vec![0.0, 0.0]);
        assert_eq!(t.row(1), vec![1.0, 0.0]);
        assert!((t.row(2)[1] - 0.5).abs() < 1e-6);
        assert!((t.row(3)[0] + 2.0).abs() < 1e-6 && (t.row(3)[1] - 2.0).abs() < 1e-6);
        assert_eq!(t.row(99), vec![0.0, 0.0], "ids outside the table are zeros");
        let back = StaticTable::from_bytes(&t.to_bytes()).unwrap();
        assert_eq!((back.vocab(), back.dims), (4, 2));
        assert_eq!(back.to_bytes(), t.to_bytes());
        assert!(StaticTable::from_bytes(b"QISTAT01\x04\0\0\0\x02\0\0\0").is_err(), "truncated");
        assert!(StaticTable::from_bytes(&[0u8; 40]).is_err(), "bad magic");
    }

    #[test]
    fn pooling_leaves_out_cls_and_sep_and_normalises() {
        let t = table();
        // [CLS]=3 and [SEP]=3 (any ids) are left out: mean of rows 1 and 2 = (0.5, 0.25), normalised
        let v = t.pool(&[3, 1, 2, 3]);
        let n = (0.5f32 * 0.5 + 0.25 * 0.25).sqrt();
        assert!((v[0] - 0.5 / n).abs() < 1e-5 && (v[1] - 0.25 / n).abs() < 1e-5, "{v:?}");
        assert_eq!(t.pool(&[3, 3]), vec![0.0, 0.0], "no inner token");
        assert_eq!(t.pool(&[]), vec![0.0, 0.0]);
        assert_eq!(t.pool(&[3, 1, 1000, 3]), t.pool(&[3, 1, 3]), "unknown ids are skipped");
    }

    #[test]
    fn jacobi_finds_the_eigenpairs() {
        // eigenvalues 3, 1 of [[2,1],[1,2]], and 5, 2, 1 of a diagonal block matrix
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        assert!((values[0] - 3.0).abs() < 1e-9 && (values[1] - 1.0).abs() < 1e-9);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vectors[0][0] - h).abs() < 1e-9 && (vectors[0][1] - h).abs() < 1e-9);
        let a = [4.0, 1.0, 0.0, 1.0, 4.0, 0.0, 0.0, 0.0, 1.0];
        let (values, vectors) = symmetric_eigen(&a, 3);
        for (got, want) in values.iter().zip([5.0, 3.0, 1.0]) {
            assert!((got - want).abs() < 1e-9, "{values:?}");
        }
        // A v = λ v
        for (l, v) in values.iter().zip(&vectors) {
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| a[i * 3 + j] * v[j]).sum();
                assert!((av - l * v[i]).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn pca_keeps_the_main_axis() {
        // points on the line y = x (plus a little noise on y = -x): one component keeps ~all
        let rows: Vec<Vec<f32>> =
            (0..20).map(|i| i as f32).map(|t| vec![t + 0.01 * (t % 2.0), t - 0.01 * (t % 2.0)]).collect();
        let (out, kept) = pca(&rows, 1);
        assert!(kept > 0.999, "{kept}");
        assert_eq!(out.len(), 20);
        assert!(out[19][0] > out[0][0], "the sign is fixed: the axis points along +x+y");
        assert!((out[0][0] + out[19][0]).abs() < 1e-3, "centred");
    }

    #[test]
    fn sif_weights_frequent_tokens_down() {
        let w = sif_weights(30000, 1e-4);
        let (a, b) = (w[0], w[20000]);
        assert!(a < 0.01 && b > 0.9 && b < 1.0, "{a} {b}");
    }
}
