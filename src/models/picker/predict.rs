//! `quakeline predict` for a picker: the input files (recognised by content through
//! [`crate::io::waveforms`]), one trace at a time, slid through the picker and merged
//! ([`crate::labeling::continuous`]), picks printed.

use super::{PickerModel, load, stored};
use crate::nn::picker;
use crate::nn::{self};

/// One 3-C trace read for `quakeline predict`.
struct InputTrace {
    name: String,
    /// `[3, n]`, Z, N, E.
    data: Vec<f32>,
    n: usize,
    rate_hz: f64,
    /// Start time (ns since 1970 UTC) when the format has one.
    start_ns: Option<i64>,
}

/// The traces of `quakeline predict`'s input files, handed to `each` one at a time: PhaseNet
/// `.npz` files (one trace each), miniSEED files (every station trace in them, decoded one
/// station at a time, so a day-long network needs the memory of one station-day), or the SAC
/// files of one station's components.
fn read_inputs(
    paths: &[std::path::PathBuf],
    each: &mut dyn FnMut(InputTrace) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    use crate::io::waveforms::{self, Format, mseed, npz, sac};
    let mut mseed_files = Vec::new();
    let mut sacs = Vec::new();
    for p in paths {
        let label = p.display().to_string();
        // By content, through the format registry: an unrecognised file is an error naming the
        // formats tried, never read as miniSEED on the off chance.
        let bytes = std::fs::read(p).map_err(|e| anyhow::anyhow!("{label}: {e}"))?;
        match waveforms::sniff(&label, &bytes)? {
            Format::Npz => {
                let t = npz::parse(&label, &bytes)?;
                each(InputTrace {
                    name: t.trace.name.clone(),
                    n: t.data.len() / 3,
                    data: t.data,
                    rate_hz: t.sampling_rate_hz,
                    start_ns: None,
                })?;
            }
            Format::Sac => sacs.push((label.clone(), sac::from_bytes(&label, &bytes)?)),
            Format::Mseed => mseed_files.push((label, bytes)),
            Format::Seisbench => anyhow::bail!(
                "{label}: part of a SeisBench set; predict reads continuous data (miniSEED, SAC) and npz traces: read a SeisBench set with fetch.waveforms and evaluate it with evaluate.picks"
            ),
        }
    }
    if !mseed_files.is_empty() {
        let one = crate::signal::resample::Ratio::new(1, 1);
        let (stations, dropped) =
            mseed::stations(&mseed_files, 60_000_000_000, mseed::Damaged::Tail)?;
        for d in dropped {
            eprintln!("warning: {d}");
        }
        for st in stations {
            each(InputTrace {
                name: st.name.clone(),
                data: st.rows(&mseed_files, one, st.samples)?,
                n: st.samples,
                rate_hz: st.rate_hz,
                start_ns: Some(st.start_ns),
            })?;
        }
    }
    if !sacs.is_empty() {
        let mut rows: [Option<&Vec<f32>>; 3] = [None; 3];
        let delta = sacs[0].1.delta;
        for (label, t) in &sacs {
            let row = match t.kcmpnm.trim().chars().last() {
                Some('Z') => 0,
                Some('N' | '1') => 1,
                Some('E' | '2') => 2,
                _ => anyhow::bail!(
                    "{label}: component `{}` is not Z, N/1 or E/2",
                    t.kcmpnm.trim()
                ),
            };
            anyhow::ensure!(
                rows[row].is_none(),
                "{label}: a second SAC file of component {}",
                ["Z", "N", "E"][row]
            );
            anyhow::ensure!(
                (t.delta - delta).abs() <= 1e-9 * delta,
                "{label}: delta {} differs from {}'s {delta}",
                t.delta,
                sacs[0].0
            );
            rows[row] = Some(&t.data);
        }
        let n = rows.iter().flatten().map(|r| r.len()).min().unwrap_or(0);
        let mut data = vec![0f32; 3 * n];
        for (c, r) in rows.iter().enumerate() {
            if let Some(r) = r {
                data[c * n..(c + 1) * n].copy_from_slice(&r[..n]);
            }
        }
        let t = &sacs[0].1;
        each(InputTrace {
            name: format!("{}.{}", t.knetwk.trim(), t.kstnm.trim()),
            data,
            n,
            rate_hz: 1.0 / delta,
            start_ns: None,
        })?;
    }
    Ok(())
}

/// `quakeline predict` for a picker: each input trace annotated whole (windows every
/// `stride_s`, 1 s by default, outputs median-merged, Hong et al. 2023), streamed into the pick
/// detector (picks at 0.3 at least 0.5 s apart), with the time the annotation took (median of
/// `repeat` runs after a warm-up).
pub fn predict_files<M: PickerModel>(
    a: &crate::models::PredictArgs<'_>,
) -> anyhow::Result<Vec<String>> {
    use crate::data::waveform_set::span;
    use crate::labeling::continuous::{Merge, Slide, detect_stream};
    use crate::labeling::picks;
    let device = nn::device();
    let model = load::<M>(a.entry, "the entry", &device)?;
    let c = stored(a.entry, "the entry")?;
    let slide = Slide {
        window: c.window,
        stride: (a.stride_s * c.sampling_rate_hz).round().max(1.0) as usize,
        merge: Merge::Median,
        batch: 32,
    };
    let min_distance = (0.5 * c.sampling_rate_hz).round() as usize;
    let mut lines = Vec::new();
    let mut traces = 0;
    read_inputs(a.inputs, &mut |t| {
        traces += 1;
        anyhow::ensure!(
            (t.rate_hz - c.sampling_rate_hz).abs() <= 1e-9 * c.sampling_rate_hz,
            "{}: {} Hz; the picker was trained at {} Hz (resample the data first)",
            t.name,
            t.rate_hz,
            c.sampling_rate_hz
        );
        let n = t.n;
        let run = || -> anyhow::Result<[Vec<Vec<picks::Pick>>; 2]> {
            detect_stream(
                n,
                &slide,
                &mut |s, e| Ok(span(&t.data, n, s, e)),
                &mut |x| Ok(picker::predict(&model, x, c.window, 32, &device)),
                &[0.3],
                min_distance,
            )
        };
        let [p_picks, s_picks] = run()
            .map_err(|e| anyhow::anyhow!("{}: {e}", t.name))?
            .map(|mut at| at.pop().unwrap_or_default());
        let mut times: Vec<f64> = (0..a.repeat.max(1))
            .map(|_| {
                let t0 = std::time::Instant::now();
                let _ = run();
                t0.elapsed().as_secs_f64()
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let took = times[times.len() / 2];
        let dt = 1.0 / t.rate_hz;
        let mut found: Vec<(usize, &str, f32)> = p_picks
            .iter()
            .map(|p| (p.sample, "P", p.probability))
            .chain(s_picks.iter().map(|p| (p.sample, "S", p.probability)))
            .collect();
        found.sort_by_key(|f| f.0);
        for (sample, phase, prob) in found {
            let secs = sample as f64 * dt;
            let at = match t.start_ns {
                Some(s) => crate::time::format_rfc3339(s + (secs * 1e9).round() as i64),
                None => format!("{secs:.2} s after the trace start"),
            };
            lines.push(format!("{}  {phase}  {at}  probability {prob:.3}", t.name));
        }
        lines.push(format!(
            "{}: {:.1} s of 3-C data annotated in {:.3} s ({:.0}x real time, {:.3} h of data per s; windows of {} every {} s, median-merged; median of {} runs)",
            t.name,
            n as f64 * dt,
            took,
            n as f64 * dt / took.max(1e-9),
            n as f64 * dt / 3600.0 / took.max(1e-9),
            c.window,
            slide.stride as f64 * dt,
            times.len()
        ));
        Ok(())
    })?;
    anyhow::ensure!(traces > 0, "no 3-C trace in the input files");
    Ok(lines)
}
