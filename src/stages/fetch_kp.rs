//! `fetch.kp` — the planetary 3-hour Kp index.
//!
//! # Purpose
//! Petrescu & Moldovan (2022, §2) build the non-earthquake class from windows "not contaminated by
//! solar storm signals \[35\]"; the labelling stage screens windows by Kp. Reads CelesTrak space
//! weather files or GFZ `Kp_ap_Ap_SN_F107` files ([`crate::io::kp`]).
//!
//! # Inputs
//! None.
//!
//! # Outputs
//! `time` (start of each 3-hour interval) and `kp` (thirds decoded; NaN = missing), merged over
//! files in time order; attribute `interval_s` = 10800.
//!
//! # Parameters
//! `paths` / `urls` + `blake3` as every fetch kind; `format` = `auto` | `celestrak` | `gfz`.
//!
//! # Cache key
//! The files' content digests.
//!
//! # References
//! Matzka et al. (2021), The geomagnetic Kp index and derived indices of geomagnetic activity,
//! Space Weather 19, e2020SW002641; CelesTrak SW format documentation.

use crate::data;
use crate::h5;
use crate::io::kp;
use crate::params::ParamError;
use crate::stage::{ContentDigest, Outputs, PlanCtx, RunCtx, StageInfo, StageKind};

pub struct FetchKp;

crate::source_params! {
    /// Parameters of this stage kind (see the module docs).
    pub struct FetchKpParams {
        /// Kp file format; auto sniffs each file
        format: String = Choice(kp::Format::NAMES), Default("\"auto\"");
    }
}

impl StageKind for FetchKp {
    type Params = FetchKpParams;
    const INFO: StageInfo = StageInfo {
        kind: "fetch.kp",
        version: 1,
        changelog: &["first version"],
        summary: "read the 3-hourly Kp index (CelesTrak SW or GFZ Kp_ap_Ap_SN_F107 files)",
        inputs: &[],
        outputs: Outputs::Root(data::KP),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &FetchKpParams) -> Result<(), ParamError> {
        p.sources().check()
    }
    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &FetchKpParams,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        p.sources().digests(ctx)
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: FetchKpParams) -> anyhow::Result<()> {
        let format = kp::Format::from_name(&p.format);
        let mut parts = Vec::new();
        for (label, bytes) in p.sources().read_all(ctx)? {
            let text =
                String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{label}: not UTF-8 text"))?;
            let series = kp::parse(&label, &text, format)?;
            parts.push((label, series));
        }
        let series = kp::merge(parts).map_err(|e| anyhow::anyhow!(e))?;
        kp::write_h5(ctx.output, &series)?;
        let missing = series.iter().filter(|(_, k)| k.is_nan()).count() as u64;
        h5::write_attr(ctx.output, "missing_values", missing)?;
        Ok(())
    }
}
