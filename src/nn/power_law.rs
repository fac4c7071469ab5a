//! The inverse power law of learning curves, `err(n) = a·n^(−b) + c`, fitted by nonlinear least
//! squares to predict the training-set size a target accuracy needs.
//!
//! Petrescu & Moldovan (2022) §4.3 follow Figueroa et al. (2012, their ref. \[39\]): fit the law to
//! the points of a learning curve and extrapolate; on their real data the fit was not constrained
//! ("difficult … due to the high variance of the validation loss estimates"). This module says
//! which of the two happened instead of printing a meaningless extrapolation.
//!
//! The fit is Levenberg–Marquardt (Marquardt 1963, diagonal scaling) started from the best of a scan
//! over b with a and c solved linearly (variable projection: robust to errors of exactly 0); the
//! covariance is `(JᵀJ)⁻¹ · SSR / (m − 3)`, what `scipy.optimize.curve_fit` returns with
//! `absolute_sigma=False`, so the standard errors compare one to one (tests against committed
//! curve_fit results).

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fit {
    pub a: f64,
    pub b: f64,
    pub c: f64,
    /// Standard errors of a, b, c; None when the covariance does not exist (m ≤ 3 points or a
    /// singular Jacobian).
    pub std: Option<[f64; 3]>,
    /// Sum of squared residuals.
    pub ssr: f64,
    pub iterations: usize,
}

impl Fit {
    pub fn eval(&self, n: f64) -> f64 {
        self.a * n.powf(-self.b) + self.c
    }
}

/// What the fit says about reaching a target accuracy.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Projection {
    /// `err(n) = 1 − target` solved for n, with a delta-method standard error.
    Reached { samples: f64, std: Option<f64> },
    /// Already reached at the largest size trained on.
    AlreadyReached { samples: f64 },
    /// The fitted asymptote c is at or above the target error: more data will not get there.
    Unreachable { asymptotic_error: f64 },
    /// The curve does not determine the law (the paper's case); `reason` says why.
    NotConstrained { reason: String },
}

fn residuals(p: [f64; 3], n: &[f64], e: &[f64]) -> Vec<f64> {
    n.iter()
        .zip(e)
        .map(|(&x, &y)| p[0] * x.powf(-p[1]) + p[2] - y)
        .collect()
}

fn jacobian(p: [f64; 3], n: &[f64]) -> Vec<[f64; 3]> {
    n.iter()
        .map(|&x| {
            let t = x.powf(-p[1]);
            [t, -p[0] * t * x.ln(), 1.0]
        })
        .collect()
}

/// JᵀJ and Jᵀr.
fn normal_equations(j: &[[f64; 3]], r: &[f64]) -> ([[f64; 3]; 3], [f64; 3]) {
    let mut a = [[0.0; 3]; 3];
    let mut g = [0.0; 3];
    for (row, &ri) in j.iter().zip(r) {
        for p in 0..3 {
            g[p] += row[p] * ri;
            for q in 0..3 {
                a[p][q] += row[p] * row[q];
            }
        }
    }
    (a, g)
}

/// Inverse of a symmetric 3×3 matrix by cofactors; None if (numerically) singular.
fn inverse(m: [[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let c =
        |r0: usize, r1: usize, c0: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    let cof = [
        [c(1, 2, 1, 2), -c(1, 2, 0, 2), c(1, 2, 0, 1)],
        [-c(0, 2, 1, 2), c(0, 2, 0, 2), -c(0, 2, 0, 1)],
        [c(0, 1, 1, 2), -c(0, 1, 0, 2), c(0, 1, 0, 1)],
    ];
    let det = m[0][0] * cof[0][0] + m[0][1] * cof[0][1] + m[0][2] * cof[0][2];
    let scale = m.iter().flatten().fold(0.0f64, |s, v| s.max(v.abs()));
    if !det.is_finite() || det.abs() <= 1e-14 * scale.powi(3) {
        return None;
    }
    let mut inv = [[0.0; 3]; 3];
    for (r, row) in inv.iter_mut().enumerate() {
        for (col, v) in row.iter_mut().enumerate() {
            *v = cof[col][r] / det;
        }
    }
    Some(inv)
}

/// Least-squares fit of `e(n) = a·n^(−b) + c` to points `(n, e)` (n > 0).
pub fn fit(n: &[f64], e: &[f64]) -> Result<Fit, String> {
    if n.len() != e.len() || n.len() < 3 {
        return Err(format!(
            "the law has 3 parameters and needs at least 3 points, got {}",
            n.len()
        ));
    }
    if n.iter().chain(e).any(|v| !v.is_finite()) || n.iter().any(|&x| x <= 0.0) {
        return Err("sizes must be positive and errors finite".into());
    }
    // Start: for fixed b the law is linear in a and c, so scan b and solve those two by linear
    // least squares (variable projection); the best of the scan starts Levenberg–Marquardt.
    // Robust where a log-linear start is not (errors of exactly 0, flat curves).
    let m = n.len() as f64;
    let mut p = [0.0, 0.0, e.iter().sum::<f64>() / m];
    let mut best = f64::INFINITY;
    for k in 1..=120 {
        let b = 0.025 * k as f64;
        let x: Vec<f64> = n.iter().map(|v| v.powf(-b)).collect();
        let (mx, me) = (x.iter().sum::<f64>() / m, e.iter().sum::<f64>() / m);
        let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
        if sxx <= 0.0 {
            continue;
        }
        let a = x
            .iter()
            .zip(e)
            .map(|(v, y)| (v - mx) * (y - me))
            .sum::<f64>()
            / sxx;
        let c = me - a * mx;
        let ssr: f64 = x.iter().zip(e).map(|(v, y)| (a * v + c - y).powi(2)).sum();
        if ssr < best {
            best = ssr;
            p = [a, b, c];
        }
    }
    let ssr_of = |p: [f64; 3]| residuals(p, n, e).iter().map(|r| r * r).sum::<f64>();
    let mut ssr = ssr_of(p);
    let mut lambda = 1e-3;
    let mut iterations = 0;
    for it in 0..10_000 {
        iterations = it + 1;
        let r = residuals(p, n, e);
        let (jtj, g) = normal_equations(&jacobian(p, n), &r);
        let mut improved = false;
        while lambda < 1e16 {
            let mut a = jtj;
            for (k, row) in a.iter_mut().enumerate() {
                row[k] += lambda * jtj[k][k].max(1e-300);
            }
            let Some(inv) = inverse(a) else {
                lambda *= 10.0;
                continue;
            };
            let step: [f64; 3] =
                std::array::from_fn(|i| -(0..3).map(|k| inv[i][k] * g[k]).sum::<f64>());
            let trial = [p[0] + step[0], p[1] + step[1], p[2] + step[2]];
            let t = ssr_of(trial);
            if t.is_finite() && t <= ssr {
                let small = step
                    .iter()
                    .zip(&p)
                    .all(|(s, v)| s.abs() <= 1e-12 * (v.abs() + 1e-12));
                let converged = small || (ssr - t) <= 1e-15 * ssr.max(1e-300);
                p = trial;
                ssr = t;
                lambda = (lambda / 10.0).max(1e-15);
                improved = true;
                if converged {
                    lambda = f64::INFINITY;
                }
                break;
            }
            lambda *= 10.0;
        }
        if !improved || lambda.is_infinite() {
            break;
        }
    }
    let (jtj, _) = normal_equations(&jacobian(p, n), &residuals(p, n, e));
    let std = (n.len() > 3).then(|| inverse(jtj)).flatten().map(|inv| {
        let s2 = ssr / (n.len() - 3) as f64;
        [0, 1, 2].map(|k| (inv[k][k] * s2).sqrt())
    });
    Ok(Fit {
        a: p[0],
        b: p[1],
        c: p[2],
        std,
        ssr,
        iterations,
    })
}

/// The training-set size at which the fitted law reaches `target` accuracy (error 1 − target).
/// A law counts as constrained when the covariance exists, a > 0, b > 0 and a and b are each
/// determined to better than 100 % (standard error below the value).
pub fn project(fit: &Fit, target: f64, largest: f64) -> Projection {
    let not = |reason: String| Projection::NotConstrained { reason };
    let Some(std) = fit.std else {
        return not("the parameter covariance does not exist (at most 3 points, or they do not determine a, b and c)".into());
    };
    if !(fit.a > 0.0 && fit.b > 0.0) {
        return not(format!(
            "the fitted curve does not decrease with more data (a = {:.4}, b = {:.4})",
            fit.a, fit.b
        ));
    }
    if std[0] >= fit.a || std[1] >= fit.b {
        return not(format!(
            "a = {:.4} ± {:.4}, b = {:.4} ± {:.4}: the points scatter too much to determine the law",
            fit.a, std[0], fit.b, std[1]
        ));
    }
    let goal = 1.0 - target;
    if fit.c >= goal {
        return Projection::Unreachable {
            asymptotic_error: fit.c,
        };
    }
    let ns = (fit.a / (goal - fit.c)).powf(1.0 / fit.b);
    if ns <= largest {
        return Projection::AlreadyReached { samples: ns };
    }
    // Delta method on n* = (a / (g − c))^(1/b), with the diagonal covariance (what the fit
    // reports; the correlations are not kept).
    let d = goal - fit.c;
    let grad = [
        ns / (fit.b * fit.a),
        -ns * (fit.a / d).ln() / (fit.b * fit.b),
        ns / (fit.b * d),
    ];
    let var: f64 = (0..3).map(|k| (grad[k] * std[k]).powi(2)).sum();
    Projection::Reached {
        samples: ns,
        std: var.is_finite().then(|| var.sqrt()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_an_exact_law() {
        let n = [50.0, 100.0, 200.0, 400.0, 800.0, 1600.0];
        let e: Vec<f64> = n.iter().map(|&x| 2.0 * f64::powf(x, -0.5) + 0.05).collect();
        let f = fit(&n, &e).unwrap();
        assert!(
            (f.a - 2.0).abs() < 1e-6 && (f.b - 0.5).abs() < 1e-7 && (f.c - 0.05).abs() < 1e-8,
            "{f:?}"
        );
        match project(&f, 0.92, 1600.0) {
            Projection::Reached { samples, std } => {
                assert!(
                    (samples - 2.0f64.powi(2) / 0.03f64.powi(2)).abs() < 1e-2,
                    "{samples}"
                );
                assert!(std.unwrap() < 1e-3);
            }
            other => panic!("{other:?}"),
        }
        match project(&f, 0.85, 1600.0) {
            Projection::AlreadyReached { samples } => assert!((samples - 400.0).abs() < 1e-3),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            project(&f, 0.96, 1600.0),
            Projection::Unreachable {
                asymptotic_error: f.c
            }
        );
    }

    #[test]
    fn flat_noisy_curve_is_not_constrained() {
        let n = [100.0, 200.0, 300.0, 400.0, 500.0];
        let e = [0.41, 0.43, 0.40, 0.42, 0.41];
        let f = fit(&n, &e).unwrap();
        assert!(
            matches!(project(&f, 0.9, 500.0), Projection::NotConstrained { .. }),
            "{f:?}"
        );
    }
}
