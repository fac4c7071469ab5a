//! `fetch.iaga2002` — observatory magnetometer data from IAGA-2002 files.
//!
//! # Purpose
//! Reads 1-second, 1-minute, hourly or daily IAGA-2002 files (INTERMAGNET's exchange format) from
//! local globs or pinned HTTP(S) URLs and concatenates them in time order into one series.
//!
//! # Inputs
//! None.
//!
//! # Outputs
//! A time series ([`crate::series`] layout): elements as channels (`H,D,Z,F`, `X,Y,Z,F`, …), D and I
//! in degrees, nT otherwise, missing values NaN; attributes `files` (names, in time order),
//! `data_type` and `reported` from the first header.
//!
//! # Parameters
//! `paths` (globs relative to the pipeline file) or `urls` with `blake3` pins, one per URL.
//!
//! # Cache key
//! The sorted BLAKE3 digests of the files' bytes; never their paths or URLs.
//!
//! # References
//! IAGA-2002 format: <https://www.ngdc.noaa.gov/IAGA/vdat/IAGA2002/iaga2002format.html>.

use crate::data;
use crate::h5;
use crate::io::iaga2002;
use crate::io::sources;
use crate::params::ParamError;
use crate::stage::{ContentDigest, Outputs, PlanCtx, RunCtx, StageInfo, StageKind};

pub struct FetchIaga2002;

crate::source_params! {
    /// Parameters of this stage kind: only where the files are.
    pub struct FetchIaga2002Params {}
}

impl StageKind for FetchIaga2002 {
    type Params = FetchIaga2002Params;
    const INFO: StageInfo = StageInfo {
        kind: "fetch.iaga2002",
        version: 1,
        changelog: &["first version"],
        summary: "read IAGA-2002 geomagnetic observatory files (local globs or pinned URLs)",
        inputs: &[],
        outputs: Outputs::Root(data::TIME_SERIES),
        metrics: &[],
        stochastic: false,
    };

    fn check(&self, p: &FetchIaga2002Params) -> Result<(), ParamError> {
        p.sources().check()
    }

    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &FetchIaga2002Params,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        p.sources().digests(ctx)
    }

    fn run(&self, ctx: &mut RunCtx<'_>, p: FetchIaga2002Params) -> anyhow::Result<()> {
        let mut files = Vec::new();
        for (label, bytes) in p.sources().read_all(ctx)? {
            files.push(iaga2002::parse_bytes(&label, &bytes)?);
        }
        // Time order, as `concatenate` uses: the earliest file's header describes the series.
        files.sort_by_key(|f| f.times_ns[0]);
        let names: Vec<String> = files.iter().map(|f| sources::file_name(&f.name)).collect();
        let header = files.first().map(|f| f.header.clone()).unwrap_or_default();
        let series = iaga2002::concatenate(files)?;
        series.write_h5(ctx.output)?;
        h5::write_str_attr(ctx.output, "files", &names.join(","))?;
        h5::write_str_attr(ctx.output, "data_type", &header.data_type)?;
        h5::write_str_attr(ctx.output, "reported", &header.reported)?;
        Ok(())
    }
}
