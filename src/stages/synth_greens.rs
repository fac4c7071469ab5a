//! `synth.greens` — a Green's-function bank of a 1-D layered Earth (fk, Zhu & Rivera 2002).
//!
//! # Purpose
//! Kuang et al. (2021) compute FMNet's training waveforms "by adopting the Thompson–Haskell
//! propagator matrix" in a 1-D southern-California model; this stage computes the Green's
//! functions once for every source depth and distance ([`crate::greens`], reproducing fk's SAC
//! output), so the mechanisms and stations of `synth.fmnet` cost only weighted sums.
//!
//! # Inputs
//! None.
//!
//! # Outputs
//! A Green's-function bank: the layout of [`crate::data::greens_bank`].
//!
//! # Parameters
//! - `model`: fk model file (path relative to the pipeline file) or an inline table of rows
//!   `[thickness_km, vs, vp_or_ratio, (rho, Qs, Qp)]`; `vp_vs_ratio` says whether the third
//!   column is Vp/Vs (fk.pl's `/k`, true for `hk`).
//! - `source_depths_km`, and `distances_km` or `distance_range_km = [first, last, step]`
//!   (inclusive; a regular grid that `synth.fmnet` picks the nearest distance from).
//! - `dt_s`, `npts` (even); fk's `dk`, `kmax`, `taper` with fk.pl's defaults.
//!
//! # Cache key
//! Parameters with the model's layer values (not its path), so a file and the same layers inline
//! share entries.
//!
//! # References
//! Zhu & Rivera (2002), GJI 148, 619–627; fk 3.3 (`fk.pl`, `fk.f`); Haskell (1964).

use crate::data;
use crate::greens::{self, FkSettings, LayeredModel};
use crate::params::typed::{Table, grid};
use crate::params::{ParamError, Value};
use crate::stage::{ContentDigest, Outputs, PlanCtx, RunCtx, StageInfo, StageKind};

pub struct SynthGreens;

crate::stage_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct SynthGreensParams {
        /// layered model: fk model file path, or inline rows [thickness_km, vs, vp_or_ratio, (rho, Qs, Qp)]
        model: Table = Rows { min_cols: 3, max_cols: 6, path_ok: true, }, Required, location;
        /// the third model column is Vp/Vs (fk.pl -Mmodel/depth/k), else Vp in km/s
        vp_vs_ratio: bool = Bool, Default("true");
        /// source depths in km
        source_depths_km: Vec<f64> = FloatList { min_len: 1, max_len: 10_000, positive: true, }, Required;
        /// epicentral distances in km (or distance_range_km)
        distances_km: Option<Vec<f64>> = FloatList { min_len: 1, max_len: 100_000, positive: true, }, Optional;
        /// [first, last, step] km, inclusive: a regular distance grid
        distance_range_km: Option<Vec<f64>> = FloatList { min_len: 3, max_len: 3, positive: true, }, Optional;
        /// sampling interval in s
        dt_s: f64 = Float { positive: true }, Required;
        /// samples per trace (even)
        npts: usize = Int { min: 4, max: 1 << 16 }, Required;
        /// fk's non-dimensional wavenumber step (step = dk·π / max(distance, depth))
        dk: f64 = Float { positive: true }, Default("0.3");
        /// fk's largest wavenumber at zero frequency, in units of 1/depth
        kmax: f64 = Float { positive: true }, Default("15.0");
        /// fraction of the band below Nyquist tapered with a cosine (fk: 0.3)
        taper: f64 = Float { positive: true }, Default("0.3");
    }
}

impl SynthGreensParams {
    /// The distances asked for, from either form.
    fn distances(&self) -> Result<Vec<f64>, ParamError> {
        match (&self.distances_km, &self.distance_range_km) {
            (Some(_), Some(_)) => Err(ParamError::new(
                "distance_range_km",
                "give `distances_km` or `distance_range_km`, not both",
            )),
            (None, None) => Err(ParamError::new(
                "distances_km",
                "give `distances_km` (a list) or `distance_range_km = [first, last, step]`",
            )),
            (Some(d), None) => Ok(d.clone()),
            (None, Some(r)) => grid(r, "distance_range_km"),
        }
    }

    /// The model from its parameter (file or inline), with errors naming the file line or table row.
    fn model(&self, dir: &std::path::Path) -> Result<(LayeredModel, String), ParamError> {
        let kappa = self.vp_vs_ratio;
        match &self.model {
            Table::Path(path) => {
                let full = dir.join(path);
                let text = std::fs::read_to_string(&full).map_err(|e| {
                    ParamError::new(
                        "model",
                        format!("cannot read model file {}: {e}", full.display()),
                    )
                })?;
                let m = LayeredModel::parse_fk(&text, kappa).map_err(|e| {
                    let at = e.row.map(|r| format!(" line {r}")).unwrap_or_default();
                    ParamError::new(
                        "model",
                        format!("model file {}{at}: {}", full.display(), e.message),
                    )
                })?;
                // The file as found (not as written), like every local source's label: a bundle
                // (`quakeline export`) packs the files that labels name.
                Ok((m, full.display().to_string()))
            }
            Table::Rows(rows) => {
                let rows = rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        r.iter()
                            .map(|c| match c {
                                Value::Float(x) => Ok(*x),
                                other => Err(ParamError::new(
                                    "model",
                                    format!("inline model row {}: {other} is not a number", i + 1),
                                )),
                            })
                            .collect::<Result<Vec<f64>, _>>()
                            .map(|v| (i + 1, v))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let m = LayeredModel::from_rows(&rows, kappa).map_err(|e| {
                    let at = e.row.map(|r| format!(" row {r}")).unwrap_or_default();
                    ParamError::new("model", format!("inline model{at}: {}", e.message))
                })?;
                Ok((m, "inline model".into()))
            }
        }
    }

    fn settings(&self) -> FkSettings {
        let mut s = FkSettings::new(self.dt_s, self.npts);
        s.dk = self.dk;
        s.kmax = self.kmax;
        s.taper = self.taper;
        s
    }
}

/// The canonical numbers of a model, hashed into the key.
fn model_digest(m: &LayeredModel) -> String {
    let rows: Vec<[f64; 6]> = m
        .layers
        .iter()
        .map(|l| [l.thickness_km, l.vs, l.vp, l.rho, l.qs, l.qp])
        .collect();
    blake3::hash(serde_json::to_string(&rows).unwrap_or_default().as_bytes())
        .to_hex()
        .to_string()
}

impl StageKind for SynthGreens {
    type Params = SynthGreensParams;
    const INFO: StageInfo = StageInfo {
        kind: "synth.greens",
        version: 1,
        changelog: &["first version"],
        summary: "Green's functions of a layered Earth by frequency-wavenumber integration (fk, Zhu & Rivera 2002)",
        inputs: &[],
        outputs: Outputs::Root(data::GREENS_BANK),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &SynthGreensParams) -> Result<(), ParamError> {
        p.distances()?;
        if !p.npts.is_multiple_of(2) {
            return Err(ParamError::new(
                "npts",
                "must be even (fk computes npts/2 frequencies)",
            ));
        }
        let taper = p.taper;
        if taper > 1.0 {
            return Err(ParamError::new(
                "taper",
                format!("{taper} must be in (0, 1]"),
            ));
        }
        if p.dk >= 0.5 {
            return Err(ParamError::new(
                "dk",
                "must be below 0.5 (fk recommends 0.1-0.4)",
            ));
        }
        Ok(())
    }
    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &SynthGreensParams,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        let (m, label) = p.model(ctx.pipeline_dir)?;
        for &d in &p.source_depths_km {
            m.with_source(d)
                .map_err(|e| ParamError::new("source_depths_km", format!("{label}: {e}")))?;
        }
        Ok(vec![ContentDigest {
            label,
            blake3: model_digest(&m),
        }])
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: SynthGreensParams) -> anyhow::Result<()> {
        let raw = ctx.params;
        let (m, label) = p
            .model(ctx.pipeline_dir)
            .map_err(|e| anyhow::anyhow!("{} ({})", e, raw.locate("model")))?;
        anyhow::ensure!(
            ctx.content.iter().any(|c| c.blake3 == model_digest(&m)),
            "{label} changed between planning and running; run again"
        );
        let depths = &p.source_depths_km;
        let dist = p.distances().map_err(|e| anyhow::anyhow!("{e}"))?;
        let s = p.settings();
        ctx.progress
            .set_length((depths.len() * (s.npts / 2)) as u64);
        ctx.progress
            .set_message("(depth, frequency) wavenumber integrals");
        let bar = ctx.progress.clone();
        let bank = greens::compute(&m, depths, &dist, s, &move || bar.inc(1))
            .map_err(|e| anyhow::anyhow!("{label}: {e} ({})", raw.locate("source_depths_km")))?;
        data::greens_bank::write(ctx.output, &bank, &m)
    }
}
