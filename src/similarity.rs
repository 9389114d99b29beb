//! Cosine similarities between many unit vectors, computed as matrix products in tiles so that
//! neither time nor memory grows with a naive all-pairs loop.

use ndarray::{s, ArrayView2};

/// Rows of unit vectors stored contiguously (`n × dims`).
#[derive(Clone, Copy)]
pub struct Vectors<'a> {
    pub data: &'a [f32],
    pub dims: usize,
}

impl<'a> Vectors<'a> {
    pub fn new(data: &'a [f32], dims: usize) -> Self {
        assert!(dims > 0 && data.len().is_multiple_of(dims), "vector data must be n × dims");
        Vectors { data, dims }
    }
    pub fn len(&self) -> usize {
        self.data.len() / self.dims
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.dims..(i + 1) * self.dims]
    }
    fn view(&self) -> ArrayView2<'a, f32> {
        ArrayView2::from_shape((self.len(), self.dims), self.data).expect("shape checked in new")
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-12 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Cosine similarity of two unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Rows per tile: a 1024 × 1024 block of f32 is 4 MB.
const TILE: usize = 1024;

fn worker_count() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 4)
}

/// Calls `visit(i, j, sim)` for every pair `i < j` (in tile order), computing tiles on several
/// threads. `visit` receives the tiles one after another on the calling thread.
pub fn for_each_pair_tile<F>(v: Vectors<'_>, mut visit: F)
where
    F: FnMut(usize, usize, &ndarray::Array2<f32>),
{
    let n = v.len();
    if n < 2 {
        return;
    }
    let m = v.view();
    let tiles: Vec<(usize, usize)> =
        (0..n).step_by(TILE).flat_map(|i0| (i0..n).step_by(TILE).map(move |j0| (i0, j0))).collect();
    let workers = worker_count().min(tiles.len());
    // Tiles are computed in rounds of `workers` so at most `workers` tiles are held at once.
    for round in tiles.chunks(workers) {
        let results: Vec<((usize, usize), ndarray::Array2<f32>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = round
                .iter()
                .map(|&(i0, j0)| {
                    scope.spawn(move || {
                        let a = m.slice(s![i0..(i0 + TILE).min(n), ..]);
                        let b = m.slice(s![j0..(j0 + TILE).min(n), ..]);
                        ((i0, j0), a.dot(&b.t()))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("similarity tile worker panicked")).collect()
        });
        for ((i0, j0), tile) in results {
            visit(i0, j0, &tile);
        }
    }
}

/// All pairs `(i, j, sim)` with `i < j` and cosine `sim >= threshold`.
pub fn pairs_above(v: Vectors<'_>, threshold: f32) -> Vec<(u32, u32, f32)> {
    let mut pairs = Vec::new();
    for_each_pair_tile(v, |i0, j0, tile| {
        for (di, row) in tile.outer_iter().enumerate() {
            let i = i0 + di;
            for (dj, &sim) in row.iter().enumerate() {
                let j = j0 + dj;
                if j > i && sim >= threshold {
                    pairs.push((i as u32, j as u32, sim));
                }
            }
        }
    });
    pairs.sort_unstable_by_key(|&(i, j, _)| (i, j));
    pairs
}

/// Index of `(i, j)`, `i < j`, in a condensed (upper triangle, row-major) matrix of `n` items.
#[inline]
pub fn condensed_index(n: usize, i: usize, j: usize) -> usize {
    debug_assert!(i < j && j < n);
    n * i - i * (i + 1) / 2 + (j - i - 1)
}

/// The condensed matrix of Euclidean distances between unit vectors: `sqrt(2 - 2 cos)`.
pub fn condensed_euclidean(v: Vectors<'_>) -> Vec<f32> {
    let n = v.len();
    let mut out = vec![0f32; n * n.saturating_sub(1) / 2];
    for_each_pair_tile(v, |i0, j0, tile| {
        for (di, row) in tile.outer_iter().enumerate() {
            let i = i0 + di;
            for (dj, &sim) in row.iter().enumerate() {
                let j = j0 + dj;
                if j > i {
                    out[condensed_index(n, i, j)] = (2.0 - 2.0 * sim).max(0.0).sqrt();
                }
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / n).collect()
    }

    fn random_unit_vectors(n: usize, dims: usize, seed: u64) -> Vec<f32> {
        let mut state = seed;
        let mut out = Vec::with_capacity(n * dims);
        for _ in 0..n {
            let v: Vec<f32> = (0..dims)
                .map(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
                })
                .collect();
            out.extend(unit(&v));
        }
        out
    }

    #[test]
    fn tiled_pairs_match_the_naive_loop_across_tile_borders() {
        let dims = 8;
        let mut data = random_unit_vectors(2500, dims, 7);
        // plant near-duplicates across tile borders
        for (a, b) in [(3usize, 2100usize), (1023, 1024), (10, 11)] {
            let row: Vec<f32> = data[a * dims..(a + 1) * dims].to_vec();
            data[b * dims..(b + 1) * dims].copy_from_slice(&row);
        }
        let v = Vectors::new(&data, dims);
        let fast = pairs_above(v, 0.97);
        let mut naive = Vec::new();
        for i in 0..v.len() {
            for j in i + 1..v.len() {
                let s: f32 = v.row(i).iter().zip(v.row(j)).map(|(x, y)| x * y).sum();
                if s >= 0.97 {
                    naive.push((i as u32, j as u32));
                }
            }
        }
        let fast_ij: Vec<(u32, u32)> = fast.iter().map(|&(i, j, _)| (i, j)).collect();
        assert_eq!(fast_ij, naive);
        assert!(fast_ij.contains(&(1023, 1024)) && fast_ij.contains(&(3, 2100)));
    }

    #[test]
    fn condensed_layout_matches_scipy() {
        // scipy's squareform order for n = 4: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
        let order: Vec<usize> =
            [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)].iter().map(|&(i, j)| condensed_index(4, i, j)).collect();
        assert_eq!(order, vec![0, 1, 2, 3, 4, 5]);
        let data = [unit(&[1.0, 0.0]), unit(&[0.0, 1.0]), unit(&[-1.0, 0.0])].concat();
        let d = condensed_euclidean(Vectors::new(&data, 2));
        assert!((d[0] - 2f32.sqrt()).abs() < 1e-6);
        assert!((d[1] - 2.0).abs() < 1e-6);
    }
}
