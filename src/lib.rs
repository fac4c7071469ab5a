//! quakeline: declarative, content-addressed experiment pipelines for seismology machine learning.
//!
//! # Map of the modules
//! Runner core (knows nothing about seismology):
//! - [`pipeline`]: the whole pipeline-file schema: `[pipeline]`, `[stage.*]`, `[sweep]`
//!   ([`pipeline::sweep`]) and `[gates]` ([`pipeline::gates`]) → a validated [`pipeline::Pipeline`].
//! - [`params`]: declared stage parameters, validation, canonical values for the key.
//! - [`dag`]: wiring checks, cycles, order.
//! - [`plan`]: every stage's key and cache state, without running anything.
//! - [`cache`]: the content-addressed HDF5 store and its key ([`cache::key`]).
//! - [`bundle`]: portable bundles (`export`/`import`): pipeline, local files and entries in one
//!   verified zstd tar stream; the remote cache is [`cache::remote`].
//! - [`session`]: the run layer: a pipeline (plain or a sweep) resolved into members and planned
//!   once; run, metrics and summaries for every verb.
//! - [`exec`]: the [`exec::Executor`] seam (where units of work run) and [`exec::Local`], the
//!   dispatcher that runs planned members on threads with progress bars.
//! - [`slurm`]: the SLURM executor: job arrays with dependencies, tracking by `squeue`, the cache
//!   as the ground truth; the `worker` inside each job; site profiles.
//! - [`metrics`]: typed metrics of a run, `metrics.json`, diffs between runs.
//! - [`study`]: a sweep resolved into points (grid × zip − exclude, ids) and its summary tables.
//! - [`gates`]: gate evaluation against metrics and a baseline (`quakeline check`).
//! - [`report`]: the self-contained `report.html` of a run.
//! - [`stage`]: the trait a stage kind implements.
//! - [`diag`]: errors that point into pipeline files, and the core's typed [`diag::Error`].
//! - [`stdout`]: standard output as Unix filters write it (a closed pipe ends quietly).
//! - [`machine`]: the machine an entry was computed on (recorded, never keyed).
//!
//! Science:
//! - [`stages`]: one file per stage kind and the [`stages::REGISTRY`].
//! - [`labeling`]: labels and scores: precursor windows (P&M 2022 §4), picker training windows,
//!   pick matching and F1, continuous annotation (sliding windows, merging, peak detection).
//! - [`io`]: file formats: the waveform registry ([`io::waveforms`]: npz, SeisBench, miniSEED,
//!   SAC) and pick files ([`io::picks`]); IAGA-2002, catalogs, Kp, TF checkpoints, FMNet event
//!   files; HTTP with pinned digests and the `paths`/`urls` sources.
//! - [`h5`]: HDF5 helpers shared by the cache and every layout; [`device`]: the compute device.
//! - [`signal`]: DSP (Butterworth design, zero-phase filtering, NaN segments, resampling,
//!   standardisation).
//! - [`models`]: the model registry ([`models::MODELS`]; `quakeline model list`): citation,
//!   typed contract, own parameters and version, layer table, fit, predict.
//! - [`nn`]: networks, optimizers (AdaMax written here), the epoch loop, metrics, power-law fits.
//! - [`plot`]: PNG line charts (histories, learning curves, comparisons) with an embedded font.
//! - [`geo`], [`rng`]: WGS84 distances; seeded random streams.
//! - [`series`]: the regularly sampled time series and its HDF5 layout.
//! - [`time`], [`units`]: UTC calendar arithmetic and unit-bearing durations.
//!
//! # Layers
//! Lowest first. A module uses modules of its own line and of the lines above it, never one below
//! (`tests/layering.rs` reads this list and fails on a `crate::` path in code, outside unit
//! tests, that points down it, and on any circle between the modules listed). The runner core is
//! lines 1-6: it knows nothing about seismology.
//! 1. foundations: `time`, `units`, `rng`, `geo`, `diag`, `stdout`, `focal`, `greens`, `plot`, `signal`
//! 2. parameters: `params`
//! 3. storage and device: `cache`, `machine`, `device`, `h5`
//! 4. the stage seam: `stage`
//! 5. pipelines: `dag`, `pipeline`, `plan`, `metrics`, `gates`
//! 6. running: `exec`, `slurm`, `study`, `session`, `report`, `bundle`
//! 7. file formats: `series`, `io`
//! 8. synthesis: `synth`
//! 9. networks: `nn`
//! 10. data between stages: `data`
//! 11. format registries that read into data: `io::waveforms`, `io::picks`, `io::inventory`
//! 12. labelling: `labeling`
//! 13. models: `models`
//! 14. stage kinds: `stages`
//! 15. commands: `cli`
//!
//! # Files quakeline reads and writes
//! | path                                   | owner            | what                                   |
//! |----------------------------------------|------------------|----------------------------------------|
//! | `pipelines/*.toml` (any path)          | [`pipeline`]     | pipeline files (read)                  |
//! | files named by `paths` parameters      | stages           | input data (read, hashed into the key) |
//! | `<cache>/objects/ab/<key>.{h5,json,verified}` | [`cache`] | entries, manifests, verification memos |
//! | `<cache>/tmp/`, `<cache>/locks/`       | [`cache`]        | in-flight writes, per-key locks        |
//! | `<remote>/<key>.{json,h5}`             | [`cache::remote`] | a shared remote cache (WebDAV: GET/HEAD/PUT/MOVE) |
//! | `*.qlb` (any path)                     | [`bundle`]       | bundles: `quakeline-bundle.json`, `files/<blake3>`, `entries/<key>.{json,h5}` in a zstd tar stream |
//! | `<cache>/slurm/{jobs,logs}/`, `<cache>/slurm/starts.log` | [`slurm`] | job files and batch scripts, job logs, worker starts |
//! | `results/<pipeline>/<stage>/`          | stages           | metrics, plots, reports for people (copies kept in the entry, restored on cached reruns) |
//! | `results/<pipeline>/metrics.json`      | [`metrics`]      | the typed metrics of the last plain run (DVC-readable) |
//! | `results/<pipeline>/<sweep>.{csv,md}`, `<sweep>-*.png`, `<sweep>/metrics.json`, `<sweep>/<point>/<stage>/` | [`study`] | a sweep's table, plots, seed-aggregated metrics, per-point results |
//! | `results/<pipeline>/report.html`       | [`report`]       | the self-contained run report |
//!
//! `<cache>` is `--cache DIR`, else `$QUAKELINE_CACHE`, else `./cache`.
//!
//! # How to add a stage kind
//! 1. One file, `src/stages/<kind>.rs`: module doc (purpose, inputs, outputs, parameters, cache
//!    key, references with DOIs); the parameters declared once with [`stage_params!`] (doc,
//!    type, range, default per field; closed choices with [`choice!`]); `impl`
//!    [`stage::StageKind`] with one `const INFO` (kind, version and changelog, summary, inputs and
//!    outputs with their [`data`] kinds, metrics, stochastic) and `run`, which receives the typed
//!    struct. Science goes in a library module ([`synth`], [`signal`], [`labeling`], …); a layout
//!    another stage reads goes in [`data`] with its writer and reader. No stage file imports
//!    another. The module doc has the headings `# Purpose`, `# Inputs`, `# Outputs`,
//!    `# Parameters`, `# Cache key`, `# References` (checked by the `docs::` tests).
//! 2. One line in [`stages::REGISTRY`]. Then `QUAKELINE_BLESS=1 cargo test docs::` refreshes the
//!    `quakeline stages` snapshot and the README's list of kinds; review the diff.
//!
//! # How to add a model
//! 1. One file, `src/models/<name>.rs`: module doc with the full citation and DOI; the network
//!    (or one from [`nn`]); its own `train` parameters with [`stage_params!`] and a changelog
//!    (its version, which keys the entries it trains); `pub const MODEL:` [`models::Model`] with
//!    the typed [`models::Contract`], the data kind it trains on, `layers` (tested against the
//!    published parameter count), `fit` and, if it reads files, `predict`. A phase picker is an
//!    [`nn::picker::Picker`] network (its classes, probabilities and loss), a
//!    [`models::picker::PickerModel`] impl and `MODEL = models::picker::model::<Net>(About {…})`,
//!    as `phasenet.rs` is: fit, fine-tuning, loading and predict are shared.
//! 2. One line in [`models::MODELS`]: `train`'s `model` choice, accepted inputs and parameters,
//!    `quakeline model list|summary` and `quakeline predict` pick it up; `QUAKELINE_BLESS=1 cargo
//!    test docs::` refreshes the registry tables.

pub mod bundle;
pub mod cache;
pub mod cli;
pub mod dag;
pub mod data;
pub mod device;
pub mod diag;
pub mod exec;
pub mod focal;
pub mod gates;
pub mod geo;
pub mod greens;
pub mod h5;
pub mod io;
pub mod labeling;
pub mod machine;
pub mod metrics;
pub mod models;
pub mod nn;
pub mod params;
pub mod pipeline;
pub mod plan;
pub mod plot;
pub mod report;
pub mod rng;
pub mod series;
pub mod session;
pub mod signal;
pub mod slurm;
pub mod stage;
pub mod stages;
pub mod stdout;
pub mod study;
pub mod synth;
pub mod time;
pub mod units;
