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

use super::sources;
use crate::io::{h5, iaga2002};
use crate::params::{ParamError, ParamSpec, Params};
use crate::stage::{ContentDigest, InputSpec, PlanCtx, RunCtx, Stage};

pub struct FetchIaga2002;

static PARAMS: &[ParamSpec] = &[sources::PATHS, sources::URLS, sources::BLAKE3];

impl Stage for FetchIaga2002 {
    fn kind(&self) -> &'static str {
        "fetch.iaga2002"
    }
    fn version(&self) -> u32 {
        1
    }
    fn summary(&self) -> &'static str {
        "read IAGA-2002 geomagnetic observatory files (local globs or pinned URLs)"
    }
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn inputs(&self) -> &'static [InputSpec] {
        &[]
    }

    fn check(&self, p: &Params) -> Result<(), ParamError> {
        sources::check(p)
    }

    fn content_digests(
        &self,
        ctx: &PlanCtx<'_>,
        p: &Params,
    ) -> Result<Vec<ContentDigest>, ParamError> {
        sources::digests(ctx, p)
    }

    fn run(&self, ctx: &mut RunCtx<'_>) -> anyhow::Result<()> {
        let mut files = Vec::new();
        for (label, bytes) in sources::read_all(ctx)? {
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
