//! Hierarchical agglomerative clustering (kodama) of unit vectors on Euclidean distance
//! (`sqrt(2 - 2 cos)`), cut at a distance threshold so the number of clusters need not be known.
//!
//! The condensed distance matrix holds n(n-1)/2 f32s: 2 GB at n ≈ 32 000. Up to
//! `direct_limit` items (default 20 000: 0.8 GB) are clustered directly; above it, items are
//! first grouped into micro-clusters by spherical k-means, their centroids are clustered, and
//! each item follows its micro-cluster.

use kodama::Method;

use crate::similarity::{condensed_euclidean, Vectors};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    Ward,
    Average,
    Complete,
    Single,
}

impl Linkage {
    pub fn parse(s: &str) -> Option<Linkage> {
        Some(match s {
            "ward" => Linkage::Ward,
            "average" => Linkage::Average,
            "complete" => Linkage::Complete,
            "single" => Linkage::Single,
            _ => return None,
        })
    }
    fn method(self) -> Method {
        match self {
            Linkage::Ward => Method::Ward,
            Linkage::Average => Method::Average,
            Linkage::Complete => Method::Complete,
            Linkage::Single => Method::Single,
        }
    }
}

/// Largest n clustered directly by default: n(n-1)/2 × 4 bytes ≈ 0.8 GB at 20 000.
pub const DEFAULT_DIRECT_LIMIT: usize = 20_000;
/// Largest n whose condensed matrix fits in 2 GB: n(n-1)/2 × 4 B ≤ 2^31 B.
pub const MAX_DIRECT_WITHIN_2GB: usize = 32_768;

#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub linkage: Linkage,
    /// Where the dendrogram is cut: for Ward, the largest Euclidean distance between the
    /// centroids of two groups that are still merged; for the other linkages, the merge height
    /// (Euclidean distance between unit vectors, `sqrt(2 - 2 cos)`).
    pub distance_threshold: f32,
    /// Ward only: groups whose centroids are farther apart than this (Euclidean distance of
    /// the mean vectors) are never merged, however small they are.
    pub max_centroid_distance: f32,
    /// Ward only: a merge that would leave a group less cohesive than this (mean cosine of its
    /// members to their normalised centroid) is not made.
    pub min_cohesion: f32,
    /// Groups smaller than this (counting duplicates) go to the unclustered list.
    pub min_cluster_size: usize,
    /// Samples per cluster, nearest the centroid first.
    pub max_samples: usize,
    /// Above this many items, cluster in two stages.
    pub direct_limit: usize,
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            linkage: Linkage::Ward,
            distance_threshold: DEFAULT_WARD_THRESHOLD,
            max_centroid_distance: DEFAULT_MAX_CENTROID_DISTANCE,
            min_cohesion: DEFAULT_MIN_COHESION,
            min_cluster_size: 2,
            max_samples: 5,
            direct_limit: DEFAULT_DIRECT_LIMIT,
        }
    }
}

/// Ward cut height, tuned on CLINC150 val (see `npm run eval:cluster`).
pub const DEFAULT_WARD_THRESHOLD: f32 = 2.1;
/// Ward's cap on the distance between merged centroids (see `cut`). It decides the cut of a
/// month-sized input, where Ward's heights stay low: 1.1 was chosen on month-sized samples of
/// CLINC150 val (1.2 until 2026-12-03, when the top 5 clusters of a month-sized sample were 75–82 %
/// one intent); `npm run eval:cluster` prints both scales.
pub const DEFAULT_MAX_CENTROID_DISTANCE: f32 = 1.1;
/// Ward's floor on a group's cohesion (see `cut`): without it, a month of a community about one
/// product, whose asks are all a little alike, could end in one cluster of everything, as the
/// centroids of big diffuse groups lie close together. 0.675 was chosen on month-sized samples of
/// CLINC150 val, of any intents and of neighbouring ones (`npm run eval:cluster`).
pub const DEFAULT_MIN_COHESION: f32 = 0.675;
/// Default cut for the other linkages, where heights are plain distances.
pub const DEFAULT_AVERAGE_THRESHOLD: f32 = 1.0;

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Indices of the members, nearest the centroid first.
    pub members: Vec<usize>,
    /// Sum of member weights (a member standing for 3 messages weighs 3).
    pub size: usize,
    /// The member nearest the centroid.
    pub representative: usize,
    /// Up to `max_samples` members nearest the centroid, with their cosine to it.
    pub samples: Vec<(usize, f32)>,
    /// Mean cosine of the members to the (normalised) centroid, in [-1, 1].
    pub cohesion: f32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Clustering {
    /// Sorted by size, largest first (ties: the cluster whose first member comes first).
    pub clusters: Vec<Cluster>,
    /// Items in groups below `min_cluster_size`, in input order.
    pub unclustered: Vec<usize>,
    /// Whether the two-stage method was used.
    pub two_stage: bool,
}

/// Clusters `vectors` (unit length, one per item). `weights[i]` is how many messages item i
/// stands for (≥ 1). Deterministic: the same input gives the same output.
pub fn cluster(vectors: Vectors<'_>, weights: &[usize], opts: &ClusterOptions) -> Clustering {
    let n = vectors.len();
    assert_eq!(weights.len(), n, "one weight per item");
    let (labels, two_stage) = if n <= opts.direct_limit.max(2) {
        (flat_labels(vectors, opts), false)
    } else {
        (two_stage_labels(vectors, opts), true)
    };
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, &l) in labels.iter().enumerate() {
        groups.entry(l).or_default().push(i);
    }
    let mut clusters = Vec::new();
    let mut unclustered = Vec::new();
    for members in groups.into_values() {
        let size: usize = members.iter().map(|&i| weights[i].max(1)).sum();
        if size < opts.min_cluster_size.max(1) {
            unclustered.extend(members);
            continue;
        }
        clusters.push(describe(vectors, members, size, opts.max_samples));
    }
    unclustered.sort_unstable();
    clusters.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| first(a).cmp(&first(b))));
    Clustering { clusters, unclustered, two_stage }
}

fn first(c: &Cluster) -> usize {
    c.members.iter().copied().min().unwrap_or(usize::MAX)
}

/// Cluster label of every item: items merged below `threshold` share a label.
fn flat_labels(vectors: Vectors<'_>, opts: &ClusterOptions) -> Vec<usize> {
    let n = vectors.len();
    if n < 2 {
        return (0..n).collect();
    }
    let mut condensed = condensed_euclidean(vectors);
    let dendrogram = kodama::linkage(&mut condensed, n, opts.linkage.method());
    drop(condensed);
    let steps: Vec<(usize, usize, f32)> =
        dendrogram.steps().iter().map(|s| (s.cluster1, s.cluster2, s.dissimilarity)).collect();
    cut(vectors, &steps, opts)
}

/// Flat clusters from a dendrogram: a node stays whole when both its children stay whole and
/// its merge criterion is at or below `threshold`. Step k creates label n + k.
///
/// For Ward the criterion is the distance between the two merged centroids (the merge height
/// divided by sqrt(2|A||B| / (|A|+|B|))): Ward's own heights grow with cluster size, so a fixed
/// height cut over-merges small inputs and splits big topics; centroid distance does not
/// depend on how many questions a topic has. For the other linkages it is the merge height.
fn cut(vectors: Vectors<'_>, steps: &[(usize, usize, f32)], opts: &ClusterOptions) -> Vec<usize> {
    let n = vectors.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let total = n + steps.len();
    let mut size = vec![1usize; total];
    let mut whole = vec![true; total];
    // the sum of the vectors of each whole group that is not a single item
    let mut sums: std::collections::HashMap<usize, Vec<f32>> = std::collections::HashMap::new();
    // an observation standing for each dendrogram label
    let mut witness: Vec<usize> = (0..n).collect();
    for (k, &(a, b, d)) in steps.iter().enumerate() {
        let node = n + k;
        size[node] = size[a] + size[b];
        witness.push(witness[a]);
        let within = match opts.linkage {
            Linkage::Ward => {
                let (na, nb) = (size[a] as f32, size[b] as f32);
                let centroid_distance = d / (2.0 * na * nb / (na + nb)).sqrt();
                d <= opts.distance_threshold && centroid_distance <= opts.max_centroid_distance
            }
            _ => d <= opts.distance_threshold,
        };
        whole[node] = whole[a] && whole[b] && within;
        if whole[node] && opts.linkage == Linkage::Ward {
            // the merged group's cohesion, from the sum of its vectors: |Σv| / n
            let mut sum = sums.remove(&a).unwrap_or_else(|| vectors.row(a).to_vec());
            match sums.remove(&b) {
                Some(other) => sum.iter_mut().zip(&other).for_each(|(x, y)| *x += y),
                None => sum.iter_mut().zip(vectors.row(b)).for_each(|(x, y)| *x += y),
            }
            let cohesion = crate::similarity::dot(&sum, &sum).sqrt() / size[node] as f32;
            whole[node] = cohesion >= opts.min_cohesion;
            if whole[node] {
                sums.insert(node, sum);
            }
        }
        if whole[node] {
            let (ra, rb) = (find(&mut parent, witness[a]), find(&mut parent, witness[b]));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    (0..n).map(|i| find(&mut parent, i)).collect()
}

/// Stage one: spherical k-means into micro-clusters (about 20 items each, at most 4 000);
/// stage two: hierarchical clustering of their centroids.
fn two_stage_labels(vectors: Vectors<'_>, opts: &ClusterOptions) -> Vec<usize> {
    let n = vectors.len();
    let dims = vectors.dims;
    let k = (n / 20).clamp(2, opts.direct_limit.max(2)).min(4_000);
    let assign = kmeans(vectors, k, 8);
    let mut centroids = vec![0f32; k * dims];
    for (i, &c) in assign.iter().enumerate() {
        for (acc, x) in centroids[c * dims..(c + 1) * dims].iter_mut().zip(vectors.row(i)) {
            *acc += *x;
        }
    }
    // drop empty micro-clusters
    let mut used: Vec<usize> = assign.clone();
    used.sort_unstable();
    used.dedup();
    let mut compact = Vec::with_capacity(used.len() * dims);
    let mut remap = vec![usize::MAX; k];
    for (new, &old) in used.iter().enumerate() {
        let mut c = centroids[old * dims..(old + 1) * dims].to_vec();
        crate::similarity::normalize(&mut c);
        compact.extend(c);
        remap[old] = new;
    }
    let top = flat_labels(Vectors::new(&compact, dims), opts);
    assign.iter().map(|&c| top[remap[c]]).collect()
}

/// Spherical k-means (cosine) with a deterministic start: `k` items evenly spread over the
/// input order. Assignment is a blocked matrix product, so each iteration costs n·k·dims.
fn kmeans(vectors: Vectors<'_>, k: usize, iterations: usize) -> Vec<usize> {
    let n = vectors.len();
    let dims = vectors.dims;
    let k = k.clamp(1, n.max(1));
    let mut centres: Vec<f32> = Vec::with_capacity(k * dims);
    for c in 0..k {
        centres.extend_from_slice(vectors.row(c * n / k));
    }
    let mut assign = vec![0usize; n];
    for _ in 0..iterations {
        let centre_view = Vectors::new(&centres, dims);
        let next = nearest_centres(vectors, centre_view);
        let converged = next == assign;
        assign = next;
        if converged {
            break;
        }
        let mut sums = vec![0f32; k * dims];
        let mut counts = vec![0usize; k];
        for (i, &c) in assign.iter().enumerate() {
            counts[c] += 1;
            for (acc, x) in sums[c * dims..(c + 1) * dims].iter_mut().zip(vectors.row(i)) {
                *acc += *x;
            }
        }
        for c in 0..k {
            if counts[c] > 0 {
                let slot = &mut sums[c * dims..(c + 1) * dims];
                crate::similarity::normalize(slot);
                centres[c * dims..(c + 1) * dims].copy_from_slice(slot);
            }
        }
    }
    assign
}

fn nearest_centres(vectors: Vectors<'_>, centres: Vectors<'_>) -> Vec<usize> {
    use ndarray::ArrayView2;
    let a = ArrayView2::from_shape((vectors.len(), vectors.dims), vectors.data).expect("shape");
    let c = ArrayView2::from_shape((centres.len(), centres.dims), centres.data).expect("shape");
    let mut out = Vec::with_capacity(vectors.len());
    for block in a.axis_chunks_iter(ndarray::Axis(0), 2048) {
        let sims = block.dot(&c.t());
        for row in sims.outer_iter() {
            let mut best = (f32::NEG_INFINITY, 0usize);
            for (j, &s) in row.iter().enumerate() {
                if s > best.0 {
                    best = (s, j);
                }
            }
            out.push(best.1);
        }
    }
    out
}

fn describe(vectors: Vectors<'_>, members: Vec<usize>, size: usize, max_samples: usize) -> Cluster {
    let dims = vectors.dims;
    let mut centroid = vec![0f32; dims];
    for &i in &members {
        for (acc, x) in centroid.iter_mut().zip(vectors.row(i)) {
            *acc += *x;
        }
    }
    crate::similarity::normalize(&mut centroid);
    let mut scored: Vec<(usize, f32)> =
        members.iter().map(|&i| (i, crate::similarity::dot(vectors.row(i), &centroid))).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let cohesion = scored.iter().map(|&(_, s)| s).sum::<f32>() / scored.len().max(1) as f32;
    Cluster {
        members: scored.iter().map(|&(i, _)| i).collect(),
        size,
        representative: scored[0].0,
        samples: scored.iter().take(max_samples).copied().collect(),
        cohesion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight groups on different axes plus one outlier.
    fn blobs() -> (Vec<f32>, usize) {
        let dims = 4;
        let mut data = Vec::new();
        let jitter = [0.0f32, 0.02, -0.02, 0.03];
        for axis in 0..3 {
            for j in jitter {
                let mut v = vec![0.0f32; dims];
                v[axis] = 1.0;
                v[3] = j;
                crate::similarity::normalize(&mut v);
                data.extend(v);
            }
        }
        let mut outlier = vec![0.5f32, 0.5, 0.5, -0.9];
        crate::similarity::normalize(&mut outlier);
        data.extend(outlier);
        (data, dims)
    }

    #[test]
    fn finds_the_groups_and_leaves_the_outlier_unclustered() {
        let (data, dims) = blobs();
        let v = Vectors::new(&data, dims);
        let weights = vec![1; v.len()];
        for linkage in [Linkage::Ward, Linkage::Average] {
            let opts = ClusterOptions { linkage, distance_threshold: 0.5, ..Default::default() };
            let out = cluster(v, &weights, &opts);
            assert_eq!(out.clusters.len(), 3, "{linkage:?}");
            assert_eq!(out.unclustered, vec![12]);
            for c in &out.clusters {
                assert_eq!(c.size, 4);
                assert!(c.cohesion > 0.99);
                let axis = c.members[0] / 4;
                assert!(c.members.iter().all(|&m| m / 4 == axis));
                assert_eq!(c.samples[0].0, c.representative);
            }
        }
    }

    #[test]
    fn the_cohesion_floor_keeps_distinct_groups_apart_where_the_cut_would_merge_them() {
        let (data, dims) = blobs();
        let v = Vectors::new(&data, dims);
        let weights = vec![1; v.len()];
        // a cut that merges anything: one cluster of everything, of cohesion about 0.55
        let loose = ClusterOptions {
            distance_threshold: 100.0,
            max_centroid_distance: 2.0,
            min_cohesion: 0.0,
            ..Default::default()
        };
        let out = cluster(v, &weights, &loose);
        assert_eq!(out.clusters.len(), 1);
        assert!(out.clusters[0].cohesion < 0.6, "{}", out.clusters[0].cohesion);
        // the same cut with a floor: the three groups apart (the outlier, 12, may join one)
        let out = cluster(v, &weights, &ClusterOptions { min_cohesion: 0.8, ..loose });
        assert_eq!(out.clusters.len(), 3);
        for c in &out.clusters {
            assert!(c.cohesion >= 0.8);
            let group = c.members[0].min(c.members[1]) / 4;
            assert!(c.members.iter().all(|&m| m == 12 || m / 4 == group), "{:?}", c.members);
        }
    }

    #[test]
    fn weights_count_in_size_and_ordering() {
        let (data, dims) = blobs();
        let v = Vectors::new(&data, dims);
        let mut weights = vec![1; v.len()];
        weights[9] = 10; // third group becomes the largest
        let out = cluster(v, &weights, &ClusterOptions { distance_threshold: 0.5, ..Default::default() });
        assert_eq!(out.clusters[0].size, 13);
        assert!(out.clusters[0].members.contains(&9));
        // a heavy singleton reaches min_cluster_size on its own
        weights[12] = 2;
        let out = cluster(v, &weights, &ClusterOptions { distance_threshold: 0.5, ..Default::default() });
        assert!(out.unclustered.is_empty());
        assert_eq!(out.clusters.len(), 4);
    }

    #[test]
    fn handles_zero_one_and_two_items() {
        let opts = ClusterOptions::default();
        assert_eq!(cluster(Vectors::new(&[], 2), &[], &opts), Clustering::default());
        let one = cluster(Vectors::new(&[1.0, 0.0], 2), &[1], &opts);
        assert!(one.clusters.is_empty());
        assert_eq!(one.unclustered, vec![0]);
        let two = cluster(Vectors::new(&[1.0, 0.0, 1.0, 0.0], 2), &[1, 1], &opts);
        assert_eq!(two.clusters.len(), 1);
        assert_eq!(two.clusters[0].members.len(), 2);
    }

    #[test]
    fn two_stage_agrees_with_direct_on_clear_groups_and_is_deterministic() {
        let (data, dims) = blobs();
        // repeat the blobs 30 times with tiny offsets to get past a small direct limit
        let mut big = Vec::new();
        for r in 0..30 {
            for chunk in data.chunks(dims) {
                let mut v = chunk.to_vec();
                v[3] += (r as f32) * 1e-4;
                crate::similarity::normalize(&mut v);
                big.extend(v);
            }
        }
        let v = Vectors::new(&big, dims);
        let weights = vec![1; v.len()];
        let opts = ClusterOptions { distance_threshold: 0.5, direct_limit: 50, ..Default::default() };
        let a = cluster(v, &weights, &opts);
        assert!(a.two_stage);
        assert_eq!(a.clusters.len(), 4, "three blobs and the repeated outlier");
        assert_eq!(a, cluster(v, &weights, &opts));
    }
}

#[cfg(test)]
mod scale {
    use super::*;

    /// `cargo test --release --no-default-features -- --ignored --nocapture clusters_100k`:
    /// 100 000 vectors around 300 topics, 384 dimensions, with the default options.
    #[test]
    #[ignore]
    fn clusters_100k_questions_in_two_stages() {
        let (n, dims, topics) = (100_000usize, 384usize, 300usize);
        let mut state = 42u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let centres: Vec<Vec<f32>> = (0..topics)
            .map(|_| {
                let mut c: Vec<f32> = (0..dims).map(|_| next()).collect();
                crate::similarity::normalize(&mut c);
                c
            })
            .collect();
        let mut data = Vec::with_capacity(n * dims);
        for i in 0..n {
            let mut v: Vec<f32> = centres[i % topics].iter().map(|x| x + 0.03 * next()).collect();
            crate::similarity::normalize(&mut v);
            data.extend(v);
        }
        let t = std::time::Instant::now();
        let out = cluster(Vectors::new(&data, dims), &vec![1; n], &ClusterOptions::default());
        let (rss, peak) = crate::models::process_rss();
        println!(
            "100k: {} clusters, {} unclustered, two-stage {}, {:.1} s, rss {} MB, peak {} MB",
            out.clusters.len(),
            out.unclustered.len(),
            out.two_stage,
            t.elapsed().as_secs_f64(),
            rss >> 20,
            peak >> 20
        );
        assert!(out.two_stage);
        let members: usize = out.clusters.iter().map(|c| c.members.len()).sum::<usize>() + out.unclustered.len();
        assert_eq!(members, n);
    }
}
