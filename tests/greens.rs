//! The fk re-derivation against SAC files written by fk itself (tests/data/greens, see its README):
//! every term at 10, 20 and 30 km from a 15 km source in the hk model, computed in one run as
//! fk.pl -Mhk/15/k -N512/0.1 10 20 30 did, must correlate at ≥ 0.999 with fk's trace and match
//! its peak amplitude within 1 %, and start at fk's `b`.

use quakeline::greens::{self, FkSettings, LayeredModel, TERM_SUFFIXES};
use quakeline::io::waveforms::sac;

use crate::util::data_dir;

fn hk() -> LayeredModel {
    let text = std::fs::read_to_string(data_dir().join("greens/hk")).unwrap();
    LayeredModel::parse_fk(&text, true).unwrap()
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let dot = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f64>();
    dot(a, b) / (dot(a, a) * dot(b, b)).sqrt()
}

fn peak(x: &[f64]) -> f64 {
    x.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Compares every term fk wrote in `dir` for the distances of one run.
fn compare_run(dir: &str, distances: &[f64], terms: &[usize]) {
    let bank =
        greens::compute(&hk(), &[15.0], distances, FkSettings::new(0.1, 512), &|| {}).unwrap();
    let mut report = Vec::new();
    let mut failed = false;
    for (x, dist) in distances.iter().enumerate() {
        for &term in terms {
            let path = data_dir().join(format!("greens/{dir}/{dist}.grn.{}", TERM_SUFFIXES[term]));
            let fk = sac::read(&path).unwrap();
            assert_eq!(fk.data.len(), 512);
            assert!((fk.delta - 0.1).abs() < 1e-6);
            let ours: Vec<f64> = bank.trace(0, x, term).iter().map(|&v| v as f64).collect();
            let theirs: Vec<f64> = fk.data.iter().map(|&v| v as f64).collect();
            if peak(&theirs) == 0.0 {
                // fk's n = 0 and explosion sources have no SH motion: the file is all zeros.
                assert!(
                    peak(&ours)
                        < 1e-6
                            * peak(
                                &bank
                                    .trace(0, x, term - 1)
                                    .iter()
                                    .map(|&v| v as f64)
                                    .collect::<Vec<_>>()
                            )
                );
                continue;
            }
            let r = correlation(&ours, &theirs);
            let amp = peak(&ours) / peak(&theirs) - 1.0;
            let b = bank.start_s[x];
            let line = format!(
                "{dist} km .{}: corr {r:.6} peak {:+.3}% b {b:.4} (fk {:.4})",
                TERM_SUFFIXES[term],
                amp * 100.0,
                fk.b
            );
            if r < 0.999 || amp.abs() > 0.01 || (b - fk.b).abs() > 1e-3 {
                failed = true;
                report.push(format!("FAIL {line}"));
            } else {
                report.push(line);
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(!failed, "{}", report.join("\n"));
}

#[test]
fn reproduces_fk_hk_15km_at_10_20_30_km() {
    compare_run(
        "fk_reference_hk_s15",
        &[10.0, 20.0, 30.0],
        &(0..9).collect::<Vec<_>>(),
    );
}

#[test]
fn reproduces_fk33_explosion_and_double_couples_at_50_km() {
    compare_run(
        "fk33_reference_hk_s15_d50",
        &[50.0],
        &(0..12).collect::<Vec<_>>(),
    );
}
