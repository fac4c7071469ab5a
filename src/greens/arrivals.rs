//! First-arrival times in a layered model, for placing fk's time window.
//!
//! fk starts each Green's function 50 samples before the first P arrival, found by a flat-layer
//! ray calculation (fk's `trav.f`): the direct wave and the waves reflected or head-refracted at
//! every interface below the source, each as the stationary point of
//! `T(p) = p·x + Σ mᵢ hᵢ √(1/vᵢ² − p²)` (mᵢ = 1 for the legs between receiver and source, 2 for the
//! extra down-and-up legs), limited to the refractor's slowness (a head wave) when the stationary
//! point lies beyond it. The receiver is at the free surface.

/// The travel time (s) of the first arrival at `distance_km` for a source at the top of layer
/// `src` (receiver at the surface), with layer `velocity` (km/s) and `thickness_km`.
pub fn first_arrival(thickness_km: &[f64], velocity: &[f64], src: usize, distance_km: f64) -> f64 {
    let slowness2: Vec<f64> = velocity.iter().map(|v| 1.0 / (v * v)).collect();
    let mut legs: Vec<f64> = vec![0.0; thickness_km.len()];
    legs[..src].copy_from_slice(&thickness_km[..src]);
    let mut p_max2 = slowness2[..src]
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min);
    let mut best = travel(
        distance_km,
        stationary(distance_km, p_max2.sqrt(), &legs, &slowness2),
        &legs,
        &slowness2,
    );
    for bottom in src + 1..thickness_km.len() {
        legs[bottom - 1] = 2.0 * thickness_km[bottom - 1];
        p_max2 = p_max2.min(slowness2[bottom - 1]);
        let mut p = stationary(distance_km, p_max2.sqrt(), &legs, &slowness2);
        p_max2 = p_max2.min(slowness2[bottom]);
        p = p.min(p_max2.sqrt());
        best = best.min(travel(distance_km, p, &legs, &slowness2));
    }
    best
}

fn travel(x: f64, p: f64, legs: &[f64], s2: &[f64]) -> f64 {
    x * p
        + legs
            .iter()
            .zip(s2)
            .filter(|(h, _)| **h > 0.0)
            .map(|(h, s)| h * (s - p * p).max(0.0).sqrt())
            .sum::<f64>()
}

/// dT/dp = x − p Σ hᵢ/√(1/vᵢ² − p²) falls monotonically from x to −∞ on [0, p_max); its root
/// by bisection to machine precision.
fn stationary(x: f64, p_max: f64, legs: &[f64], s2: &[f64]) -> f64 {
    let dtdp = |p: f64| {
        x - p * legs
            .iter()
            .zip(s2)
            .filter(|(h, _)| **h > 0.0)
            .map(|(h, s)| h / (s - p * p).sqrt())
            .sum::<f64>()
    };
    let (mut lo, mut hi) = (0.0f64, p_max);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let d = dtdp(mid);
        if d.abs() < 1e-7 {
            return mid;
        }
        if d > 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_space_direct_wave() {
        // Source 10 km deep in a uniform 6 km/s medium, 30 km away: straight ray.
        let t = first_arrival(&[10.0, 0.0], &[6.0, 6.0], 1, 30.0);
        assert!(
            (t - (10f64.powi(2) + 30f64.powi(2)).sqrt() / 6.0).abs() < 1e-9,
            "{t}"
        );
    }

    #[test]
    fn head_wave_wins_far_away() {
        // 10 km layer at 6 km/s over 8 km/s, source 5 km deep, 200 km away: Pn.
        let th = [5.0, 5.0, 0.0];
        let v = [6.0, 6.0, 8.0];
        let t = first_arrival(&th, &v, 1, 200.0);
        let s = |v: f64| (1.0 / (v * v) - 1.0 / 64.0).sqrt();
        let pn = 200.0 / 8.0 + 5.0 * s(6.0) + 2.0 * 5.0 * s(6.0);
        assert!((t - pn).abs() < 1e-6, "{t} vs {pn}");
    }
}
