//! `quakeline predict MODEL_ENTRY INPUT…`: a trained model's prediction for input files.
//!
//! `MODEL_ENTRY` is the HDF5 entry of a `train` stage (`quakeline show PIPELINE STAGE` prints its
//! path). Its `model` attribute names the [`crate::models`] entry that reads the inputs and
//! prints the prediction (fmnet: one HDF5 event file or 48 SAC files → strike/dip/rake, the time
//! a prediction took and, for an event with a reference mechanism, the Kagan angle to it; phase
//! pickers: PhaseNet `.npz`, miniSEED or one station's SAC files → P and S picks with their
//! probability, and the time the annotation took).

use crate::stdout::outln;
use std::path::PathBuf;

use super::exit;
use crate::models::{self, PredictArgs};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The HDF5 entry of a train stage.
    model: PathBuf,
    /// The model's input files, recognised by content (`quakeline model list` says what each
    /// model reads): phase pickers take `.npz` traces, miniSEED files or one station's 3 SAC
    /// files; fmnet one HDF5 event file with `waveforms` [48, 128] or 48 SAC files in row order.
    #[arg(required = true)]
    input: Vec<PathBuf>,
    /// Timed repetitions after one warm-up run.
    #[arg(long, default_value_t = 20)]
    repeat: usize,
    /// Pickers: step between the windows slid over each trace, s (outputs median-merged; Hong
    /// et al. 2023 use 1, 5, 10 or 30).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS", value_parser = positive_seconds)]
    stride: f64,
    /// The compute device: cpu, cuda, cuda:N, torch-cpu [default: $QUAKELINE_DEVICE, else cpu].
    #[arg(long, value_name = "DEVICE")]
    device: Option<crate::device::Choice>,
}

fn positive_seconds(v: &str) -> Result<f64, String> {
    match v.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!("a positive number of seconds, got `{v}`")),
    }
}

pub(crate) fn exec(a: Args) -> miette::Result<i32> {
    let choice = crate::device::from_flag_or_env(a.device)
        .map_err(|e| miette::miette!("{e}"))?
        .unwrap_or(crate::device::Choice::Cpu);
    crate::device::choose(choice).map_err(|e| miette::miette!("{e}"))?;
    match run(&a) {
        Ok(lines) => {
            for l in lines {
                outln!("{l}");
            }
            Ok(exit::OK)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(exit::STAGE_FAILED)
        }
    }
}

fn run(a: &Args) -> anyhow::Result<Vec<String>> {
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
    let model = models::named_in(&f, &path.display().to_string())?;
    let name = model.name;
    let predict = model.predict.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: model `{name}` does not predict from files; it is scored on {} by an evaluate stage",
            path.display(),
            model.trains_on.name
        )
    })?;
    predict(&PredictArgs {
        entry: &f,
        inputs: &a.input,
        repeat: a.repeat,
        stride_s: a.stride,
    })
}
