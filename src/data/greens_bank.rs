//! Green's-function banks: what `synth.greens` writes and `synth.fmnet` reads.
//!
//! Computed by [`crate::greens`] (fk, Zhu & Rivera 2002, GJI 148, 619–627,
//! doi:10.1046/j.1365-246X.2002.01610.x).
//!
//! # Layout
//! | name | type | shape | what |
//! |------|------|-------|------|
//! | `greens` | float32 | `[depths, distances, 12, npts]` | terms in fk's order `.0`–`.8` (Z, R, T of the DD, DS and SS fundamental double couples), then `.a`–`.c` (explosion); attributes `units` (`1e-20 cm / (dyne cm)`, impulse moment rate), `terms`, `components` |
//! | `start_s` | float64 | `[depths, distances]` | time of the first sample after the origin (fk puts it `samples_before` samples before the first P arrival, so it can be negative) |
//! | `p_arrival_s` | float64 | `[depths, distances]` | first P arrival, rounded to 0.01 s as fk.pl does |
//! | `source_depths_km`, `distances_km` | float64 | `[depths]`, `[distances]` | the grid |
//! | `model` | float64 | `[layers, 6]` | thickness, Vs, Vp, ρ, Qs, Qp |
//! | attributes `dt_s`, `npts`, `samples_before`, `dk`, `kmax`, `taper` | | | fk's settings |

use crate::greens::{Bank, FkSettings, LayeredModel, TERM_SUFFIXES, TERMS};
use crate::h5;

/// Writes `bank`, computed in `model`, in the layout above.
pub fn write(out: &hdf5::Group, bank: &Bank, model: &LayeredModel) -> anyhow::Result<()> {
    let (depths, dist, s) = (&bank.depths_km, &bank.distances_km, &bank.settings);
    let ds = h5::write_array(
        out,
        "greens",
        &[depths.len(), dist.len(), TERMS, s.npts],
        &bank.data,
    )?;
    h5::write_str_attr(
        &ds,
        "units",
        "1e-20 cm / (dyne cm), impulse moment-rate source",
    )?;
    h5::write_str_attr(&ds, "terms", &TERM_SUFFIXES.join(","))?;
    h5::write_str_attr(
        &ds,
        "components",
        "per fundamental source (DD, DS, SS, EX): Z up, R away from the source, T as fk",
    )?;
    let st = h5::write_array(out, "start_s", &[depths.len(), dist.len()], &bank.start_s)?;
    h5::write_str_attr(&st, "units", "s after origin")?;
    h5::write_array(
        out,
        "p_arrival_s",
        &[depths.len(), dist.len()],
        &bank.p_arrival_s,
    )?;
    h5::write_array(out, "source_depths_km", &[depths.len()], depths)?;
    h5::write_array(out, "distances_km", &[dist.len()], dist)?;
    let layers: Vec<f64> = model
        .layers
        .iter()
        .flat_map(|l| [l.thickness_km, l.vs, l.vp, l.rho, l.qs, l.qp])
        .collect();
    let md = h5::write_array(out, "model", &[model.layers.len(), 6], &layers)?;
    h5::write_str_attr(
        &md,
        "columns",
        "thickness_km,vs_km_s,vp_km_s,rho_g_cm3,qs,qp",
    )?;
    h5::write_attr(out, "dt_s", s.dt_s)?;
    h5::write_attr(out, "npts", s.npts as u64)?;
    h5::write_attr(out, "samples_before", s.samples_before as u64)?;
    h5::write_attr(out, "dk", s.dk)?;
    h5::write_attr(out, "kmax", s.kmax)?;
    h5::write_attr(out, "taper", s.taper)?;
    Ok(())
}

/// The layered model a bank was computed in (its `model` dataset).
pub fn read_model(g: &hdf5::Group, what: &str) -> anyhow::Result<LayeredModel> {
    let (v, shape) = h5::read_array::<f64>(g, "model")
        .map_err(|e| anyhow::anyhow!("{what} is not a synth.greens bank: {e}"))?;
    anyhow::ensure!(
        shape.len() == 2 && shape[1] == 6 && shape[0] > 0,
        "{what}: `model` has shape {shape:?}; expected [layers, 6]"
    );
    Ok(LayeredModel {
        layers: v
            .chunks(6)
            .map(|r| crate::greens::Layer {
                thickness_km: r[0],
                vs: r[1],
                vp: r[2],
                rho: r[3],
                qs: r[4],
                qp: r[5],
            })
            .collect(),
    })
}

/// Reads a bank written by [`write()`]; `what` names the input in messages. The settings fk does
/// not record (`pmin`, `pmax`, `sigma`) are fk's defaults, which `synth.greens` always uses.
pub fn read(g: &hdf5::Group, what: &str) -> anyhow::Result<Bank> {
    let not_bank = |e: hdf5::Error| anyhow::anyhow!("{what} is not a synth.greens bank: {e}");
    let (data, shape) = h5::read_array::<f32>(g, "greens").map_err(not_bank)?;
    let (depths_km, _) = h5::read_array::<f64>(g, "source_depths_km").map_err(not_bank)?;
    let (distances_km, _) = h5::read_array::<f64>(g, "distances_km").map_err(not_bank)?;
    let (start_s, _) = h5::read_array::<f64>(g, "start_s").map_err(not_bank)?;
    let (p_arrival_s, _) = h5::read_array::<f64>(g, "p_arrival_s").map_err(not_bank)?;
    anyhow::ensure!(
        shape.len() == 4
            && shape[0] == depths_km.len()
            && shape[1] == distances_km.len()
            && shape[2] == TERMS
            && start_s.len() == shape[0] * shape[1]
            && p_arrival_s.len() == shape[0] * shape[1],
        "{what}: `greens` has shape {shape:?} for {} depths and {} distances; expected [depths, distances, {TERMS}, npts]",
        depths_km.len(),
        distances_km.len()
    );
    let mut settings = FkSettings::new(h5::read_attr(g, "dt_s").map_err(not_bank)?, shape[3]);
    settings.samples_before = h5::read_attr::<u64>(g, "samples_before").map_err(not_bank)? as usize;
    settings.dk = h5::read_attr(g, "dk").map_err(not_bank)?;
    settings.kmax = h5::read_attr(g, "kmax").map_err(not_bank)?;
    settings.taper = h5::read_attr(g, "taper").map_err(not_bank)?;
    Ok(Bank {
        depths_km,
        distances_km,
        settings,
        data,
        start_s,
        p_arrival_s,
    })
}
