//! The propagator-matrix kernel of fk (Zhu & Rivera 2002, GJI 148, 619–627; "ZR" below): for one
//! complex frequency and one horizontal wavenumber, the surface displacement kernels of the three
//! fundamental double couples (n = 0, 1, 2) and of an explosion.
//!
//! The P-SV system is propagated with 6×6 compound (second-order minor) matrices reduced to 5×5
//! (Wang & Herrmann 1980, "W&H"), which removes the growing exponentials that make plain Haskell
//! products overflow; SH uses its own 2×2 matrix. All matrices are scaled by exp(−Re(ν)kd) per
//! layer, which cancels in the ratio of numerator and Rayleigh/Love denominators.

use num_complex::Complex64 as C;

/// Per-layer quantities at one complex frequency.
#[derive(Clone, Copy, Debug)]
pub struct LayerAtFreq {
    /// (ω / Vp(ω))² and (ω / Vs(ω))², with the Q dispersion of fk (Futterman-like
    /// `1 + (ln(ω/2π)/π + i/2)/Q`).
    pub kp2: C,
    pub ks2: C,
    /// 2μ (μ = ρVs², in fk's units).
    pub mu2: f64,
    pub thickness_km: f64,
}

/// Number of source kinds whose kernels are computed together: DD (n=0), DS (n=1), SS (n=2), EX.
pub const SOURCES: usize = 4;

/// The displacement-stress jump vectors `s` (ZR eq. 36–39 and fk's `source.f`) of the three
/// fundamental double couples and the explosion, at a source in a layer with `xi = Vs²/Vp²` and
/// rigidity `mu`. Order of the 6 entries: P-SV (4) then SH (2).
pub fn source_vectors(xi: f64, mu: f64) -> [[f64; 6]; SOURCES] {
    [
        [0.0, 2.0 * xi / mu, 0.0, 4.0 * xi - 3.0, 0.0, 0.0],
        [1.0 / mu, 0.0, 0.0, 0.0, -1.0 / mu, 0.0],
        [0.0, 0.0, 0.0, 1.0, 0.0, -1.0],
        [0.0, xi / mu, 0.0, 2.0 * xi, 0.0, 0.0],
    ]
}

/// cosh(νkd), sinh(νkd)/ν and ν·sinh(νkd), all times e^{−Re(νkd)}, and that factor.
fn sh_ch(nu: C, kd: f64) -> (C, C, C, f64) {
    let y = nu * kd;
    let ex = (-y.re).exp();
    let half = C::new(0.5 * y.im.cos(), 0.5 * y.im.sin());
    let tail = ex * ex * half.conj();
    let ch = half + tail;
    let sh = half - tail;
    (ch, sh / nu, sh * nu, ex)
}

/// Surface kernels `u[source][component]`, component 0 = vertical (n-th order Z), 1 = radial
/// part, 2 = SH part, for wavenumber `k` (1/km), with the source at the top of layer `src` and a
/// free surface on top of layer 0. The last layer is the half-space.
pub fn kernel(
    k: f64,
    layers: &[LayerAtFreq],
    src: usize,
    s: &[[f64; 6]; SOURCES],
) -> [[C; 3]; SOURCES] {
    let n = layers.len();
    let zero = C::new(0.0, 0.0);
    let mut g = [zero; 7];
    let mut z = [[zero; 5]; SOURCES];
    let k2 = k * k;
    for il in (0..n).rev() {
        let l = &layers[il];
        let kka = l.kp2 / k2;
        let kkb = l.ks2 / k2;
        let r = 2.0 / kkb;
        let ra = (1.0 - kka).sqrt();
        let rb = (1.0 - kkb).sqrt();
        let r1 = 1.0 - 1.0 / r;
        let mu2 = l.mu2;
        let mut hask = None;
        if il == n - 1 {
            // Rows of E⁻¹ of the half-space (ZR eq. 33; SH from eq. A4), constants omitted.
            let delta = r * (1.0 - ra * rb) - 1.0;
            g = [
                mu2 * (delta - r1),
                ra,
                delta,
                -rb,
                (1.0 + delta) / mu2,
                C::new(-1.0, 0.0),
                2.0 / (rb * mu2),
            ];
        } else {
            let kd = k * l.thickness_km;
            let a = sh_ch(ra, kd);
            let b = sh_ch(rb, kd);
            g = propagate_g(&g, &compound(a, b, r, r1, mu2));
            hask = Some((a, b));
        }
        if il == src {
            for (zi, si) in z.iter_mut().zip(s) {
                *zi = initial_z(si, &g);
            }
        }
        if let (true, Some((a, b))) = (il < src, hask) {
            let h = haskell(a, b, r, r1, mu2);
            for zi in z.iter_mut() {
                *zi = propagate_z(zi, &h);
            }
        }
    }
    // Free surface (E = unit vectors): the Rayleigh denominator is g₀, the Love one g₅.
    let (rayl, love) = (g[0], g[5]);
    let mut u = [[zero; 3]; SOURCES];
    for (ui, zi) in u.iter_mut().zip(&z) {
        *ui = [-k * zi[0] / rayl, k * zi[1] / rayl, k * zi[4] / love];
    }
    u
}

/// The reduced compound matrix of one layer (W&H p. 1035; P-SV scaled by e^{−Re(νₐ+ν_b)kd},
/// SH by e^{−Re(ν_b)kd}).
fn compound(a: (C, C, C, f64), b: (C, C, C, f64), r: C, r1: C, mu2: f64) -> [[C; 7]; 7] {
    let (ca, ya, xa, exa) = a;
    let (cb, yb, xb, exb) = b;
    let zero = C::new(0.0, 0.0);
    let mut m = [[zero; 7]; 7];
    let cacb = ca * cb;
    let cayb = ca * yb;
    let caxb = ca * xb;
    let xacb = xa * cb;
    let xaxb = xa * xb;
    let yacb = ya * cb;
    let yayb = ya * yb;
    let ex = exa * exb;
    let r2 = r * r;
    let r3 = r1 * r1;
    m[0][0] = ((1.0 + r3) * cacb - xaxb - r3 * yayb - 2.0 * r1 * ex) * r2;
    m[0][1] = (xacb - cayb) * r / mu2;
    m[0][2] = ((1.0 + r1) * (cacb - ex) - xaxb - r1 * yayb) * r2 / mu2;
    m[0][3] = (yacb - caxb) * r / mu2;
    m[0][4] = (2.0 * (cacb - ex) - xaxb - yayb) * r2 / (mu2 * mu2);
    m[1][0] = (r3 * yacb - caxb) * r * mu2;
    m[1][1] = cacb;
    m[1][2] = (r1 * yacb - caxb) * r;
    m[1][3] = -ya * xb;
    m[1][4] = m[0][3];
    m[2][0] = 2.0 * mu2 * r2 * (r1 * r3 * yayb - (cacb - ex) * (r3 + r1) + xaxb);
    m[2][1] = 2.0 * r * (r1 * cayb - xacb);
    m[2][2] = 2.0 * (cacb - m[0][0]) + ex;
    m[2][3] = -2.0 * m[1][2];
    m[2][4] = -2.0 * m[0][2];
    m[3][0] = mu2 * r * (xacb - r3 * cayb);
    m[3][1] = -xa * yb;
    m[3][2] = -m[2][1] / 2.0;
    m[3][3] = m[1][1];
    m[3][4] = m[0][1];
    m[4][0] = mu2 * mu2 * r2 * (2.0 * (cacb - ex) * r3 - xaxb - r3 * r3 * yayb);
    m[4][1] = m[3][0];
    m[4][2] = -m[2][0] / 2.0;
    m[4][3] = m[1][0];
    m[4][4] = m[0][0];
    m[5][5] = cb;
    m[5][6] = -2.0 * yb / mu2;
    m[6][5] = -mu2 * xb / 2.0;
    m[6][6] = cb;
    m
}

fn propagate_g(g: &[C; 7], c: &[[C; 7]; 7]) -> [C; 7] {
    let mut out = [C::new(0.0, 0.0); 7];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (0..7).map(|j| g[j] * c[j][i]).sum();
    }
    out
}

/// z = s·X|ᵢⱼ¹² for P-SV (W&H p. 1018) and s·X₅ᵢ for SH, at the source.
fn initial_z(s: &[f64; 6], g: &[C; 7]) -> [C; 5] {
    [
        -s[1] * g[0] - s[2] * g[1] + s[3] * g[2],
        s[0] * g[0] - s[2] * g[2] - s[3] * g[3],
        s[0] * g[1] + s[1] * g[2] - s[3] * g[4],
        -s[0] * g[2] + s[1] * g[3] + s[2] * g[4],
        s[4] * g[5] + s[5] * g[6],
    ]
}

/// The 4×4 P-SV Haskell matrix of a layer (Haskell 1964 p. 381; ZR eq. 17), scaled by
/// e^{−Re(νₐ+ν_b)kd}; the SH entry is the scale e^{−Re(ν_b)kd} alone.
fn haskell(a: (C, C, C, f64), b: (C, C, C, f64), r: C, r1: C, mu2: f64) -> [[C; 5]; 5] {
    let (ca, ya, xa, exa) = a;
    let (cb, yb, xb, exb) = b;
    let (ca, xa, ya) = (ca * exb, xa * exb, ya * exb);
    let (cb, yb, xb) = (cb * exa, yb * exa, xb * exa);
    let zero = C::new(0.0, 0.0);
    let mut m = [[zero; 5]; 5];
    m[0][0] = r * (ca - r1 * cb);
    m[0][1] = r * (r1 * ya - xb);
    m[0][2] = (cb - ca) * r / mu2;
    m[0][3] = (xb - ya) * r / mu2;
    m[1][0] = r * (r1 * yb - xa);
    m[1][1] = r * (cb - r1 * ca);
    m[1][2] = (xa - yb) * r / mu2;
    m[1][3] = -m[0][2];
    m[2][0] = mu2 * r * r1 * (ca - cb);
    m[2][1] = mu2 * r * (r1 * r1 * ya - xb);
    m[2][2] = m[1][1];
    m[2][3] = -m[0][1];
    m[3][0] = mu2 * r * (r1 * r1 * yb - xa);
    m[3][1] = -m[2][0];
    m[3][2] = -m[1][0];
    m[3][3] = m[0][0];
    m[4][4] = C::new(exb, 0.0);
    m
}

fn propagate_z(z: &[C; 5], a: &[[C; 5]; 5]) -> [C; 5] {
    let mut out = [C::new(0.0, 0.0); 5];
    for (k, o) in out.iter_mut().enumerate() {
        *o = (0..5).map(|j| z[j] * a[j][k]).sum();
    }
    out
}
