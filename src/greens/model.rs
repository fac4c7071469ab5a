//! 1-D layered Earth models in fk's file format (Zhu & Rivera 2002, the `fk` code's `-M` models).
//!
//! One layer per line: `thickness_km vs_km_s vp_or_vp/vs [rho Qs Qp]`. With `kappa` (fk.pl's
//! `-Mmodel/depth/k`) the third column is Vp/Vs; otherwise Vp. Missing columns get fk's defaults:
//! ρ = 0.77 + 0.32 Vp, Qs = 500, Qp = 2 Qs; a fourth column larger than 20 is Qs, not ρ (fk.pl's
//! rule; `models/hk` relies on it). The last line is the half-space: its thickness bounds the model
//! for validation ("source below the model") but the computation treats it as infinite, as fk does.

use std::fmt;

/// One elastic layer (km, km/s, g/cm³).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layer {
    pub thickness_km: f64,
    pub vs: f64,
    pub vp: f64,
    pub rho: f64,
    pub qs: f64,
    pub qp: f64,
}

/// Layers from the free surface down; the last is the half-space.
#[derive(Clone, Debug, PartialEq)]
pub struct LayeredModel {
    pub layers: Vec<Layer>,
}

/// A model that cannot be used, with the 1-based row (line of a model file, row of an inline
/// table) it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelError {
    pub row: Option<usize>,
    pub message: String,
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(r) => write!(f, "layer {r}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}
impl std::error::Error for ModelError {}

fn err(row: usize, message: impl Into<String>) -> ModelError {
    ModelError {
        row: Some(row),
        message: message.into(),
    }
}

impl LayeredModel {
    /// Parses fk's text format; blank lines and `#` comments are skipped, and the row of an
    /// error is the line number in the file.
    pub fn parse_fk(text: &str, kappa: bool) -> Result<Self, ModelError> {
        let mut rows = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let values = line
                .split_whitespace()
                .map(|w| {
                    w.parse::<f64>()
                        .map_err(|_| err(i + 1, format!("`{w}` is not a number")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            rows.push((i + 1, values));
        }
        Self::from_rows(&rows, kappa)
    }

    /// Builds a model from `(row number, columns)` pairs (fk's column rules) and validates it.
    pub fn from_rows(rows: &[(usize, Vec<f64>)], kappa: bool) -> Result<Self, ModelError> {
        if rows.is_empty() {
            return Err(ModelError {
                row: None,
                message: "the model has no layers".into(),
            });
        }
        // fk.pl reads a 4th column > 20 as Qs for the whole model, not per line.
        let fourth_is_q = rows.iter().any(|(_, v)| v.len() == 4 && v[3] > 20.0);
        let mut layers = Vec::with_capacity(rows.len());
        for (row, v) in rows {
            let row = *row;
            if !(3..=6).contains(&v.len()) {
                return Err(err(
                    row,
                    format!(
                        "expected 3 to 6 columns (thickness_km vs vp_or_vp/vs [rho Qs Qp]), found {}",
                        v.len()
                    ),
                ));
            }
            if let Some(x) = v.iter().find(|x| !x.is_finite()) {
                return Err(err(row, format!("{x} is not a finite number")));
            }
            let (th, vs) = (v[0], v[1]);
            if vs <= 0.0 {
                return Err(err(
                    row,
                    format!(
                        "Vs = {vs} km/s is not physical (must be > 0; fluid layers are not supported)"
                    ),
                ));
            }
            let vp = if kappa { v[2] * vs } else { v[2] };
            let ratio = vp / vs;
            if ratio < std::f64::consts::SQRT_2 {
                return Err(err(
                    row,
                    format!(
                        "Vp/Vs = {ratio:.4} is below sqrt(2) (negative Lamé λ){}",
                        if kappa {
                            ""
                        } else {
                            "; if the third column is Vp/Vs, set `vp_vs_ratio = true`"
                        }
                    ),
                ));
            }
            let (mut rho, mut qs, mut qp) = (0.77 + 0.32 * vp, 500.0, f64::NAN);
            match v.len() {
                4 if fourth_is_q => qs = v[3],
                4 => rho = v[3],
                5 => (rho, qs) = (v[3], v[4]),
                6 => (rho, qs, qp) = (v[3], v[4], v[5]),
                _ => {}
            }
            if qp.is_nan() {
                qp = 2.0 * qs;
            }
            if rho <= 0.0 || qs <= 0.0 || qp <= 0.0 {
                return Err(err(row, "density and Q must be positive"));
            }
            if th < 0.0 {
                return Err(err(row, format!("thickness {th} km is negative")));
            }
            layers.push(Layer {
                thickness_km: th,
                vs,
                vp,
                rho,
                qs,
                qp,
            });
        }
        if let Some(i) = layers[..layers.len() - 1]
            .iter()
            .position(|l| l.thickness_km == 0.0)
        {
            return Err(err(
                rows[i].0,
                "only the last layer (the half-space) may have zero thickness",
            ));
        }
        Ok(LayeredModel { layers })
    }

    /// Depth of the model's bottom as written (sum of all thicknesses, the half-space's included);
    /// infinite when the half-space is written with thickness 0.
    pub fn bottom_km(&self) -> f64 {
        match self.layers.last() {
            Some(l) if l.thickness_km == 0.0 => f64::INFINITY,
            _ => self.layers.iter().map(|l| l.thickness_km).sum(),
        }
    }

    /// The layer stack the propagator works on for a source at `depth_km` and a receiver at the
    /// free surface: the half-space gets thickness 0 and an interface is inserted at the source
    /// depth, so the source sits at the top of layer `src` (fk's convention). Errors for a source
    /// at or above the surface, below the model, or on a velocity discontinuity (where a double
    /// couple's displacement-stress jump is undefined).
    pub fn with_source(&self, depth_km: f64) -> Result<(Vec<Layer>, usize), ModelError> {
        let none = |message: String| ModelError { row: None, message };
        if depth_km.is_nan() || depth_km <= 0.0 {
            return Err(none(format!(
                "source depth {depth_km} km must be below the free surface (> 0)"
            )));
        }
        if depth_km > self.bottom_km() {
            return Err(none(format!(
                "source depth {depth_km} km is below the model (bottom at {} km)",
                self.bottom_km()
            )));
        }
        let mut layers = self.layers.clone();
        if let Some(l) = layers.last_mut() {
            l.thickness_km = 0.0;
        }
        let mut top = 0.0;
        for i in 0..layers.len() {
            let th = layers[i].thickness_km;
            let last = i + 1 == layers.len();
            if (depth_km - top).abs() < 1e-9 {
                return Err(none(format!(
                    "source depth {depth_km} km lies on the interface above layer {} (a velocity \
                     discontinuity); move it off the interface",
                    i + 1
                )));
            }
            if last || depth_km < top + th {
                let mut below = layers[i];
                below.thickness_km = if last { 0.0 } else { top + th - depth_km };
                layers[i].thickness_km = depth_km - top;
                layers.insert(i + 1, below);
                return Ok((layers, i + 1));
            }
            top += th;
        }
        unreachable!("the last layer always accepts the source")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HK: &str =
        " 5.5 3.18 1.730 600\n10.5 3.64 1.731 600\n16.0 3.87 1.731 600\n90.0 4.50 1.733 900\n";

    #[test]
    fn hk_columns_follow_fk_rules() {
        let m = LayeredModel::parse_fk(HK, true).unwrap();
        assert_eq!(m.layers.len(), 4);
        let l = m.layers[0];
        assert!((l.vp - 3.18 * 1.730).abs() < 1e-12);
        assert_eq!((l.qs, l.qp), (600.0, 1200.0));
        assert!((l.rho - (0.77 + 0.32 * l.vp)).abs() < 1e-12);
        assert_eq!(m.bottom_km(), 122.0);
    }

    #[test]
    fn source_interface_is_inserted() {
        let m = LayeredModel::parse_fk(HK, true).unwrap();
        let (layers, src) = m.with_source(15.0).unwrap();
        let th: Vec<f64> = layers.iter().map(|l| l.thickness_km).collect();
        assert_eq!(src, 2);
        assert_eq!(th.len(), 5);
        assert!((th[1] - 9.5).abs() < 1e-12 && (th[2] - 1.0).abs() < 1e-12);
        assert_eq!(th[4], 0.0);
        let (_, src) = m.with_source(130.0 - 10.0).unwrap();
        assert_eq!(src, 4);
    }

    #[test]
    fn bad_models_name_their_row() {
        let e = LayeredModel::parse_fk("5 3.0 1.7\n4 0 1.7\n", true).unwrap_err();
        assert_eq!(e.row, Some(2));
        assert!(e.message.contains("Vs"), "{e}");
        let e = LayeredModel::parse_fk("5 3.0 1.3\n0 4 1.7\n", true).unwrap_err();
        assert!(e.message.contains("sqrt(2)"), "{e}");
        let m = LayeredModel::parse_fk(HK, true).unwrap();
        assert!(
            m.with_source(200.0)
                .unwrap_err()
                .message
                .contains("below the model")
        );
        assert!(
            m.with_source(5.5)
                .unwrap_err()
                .message
                .contains("interface")
        );
    }
}
