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

/// Runs `work` on each `(i0, j0)` tile origin on several threads, in rounds of as many tiles as
/// threads so that at most that many results are held at once, and hands the results to `visit`
/// on the calling thread in tile order.
fn in_rounds<T, W, V>(tiles: &[(usize, usize)], work: W, mut visit: V)
where
    T: Send,
    W: Fn(usize, usize) -> T + Sync,
    V: FnMut((usize, usize), T),
{
    let workers = worker_count().min(tiles.len()).max(1);
    for round in tiles.chunks(workers) {
        let results: Vec<((usize, usize), T)> = std::thread::scope(|scope| {
            let handles: Vec<_> = round
                .iter()
                .map(|&(i0, j0)| {
                    let work = &work;
                    scope.spawn(move || ((i0, j0), work(i0, j0)))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("similarity tile worker panicked")).collect()
        });
        for (origin, result) in results {
            visit(origin, result);
        }
    }
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
    in_rounds(
        &tiles,
        |i0, j0| {
            let a = m.slice(s![i0..(i0 + TILE).min(n), ..]);
            let b = m.slice(s![j0..(j0 + TILE).min(n), ..]);
            a.dot(&b.t())
        },
        |(i0, j0), tile| visit(i0, j0, &tile),
    );
}

/// Cosines of every row of `a` with every row of `b` (`a.len() × b.len()`) in one product, for
/// blocks small enough to hold.
pub fn dots(a: Vectors<'_>, b: Vectors<'_>) -> ndarray::Array2<f32> {
    assert_eq!(a.dims, b.dims, "vectors of the same length");
    a.view().dot(&b.view().t())
}

/// For each row of `rows`, the column of `cols` with the highest cosine `≥ threshold` (ties: the
/// lowest column) and that cosine, or `None`. Tiles are computed on several threads and reduced
/// at once, so memory is a few tiles, never `rows × cols`.
pub fn nearest_above(rows: Vectors<'_>, cols: Vectors<'_>, threshold: f32) -> Vec<Option<(u32, f32)>> {
    assert_eq!(rows.dims, cols.dims, "vectors of the same length");
    let (n, m) = (rows.len(), cols.len());
    let mut best: Vec<Option<(u32, f32)>> = vec![None; n];
    if n == 0 || m == 0 {
        return best;
    }
    let (a, b) = (rows.view(), cols.view());
    let tiles: Vec<(usize, usize)> =
        (0..n).step_by(TILE).flat_map(|i0| (0..m).step_by(TILE).map(move |j0| (i0, j0))).collect();
    in_rounds(
        &tiles,
        |i0, j0| {
            let tile = a.slice(s![i0..(i0 + TILE).min(n), ..]).dot(&b.slice(s![j0..(j0 + TILE).min(m), ..]).t());
            tile.outer_iter()
                .map(|row| {
                    let mut top: Option<(u32, f32)> = None;
                    for (dj, &sim) in row.iter().enumerate() {
                        // strictly greater: on a tie the lower column stays
                        if sim >= threshold && top.is_none_or(|(_, t)| sim > t) {
                            top = Some(((j0 + dj) as u32, sim));
                        }
                    }
                    top
                })
                .collect::<Vec<_>>()
        },
        |(i0, _), tops| {
            for (di, top) in tops.into_iter().enumerate() {
                let cur = &mut best[i0 + di];
                if let Some((j, sim)) = top {
                    if cur.is_none_or(|(cj, cs)| sim > cs || (sim == cs && j < cj)) {
                        *cur = Some((j, sim));
                    }
                }
            }
        },
    );
    best
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

    fn naive_dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn nearest_above_matches_the_naive_loop_across_tile_borders() {
        let dims = 8;
        let mut data = random_unit_vectors(3700, dims, 7);
        // rows are the first 1200 vectors, columns the other 2500; plant near-copies of rows among
        // the columns across the tile borders (column 1023 | 1024), and a tie (two equal columns)
        let copy = |data: &mut Vec<f32>, from: usize, to: usize| {
            let row: Vec<f32> = data[from * dims..(from + 1) * dims].to_vec();
            data[to * dims..(to + 1) * dims].copy_from_slice(&row);
        };
        for (row, col) in [(3usize, 2100usize), (1023, 1024), (1024, 1023), (10, 11), (1100, 2400), (1100, 2401)] {
            copy(&mut data, row, 1200 + col);
        }
        let rows = Vectors::new(&data[..1200 * dims], dims);
        let cols = Vectors::new(&data[1200 * dims..], dims);
        let fast = nearest_above(rows, cols, 0.97);
        let naive: Vec<Option<u32>> = (0..rows.len())
            .map(|i| {
                let mut top: Option<(u32, f32)> = None;
                for j in 0..cols.len() {
                    let s = naive_dot(rows.row(i), cols.row(j));
                    if s >= 0.97 && top.is_none_or(|(_, t)| s > t) {
                        top = Some((j as u32, s));
                    }
                }
                top.map(|t| t.0)
            })
            .collect();
        let fast_j: Vec<Option<u32>> = fast.iter().map(|t| t.map(|t| t.0)).collect();
        assert_eq!(fast_j, naive);
        assert_eq!((fast_j[3], fast_j[1023], fast_j[1024]), (Some(2100), Some(1024), Some(1023)));
        assert_eq!(fast_j[1100], Some(2400), "a tie keeps the lower column");
        assert!(fast_j.iter().filter(|t| t.is_some()).count() > 6, "random pairs above the threshold too");
        assert!(nearest_above(rows, Vectors::new(&[], dims), 0.5).iter().all(Option::is_none));
    }

    #[test]
    fn condensed_distances_match_the_naive_loop_across_tile_borders() {
        let dims = 8;
        let data = random_unit_vectors(1100, dims, 3);
        let v = Vectors::new(&data, dims);
        let d = condensed_euclidean(v);
        for (i, j) in [(0usize, 1050usize), (1023, 1024), (5, 6), (1024, 1099)] {
            let expected = (2.0 - 2.0 * naive_dot(v.row(i), v.row(j))).max(0.0).sqrt();
            assert!((d[condensed_index(1100, i, j)] - expected).abs() < 1e-5, "({i}, {j})");
        }
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
