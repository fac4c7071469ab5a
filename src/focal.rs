//! Double-couple focal mechanisms: radiation coefficients for fk Green's functions, slip and
//! normal vectors, and the Kagan angle.
//!
//! Angles follow Aki & Richards (2002, Box 4.4): strike clockwise from north with the fault
//! dipping to the right, dip from horizontal, rake counter-clockwise from the strike direction in
//! the fault plane. Coordinates are north, east, down.

/// Strike, dip, rake in degrees.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mechanism {
    pub strike: f64,
    pub dip: f64,
    pub rake: f64,
}

impl Mechanism {
    pub fn new(strike: f64, dip: f64, rake: f64) -> Self {
        Mechanism { strike, dip, rake }
    }

    /// Fault normal and slip vector (Aki & Richards eq. 4.88–4.89), NED.
    pub fn normal_and_slip(&self) -> ([f64; 3], [f64; 3]) {
        let (s, d, r) = (
            self.strike.to_radians(),
            self.dip.to_radians(),
            self.rake.to_radians(),
        );
        let n = [-d.sin() * s.sin(), d.sin() * s.cos(), -d.cos()];
        let u = [
            r.cos() * s.cos() + d.cos() * r.sin() * s.sin(),
            r.cos() * s.sin() - d.cos() * r.sin() * s.cos(),
            -r.sin() * d.sin(),
        ];
        (n, u)
    }

    /// Principal axes as the columns T, P, B of a right-handed orthonormal frame.
    fn axes(&self) -> [[f64; 3]; 3] {
        let (n, u) = self.normal_and_slip();
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let t = [h * (n[0] + u[0]), h * (n[1] + u[1]), h * (n[2] + u[2])];
        let p = [h * (n[0] - u[0]), h * (n[1] - u[1]), h * (n[2] - u[2])];
        let b = [
            t[1] * p[2] - t[2] * p[1],
            t[2] * p[0] - t[0] * p[2],
            t[0] * p[1] - t[1] * p[0],
        ];
        [t, p, b]
    }
}

/// fk's horizontal radiation coefficients of a double couple (Haskell 1964 with the tangential
/// term corrected; fk's `radiats.c` `dc_radiat`): `rad[n][c]` multiplies Green's-function term
/// `3n + c` (n = 0 DD, 1 DS, 2 SS; c = 0 Z, 1 R, 2 T) for a station at azimuth `az` (degrees
/// clockwise from north, source to station).
pub fn radiation(m: &Mechanism, az: f64) -> [[f64; 3]; 3] {
    let (s, d, r) = (
        (az - m.strike).to_radians(),
        m.dip.to_radians(),
        m.rake.to_radians(),
    );
    let (ss, cs, sd, cd, sr, cr) = (s.sin(), s.cos(), d.sin(), d.cos(), r.sin(), r.cos());
    let (ss2, cs2) = (2.0 * ss * cs, cs * cs - ss * ss);
    let (sd2, cd2) = (2.0 * sd * cd, cd * cd - sd * sd);
    let dd = 0.5 * sr * sd2;
    let ds_vertical = -ss * sr * cd2 + cs * cr * cd;
    let ds_t = cs * sr * cd2 + ss * cr * cd;
    let ss_vertical = -ss2 * cr * sd - 0.5 * cs2 * sr * sd2;
    let ss_t = cs2 * cr * sd - 0.5 * ss2 * sr * sd2;
    [
        [dd, dd, 0.0],
        [ds_vertical, ds_vertical, ds_t],
        [ss_vertical, ss_vertical, ss_t],
    ]
}

/// The Kagan (1991) angle in degrees: the smallest rotation taking one double couple onto the
/// other, minimised over the four symmetries of the principal-axes frame.
pub fn kagan_angle(a: &Mechanism, b: &Mechanism) -> f64 {
    let (fa, fb) = (a.axes(), b.axes());
    // R = Aᵀ B in the frame of a; the trace of R·S for S = diag(±1, ±1, ±1), det S = 1.
    let dot = |x: &[f64; 3], y: &[f64; 3]| x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
    let diag = [
        dot(&fa[0], &fb[0]),
        dot(&fa[1], &fb[1]),
        dot(&fa[2], &fb[2]),
    ];
    [
        [1.0, 1.0, 1.0],
        [-1.0, -1.0, 1.0],
        [-1.0, 1.0, -1.0],
        [1.0, -1.0, -1.0],
    ]
    .iter()
    .map(|s| {
        let tr = s[0] * diag[0] + s[1] * diag[1] + s[2] * diag[2];
        ((tr - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
    })
    .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kagan_of_a_mechanism_with_itself_and_its_auxiliary_plane_is_zero() {
        let m = Mechanism::new(30.0, 60.0, 90.0);
        assert!(kagan_angle(&m, &m) < 1e-6);
        assert!(kagan_angle(&m, &Mechanism::new(210.0, 30.0, 90.0)) < 1e-5);
    }

    #[test]
    fn reversed_slip_swaps_p_and_t_a_90_degree_rotation() {
        let a = Mechanism::new(0.0, 90.0, 0.0);
        let b = Mechanism::new(0.0, 90.0, 180.0);
        assert!((kagan_angle(&a, &b) - 90.0).abs() < 1e-9);
    }
}
