//! Int8 compute for the encoder's matrix products.
//!
//! The shipped all-MiniLM-L6-v2 export stores each weight matrix as int8 with one scale per
//! output channel, and dequantises it in the graph (`Cast` → `Mul`), so ONNX Runtime folds it
//! back to fp32 and every MatMul runs in fp32. [`rewrite`] turns each such MatMul into integer
//! arithmetic: the activations are quantised to uint8 at run time with **one scale per token**
//! (its largest absolute value / 127), multiplied with the stored int8 weights and scaled back to
//! fp32 by the weight column's scale in one `MatMulIntegerToFloat` (ONNX Runtime's contrib
//! operator; VNNI kernels where the CPU has them), then by the token's scale. The weights are used
//! as shipped, but for those of smoothed activations (below), which are quantised again per
//! column. Embedding tables are gathered in int8 and only the gathered rows are
//! dequantised, so the session does not hold a 47 MB fp32 copy of the vocabulary.
//!
//! A few channels of the LayerNorm outputs that feed the products reach 14× the median channel,
//! and they set each token's int8 step. With the calibration shipped for the model
//! (`models/int8-calibration.json`), those activations are smoothed first (see [`Calibration`]);
//! the attention's value projections then compute in int8 too. Without it (another model file),
//! the value projections stay in fp32: in int8 on unsmoothed activations they cost more accuracy
//! than all the other products together, for a twelfth of the work.
//!
//! On x86 CPUs without VNNI, ONNX Runtime's uint8 × int8 kernels add each pair of products in 16
//! bits (`vpmaddubsw`), which saturates when an activation and a weight are both large. There the
//! weights are stored as uint8 instead (`w + 128`, zero point 128: the same values), and the
//! uint8 × uint8 kernels widen to 16 bits before they multiply; see [`WeightSign`].
//!
//! ONNX Runtime's own dynamic quantisation (`DynamicQuantizeLinear`) has one scale per tensor, so
//! a text's vector would depend on the other texts of its batch and on their padding. With a
//! scale per token it does not, and it is closer to fp32.
//!
//! The exporter writes each GELU out as five elementwise operators over the widest activations
//! (`x · 0.5 · (1 + erf(x / √2))`); they become one `BiasGelu` with the bias Add before them.
//! (`FastGelu`, the tanh approximation, within 5·10⁻⁴ of it, ran 3 % faster but moved CLINC150's
//! ARI from 0.682 to 0.671.) The exporter's NaN guards after the attention's Softmax, which never
//! fire here, go.
//!
//! The model file is edited on the protobuf wire: only the graph's nodes and initializers are
//! read; every other field is copied byte for byte.

use std::collections::{HashMap, HashSet};

use crate::error::{Error, Result};

const FLOAT: u64 = 1;
const UINT8: u64 = 2;
const INT8: u64 = 3;
// the constants the quantisation nodes share
const ONE_127TH: &str = "int8__one_127th";
const TINY: &str = "int8__tiny";
const ZERO_POINT: &str = "int8__zero_point";
const ONE: &str = "int8__one";
const MS_DOMAIN: &str = "com.microsoft";

// ---------------------------------------------------------------------------------------------
// protobuf wire format

#[derive(Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32,
}

struct Field<'a> {
    number: u64,
    value: Wire<'a>,
    /// The whole field, tag included, to copy it unchanged.
    raw: &'a [u8],
}

fn bad(what: &str) -> Error {
    Error::ModelMissing(format!("cannot read the encoder model for int8 compute: {what}"))
}

fn varint(buf: &[u8], pos: &mut usize) -> Result<u64> {
    let mut out = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos).ok_or_else(|| bad("truncated varint"))?;
        *pos += 1;
        out |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Ok(out);
        }
    }
    Err(bad("varint too long"))
}

fn fields(buf: &[u8]) -> Result<Vec<Field<'_>>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let start = pos;
        let tag = varint(buf, &mut pos)?;
        let take = |pos: &mut usize, n: usize| -> Result<&[u8]> {
            let end = pos.checked_add(n).filter(|&e| e <= buf.len()).ok_or_else(|| bad("truncated field"))?;
            let s = &buf[*pos..end];
            *pos = end;
            Ok(s)
        };
        let value = match tag & 7 {
            0 => Wire::Varint(varint(buf, &mut pos)?),
            1 => {
                take(&mut pos, 8)?;
                Wire::Fixed64
            }
            2 => {
                let n = varint(buf, &mut pos)? as usize;
                Wire::Bytes(take(&mut pos, n)?)
            }
            5 => {
                take(&mut pos, 4)?;
                Wire::Fixed32
            }
            w => return Err(bad(&format!("unsupported wire type {w}"))),
        };
        out.push(Field { number: tag >> 3, value, raw: &buf[start..pos] });
    }
    Ok(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, number: u64, bytes: &[u8]) {
    put_varint(out, number << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_int(out: &mut Vec<u8>, number: u64, v: u64) {
    put_varint(out, number << 3);
    put_varint(out, v);
}

fn text(w: Wire<'_>) -> Result<String> {
    match w {
        Wire::Bytes(b) => String::from_utf8(b.to_vec()).map_err(|_| bad("a name is not UTF-8")),
        _ => Err(bad("a string field has the wrong wire type")),
    }
}

// ---------------------------------------------------------------------------------------------
// the parts of NodeProto and TensorProto the rewrite reads

struct Node<'a> {
    inputs: Vec<String>,
    outputs: Vec<String>,
    op_type: String,
    domain: String,
    /// Attributes other than an `axis` of 0.
    other_attributes: usize,
    raw: &'a [u8],
}

fn node(raw: &[u8]) -> Result<Node<'_>> {
    let mut n = Node {
        inputs: Vec::new(),
        outputs: Vec::new(),
        op_type: String::new(),
        domain: String::new(),
        other_attributes: 0,
        raw,
    };
    for f in fields(raw)? {
        match (f.number, f.value) {
            (1, v) => n.inputs.push(text(v)?),
            (2, v) => n.outputs.push(text(v)?),
            (4, v) => n.op_type = text(v)?,
            (7, v) => n.domain = text(v)?,
            (5, Wire::Bytes(attr)) => {
                let attr = fields(attr)?;
                let is_axis = attr.iter().any(|a| a.number == 1 && matches!(a.value, Wire::Bytes(b"axis")));
                let zero = attr.iter().all(|a| a.number != 3 || matches!(a.value, Wire::Varint(0)));
                if !(is_axis && zero) {
                    n.other_attributes += 1;
                }
            }
            _ => {}
        }
    }
    Ok(n)
}

struct TensorInfo<'a> {
    data_type: u64,
    dims: Vec<u64>,
    /// The value of a float tensor of one element.
    scalar: Option<f32>,
    /// The tensor's values as stored: `raw_data`, or packed `float_data` (both little-endian).
    data: Option<&'a [u8]>,
}

impl TensorInfo<'_> {
    fn elements(&self) -> u64 {
        self.dims.iter().product()
    }

    /// The values of an int8 tensor.
    fn int8s(&self) -> Option<Vec<i8>> {
        let d = self.data.filter(|d| self.data_type == INT8 && d.len() as u64 == self.elements())?;
        Some(d.iter().map(|&b| b as i8).collect())
    }

    /// The values of a float tensor.
    fn floats(&self) -> Option<Vec<f32>> {
        let d = self.data.filter(|d| self.data_type == FLOAT && d.len() as u64 == 4 * self.elements())?;
        Some(d.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }
}

fn tensor_info(raw: &[u8]) -> Result<(String, TensorInfo<'_>)> {
    let mut name = String::new();
    let mut info = TensorInfo { data_type: 0, dims: Vec::new(), scalar: None, data: None };
    let mut one: Option<[u8; 4]> = None;
    for f in fields(raw)? {
        match (f.number, f.value) {
            // float_data (packed or not) and raw_data
            (4, Wire::Bytes(b)) | (9, Wire::Bytes(b)) => {
                one = b.try_into().ok();
                info.data = Some(b);
            }
            (4, Wire::Fixed32) => one = f.raw.get(f.raw.len() - 4..).and_then(|b| b.try_into().ok()),
            (1, Wire::Varint(d)) => info.dims.push(d),
            (1, Wire::Bytes(packed)) => {
                let mut pos = 0;
                while pos < packed.len() {
                    info.dims.push(varint(packed, &mut pos)?);
                }
            }
            (2, Wire::Varint(t)) => info.data_type = t,
            (8, v) => name = text(v)?,
            _ => {}
        }
    }
    if info.data_type == FLOAT && info.elements() == 1 {
        info.scalar = one.map(f32::from_le_bytes);
    }
    Ok((name, info))
}

/// A node attribute the rewrite writes.
enum Attr {
    Int(&'static str, i64),
    Ints(&'static str, &'static [i64]),
}

fn encode_node(op_type: &str, name: &str, inputs: &[&str], outputs: &[&str], attrs: &[Attr]) -> Vec<u8> {
    let mut out = Vec::new();
    for i in inputs {
        put_bytes(&mut out, 1, i.as_bytes());
    }
    for o in outputs {
        put_bytes(&mut out, 2, o.as_bytes());
    }
    put_bytes(&mut out, 3, name.as_bytes());
    put_bytes(&mut out, 4, op_type.as_bytes());
    for attr in attrs {
        // AttributeProto { name: 1, i: 3, ints: 8, type: 20 (INT = 2, INTS = 7) }
        let mut a = Vec::new();
        match attr {
            Attr::Int(name, v) => {
                put_bytes(&mut a, 1, name.as_bytes());
                put_int(&mut a, 3, *v as u64);
                put_int(&mut a, 20, 2);
            }
            Attr::Ints(name, vs) => {
                put_bytes(&mut a, 1, name.as_bytes());
                for v in *vs {
                    put_int(&mut a, 8, *v as u64);
                }
                put_int(&mut a, 20, 7);
            }
        }
        put_bytes(&mut out, 5, &a);
    }
    out
}

/// A node of ONNX Runtime's contrib operators (domain `com.microsoft`).
fn encode_ms_node(op_type: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Vec<u8> {
    let mut out = encode_node(op_type, name, inputs, outputs, &[]);
    put_bytes(&mut out, 7, MS_DOMAIN.as_bytes());
    out
}

/// A scalar initializer (dims empty) of `data_type` with little-endian `raw` bytes.
fn encode_scalar(name: &str, data_type: u64, raw: &[u8]) -> Vec<u8> {
    encode_tensor(name, data_type, &[], raw)
}

/// A tensor initializer of `data_type` and `dims` with little-endian `raw` bytes.
fn encode_tensor(name: &str, data_type: u64, dims: &[u64], raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &d in dims {
        put_int(&mut out, 1, d);
    }
    put_int(&mut out, 2, data_type);
    put_bytes(&mut out, 8, name.as_bytes());
    put_bytes(&mut out, 9, raw);
    out
}

fn float_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

// ---------------------------------------------------------------------------------------------

/// What [`rewrite`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// MatMuls that now compute in int8.
    pub matmuls: usize,
    /// Activations quantised at run time (one per distinct MatMul input).
    pub activations: usize,
    /// Embedding tables now gathered in int8 and dequantised row by row.
    pub gathers: usize,
    /// Int8 MatMuls left in fp32: the attention's value projections.
    pub kept_fp32: usize,
    /// GELUs written out in elementwise ops, now one fused operator each.
    pub gelus: usize,
    /// NaN guards after the attention's Softmax, removed.
    pub nan_guards: usize,
    /// Activations smoothed before quantisation (see [`Calibration`]).
    pub smoothed: usize,
    /// The products' weights are stored as uint8 ([`WeightSign::Unsigned`]).
    pub unsigned_weights: bool,
}

/// Per-channel ranges of activations the int8 products read (their largest absolute values over
/// calibration texts, by tensor name), for the model file they were measured on.
///
/// An activation with a range is **smoothed** before it is quantised (SmoothQuant, Xiao et al.
/// 2023): its channel j is divided by `s_j = range_j^α / wmax_j^(1-α)` (α = 0.5, the paper's
/// default; `wmax_j` the largest |weight| of row j over the products that read it), and row j
/// of those products' weights is multiplied by `s_j` and quantised again per column. The product
/// is the same; the few outlier channels of the encoder's LayerNorm outputs (up to 14× the median
/// channel) no longer set each token's int8 step. With it the attention's value projections,
/// which read the same activations as the queries and keys, compute in int8 as well.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Calibration {
    /// The sha256 of the model file the ranges were measured on.
    pub model_sha256: String,
    pub absmax: HashMap<String, Vec<f32>>,
}

/// A product's int8 weights [rows × cols] and their column scales.
type Weights = (Vec<i8>, Vec<f32>);

/// How the products' weights are stored for the CPU's integer kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightSign {
    /// int8, zero point 0: ONNX Runtime's uint8 × int8 kernels, exact on CPUs with VNNI (and on
    /// ARM), where products are accumulated in 32 bits.
    Signed,
    /// uint8 (`w + 128`), zero point 128: the uint8 × uint8 kernels, exact everywhere. On x86
    /// without VNNI the uint8 × int8 kernels saturate: measured on an AVX2 EPYC over 800 asks of the
    /// code-heavy month, the mean cosine to fp32 was 0.9958 (lowest 0.9858) with int8 weights and
    /// 0.9991 (lowest 0.9949) with uint8 weights, which cost 17 % of the encoder's speed there.
    Unsigned,
}

impl WeightSign {
    /// The exact choice for this CPU: [`WeightSign::Unsigned`] on x86 without VNNI.
    pub fn for_this_cpu() -> WeightSign {
        #[cfg(target_arch = "x86_64")]
        {
            if !std::arch::is_x86_feature_detected!("avx512vnni") && !std::arch::is_x86_feature_detected!("avxvnni") {
                return WeightSign::Unsigned;
            }
        }
        WeightSign::Signed
    }

    /// `values` as this sign's initializer bytes, and its data type.
    fn encode(self, values: &[i8]) -> (u64, Vec<u8>) {
        match self {
            WeightSign::Signed => (INT8, values.iter().map(|&v| v as u8).collect()),
            WeightSign::Unsigned => (UINT8, values.iter().map(|&v| (i16::from(v) + 128) as u8).collect()),
        }
    }
}

/// SmoothQuant's migration strength: how much of an activation's range moves into the weights.
const SMOOTHING_ALPHA: f32 = 0.5;

/// The smoothing factors of an activation of `range` read by weights whose rows reach `wmax`:
/// `range^α / wmax^(1-α)`, scaled to a geometric mean of 1; 1 where either is 0.
fn smoothing_factors(range: &[f32], wmax: &[f32]) -> Vec<f32> {
    let raw: Vec<f32> = range
        .iter()
        .zip(wmax)
        .map(|(&a, &w)| {
            if a > 0.0 && w > 0.0 && a.is_finite() && w.is_finite() {
                a.powf(SMOOTHING_ALPHA) / w.powf(1.0 - SMOOTHING_ALPHA)
            } else {
                1.0
            }
        })
        .collect();
    let mean_log = raw.iter().map(|s| s.ln()).sum::<f32>() / raw.len().max(1) as f32;
    let norm = (-mean_log).exp();
    raw.iter().map(|s| s * norm).collect()
}

/// Weights `w` [rows, cols] (int8, one scale per column) with row j multiplied by `factors[j]`,
/// quantised again per column: the new int8 values and scales.
fn smooth_weights(w: &[i8], scale: &[f32], factors: &[f32], cols: usize) -> Weights {
    let rows = factors.len();
    let value = |j: usize, c: usize| f32::from(w[j * cols + c]) * scale[c] * factors[j];
    let new_scale: Vec<f32> = (0..cols)
        .map(|c| {
            let m = (0..rows).map(|j| value(j, c).abs()).fold(0.0f32, f32::max);
            if m > 0.0 {
                m / 127.0
            } else {
                1.0
            }
        })
        .collect();
    let mut out = vec![0i8; rows * cols];
    for j in 0..rows {
        for c in 0..cols {
            out[j * cols + c] = (value(j, c) / new_scale[c]).round().clamp(-127.0, 127.0) as i8;
        }
    }
    (out, new_scale)
}

enum Plan {
    MatMul {
        weight: String,
        scale: String,
        rows: u64,
        cols: u64,
    },
    Gather {
        table: String,
        scale: String,
    },
    /// The last node of an exact GELU written out in elementwise ops, `x · 0.5 · (1 + erf(x /
    /// √2))`, becomes one `BiasGelu(input, bias)` (`x = input + bias`) or `Gelu(input)`.
    Gelu {
        input: String,
        bias: Option<String>,
    },
    /// A `Where(IsNaN(p), 0, p)` guard after a Softmax becomes `Identity(p)`, which ONNX Runtime
    /// removes.
    Unguarded {
        probabilities: String,
    },
}

/// An input computed as `Mul(Cast(int8 initializer [rows, cols]), scale initializer)`.
struct Dequantised {
    int8: String,
    scale: String,
    rows: u64,
    cols: u64,
    scale_dims: Vec<u64>,
    /// The Mul and the Cast, to drop once the input is rewritten.
    nodes: [usize; 2],
}

/// Rewrites every `MatMul(A, Mul(Cast(W: int8 [K, N]), S: float [1, N] or [N]))` of the model
/// into `MatMulInteger(quantise(A), W)` scaled back by each token's scale and by `S`, and every
/// `Gather(Mul(Cast(T: int8 [R, C]), S: [R, 1]), idx)` into a gather of the int8 rows dequantised
/// afterwards. The activations `calibration` gives ranges for are smoothed first; the attention's
/// value projections stay in fp32 unless their input is smoothed. Returns the new model bytes
/// and what changed; a model without such nodes comes back unchanged. `sign` says how the
/// products' weights are stored.
pub fn rewrite(model: &[u8], calibration: Option<&Calibration>, sign: WeightSign) -> Result<(Vec<u8>, Rewritten)> {
    let top = fields(model)?;
    let graph_field = top.iter().find(|f| f.number == 7).ok_or_else(|| bad("no graph"))?;
    let Wire::Bytes(graph) = graph_field.value else { return Err(bad("graph has the wrong wire type")) };
    let graph_fields = fields(graph)?;

    let mut nodes = Vec::new();
    let mut inits: HashMap<String, TensorInfo> = HashMap::new();
    for f in &graph_fields {
        match (f.number, f.value) {
            (1, Wire::Bytes(b)) => nodes.push(node(b)?),
            (5, Wire::Bytes(b)) => {
                let (name, info) = tensor_info(b)?;
                inits.insert(name, info);
            }
            _ => {}
        }
    }
    let producer: HashMap<&str, usize> =
        nodes.iter().enumerate().flat_map(|(k, n)| n.outputs.iter().map(move |o| (o.as_str(), k))).collect();
    let graph_outputs: HashSet<String> = graph_fields
        .iter()
        .filter(|f| f.number == 12)
        .filter_map(|f| match f.value {
            Wire::Bytes(b) => fields(b).ok()?.into_iter().find(|g| g.number == 1).and_then(|g| text(g.value).ok()),
            _ => None,
        })
        .collect();
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (k, n) in nodes.iter().enumerate() {
        for i in &n.inputs {
            consumers.entry(i.as_str()).or_default().push(k);
        }
    }
    // whether `output` reaches, through Add/Reshape/Transpose alone, the right operand of a
    // MatMul: the attention's values, which the probabilities multiply
    let attention_values = |output: &str| -> bool {
        let mut cur = output;
        for _ in 0..4 {
            let Some([next]) = consumers.get(cur).map(Vec::as_slice) else { return false };
            let n = &nodes[*next];
            match n.op_type.as_str() {
                "Add" | "Reshape" | "Transpose" => cur = &n.outputs[0],
                "MatMul" => return n.inputs.get(1).map(String::as_str) == Some(cur),
                _ => return false,
            }
        }
        false
    };
    let only_use = |name: &str| consumers.get(name).map(Vec::len) == Some(1) && !graph_outputs.contains(name);

    // the dequantised int8 tensor behind a node input: (int8 initializer, scale, its dims), with
    // the Mul and Cast that would go if this input was their only use
    let dequantised = |input: &str| -> Option<Dequantised> {
        let &m = producer.get(input)?;
        let mul = &nodes[m];
        if mul.op_type != "Mul" || mul.inputs.len() != 2 || !only_use(input) {
            return None;
        }
        let &c = producer.get(mul.inputs[0].as_str())?;
        let cast = &nodes[c];
        if cast.op_type != "Cast" || cast.inputs.len() != 1 || !only_use(&mul.inputs[0]) {
            return None;
        }
        let (w, s) = (inits.get(&cast.inputs[0])?, inits.get(&mul.inputs[1])?);
        if w.data_type != INT8 || w.dims.len() != 2 || s.data_type != FLOAT {
            return None;
        }
        Some(Dequantised {
            int8: cast.inputs[0].clone(),
            scale: mul.inputs[1].clone(),
            rows: w.dims[0],
            cols: w.dims[1],
            scale_dims: s.dims.clone(),
            nodes: [m, c],
        })
    };
    let mut plan: HashMap<usize, Plan> = HashMap::new();
    // the value projections' products, planned once the smoothing is known
    let mut values: Vec<(usize, Plan, [usize; 2])> = Vec::new();
    let mut kept_fp32 = 0;
    let mut dropped: HashSet<usize> = HashSet::new();
    for (k, n) in nodes.iter().enumerate() {
        if !n.domain.is_empty() || n.inputs.len() != 2 || n.other_attributes > 0 {
            continue;
        }
        let found = match n.op_type.as_str() {
            // weights [K, N] with one scale per output column
            "MatMul" => dequantised(&n.inputs[1])
                .filter(|d| d.scale_dims == [1, d.cols] || d.scale_dims == [d.cols])
                .map(|d| (Plan::MatMul { weight: d.int8, scale: d.scale, rows: d.rows, cols: d.cols }, d.nodes)),
            // a table [R, C] with one scale per row
            "Gather" => dequantised(&n.inputs[0])
                .filter(|d| d.scale_dims == [d.rows, 1])
                .map(|d| (Plan::Gather { table: d.int8, scale: d.scale }, d.nodes)),
            _ => None,
        };
        if let Some((p, gone)) = found {
            if matches!(p, Plan::MatMul { .. }) && attention_values(&n.outputs[0]) {
                values.push((k, p, gone));
                continue;
            }
            plan.insert(k, p);
            dropped.extend(gone);
        }
    }

    // the smoothing factors of each activation with a calibrated range, and the rescaled weights
    // and column scales of the int8 products that read it (by node), when all of them can be read
    let mut smoothing: HashMap<String, Vec<f32>> = HashMap::new();
    let mut smoothed_weights: HashMap<usize, Weights> = HashMap::new();
    if let Some(cal) = calibration {
        let mut readers: HashMap<&str, Vec<(usize, &Plan)>> = HashMap::new();
        for (k, p) in plan.iter().map(|(k, p)| (*k, p)).chain(values.iter().map(|(k, p, _)| (*k, p))) {
            if matches!(p, Plan::MatMul { .. }) {
                readers.entry(nodes[k].inputs[0].as_str()).or_default().push((k, p));
            }
        }
        for (a, plans) in readers {
            let Some(range) = cal.absmax.get(a) else { continue };
            // each product's int8 weights and column scales
            let weights: Option<Vec<(usize, Weights)>> = plans
                .iter()
                .map(|&(k, p)| {
                    let Plan::MatMul { weight, scale, rows, cols } = p else { return None };
                    let (w, sc) = (inits.get(weight)?.int8s()?, inits.get(scale)?.floats()?);
                    let fits =
                        *rows as usize == range.len() && sc.len() as u64 == *cols && w.len() as u64 == rows * cols;
                    fits.then_some((k, (w, sc)))
                })
                .collect();
            let Some(weights) = weights else { continue };
            let mut wmax = vec![0f32; range.len()];
            for (_, (w, sc)) in &weights {
                for (j, m) in wmax.iter_mut().enumerate() {
                    for (c, s) in sc.iter().enumerate() {
                        *m = m.max((f32::from(w[j * sc.len() + c]) * s).abs());
                    }
                }
            }
            let factors = smoothing_factors(range, &wmax);
            for (k, (w, sc)) in weights {
                smoothed_weights.insert(k, smooth_weights(&w, &sc, &factors, sc.len()));
            }
            smoothing.insert(a.to_string(), factors);
        }
    }
    // the value projections compute in int8 where their input is smoothed: measured on
    // CLINC150, the value projection in int8 on unsmoothed activations costs more accuracy than
    // all the other products together (mean cosine to fp32 0.9982, 0.9993 with it in fp32)
    for (k, p, gone) in values {
        if smoothing.contains_key(&nodes[k].inputs[0]) {
            plan.insert(k, p);
            dropped.extend(gone);
        } else {
            kept_fp32 += 1;
        }
    }

    // GELU: Div(x, √2) → Erf → Add(1) → Mul(0.5) → Mul(x), as the exporter writes it out, in
    // five passes over the widest activations; with its bias Add, when x has no other use
    let scalar =
        |name: &str, value: f32| inits.get(name).and_then(|t| t.scalar).is_some_and(|v| (v - value).abs() < 1e-4);
    let single = |name: &str| match consumers.get(name).map(Vec::as_slice) {
        Some(&[k]) if !graph_outputs.contains(name) => Some(k),
        _ => None,
    };
    let other = |n: &Node, known: &str| -> Option<String> {
        match n.inputs.as_slice() {
            [a, b] if a == known => Some(b.clone()),
            [a, b] if b == known => Some(a.clone()),
            _ => None,
        }
    };
    let mut gelus = 0;
    for (k, erf) in nodes.iter().enumerate() {
        if erf.op_type != "Erf" || !erf.domain.is_empty() || erf.inputs.len() != 1 {
            continue;
        }
        let chain = || -> Option<(usize, Vec<usize>, Plan)> {
            let &d = producer.get(erf.inputs[0].as_str())?;
            let div = &nodes[d];
            let x = div.inputs.first()?;
            if div.op_type != "Div" || div.inputs.len() != 2 || !scalar(&div.inputs[1], std::f32::consts::SQRT_2) {
                return None;
            }
            single(&div.outputs[0])?;
            let a = single(&erf.outputs[0])?;
            (nodes[a].op_type == "Add" && scalar(&other(&nodes[a], &erf.outputs[0])?, 1.0)).then_some(())?;
            let h = single(&nodes[a].outputs[0])?;
            (nodes[h].op_type == "Mul" && scalar(&other(&nodes[h], &nodes[a].outputs[0])?, 0.5)).then_some(())?;
            let m = single(&nodes[h].outputs[0])?;
            (nodes[m].op_type == "Mul" && other(&nodes[m], &nodes[h].outputs[0])? == *x).then_some(())?;
            let mut gone = vec![d, k, a, h];
            // the bias Add before it, when x is only the GELU's
            let only_gelu = consumers.get(x.as_str()).map(Vec::len) == Some(2) && !graph_outputs.contains(x);
            let bias = producer.get(x.as_str()).map(|&b| (b, &nodes[b])).filter(|(_, n)| {
                only_gelu
                    && n.op_type == "Add"
                    && n.domain.is_empty()
                    && n.inputs.len() == 2
                    && inits.get(&n.inputs[1]).is_some_and(|t| t.data_type == FLOAT && t.dims.len() == 1)
            });
            let plan = match bias {
                Some((b, n)) => {
                    gone.push(b);
                    Plan::Gelu { input: n.inputs[0].clone(), bias: Some(n.inputs[1].clone()) }
                }
                None => Plan::Gelu { input: x.clone(), bias: None },
            };
            Some((m, gone, plan))
        };
        if let Some((m, gone, p)) = chain() {
            gelus += 1;
            plan.insert(m, p);
            dropped.extend(gone);
        }
    }

    // the NaN guard the exporter puts after each attention Softmax, `Where(IsNaN(p), 0, p)`: a
    // row of probabilities is NaN only when all its scores are -inf, and no row is: every text
    // starts with [CLS], which the padding mask never masks (it adds the lowest finite float, not
    // -inf, to padding's scores anyway). ONNX Runtime ran the guard as two more passes over the
    // widest tensor of the attention (4 % of the encoder's time on the code-heavy asks).
    let mut guards = 0;
    for (k, w) in nodes.iter().enumerate() {
        let unguarded = || -> Option<(usize, String)> {
            let [cond, zero, p] = w.inputs.as_slice() else { return None };
            (w.op_type == "Where" && w.domain.is_empty() && scalar(zero, 0.0)).then_some(())?;
            let &i = producer.get(cond.as_str())?;
            let isnan = &nodes[i];
            let reads_p = isnan.inputs.len() == 1 && isnan.inputs[0] == *p;
            (isnan.op_type == "IsNaN" && isnan.domain.is_empty() && reads_p && single(cond)? == k).then_some(())?;
            let &s = producer.get(p.as_str())?;
            (nodes[s].op_type == "Softmax").then_some((i, p.clone()))
        };
        if let Some((i, p)) = unguarded() {
            guards += 1;
            plan.insert(k, Plan::Unguarded { probabilities: p });
            dropped.insert(i);
        }
    }

    let mut new_nodes: Vec<Vec<u8>> = Vec::new();
    let mut new_inits: Vec<Vec<u8>> = Vec::new();
    let mut quantised: HashMap<String, [String; 2]> = HashMap::new();
    let mut matmuls = 0;
    for (k, n) in nodes.iter().enumerate() {
        if dropped.contains(&k) {
            continue;
        }
        let out = &n.outputs[0];
        match plan.get(&k) {
            None => new_nodes.push(n.raw.to_vec()),
            Some(Plan::Gelu { input, bias: Some(bias) }) => {
                new_nodes.push(encode_ms_node("BiasGelu", &format!("{out}__bias_gelu"), &[input, bias], &[out]))
            }
            Some(Plan::Gelu { input, bias: None }) => {
                new_nodes.push(encode_ms_node("Gelu", &format!("{out}__gelu"), &[input], &[out]))
            }
            Some(Plan::Unguarded { probabilities }) => {
                new_nodes.push(encode_node("Identity", &format!("{out}__unguarded"), &[probabilities], &[out], &[]))
            }
            Some(Plan::Gather { table, scale }) => {
                // gather the int8 rows and their scales, then dequantise only those rows
                let idx = &n.inputs[1];
                let (q, s, f) = (format!("{out}__q"), format!("{out}__s"), format!("{out}__f"));
                new_nodes.push(encode_node("Gather", &format!("{out}__gather_q"), &[table, idx], &[&q], &[]));
                new_nodes.push(encode_node("Gather", &format!("{out}__gather_s"), &[scale, idx], &[&s], &[]));
                new_nodes.push(encode_node(
                    "Cast",
                    &format!("{out}__cast"),
                    &[&q],
                    &[&f],
                    &[Attr::Int("to", FLOAT as i64)],
                ));
                new_nodes.push(encode_node("Mul", &format!("{out}__dequantise"), &[&f, &s], &[out], &[]));
            }
            Some(Plan::MatMul { weight, scale, rows, cols }) => {
                matmuls += 1;
                let a = &n.inputs[0];
                let factors = smoothing.get(a);
                let [a_u8, a_scale] = quantised.entry(a.clone()).or_insert_with(|| {
                    let t = |suffix: &str| format!("{a}__{suffix}");
                    // a smoothed activation: each channel divided by its factor
                    let source = match factors {
                        Some(f) => {
                            let inverse: Vec<f32> = f.iter().map(|s| 1.0 / s).collect();
                            new_inits.push(encode_tensor(
                                &t("smoothing"),
                                FLOAT,
                                &[f.len() as u64],
                                &float_bytes(&inverse),
                            ));
                            new_nodes.push(encode_node(
                                "Mul",
                                &t("smooth"),
                                &[a, &t("smoothing")],
                                &[&t("smoothed")],
                                &[],
                            ));
                            t("smoothed")
                        }
                        None => a.clone(),
                    };
                    // one scale per token (row of the last axis): its largest absolute value
                    // (the larger of its max and -min: two reads, no written |a|) / 127; then
                    // a × (1 / scale) rounded, plus 128, as uint8 in one QuantizeLinear (scale 1,
                    // zero point 128), so zero sits at the constant zero point 128
                    let reduce = [Attr::Ints("axes", &[-1]), Attr::Int("keepdims", 1)];
                    let nodes: [(&str, Vec<String>, String, &[Attr]); 9] = [
                        ("ReduceMax", vec![source.clone()], t("max"), &reduce),
                        ("ReduceMin", vec![source.clone()], t("min"), &reduce),
                        ("Neg", vec![t("min")], t("neg_min"), &[]),
                        ("Max", vec![t("max"), t("neg_min")], t("absmax"), &[]),
                        ("Mul", vec![t("absmax"), ONE_127TH.into()], t("scale0"), &[]),
                        ("Max", vec![t("scale0"), TINY.into()], t("scale"), &[]),
                        ("Reciprocal", vec![t("scale")], t("inverse"), &[]),
                        ("Mul", vec![source, t("inverse")], t("scaled"), &[]),
                        ("QuantizeLinear", vec![t("scaled"), ONE.into(), ZERO_POINT.into()], t("u8"), &[]),
                    ];
                    for (op, inputs, output, attrs) in nodes {
                        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                        new_nodes.push(encode_node(op, &format!("{output}__node"), &inputs, &[&output], attrs));
                    }
                    [t("u8"), t("scale")]
                });
                // the weights are symmetric: each column's zero point is 0 in the sign's encoding
                let zp = format!("{weight}__zp");
                let (zp_type, zp_bytes) = sign.encode(&vec![0i8; *cols as usize]);
                new_inits.push(encode_tensor(&zp, zp_type, &[*cols], &zp_bytes));
                let t = |suffix: &str| format!("{out}__{suffix}");
                // the weights of a smoothed activation: row j times its factor, quantised again
                let (weight, scale) = match (smoothed_weights.remove(&k), sign) {
                    (Some((values, scales)), _) => {
                        let (data_type, bytes) = sign.encode(&values);
                        new_inits.push(encode_tensor(&t("smoothed_weight"), data_type, &[*rows, *cols], &bytes));
                        let dims = &inits[scale].dims;
                        new_inits.push(encode_tensor(&t("smoothed_scale"), FLOAT, dims, &float_bytes(&scales)));
                        (t("smoothed_weight"), t("smoothed_scale"))
                    }
                    (None, WeightSign::Signed) => (weight.clone(), scale.clone()),
                    (None, WeightSign::Unsigned) => {
                        let values =
                            inits.get(weight).and_then(|w| w.int8s()).ok_or_else(|| bad("unreadable int8 weights"))?;
                        let (data_type, bytes) = sign.encode(&values);
                        new_inits.push(encode_tensor(&t("unsigned_weight"), data_type, &[*rows, *cols], &bytes));
                        (t("unsigned_weight"), scale.clone())
                    }
                };
                // the integer product, scaled by each weight column's scale in the same kernel
                // (its `a_scale` is one per tensor: 1), then by each token's scale
                let columns = t("columns");
                new_nodes.push(encode_ms_node(
                    "MatMulIntegerToFloat",
                    &t("matmul"),
                    &[a_u8, &weight, ONE, &scale, ZERO_POINT, &zp],
                    &[&columns],
                ));
                new_nodes.push(encode_node("Mul", &t("row_scale"), &[&columns, a_scale], &[out], &[]));
            }
        }
    }
    if matmuls > 0 {
        new_inits.push(encode_scalar(ONE_127TH, FLOAT, &(1.0f32 / 127.0).to_le_bytes()));
        new_inits.push(encode_scalar(TINY, FLOAT, &1e-12f32.to_le_bytes()));
        new_inits.push(encode_scalar(ZERO_POINT, UINT8, &[128]));
        new_inits.push(encode_scalar(ONE, FLOAT, &1f32.to_le_bytes()));
    }
    let gathers = plan.len() - matmuls - gelus - guards;
    let report = Rewritten {
        matmuls,
        activations: quantised.len(),
        gathers,
        kept_fp32,
        gelus,
        nan_guards: guards,
        smoothed: smoothing.len(),
        unsigned_weights: matmuls > 0 && sign == WeightSign::Unsigned,
    };

    let mut graph_out = Vec::with_capacity(graph.len() + 1024);
    for n in &new_nodes {
        put_bytes(&mut graph_out, 1, n);
    }
    // initializers only the dropped nodes read (the weights and scales smoothing replaced) go
    let mut used: HashSet<String> = graph_outputs.clone();
    for n in &new_nodes {
        used.extend(node(n)?.inputs);
    }
    for f in &graph_fields {
        let unused = match (f.number, f.value) {
            (5, Wire::Bytes(b)) => {
                let (name, _) = tensor_info(b)?;
                !used.contains(&name)
                    && consumers.get(name.as_str()).is_some_and(|ks| ks.iter().all(|k| dropped.contains(k)))
            }
            _ => false,
        };
        if f.number != 1 && !unused {
            graph_out.extend_from_slice(f.raw);
        }
    }
    for t in &new_inits {
        put_bytes(&mut graph_out, 5, t);
    }
    let mut out = Vec::with_capacity(model.len() + 1024);
    for f in &top {
        if f.number == 7 {
            put_bytes(&mut out, 7, &graph_out);
        } else {
            out.extend_from_slice(f.raw);
        }
    }
    // the contrib operators' opset (OperatorSetIdProto { domain: 1, version: 2 })
    let imports_ms = top.iter().filter(|f| f.number == 8).any(|f| match f.value {
        Wire::Bytes(b) => fields(b).is_ok_and(|o| {
            o.iter().any(|g| g.number == 1 && matches!(g.value, Wire::Bytes(d) if d == MS_DOMAIN.as_bytes()))
        }),
        _ => false,
    });
    if !imports_ms && (matmuls > 0 || gelus > 0) {
        let mut opset = Vec::new();
        put_bytes(&mut opset, 1, MS_DOMAIN.as_bytes());
        put_int(&mut opset, 2, 1);
        put_bytes(&mut out, 8, &opset);
    }
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model with one dequantised MatMul: input x [?, 2] · Cast(w int8 [2, 3]) × s [1, 3] (s = 0).
    fn tiny_model() -> Vec<u8> {
        tiny_model_scaled([0.0; 3])
    }

    /// [`tiny_model`] with the weights' column scales `scales`.
    fn tiny_model_scaled(scales: [f32; 3]) -> Vec<u8> {
        let mut graph = Vec::new();
        put_bytes(&mut graph, 1, &encode_node("Cast", "c", &["w"], &["w_f"], &[Attr::Int("to", FLOAT as i64)]));
        put_bytes(&mut graph, 1, &encode_node("Mul", "m", &["w_f", "s"], &["w_deq"], &[]));
        put_bytes(&mut graph, 1, &encode_node("MatMul", "mm", &["x", "w_deq"], &["y"], &[]));
        put_bytes(&mut graph, 2, b"g");
        let mut w = Vec::new();
        put_int(&mut w, 1, 2);
        put_int(&mut w, 1, 3);
        put_int(&mut w, 2, INT8);
        put_bytes(&mut w, 8, b"w");
        put_bytes(&mut w, 9, &[1, 2, 3, 4, 5, 6]);
        put_bytes(&mut graph, 5, &w);
        let mut s = Vec::new();
        put_bytes(&mut s, 1, &[1, 3]); // packed dims
        put_int(&mut s, 2, FLOAT);
        put_bytes(&mut s, 8, b"s");
        put_bytes(&mut s, 9, &float_bytes(&scales));
        put_bytes(&mut graph, 5, &s);
        graph_output(&mut graph, "y");
        let mut model = Vec::new();
        put_int(&mut model, 1, 8);
        put_bytes(&mut model, 2, b"test");
        put_bytes(&mut model, 7, &graph);
        model
    }

    /// Declares `name` an output of the graph (ValueInfoProto { name: 1 }).
    fn graph_output(graph: &mut Vec<u8>, name: &str) {
        let mut info = Vec::new();
        put_bytes(&mut info, 1, name.as_bytes());
        put_bytes(graph, 12, &info);
    }

    /// What `of` reads from each node of the model's graph, in order.
    fn graph_nodes<T>(model: &[u8], of: impl Fn(Node<'_>) -> T) -> Vec<T> {
        let top = fields(model).unwrap();
        let Wire::Bytes(g) = top.iter().find(|f| f.number == 7).unwrap().value else { panic!() };
        fields(g).unwrap().iter().filter(|f| f.number == 1).map(|f| of(node(f.raw_body()).unwrap())).collect()
    }

    fn ops(model: &[u8]) -> Vec<String> {
        graph_nodes(model, |n| n.op_type)
    }

    /// The initializers of a model's graph, in order.
    fn initializers(model: &[u8]) -> Vec<(String, TensorInfo<'_>)> {
        let top = fields(model).unwrap();
        let Wire::Bytes(g) = top.iter().find(|f| f.number == 7).unwrap().value else { panic!() };
        fields(g).unwrap().iter().filter(|f| f.number == 5).map(|f| tensor_info(f.raw_body()).unwrap()).collect()
    }

    impl<'a> Field<'a> {
        fn raw_body(&self) -> &'a [u8] {
            match self.value {
                Wire::Bytes(b) => b,
                _ => panic!("not bytes"),
            }
        }
    }

    /// The nodes of one int8 product: the activation's range, its quantisation, the product and
    /// the token's scale.
    const QUANTISED_PRODUCT: [&str; 11] = [
        "ReduceMax",
        "ReduceMin",
        "Neg",
        "Max",
        "Mul",
        "Max",
        "Reciprocal",
        "Mul",
        "QuantizeLinear",
        "MatMulIntegerToFloat",
        "Mul",
    ];

    #[test]
    fn a_dequantised_matmul_becomes_integer() {
        let (out, report) = rewrite(&tiny_model(), None, WeightSign::Signed).unwrap();
        assert_eq!(
            report,
            Rewritten {
                matmuls: 1,
                activations: 1,
                gathers: 0,
                kept_fp32: 0,
                gelus: 0,
                nan_guards: 0,
                smoothed: 0,
                unsigned_weights: false
            }
        );
        assert_eq!(ops(&out), QUANTISED_PRODUCT);
        assert_eq!(domains(&out)[9], MS_DOMAIN);
        assert!(imports_ms(&out), "the contrib operators' opset is imported");
        // the other fields are copied: the producer name and both initializers, plus the zero point
        let top = fields(&out).unwrap();
        assert!(top.iter().any(|f| f.number == 2 && text(f.value).unwrap() == "test"));
        let inits = initializers(&out);
        let names: Vec<&str> = inits.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["w", "s", "w__zp", ONE_127TH, TINY, ZERO_POINT, ONE]);
        assert_eq!(inits[2].1.dims, [3]);
        assert_eq!(inits[2].1.data_type, INT8);
        assert!(inits[3..].iter().all(|(_, t)| t.dims.is_empty()), "the constants are scalars");
        assert_eq!(inits[5].1.data_type, UINT8);
    }

    #[test]
    fn unsigned_weights_are_the_same_values_shifted_by_their_zero_point() {
        let (out, report) = rewrite(&tiny_model_scaled([0.5; 3]), None, WeightSign::Unsigned).unwrap();
        assert_eq!(report.matmuls, 1);
        assert_eq!(ops(&out), QUANTISED_PRODUCT);
        let inputs = graph_nodes(&out, |n| n.inputs);
        assert_eq!(inputs[9][1], "y__unsigned_weight");
        assert_eq!(inputs[9][5], "w__zp");
        let inits: HashMap<String, TensorInfo> = initializers(&out).into_iter().collect();
        assert!(!inits.contains_key("w"), "the int8 weights go");
        let (w, zp) = (&inits["y__unsigned_weight"], &inits["w__zp"]);
        assert_eq!((w.data_type, w.dims.as_slice()), (UINT8, [2u64, 3].as_slice()));
        assert_eq!(w.data.unwrap(), [129, 130, 131, 132, 133, 134], "1..=6 plus 128");
        assert_eq!((zp.data_type, zp.data.unwrap()), (UINT8, [128u8, 128, 128].as_slice()));
        // smoothed weights are stored the same way
        let cal =
            Calibration { model_sha256: String::new(), absmax: HashMap::from([("x".to_string(), vec![9.0, 1.0])]) };
        let (signed, _) = rewrite(&tiny_model_scaled([0.5; 3]), Some(&cal), WeightSign::Signed).unwrap();
        let (unsigned, _) = rewrite(&tiny_model_scaled([0.5; 3]), Some(&cal), WeightSign::Unsigned).unwrap();
        let (signed, unsigned): (HashMap<_, _>, HashMap<_, _>) =
            (initializers(&signed).into_iter().collect(), initializers(&unsigned).into_iter().collect());
        let shifted: Vec<u8> =
            signed["y__smoothed_weight"].int8s().unwrap().iter().map(|&v| (i16::from(v) + 128) as u8).collect();
        assert_eq!(unsigned["y__smoothed_weight"].data_type, UINT8);
        assert_eq!(unsigned["y__smoothed_weight"].data.unwrap(), shifted.as_slice());
    }

    #[test]
    fn a_shared_or_float_weight_is_left_alone() {
        // the dequantised weight is also a graph output: it must stay
        let mut model = tiny_model();
        let (_, r) = rewrite(&model, None, WeightSign::Signed).unwrap();
        assert_eq!(r.matmuls, 1);
        let mut extra = Vec::new();
        put_bytes(&mut extra, 1, b"w_deq");
        let mut graph_tail = Vec::new();
        put_bytes(&mut graph_tail, 12, &extra);
        // append the output to the graph: rebuild the model with the longer graph
        let top = fields(&model).unwrap();
        let Wire::Bytes(g) = top.iter().find(|f| f.number == 7).unwrap().value else { panic!() };
        let mut g2 = g.to_vec();
        g2.extend_from_slice(&graph_tail);
        model.clear();
        put_bytes(&mut model, 7, &g2);
        let (out, r) = rewrite(&model, None, WeightSign::Signed).unwrap();
        assert_eq!(
            r,
            Rewritten {
                matmuls: 0,
                activations: 0,
                gathers: 0,
                kept_fp32: 0,
                gelus: 0,
                nan_guards: 0,
                smoothed: 0,
                unsigned_weights: false
            }
        );
        assert_eq!(ops(&out), ["Cast", "Mul", "MatMul"]);
        assert!(!imports_ms(&out));
    }

    #[test]
    fn smoothing_factors_follow_the_range_with_a_geometric_mean_of_one() {
        let f = smoothing_factors(&[16.0, 1.0, 4.0, 0.0], &[1.0, 1.0, 1.0, 1.0]);
        // range^0.5 / wmax^0.5: 4, 1, 2, and 1 where the range is 0; then divided by 8^(1/4)
        let norm = 8f32.powf(0.25);
        for (got, want) in f.iter().zip([4.0 / norm, 1.0 / norm, 2.0 / norm, 1.0 / norm]) {
            assert!((got - want).abs() < 1e-5, "{f:?}");
        }
        let log_mean: f32 = f.iter().map(|x| x.ln()).sum::<f32>() / 4.0;
        assert!(log_mean.abs() < 1e-5);
        // larger weights in a row take part of the factor back
        let g = smoothing_factors(&[16.0, 16.0], &[1.0, 4.0]);
        assert!((g[0] / g[1] - 2.0).abs() < 1e-5, "{g:?}");
    }

    #[test]
    fn smoothing_divides_the_activation_and_moves_its_range_into_the_weights() {
        let scales = [0.01, 0.02, 0.5];
        let model = tiny_model_scaled(scales);
        let cal =
            Calibration { model_sha256: String::new(), absmax: HashMap::from([("x".to_string(), vec![9.0, 1.0])]) };
        let (out, r) = rewrite(&model, Some(&cal), WeightSign::Signed).unwrap();
        assert_eq!(r.smoothed, 1);
        assert_eq!(r.matmuls, 1);
        // Mul(x, 1/s), then the quantisation of the smoothed x
        assert_eq!(ops(&out)[0], "Mul");
        assert_eq!(ops(&out)[1..], QUANTISED_PRODUCT);
        let inputs = graph_nodes(&out, |n| n.inputs);
        assert_eq!(inputs[0], ["x", "x__smoothing"]);
        assert_eq!(inputs[1], ["x__smoothed"]);
        assert_eq!(inputs[2], ["x__smoothed"]);
        assert_eq!(inputs[10][1], "y__smoothed_weight");
        assert_eq!(inputs[10][3], "y__smoothed_scale");
        let inits: HashMap<String, TensorInfo> = initializers(&out).into_iter().collect();
        assert!(!inits.contains_key("w") && !inits.contains_key("s"), "the replaced weights and scales go");
        let inverse = inits["x__smoothing"].floats().unwrap();
        let factors: Vec<f32> = inverse.iter().map(|v| 1.0 / v).collect();
        assert!(factors[0] > factors[1], "the wider channel is divided more: {factors:?}");
        let (w, sc) = (&inits["y__smoothed_weight"], &inits["y__smoothed_scale"]);
        assert_eq!((w.data_type, w.dims.as_slice()), (INT8, [2u64, 3].as_slice()));
        assert_eq!((sc.data_type, sc.dims.as_slice()), (FLOAT, [1u64, 3].as_slice()));
        let (w, sc) = (w.int8s().unwrap(), sc.floats().unwrap());
        // the product is unchanged: each smoothed weight over its row's factor is the original
        // weight, within half a step of the new quantisation
        let original = [1i8, 2, 3, 4, 5, 6];
        for j in 0..2 {
            for c in 0..3 {
                let before = f32::from(original[j * 3 + c]) * scales[c];
                let after = f32::from(w[j * 3 + c]) * sc[c] / factors[j];
                assert!((before - after).abs() <= 0.5 * sc[c] / factors[j] + 1e-6, "({j}, {c}): {before} vs {after}");
            }
        }
        // a range of another length, or none, leaves the activation as it was
        let other =
            Calibration { model_sha256: String::new(), absmax: HashMap::from([("x".to_string(), vec![1.0; 3])]) };
        assert_eq!(rewrite(&model, Some(&other), WeightSign::Signed).unwrap().1.smoothed, 0);
        assert_eq!(
            rewrite(&model, None, WeightSign::Signed).unwrap().0,
            rewrite(&model, Some(&Calibration::default()), WeightSign::Signed).unwrap().0
        );
    }

    fn domains(model: &[u8]) -> Vec<String> {
        graph_nodes(model, |n| n.domain)
    }

    fn imports_ms(model: &[u8]) -> bool {
        fields(model)
            .unwrap()
            .iter()
            .filter(|f| f.number == 8)
            .any(|f| fields(f.raw_body()).unwrap().iter().any(|g| g.number == 1 && text(g.value).unwrap() == MS_DOMAIN))
    }

    /// `y = gelu(x + b)` written out as the exporter does, with `(√2, 1, 0.5)` as given.
    fn gelu_model(constants: [f32; 3], bias_used_elsewhere: bool) -> Vec<u8> {
        let mut graph = Vec::new();
        let mut node = |op: &str, inputs: &[&str], output: &str| {
            put_bytes(&mut graph, 1, &encode_node(op, output, inputs, &[output], &[]));
        };
        node("Add", &["x", "b"], "h");
        node("Div", &["h", "sqrt2"], "d");
        node("Erf", &["d"], "e");
        node("Add", &["e", "one"], "a");
        node("Mul", &["half", "a"], "m");
        node("Mul", &["h", "m"], "y");
        if bias_used_elsewhere {
            node("Abs", &["h"], "z");
        }
        for (name, v) in ["sqrt2", "one", "half"].iter().zip(constants) {
            put_bytes(&mut graph, 5, &encode_scalar(name, FLOAT, &v.to_le_bytes()));
        }
        let mut b = Vec::new();
        put_int(&mut b, 1, 3);
        put_int(&mut b, 2, FLOAT);
        put_bytes(&mut b, 8, b"b");
        put_bytes(&mut b, 9, &[0; 12]);
        put_bytes(&mut graph, 5, &b);
        graph_output(&mut graph, "y");
        let mut model = Vec::new();
        put_bytes(&mut model, 7, &graph);
        model
    }

    #[test]
    fn a_written_out_gelu_becomes_one_operator() {
        let exact = [std::f32::consts::SQRT_2, 1.0, 0.5];
        let (out, r) = rewrite(&gelu_model(exact, false), None, WeightSign::Signed).unwrap();
        assert_eq!(r.gelus, 1);
        assert_eq!(ops(&out), ["BiasGelu"]);
        assert_eq!(domains(&out), [MS_DOMAIN]);
        assert!(imports_ms(&out));
        // x + b has another use: the Add stays, the GELU reads its sum
        let (out, r) = rewrite(&gelu_model(exact, true), None, WeightSign::Signed).unwrap();
        assert_eq!(r.gelus, 1);
        assert_eq!(ops(&out), ["Add", "Gelu", "Abs"]);
        // not a GELU: another constant
        let (out, r) =
            rewrite(&gelu_model([std::f32::consts::SQRT_2, 1.0, 0.25], false), None, WeightSign::Signed).unwrap();
        assert_eq!(r.gelus, 0);
        assert_eq!(ops(&out), ["Add", "Div", "Erf", "Add", "Mul", "Mul"]);
        assert!(!imports_ms(&out));
    }

    /// `y = Where(IsNaN(p), c, p)` after `p = Softmax(x)`, with the constant `c`.
    fn guarded_softmax(c: f32) -> Vec<u8> {
        let mut graph = Vec::new();
        put_bytes(&mut graph, 1, &encode_node("Softmax", "p", &["x"], &["p"], &[]));
        put_bytes(&mut graph, 1, &encode_node("IsNaN", "nan", &["p"], &["nan"], &[]));
        put_bytes(&mut graph, 1, &encode_node("Where", "y", &["nan", "c", "p"], &["y"], &[]));
        put_bytes(&mut graph, 5, &encode_scalar("c", FLOAT, &c.to_le_bytes()));
        graph_output(&mut graph, "y");
        let mut model = Vec::new();
        put_bytes(&mut model, 7, &graph);
        model
    }

    #[test]
    fn the_nan_guard_after_softmax_goes() {
        let (out, r) = rewrite(&guarded_softmax(0.0), None, WeightSign::Signed).unwrap();
        assert_eq!(r.nan_guards, 1);
        assert_eq!(ops(&out), ["Softmax", "Identity"]);
        assert_eq!(r.gathers, 0);
        // another constant is not a guard: the Where stays
        let (out, r) = rewrite(&guarded_softmax(1.0), None, WeightSign::Signed).unwrap();
        assert_eq!(r.nan_guards, 0);
        assert_eq!(ops(&out), ["Softmax", "IsNaN", "Where"]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(rewrite(&[0x3a, 0xff, 0xff, 0xff], None, WeightSign::Signed).is_err());
        assert!(rewrite(&[0x08], None, WeightSign::Signed).is_err());
        assert!(rewrite(b"", None, WeightSign::Signed).is_err(), "no graph");
    }
}
