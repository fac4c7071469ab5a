//! Probability curves of a continuous 3-C trace from a window picker: windows every `stride`
//! samples, each normalised as in training, their overlapping outputs merged sample by sample.
//!
//! Hong, Y., Byun, A.-H., Kim, S., & Sheen, D.-H. (2023), Customization of a deep neural network
//! using local data for seismic phase picking, *Frontiers in Earth Science* 11, 1306488,
//! doi:10.3389/feart.2023.1306488 (Fig. 8), slide 30-s windows over day-long data with strides of
//! 1, 10 and 30 s and merge the overlapping outputs by their maximum, mean or median (the median
//! is their proposal: a spurious high value of one window position does not survive it).
//!
//! Windows start at 0, `stride`, 2·`stride`, … and, when the last of them stops short of the end,
//! one more ends at the last sample, so every sample is covered. Windows are processed in order, a
//! batch at a time, reading only the samples that batch spans; a sample's merged value is final
//! once the next window starts after it and is handed on at once, and only samples still covered
//! by a later window are kept pending (at most `window` samples times `window / stride` overlaps
//! per class), so memory does not grow with the trace: a day or a week of 100-Hz data streams
//! from the entry through the picker into the pick detector ([`annotate_stream`]).

use std::collections::VecDeque;

use super::phase_windows::normalised_window;
use super::picks::{Peaks, Pick};
use crate::data::waveform_set::span;

crate::choice! {
    /// How the outputs of overlapping windows are combined at one sample.
    pub enum Merge {
        Max = "max",
        Mean = "mean",
        Median = "median",
    }
}

/// The window starts for a trace of `n` samples.
pub fn starts(n: usize, window: usize, stride: usize) -> Vec<usize> {
    if n < window || stride == 0 {
        return Vec::new();
    }
    let mut s: Vec<usize> = (0..=n - window).step_by(stride).collect();
    if s.last().is_some_and(|&l| l + window < n) {
        s.push(n - window);
    }
    s
}

fn merged(values: &mut [f32], merge: Merge) -> f32 {
    match merge {
        Merge::Max => values.iter().copied().fold(f32::MIN, f32::max),
        Merge::Mean => {
            (values.iter().map(|v| f64::from(*v)).sum::<f64>() / values.len() as f64) as f32
        }
        Merge::Median => {
            values.sort_by(f32::total_cmp);
            let m = values.len();
            if m % 2 == 1 {
                values[m / 2]
            } else {
                ((f64::from(values[m / 2 - 1]) + f64::from(values[m / 2])) / 2.0) as f32
            }
        }
    }
}

/// How a picker is slid over a trace.
#[derive(Clone, Copy, Debug)]
pub struct Slide {
    /// The picker's window, samples.
    pub window: usize,
    /// Step between window starts, samples.
    pub stride: usize,
    pub merge: Merge,
    /// Windows per call of the picker.
    pub batch: usize,
}

/// Merged probabilities `[3, n]` (noise, P, S) of trace `data` `[3, n]` (Z, N, E; NaN = gap,
/// which normalisation turns into 0), held whole: [`annotate_stream`] over a trace in memory.
pub fn annotate(
    data: &[f32],
    n: usize,
    slide: &Slide,
    probabilities: &mut dyn FnMut(&[f32]) -> anyhow::Result<Vec<f32>>,
) -> anyhow::Result<Vec<f32>> {
    let mut curves: [Vec<f32>; 3] = Default::default();
    annotate_stream(
        n,
        slide,
        &mut |a, b| Ok(span(data, n, a, b)),
        probabilities,
        &mut |done| {
            for (curve, d) in curves.iter_mut().zip(done) {
                curve.extend_from_slice(d);
            }
        },
    )?;
    Ok(curves.concat())
}

/// The P and S picks of a trace of `n` samples at each of `thresholds` (`[P, S][threshold]`),
/// detected as the merged curves arrive ([`annotate_stream`] into [`Peaks`]): neither the trace
/// nor its curves are held whole.
pub fn detect_stream(
    n: usize,
    slide: &Slide,
    read: &mut dyn FnMut(usize, usize) -> anyhow::Result<Vec<f32>>,
    probabilities: &mut dyn FnMut(&[f32]) -> anyhow::Result<Vec<f32>>,
    thresholds: &[f32],
    min_distance: usize,
) -> anyhow::Result<[Vec<Vec<Pick>>; 2]> {
    let mut peaks = [
        Peaks::new(thresholds, min_distance),
        Peaks::new(thresholds, min_distance),
    ];
    annotate_stream(n, slide, read, probabilities, &mut |curves| {
        for (phase, peaks) in peaks.iter_mut().enumerate() {
            peaks.push(&curves[phase + 1]);
        }
    })?;
    Ok(peaks.map(Peaks::finish))
}

/// The annotation of a trace of `n` samples that is never held whole: `read(a, b)` gives samples
/// `a..b` of each component (`[3, b - a]`, Z, N, E), `probabilities` maps normalised windows
/// `[k, 3, window]` to their outputs `[k, 3, window]` (called with at most `slide.batch`
/// windows), and `emit` receives the merged curves in order, the next finished samples of
/// noise, P and S each time (every sample once; a sample no window covers is 0). Memory: one
/// batch of windows and the pending overlaps, whatever `n` is.
pub fn annotate_stream(
    n: usize,
    slide: &Slide,
    read: &mut dyn FnMut(usize, usize) -> anyhow::Result<Vec<f32>>,
    probabilities: &mut dyn FnMut(&[f32]) -> anyhow::Result<Vec<f32>>,
    emit: &mut dyn FnMut(&[Vec<f32>; 3]),
) -> anyhow::Result<()> {
    let Slide {
        window,
        stride,
        merge,
        batch,
    } = *slide;
    let all = starts(n, window, stride);
    anyhow::ensure!(
        !all.is_empty(),
        "a trace of {n} samples is shorter than the picker's window of {window}"
    );
    let mut pending = Pending {
        merge,
        slots: VecDeque::new(),
        spare: Vec::new(),
        first: 0,
        done: Default::default(),
    };
    for chunk in all.chunks(batch.max(1)) {
        let (a, b) = (chunk[0], chunk[chunk.len() - 1] + window);
        let span = read(a, b)?;
        anyhow::ensure!(
            span.len() == 3 * (b - a),
            "samples {a}..{b}: read {} values, expected {}",
            span.len(),
            3 * (b - a)
        );
        let mut x = Vec::with_capacity(chunk.len() * 3 * window);
        for &s in chunk {
            x.extend(normalised_window(&span, b - a, s - a, window));
        }
        let p = probabilities(&x)?;
        anyhow::ensure!(
            p.len() == x.len(),
            "the picker returned {} values for {} windows of {window}",
            p.len(),
            chunk.len()
        );
        for (k, &s) in chunk.iter().enumerate() {
            // Samples before this window's start are covered by no later window.
            pending.finish(s);
            pending.cover(s + window);
            for c in 0..3 {
                let row = &p[(k * 3 + c) * window..(k * 3 + c + 1) * window];
                for (i, v) in row.iter().enumerate() {
                    pending.slots[s + i - pending.first][c].push(*v);
                }
            }
        }
        emit(&pending.done);
        pending.done.iter_mut().for_each(Vec::clear);
    }
    pending.finish(n);
    emit(&pending.done);
    Ok(())
}

/// Samples some window has covered and a later window may still cover: the values seen so far
/// for sample `first + k`, per class, in `slots[k]`.
struct Pending {
    merge: Merge,
    slots: VecDeque<[Vec<f32>; 3]>,
    /// Emptied slots, reused so that a day-long trace does not allocate per sample.
    spare: Vec<[Vec<f32>; 3]>,
    first: usize,
    /// Merged values of the samples finished since the last hand-over.
    done: [Vec<f32>; 3],
}

impl Pending {
    /// Merges every sample before `upto` (0 where no window covered it).
    fn finish(&mut self, upto: usize) {
        while self.first < upto {
            match self.slots.pop_front() {
                Some(mut vals) => {
                    for (c, v) in vals.iter_mut().enumerate() {
                        self.done[c].push(if v.is_empty() {
                            0.0
                        } else {
                            merged(v, self.merge)
                        });
                        v.clear();
                    }
                    self.spare.push(vals);
                }
                None => self.done.iter_mut().for_each(|d| d.push(0.0)),
            }
            self.first += 1;
        }
    }

    /// Adds slots up to sample `end` (exclusive).
    fn cover(&mut self, end: usize) {
        while self.first + self.slots.len() < end {
            let slot = self.spare.pop().unwrap_or_default();
            self.slots.push_back(slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_sample() {
        assert_eq!(starts(10, 4, 3), [0, 3, 6]);
        assert_eq!(starts(11, 4, 3), [0, 3, 6, 7]);
        assert_eq!(starts(4, 4, 1), [0]);
        assert!(starts(3, 4, 1).is_empty());
    }

    /// A fake picker whose P output is the window position of each sample: merging by max,
    /// mean and median gives the largest, mean and median of the positions a sample had, by hand.
    #[test]
    fn merges_overlapping_outputs_as_defined() {
        let n = 10;
        let data: Vec<f32> = (0..3 * n).map(|i| (i % 7) as f32).collect();
        let window = 4;
        let mut fake = |x: &[f32]| -> anyhow::Result<Vec<f32>> {
            let k = x.len() / (3 * window);
            let mut out = vec![0f32; x.len()];
            for w in 0..k {
                for i in 0..window {
                    out[(w * 3 + 1) * window + i] = i as f32;
                }
            }
            Ok(out)
        };
        // stride 2: windows at 0, 2, 4, 6. Sample 4 is position 0 of window 4, 2 of window 2.
        let slide = |merge| Slide {
            window,
            stride: 2,
            merge,
            batch: 3,
        };
        let mut get = |merge| annotate(&data, n, &slide(merge), &mut fake).unwrap();
        let (mx, mean, med) = (get(Merge::Max), get(Merge::Mean), get(Merge::Median));
        assert_eq!(mx[n + 4], 2.0);
        assert_eq!(mean[n + 4], 1.0);
        assert_eq!(med[n + 4], 1.0);
        // Sample 0: only window 0, position 0; sample 9: only window 6, position 3.
        assert_eq!((mx[n], mx[n + 9]), (0.0, 3.0));
        // Sample 5: positions 3 (window 2) and 1 (window 4).
        assert_eq!((mx[n + 5], mean[n + 5], med[n + 5]), (3.0, 2.0, 2.0));
        assert!(annotate(&data, 3, &slide(Merge::Max), &mut fake).is_err());
    }

    /// The streamed merge equals merging, for every sample, the outputs of every window that
    /// covers it, gathered by brute force: strides below, at and above the window, batches that
    /// cut overlaps, each merge rule; the fake picker's output depends on the window's samples
    /// and on the position in the window, so a misplaced read or slot shows.
    #[test]
    fn streamed_merge_equals_brute_force() {
        let n = 97;
        let data: Vec<f32> = (0..3 * n)
            .map(|i| ((i * 7919) % 101) as f32 / 7.0)
            .collect();
        for (window, stride, batch) in [
            (10, 1, 4),
            (10, 3, 1),
            (10, 10, 3),
            (8, 11, 2),
            (16, 5, 100),
        ] {
            let picker = |x: &[f32]| -> anyhow::Result<Vec<f32>> {
                Ok(x.iter()
                    .enumerate()
                    .map(|(i, v)| v * 0.5 + (i % window) as f32 * 0.01)
                    .collect())
            };
            for merge in [Merge::Max, Merge::Mean, Merge::Median] {
                let got = annotate(
                    &data,
                    n,
                    &Slide {
                        window,
                        stride,
                        merge,
                        batch,
                    },
                    &mut |x| picker(x),
                )
                .unwrap();
                let mut want = vec![0f32; 3 * n];
                let ss = starts(n, window, stride);
                for c in 0..3 {
                    for t in 0..n {
                        let mut vals: Vec<f32> = ss
                            .iter()
                            .filter(|&&s| s <= t && t < s + window)
                            .map(|&s| {
                                let x = normalised_window(&data, n, s, window);
                                picker(&x).unwrap()[c * window + t - s]
                            })
                            .collect();
                        if !vals.is_empty() {
                            want[c * n + t] = merged(&mut vals, merge);
                        }
                    }
                }
                assert_eq!(
                    got, want,
                    "window {window} stride {stride} batch {batch} {merge:?}"
                );
            }
        }
    }
}
