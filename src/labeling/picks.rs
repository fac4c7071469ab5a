//! Picks from probability curves, and how they are scored against analyst picks.
//!
//! - **Detection**: the local maxima of a curve at or above `threshold`, thinned so that no two
//!   are closer than `min_distance` samples (the higher kept) — `scipy.signal.find_peaks(curve,
//!   height=threshold, distance=min_distance)`, which SeisBench's and PhaseNet's pick extraction
//!   follow; a flat-topped maximum is one peak at its middle sample (left of middle for an even
//!   plateau), as SciPy places it.
//! - **Matching** (Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023), Customization of a deep
//!   neural network using local data for seismic phase picking, *Frontiers in Earth Science* 11,
//!   1306488, doi:10.3389/feart.2023.1306488, after Mousavi et al. 2020): a predicted pick is a
//!   true positive if its residual to the true pick is below `tolerance`, at most one per true
//!   pick (the closest); every other predicted pick is a false positive, a true pick without a
//!   true positive a false negative.

/// One detected pick: sample (index in the curve) and the curve's value there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pick {
    pub sample: usize,
    pub probability: f32,
}

/// The picks of `curve`: `find_peaks(curve, height=threshold, distance=min_distance)`.
pub fn detect(curve: &[f32], threshold: f32, min_distance: usize) -> Vec<Pick> {
    let mut peaks = Peaks::new(&[threshold], min_distance);
    peaks.push(curve);
    peaks.finish().pop().unwrap_or_default()
}

/// The picks of a curve that arrives a piece at a time (a day-long continuous annotation), at
/// several thresholds at once: exactly [`detect`] of the whole curve at each threshold, in memory
/// that does not grow with the curve.
///
/// Local maxima are found by a state machine over consecutive samples (a maximum is known when
/// the curve falls after it). Thinning by distance is decided cluster by cluster: peaks closer
/// than `min_distance` to their neighbour form a cluster, and peaks of different clusters are at
/// least `min_distance` apart, so SciPy's highest-first removal never reaches across clusters.
pub struct Peaks {
    min_distance: usize,
    /// Index of the next sample.
    next: usize,
    prev: f32,
    /// Start of the plateau the curve rose onto, while it has not fallen or risen again.
    rise: Option<usize>,
    thresholds: Vec<Thinning>,
}

/// One threshold's peaks: the open cluster and the picks decided so far.
struct Thinning {
    threshold: f32,
    cluster: Vec<Pick>,
    kept: Vec<Pick>,
}

impl Peaks {
    pub fn new(thresholds: &[f32], min_distance: usize) -> Self {
        Peaks {
            min_distance,
            next: 0,
            prev: f32::NAN,
            rise: None,
            thresholds: thresholds
                .iter()
                .map(|&threshold| Thinning {
                    threshold,
                    cluster: Vec::new(),
                    kept: Vec::new(),
                })
                .collect(),
        }
    }

    /// The next samples of the curve.
    pub fn push(&mut self, piece: &[f32]) {
        // Local maxima, plateaus reduced to their middle (scipy `_local_maxima_1d`: a rise onto
        // a plateau, then a fall; a comparison with NaN ends the candidate).
        for &v in piece {
            let i = self.next;
            self.next += 1;
            if i == 0 {
                self.prev = v;
                continue;
            }
            if v > self.prev {
                self.rise = Some(i);
            } else if v < self.prev {
                if let Some(left) = self.rise.take() {
                    self.peak(Pick {
                        sample: (left + i - 1) / 2,
                        probability: self.prev,
                    });
                }
            } else if v != self.prev {
                self.rise = None;
            }
            self.prev = v;
        }
    }

    fn peak(&mut self, p: Pick) {
        let md = self.min_distance;
        for t in &mut self.thresholds {
            if p.probability < t.threshold {
                continue;
            }
            if t.cluster.last().is_some_and(|l| p.sample - l.sample >= md) {
                t.settle(md);
            }
            t.cluster.push(p);
        }
    }

    /// The picks at each threshold, in the order the thresholds were given.
    pub fn finish(self) -> Vec<Vec<Pick>> {
        let md = self.min_distance;
        self.thresholds
            .into_iter()
            .map(|mut t| {
                t.settle(md);
                t.kept
            })
            .collect()
    }
}

impl Thinning {
    /// Decides the open cluster: scipy `_select_by_peak_distance`, highest first, each removing
    /// lower neighbours closer than `min_distance`. Equal heights (a saturated softmax reaches
    /// 1.0) are taken earliest first: NumPy's unstable argsort leaves that order unspecified; on
    /// the reference curves SciPy keeps the earlier one.
    fn settle(&mut self, min_distance: usize) {
        let peaks = std::mem::take(&mut self.cluster);
        if peaks.len() < 2 || min_distance <= 1 {
            self.kept.extend(peaks);
            return;
        }
        let mut order: Vec<usize> = (0..peaks.len()).collect();
        order.sort_by(|&a, &b| {
            peaks[b]
                .probability
                .total_cmp(&peaks[a].probability)
                .then(a.cmp(&b))
        });
        let mut keep = vec![true; peaks.len()];
        for &i in &order {
            if !keep[i] {
                continue;
            }
            let mut j = i;
            while j > 0 && peaks[i].sample - peaks[j - 1].sample < min_distance {
                keep[j - 1] = false;
                j -= 1;
            }
            let mut j = i + 1;
            while j < peaks.len() && peaks[j].sample - peaks[i].sample < min_distance {
                keep[j] = false;
                j += 1;
            }
        }
        self.kept.extend(
            peaks
                .into_iter()
                .zip(keep)
                .filter_map(|(p, k)| k.then_some(p)),
        );
    }
}

/// The outcome of matching one window's predicted picks of one phase with its true pick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// Residual predicted − true (samples) of the true positive, when there is one.
    pub residual: Option<f64>,
    /// Predicted picks that are not the true positive.
    pub false_positives: usize,
    /// 1 when the window has a true pick and no prediction matched it.
    pub false_negatives: usize,
}

/// Matches `predicted` with the true pick `truth` (window samples, NaN: no true pick in the
/// window); `tolerance` in samples (a residual must be strictly below it).
pub fn score(predicted: &[Pick], truth: f64, tolerance: f64) -> Outcome {
    if truth.is_nan() {
        return Outcome {
            residual: None,
            false_positives: predicted.len(),
            false_negatives: 0,
        };
    }
    let best = predicted
        .iter()
        .map(|p| p.sample as f64 - truth)
        .filter(|r| r.abs() < tolerance)
        .min_by(|a, b| a.abs().total_cmp(&b.abs()));
    Outcome {
        residual: best,
        false_positives: predicted.len() - usize::from(best.is_some()),
        false_negatives: usize::from(best.is_none()),
    }
}

/// Counts and residuals of one phase over many windows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tally {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
    /// Residuals of the true positives, seconds.
    pub residuals_s: Vec<f64>,
    /// Windows in which more than one pick of the phase was predicted.
    pub multiple: usize,
}

impl Tally {
    /// Adds one window's outcome (`picks` predicted; `dt` seconds per sample).
    pub fn add(&mut self, o: &Outcome, picks: usize, dt: f64) {
        if let Some(r) = o.residual {
            self.true_positives += 1;
            self.residuals_s.push(r * dt);
        }
        self.false_positives += o.false_positives;
        self.false_negatives += o.false_negatives;
        self.multiple += usize::from(picks > 1);
    }

    /// TP / (TP + FP); NaN without predictions.
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// TP / (TP + FN); NaN without true picks.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// Harmonic mean of precision and recall, as 2·TP / (2·TP + FP + FN): 0 for a picker that
    /// picked nothing where there were picks (its precision is undefined), NaN only when there
    /// were neither picks nor predictions.
    pub fn f1(&self) -> f64 {
        ratio(
            2 * self.true_positives,
            2 * self.true_positives + self.false_positives + self.false_negatives,
        )
    }

    /// Mean, standard deviation (population) and mean absolute value of the residuals, seconds.
    pub fn residual_stats(&self) -> [f64; 3] {
        let n = self.residuals_s.len() as f64;
        if n == 0.0 {
            return [f64::NAN; 3];
        }
        let mean = self.residuals_s.iter().sum::<f64>() / n;
        let var = self
            .residuals_s
            .iter()
            .map(|r| (r - mean) * (r - mean))
            .sum::<f64>()
            / n;
        let mae = self.residuals_s.iter().map(|r| r.abs()).sum::<f64>() / n;
        [mean, var.sqrt(), mae]
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One curve of the reference and SciPy's peaks on it: (threshold, distance, peaks).
    type Case = (Vec<f32>, Vec<(f32, usize, Vec<usize>)>);

    /// The peaks `scipy.signal.find_peaks` finds on picker-like float32 curves (flat tops,
    /// close bumps) for four threshold/distance pairs (`tests/data/picks/generate.py`).
    fn scipy_reference() -> Vec<Case> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/picks/find_peaks_reference.json"
        );
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let numbers = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        r["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|case| {
                let curve = numbers(&case["curve"]).iter().map(|v| *v as f32).collect();
                let found = case["found"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        (
                            f["threshold"].as_f64().unwrap() as f32,
                            f["distance"].as_u64().unwrap() as usize,
                            numbers(&f["peaks"]).iter().map(|v| *v as usize).collect(),
                        )
                    })
                    .collect();
                (curve, found)
            })
            .collect()
    }

    #[test]
    fn detect_matches_scipy_find_peaks() {
        let mut checked = 0;
        for (curve, found) in scipy_reference() {
            for (threshold, distance, want) in found {
                let got: Vec<usize> = detect(&curve, threshold, distance)
                    .iter()
                    .map(|p| p.sample)
                    .collect();
                assert_eq!(got, want, "threshold {threshold} distance {distance}");
                checked += want.len();
            }
        }
        assert!(checked > 800, "{checked}");
    }

    /// The same SciPy peaks when the curves arrive in pieces (1, 2, 7 and 97 samples, so
    /// plateaus and clusters straddle piece boundaries) and every threshold of a distance is
    /// detected in one pass, as a continuous annotation does.
    #[test]
    fn peaks_in_pieces_match_scipy_find_peaks() {
        let mut checked = 0;
        for (curve, found) in scipy_reference() {
            let mut distances: Vec<usize> = found.iter().map(|f| f.1).collect();
            distances.sort_unstable();
            distances.dedup();
            for d in distances {
                let cases: Vec<_> = found.iter().filter(|f| f.1 == d).collect();
                let thresholds: Vec<f32> = cases.iter().map(|f| f.0).collect();
                for piece in [1, 2, 7, 97] {
                    let mut peaks = Peaks::new(&thresholds, d);
                    for part in curve.chunks(piece) {
                        peaks.push(part);
                    }
                    for ((threshold, _, want), got) in cases.iter().zip(peaks.finish()) {
                        let got: Vec<usize> = got.iter().map(|p| p.sample).collect();
                        assert_eq!(
                            &got, want,
                            "pieces of {piece}, threshold {threshold}, distance {d}"
                        );
                        checked += want.len();
                    }
                }
            }
        }
        assert!(checked > 4 * 800, "{checked}");
    }

    #[test]
    fn plateaus_thresholds_and_distance() {
        let c = [0.0, 0.5, 0.5, 0.5, 0.1, 0.9, 0.2, 0.35, 0.0, 0.4, 0.41, 0.0];
        let s = |p: Vec<Pick>| p.iter().map(|p| p.sample).collect::<Vec<_>>();
        assert_eq!(s(detect(&c, 0.3, 1)), [2, 5, 7, 10]);
        assert_eq!(s(detect(&c, 0.3, 3)), [2, 5, 10]);
        assert_eq!(s(detect(&c, 0.6, 1)), [5]);
    }

    #[test]
    fn one_true_positive_per_pick_the_closest() {
        let p = |s| Pick {
            sample: s,
            probability: 0.9,
        };
        let o = score(&[p(100), p(130), p(97)], 98.0, 50.0);
        assert_eq!(o.residual, Some(-1.0));
        assert_eq!((o.false_positives, o.false_negatives), (2, 0));
        let o = score(&[p(200)], 98.0, 50.0);
        assert_eq!(
            (o.residual, o.false_positives, o.false_negatives),
            (None, 1, 1)
        );
        // Exactly at the tolerance is not below it.
        assert_eq!(score(&[p(148)], 98.0, 50.0).residual, None);
        let o = score(&[], f64::NAN, 50.0);
        assert_eq!(o, Outcome::default());
        let mut t = Tally::default();
        t.add(&score(&[p(100), p(130)], 98.0, 50.0), 2, 0.01);
        t.add(&score(&[], 50.0, 50.0), 0, 0.01);
        assert_eq!(
            (
                t.true_positives,
                t.false_positives,
                t.false_negatives,
                t.multiple
            ),
            (1, 1, 1, 1)
        );
        assert!((t.precision() - 0.5).abs() < 1e-12 && (t.recall() - 0.5).abs() < 1e-12);
        assert!((t.f1() - 0.5).abs() < 1e-12);
        let missed = Tally {
            false_negatives: 3,
            ..Tally::default()
        };
        assert!(missed.precision().is_nan() && missed.f1() == 0.0);
        assert!(Tally::default().f1().is_nan());
        assert!((t.residual_stats()[0] - 0.02).abs() < 1e-12);
    }
}
