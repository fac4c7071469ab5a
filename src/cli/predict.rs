//! `quakeline predict MODEL_ENTRY INPUT…`: one focal mechanism from a trained FMNet.
//!
//! `MODEL_ENTRY` is the HDF5 entry of a `train` stage with `model = "fmnet"` (`quakeline show
//! PIPELINE STAGE` prints its path). `INPUT` is either one HDF5 event file
//! ([`crate::io::fmnet_event`]: `waveforms` `[48, 128]`, rows `3·station + component` in the
//! order the model was trained with; with a reference mechanism the Kagan angle to it is printed
//! too), or 48 SAC files in that row order, each holding at least 128 samples at the model's
//! sampling interval, already band-passed and aligned on P (Kuang et al. 2021: instrument
//! response removed, 0.05–0.1 Hz, aligned on the P arrival). The input is normalised to its
//! maximum as in training.
//! Prints strike/dip/rake and the time the prediction took (the median of repeated runs after a
//! warm-up; the paper reports 196 ms).

use std::path::PathBuf;
use std::time::Instant;

use super::exit;
use crate::focal::{Mechanism, kagan_angle};
use crate::io::{fmnet_event, h5, sac};
use crate::nn::fmnet::{ROWS, SAMPLES};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The HDF5 entry of a train stage with model = "fmnet".
    model: PathBuf,
    /// One HDF5 file with `waveforms` [48, 128], or 48 SAC files in row order.
    #[arg(required = true)]
    input: Vec<PathBuf>,
    /// Timed repetitions after one warm-up run.
    #[arg(long, default_value_t = 20)]
    repeat: usize,
}

/// The waveforms and, for an event file that states one, its reference mechanism.
fn load_input(
    paths: &[PathBuf],
    dt: f64,
    order: &str,
) -> anyhow::Result<(Vec<f32>, Option<Mechanism>)> {
    if let [one] = paths
        && one.extension().is_some_and(|e| e == "h5" || e == "hdf5")
    {
        let ev = fmnet_event::read(one)?;
        ev.check(&one.display().to_string(), ROWS, SAMPLES, dt, order)?;
        return Ok((ev.waveforms, ev.reference));
    }
    anyhow::ensure!(
        paths.len() == ROWS,
        "give one HDF5 file or {ROWS} SAC files (3 components x 16 stations), got {} file(s)",
        paths.len()
    );
    let mut x = Vec::with_capacity(ROWS * SAMPLES);
    for p in paths {
        let t = sac::read(p)?;
        anyhow::ensure!(
            (t.delta - dt).abs() <= 1e-6 * dt,
            "{}: delta = {} s; the model was trained at {dt} s",
            p.display(),
            t.delta
        );
        anyhow::ensure!(
            t.data.len() >= SAMPLES,
            "{}: {} samples; FMNet needs {SAMPLES}",
            p.display(),
            t.data.len()
        );
        anyhow::ensure!(
            t.data.iter().take(SAMPLES).all(|v| v.is_finite()),
            "{}: non-finite samples",
            p.display()
        );
        x.extend_from_slice(&t.data[..SAMPLES]);
    }
    Ok((x, None))
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    match run(&a) {
        Ok(()) => Ok(exit::OK),
        Err(e) => {
            eprintln!("error: {e}");
            Ok(exit::STAGE_FAILED)
        }
    }
}

fn run(a: &Args) -> anyhow::Result<()> {
    let path = &a.model;
    // A cache entry has its manifest beside it: verify the content digest before HDF5 reads the
    // file (a corrupted file can crash the HDF5 library instead of returning an error).
    let manifest = path.with_extension("json");
    if let Ok(text) = std::fs::read_to_string(&manifest) {
        let m: crate::cache::Manifest = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", manifest.display()))?;
        let (digest, _) = crate::cache::hash_file(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        anyhow::ensure!(
            digest == m.blake3,
            "{} does not match its manifest's digest: the entry is corrupted; rerun the pipeline",
            path.display()
        );
    }
    let f = hdf5::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let device = crate::nn::device();
    let model = crate::data::trained::read_fmnet(&f, &device)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let (lr, _) = h5::read_array::<f64>(&f, "label_ranges")
        .map_err(|e| anyhow::anyhow!("{}: label_ranges: {e}", path.display()))?;
    let labels = crate::synth::fmnet::Labels {
        ranges: [(lr[0], lr[1]), (lr[2], lr[3]), (lr[4], lr[5])],
        bins: SAMPLES,
        sigma_bins: h5::read_attr(&f, "label_sigma_bins").unwrap_or(10.0),
    };
    let dt: f64 = h5::read_attr(&f, "dt_s").unwrap_or(1.0);
    let order = h5::read_str_attr(&f, "component_order").unwrap_or_else(|_| "ZRT".into());
    let (mut x, reference) = load_input(&a.input, dt, &order)?;
    crate::synth::fmnet::normalise(&mut x);
    let predict = |x: &[f32]| {
        labels.decode(&crate::nn::fmnet::predict_waveforms(
            &model,
            x.to_vec(),
            1,
            &device,
        ))
    };
    let m = predict(&x);
    let mut times: Vec<f64> = (0..a.repeat.max(1))
        .map(|_| {
            let t0 = Instant::now();
            let _ = predict(&x);
            t0.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "strike {:.1}  dip {:.1}  rake {:.1}  ({:.2} ms per prediction, median of {} after a warm-up)",
        m.strike,
        m.dip,
        m.rake,
        times[times.len() / 2],
        times.len()
    );
    if let Some(r) = reference {
        println!(
            "reference strike {:.1}  dip {:.1}  rake {:.1}: Kagan angle {:.1} deg",
            r.strike,
            r.dip,
            r.rake,
            kagan_angle(&m, &r)
        );
    }
    Ok(())
}
