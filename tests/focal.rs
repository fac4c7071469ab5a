//! Focal-mechanism geometry against independent implementations: Kagan angles from pyrocko
//! (tests/data/focal/generate.py), and fk's `syn` (radiation pattern, moment, trapezoid source
//! time function) on fk's own 50 km Green's functions.

use quakeline::focal::{Mechanism, kagan_angle, radiation};
use quakeline::io::waveforms::sac;

use crate::util::data_dir;

#[test]
fn kagan_angles_match_pyrocko() {
    let text = std::fs::read_to_string(data_dir().join("focal/kagan_pyrocko.csv")).unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let v: Vec<f64> = line.split(',').map(|x| x.parse().unwrap()).collect();
        let k = kagan_angle(
            &Mechanism::new(v[0], v[1], v[2]),
            &Mechanism::new(v[3], v[4], v[5]),
        );
        assert!((k - v[6]).abs() < 1e-3, "{line}: ours {k}");
        n += 1;
    }
    assert!(n > 300);
}

/// `syn -M4.5/355/80/-70 -D1 -A33.5` = m0 · Σₙ rad[n][c] · G[3n+c] convolved with fk's unit-area
/// trapezoid (duration 1 s, rise half).
#[test]
fn radiation_pattern_reproduces_fk_syn() {
    let dir = data_dir().join("greens/fk33_reference_hk_s15_d50");
    let g: Vec<Vec<f64>> = (0..9)
        .map(|t| {
            sac::read(&dir.join(format!("50.grn.{t}")))
                .unwrap()
                .data
                .iter()
                .map(|&v| v as f64)
                .collect()
        })
        .collect();
    let rad = radiation(&Mechanism::new(355.0, 80.0, -70.0), 33.5);
    let m0 = 10f64.powf(1.5 * 4.5 + 16.1 - 20.0);
    let stf = quakeline::synth::trapezoid(1.0, 0.5, 0.1);
    for (c, name) in ["z", "r", "t"].iter().enumerate() {
        let fk = sac::read(&dir.join(format!("PAS.{name}"))).unwrap();
        let sum: Vec<f64> = (0..g[0].len())
            .map(|i| m0 * (0..3).map(|n| rad[n][c] * g[3 * n + c][i]).sum::<f64>())
            .collect();
        let ours = quakeline::synth::convolve_causal(&sum, &stf);
        let peak = fk.data.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
        for (i, (a, b)) in ours.iter().zip(&fk.data).enumerate() {
            assert!(
                (a - *b as f64).abs() < 1e-5 * peak,
                "PAS.{name}[{i}]: ours {a}, fk {b}"
            );
        }
    }
}
