//! One integration-test binary (ripgrep style). Each module's first comment says what belongs in it.

// Shared helpers: a fresh temp directory per test, the quakeline binary, fixture paths.
mod util;

// Bad pipeline files, bad data, bad cache locations: each gives a located error, exit 2/1, no entry.
mod bad_input;
// Cache behaviour through the CLI: reruns, --set, explain, plan, show, gc, determinism.
mod cache;
// Catalog readers (FDSN text, QuakeML 1.2, ISC IMS1.0) on real files.
mod catalog;
// Station metadata: ObsPy's StationXML test files read as read_inventory reads them.
mod inventory;
// Kp index readers (CelesTrak SW, GFZ) on real data.
mod kp;
// The module layering of src/lib.rs ("# Layers"): no use against it, no import circles.
mod layering;
// Generated docs: the `quakeline stages` snapshot and the README's list of kinds.
mod docs;
// Crash safety: kill -9 at random moments never leaves an entry that fails to verify or open;
// a closed stdout pipe ends quakeline quietly.
mod crash;
// Fixed-seed training is bit-identical under load, any rayon thread count and any -j.
mod determinism;
// Mutation fuzzing of the readers (seeds: the real files here); a long run is #[ignore]d.
mod fuzz;
// FMNet workflow at toy size through the CLI, and its bad inputs.
mod fmnet;
// Focal mechanisms: Kagan angles vs pyrocko, radiation pattern vs fk's syn.
mod focal;
// U-Net pickers: PhaseNet checkpoint import against a NumPy forward pass, training, evaluation.
mod pickers;
// synth.picks: travel times against fk's headers, onsets at the picks, SNR, determinism.
mod synth_picks;
// miniSEED (libmseed) against ObsPy, pick files, resampling to the set rate against SciPy.
mod mseed;
// Butterworth + sosfilt/sosfiltfilt against SciPy reference vectors, and filtering across NaN gaps.
mod filter_reference;
// The SLURM executor against a real single-node cluster (.ci/slurm), skipped without one.
mod slurm;
// WGS84 epicentral distances against geographiclib.
mod geo;
// The HTTP fetch path against a server on 127.0.0.1.
mod http;
// label.precursor end to end on the BOU week with real Kp.
mod label;
// The inverse-power-law learning-curve fit against scipy curve_fit.
mod learning_curve;
// fk Green's functions reproduced (synth.greens core) against fk's own SAC output.
mod greens;
// The IAGA-2002 reader on the real files in tests/data/iaga2002.
mod iaga2002;
// Sweeps, metrics files, gates (`check`), `metrics diff` and the HTML report through the CLI.
mod sweep;
// The geomagnetic precursor workflow end to end at toy size: train, evaluate, learning curve.
mod workflow;
// Labelled waveform sets (PhaseNet npz, SeisBench) for phase pickers, on real traces.
mod waveforms;
// The SeisBench set generator of the streaming test (shared with `benches/streaming.rs`).
mod big_seisbench;
// The compute device as a run option: CPU keys unchanged, GPUs refused by name without LibTorch.
mod device;
// Bundles (`export`/`import`): a round trip between labs, and every bundle an import must refuse.
mod bundle;
// An nginx WebDAV server on 127.0.0.1 for the remote cache tests (and benches/share.rs).
mod nginx;
// The remote cache against a real nginx WebDAV server started by each test (skipped without nginx).
mod remote;
