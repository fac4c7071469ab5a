//! `synth.picks`: P and S travel times against fk's own SAC headers, synthetic onsets at the
//! picks, the drawn SNR, determinism across thread counts, real and coloured noise, bad input.

use std::path::Path;

use quakeline::data::waveform_set::{self, WaveformSet};
use quakeline::greens::LayeredModel;
use quakeline::greens::arrivals::first_arrival;

use crate::util::{Env, data_dir};

fn hk() -> LayeredModel {
    let text = std::fs::read_to_string(data_dir().join("greens/hk")).unwrap();
    LayeredModel::parse_fk(&text, true).unwrap()
}

/// fk writes the first P and S arrival times it used into every Green's function's SAC header
/// (`t1`, `t2`, two decimals). Our first arrivals in the same model, with Vp and with Vs, agree
/// to that rounding: the travel-time check of synth.picks' picks.
#[test]
fn p_and_s_travel_times_match_fks_headers() {
    let (layers, src) = hk().with_source(15.0).unwrap();
    let th: Vec<f64> = layers.iter().map(|l| l.thickness_km).collect();
    let vp: Vec<f64> = layers.iter().map(|l| l.vp).collect();
    let vs: Vec<f64> = layers.iter().map(|l| l.vs).collect();
    let mut checked = 0;
    for (dir, dist) in [
        ("fk_reference_hk_s15", 10.0),
        ("fk_reference_hk_s15", 20.0),
        ("fk_reference_hk_s15", 30.0),
        ("fk33_reference_hk_s15_d50", 50.0),
    ] {
        let sac = quakeline::io::waveforms::sac::read(
            &data_dir()
                .join("greens")
                .join(dir)
                .join(format!("{dist}.grn.0").replace(".0.grn", ".grn")),
        )
        .unwrap();
        let (t1, t2) = (sac.t1.unwrap(), sac.t2.unwrap());
        let (p, s) = (
            first_arrival(&th, &vp, src, dist),
            first_arrival(&th, &vs, src, dist),
        );
        assert!((p - t1).abs() <= 0.0051, "{dist} km: P {p} vs fk {t1}");
        assert!((s - t2).abs() <= 0.0051, "{dist} km: S {s} vs fk {t2}");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

const BANK: &str = "[stage.bank]\nkind = \"synth.greens\"\nmodel = \"MODEL\"\nsource_depths_km = [8.0]\ndistances_km = [10.0, 20.0]\ndt_s = 0.01\nnpts = 1024\n";

fn pipeline(synth: &str) -> String {
    let model = data_dir().join("greens/hk");
    let npz = data_dir().join("waveforms/phasenet_npz");
    format!(
        "[pipeline]\nname = \"sp\"\nseed = 3\n\n{}\n[stage.real]\nkind = \"fetch.waveforms\"\nformat = \"npz\"\npaths = [{:?}]\n\n[stage.synth]\nkind = \"synth.picks\"\n{synth}\n",
        BANK.replace("MODEL", &model.display().to_string()),
        npz.join("*.npz").display().to_string()
    )
}

fn floats(f: &hdf5::File, name: &str) -> Vec<f64> {
    f.dataset(name).unwrap().read_raw::<f64>().unwrap()
}

/// `x` is quiet (below 2 % of its peak) until 8 samples before `pick`, and the 0.3 s after
/// the pick are at least 20 times larger than anything before that.
fn arrives_at(x: &[f64], pick: f64, what: &str) {
    let peak = |s: &[f64]| s.iter().fold(0f64, |m, v| m.max(v.abs()));
    let quiet_end = (pick.floor() as usize).saturating_sub(8);
    let p = pick.round() as usize;
    let (before, after, all) = (peak(&x[..quiet_end]), peak(&x[p..p + 30]), peak(x));
    assert!(
        before < 0.02 * all,
        "{what}: {before} before the pick, peak {all}"
    );
    assert!(
        after > 20.0 * before,
        "{what}: {after} after the pick, {before} before"
    );
}

#[test]
fn synthetic_traces_start_at_their_picks_with_the_drawn_snr_and_are_deterministic() {
    let env = Env::new();
    // Practically noise-free (SNR 200 dB): the onsets are the signal's.
    let text = pipeline(
        "inputs = { bank = \"bank\" }\ncount = 12\nsamples = 1000\np_at_s = 2.0\nsnr_db = [200.0, 200.0]\n",
    );
    let p = env.write("clean.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let f = env.entry(&p, "synth");
    let set = waveform_set::read(&f, "synth").unwrap();
    assert_eq!(
        (set.len(), set.samples, set.sampling_rate_hz),
        (12, 1000, 100.0)
    );
    let az = floats(&f, "azimuth_deg");
    for (i, t) in set.traces.iter().enumerate() {
        assert!((t.p_sample - 200.0).abs() <= 0.5, "{t:?}");
        assert!((1.0..=4.0).contains(&t.magnitude) && [10.0, 20.0].contains(&t.distance_km));
        let x: Vec<f64> = set.trace(i).iter().map(|v| f64::from(*v)).collect();
        let (z, n, e) = (&x[..1000], &x[1000..2000], &x[2000..]);
        // P: nothing arrives on the vertical before the P pick, and the P wave arrives at it.
        // fk's Green's functions are band-limited (tapered above 0.7 Nyquist), so an onset
        // carries a precursor of a few samples; 8 samples (0.08 s) is the allowance.
        arrives_at(z, t.p_sample, &format!("trace {i}, Z at P"));
        // S: the transverse component (SH only in a layered medium) is quiet until the S pick.
        let (sb, cb) = (az[i] + 180.0).to_radians().sin_cos();
        let tr: Vec<f64> = n.iter().zip(e).map(|(n, e)| n * sb - e * cb).collect();
        arrives_at(&tr, t.s_sample, &format!("trace {i}, T at S"));
        assert!(t.s_sample > t.p_sample + 50.0, "{t:?}");
    }

    // Coloured noise at a drawn SNR: measured on the trace (noise before P, signal after).
    let text = pipeline(
        "inputs = { bank = \"bank\" }\ncount = 12\nsamples = 1000\np_at_s = 2.0\nsnr_db = [0.0, 30.0]\n",
    );
    let p = env.write("noisy.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let f = env.entry(&p, "synth");
    let noisy = waveform_set::read(&f, "synth").unwrap();
    let snr = floats(&f, "snr_db");
    for (i, t) in noisy.traces.iter().enumerate() {
        let x = noisy.trace(i);
        let rms = |lo: usize, hi: usize| {
            let s: f64 = (0..3)
                .flat_map(|c| x[c * 1000 + lo..c * 1000 + hi].iter())
                .map(|v| f64::from(*v).powi(2))
                .sum();
            s / (3 * (hi - lo)) as f64
        };
        // Before P the trace is noise alone; after it signal plus independent noise.
        let p0 = t.p_sample.round() as usize;
        let (noise, both) = (rms(0, 190), rms(p0, p0 + 200));
        let measured = 10.0 * ((both - noise).max(1e-30) / noise).log10();
        assert!(
            (measured - snr[i]).abs() < 2.5,
            "trace {i}: SNR drawn {} dB, measured {measured} dB",
            snr[i]
        );
    }

    // Determinism: the same entry recomputed on one thread in another cache is bit-identical.
    let other = env.path().join("cache2");
    copy_dir(&env.cache(), &other);
    let key_file = env.entry_path(&p, "synth");
    let rel = key_file.strip_prefix(env.cache()).unwrap();
    std::fs::remove_file(other.join(rel)).unwrap();
    std::fs::remove_file(other.join(rel).with_extension("json")).unwrap();
    let r = env
        .cmd(&[
            "run",
            p.to_str().unwrap(),
            "--quiet",
            "-j",
            "1",
            "--cache",
            other.to_str().unwrap(),
        ])
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap();
    assert!(r.status.success(), "{r:?}");
    let again = waveform_set::read(&hdf5::File::open(other.join(rel)).unwrap(), "synth").unwrap();
    let bits = |s: &WaveformSet| s.waveforms.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&again), bits(&noisy));

    // Real noise from PhaseNet's pre-P samples.
    let text = pipeline(
        "inputs = { bank = \"bank\", noise = \"real\" }\ncount = 4\nsamples = 1000\np_at_s = 2.0\n",
    );
    let p = env.write("real.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap(), "--quiet"]);
    assert_eq!(r.code, 0, "{r:?}");
    let real = waveform_set::read(&env.entry(&p, "synth"), "synth").unwrap();
    assert!(real.waveforms.iter().all(|v| v.is_finite()));
    assert_ne!(bits(&real)[..190], bits(&noisy)[..190]);

    // Traces that do not fit in the bank after P: a located error.
    let text = pipeline("inputs = { bank = \"bank\" }\ncount = 4\nsamples = 2000\np_at_s = 2.0\n");
    let p = env.write("long.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("need 1800 samples after P; the bank's traces have 974")
            && r.stderr.contains("long.toml:"),
        "{}",
        r.stderr
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[test]
fn on_demand_sets_equal_stored_ones_bit_for_bit_and_train_a_picker_batch_by_batch() {
    let env = Env::new();
    let common = "count = 16\nsamples = 1000\np_at_s = 2.0\nbandpass_hz = [1.0, 45.0]\n";
    let text = format!(
        "{}\n[stage.stored]\nkind = \"synth.picks\"\ninputs = {{ bank = \"bank\", noise = \"real\" }}\n{common}materialize = true\n\n\
         [stage.raw]\nkind = \"synth.picks\"\ninputs = {{ bank = \"bank\", noise = \"real\" }}\ncount = 16\nsamples = 1000\np_at_s = 2.0\nmaterialize = true\n\n\
         [stage.filtered]\nkind = \"filter\"\ninput = \"raw\"\ntype = \"bandpass\"\ncorners_hz = [1.0, 45.0]\n\n\
         [stage.split]\nkind = \"split.waveforms\"\ninput = \"synth\"\nby = \"random\"\nfractions = [0.75, 0.25]\n\n\
         [stage.many]\nkind = \"synth.picks\"\ninputs = {{ bank = \"bank\", noise = \"real\" }}\ncount = 1600\nsamples = 1000\np_at_s = 2.0\nbandpass_hz = [1.0, 45.0]\n\n\
         [stage.train]\nkind = \"train\"\nmodel = \"phasenet\"\ninput = \"split\"\nwindow = 400\nbatch = 4\nepochs = 1\n",
        pipeline(&format!(
            "inputs = {{ bank = \"bank\", noise = \"real\" }}\n{common}"
        ))
    );
    let p = env.write("od.toml", &text);
    let r = env.run(&["run", p.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    let read = |stage: &str| waveform_set::read(&env.entry(&p, stage), stage).unwrap();
    let bits = |s: &WaveformSet| s.waveforms.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    let (on_demand, stored) = (read("synth"), read("stored"));
    assert_eq!(on_demand.len(), 16);
    assert_eq!(bits(&on_demand), bits(&stored));
    assert_eq!(on_demand.traces, stored.traces);
    // `bandpass_hz` is the `filter` stage's band-pass, sample for sample.
    assert_eq!(bits(&on_demand), bits(&read("filtered")));
    // The on-demand entry holds the recipe, not the traces; split.waveforms keeps it so.
    for stage in ["synth", "split"] {
        let f = env.entry(&p, stage);
        assert!(
            f.link_exists("recipe") && !f.link_exists("waveforms"),
            "{stage}"
        );
    }
    let split = read("split");
    assert_eq!(bits(&split), bits(&on_demand));
    let count = |s: &str| split.traces.iter().filter(|t| t.split == s).count();
    assert_eq!((count("train"), count("dev")), (12, 4));
    // The entry does not grow with the traces' samples: 1,600 more traces add their columns
    // (about 130 bytes each), not 12,000 bytes of float32 samples each.
    let size = |stage: &str| std::fs::metadata(env.entry_path(&p, stage)).unwrap().len();
    let per_trace = (size("many") - size("synth")) as f64 / 1584.0;
    assert!(
        per_trace < 400.0,
        "an on-demand trace costs {per_trace} bytes"
    );
    // The picker trained from the on-demand set (generated batch by batch).
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("ran") && l.contains(" train ")),
        "{r:?}"
    );
}
