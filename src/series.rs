//! Regularly sampled multi-channel time series and their HDF5 layout.
//!
//! HDF5 layout (at the root of a stage's entry), readable with h5py/h5dump without quakeline:
//!
//! | object                 | type                    | meaning                                         |
//! |------------------------|-------------------------|-------------------------------------------------|
//! | `time`                 | int64 `[n]`             | ns since 1970-01-01T00:00:00Z (UTC)             |
//! | `data`                 | float64 `[n, channels]` | samples; NaN = missing                          |
//! | attr `channels`        | string                  | comma-separated channel names, e.g. `X,Y,Z,F`   |
//! | attr `sampling_interval_s` | float64             | sample spacing                                  |
//! | attr `station`         | string                  | station code (IAGA code for observatories)      |
//! | attr `station_name`    | string                  |                                                 |
//! | attr `latitude_deg`, `longitude_deg`, `elevation_m` | float64 | geodetic; longitude in [-180, 180) |
//! | attr `units`           | string                  | comma-separated units per channel               |
//!
//! Samples lie on the grid `start + i * interval`; missing rows are NaN rows, so positions and
//! times never disagree.

use crate::h5;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Station {
    pub code: String,
    pub name: String,
    pub latitude_deg: f64,
    pub longitude_deg: f64,
    pub elevation_m: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TimeSeries {
    pub start_ns: i64,
    pub interval_ns: i64,
    pub channels: Vec<String>,
    pub units: Vec<String>,
    /// Row-major `[n, channels]`.
    pub data: Vec<f64>,
    pub station: Station,
}

impl TimeSeries {
    pub fn len(&self) -> usize {
        if self.channels.is_empty() {
            0
        } else {
            self.data.len() / self.channels.len()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn interval_s(&self) -> f64 {
        self.interval_ns as f64 / 1e9
    }

    pub fn time_ns(&self, i: usize) -> i64 {
        self.start_ns + i as i64 * self.interval_ns
    }

    /// A copy of channel `c`.
    pub fn column(&self, c: usize) -> Vec<f64> {
        let nc = self.channels.len();
        self.data.iter().skip(c).step_by(nc).copied().collect()
    }

    pub fn set_column(&mut self, c: usize, values: &[f64]) {
        let nc = self.channels.len();
        for (dst, v) in self.data.iter_mut().skip(c).step_by(nc).zip(values) {
            *dst = *v;
        }
    }

    pub fn write_h5(&self, g: &hdf5::Group) -> hdf5::Result<()> {
        let n = self.len();
        let times: Vec<i64> = (0..n).map(|i| self.time_ns(i)).collect();
        h5::write_array(g, "time", &[n], &times)?;
        h5::write_array(g, "data", &[n, self.channels.len()], &self.data)?;
        h5::write_str_attr(g, "channels", &self.channels.join(","))?;
        h5::write_str_attr(g, "units", &self.units.join(","))?;
        h5::write_attr(g, "sampling_interval_s", self.interval_s())?;
        h5::write_str_attr(g, "station", &self.station.code)?;
        h5::write_str_attr(g, "station_name", &self.station.name)?;
        h5::write_attr(g, "latitude_deg", self.station.latitude_deg)?;
        h5::write_attr(g, "longitude_deg", self.station.longitude_deg)?;
        h5::write_attr(g, "elevation_m", self.station.elevation_m)?;
        Ok(())
    }

    /// Reads input `name` of a running stage as a time series, naming the stage if it is not one.
    pub fn from_input(ctx: &crate::stage::RunCtx<'_>, name: &str) -> anyhow::Result<TimeSeries> {
        TimeSeries::read_h5(ctx.input(name)?).map_err(|e| {
            anyhow::anyhow!(
                "input of stage `{}` is not a time series: {e}",
                ctx.stage_id
            )
        })
    }

    pub fn read_h5(g: &hdf5::Group) -> anyhow::Result<TimeSeries> {
        let channels: Vec<String> = h5::read_str_attr(g, "channels")?
            .split(',')
            .map(str::to_string)
            .collect();
        let units: Vec<String> = h5::read_str_attr(g, "units")?
            .split(',')
            .map(str::to_string)
            .collect();
        let (time, _) = h5::read_array::<i64>(g, "time")?;
        let (data, shape) = h5::read_array::<f64>(g, "data")?;
        if shape.len() != 2 || shape[1] != channels.len() || shape[0] != time.len() {
            anyhow::bail!(
                "time series has data {shape:?}, {} times and {} channels",
                time.len(),
                channels.len()
            );
        }
        let interval_s: f64 = h5::read_attr(g, "sampling_interval_s")?;
        let interval_ns = (interval_s * 1e9).round() as i64;
        let start_ns = time.first().copied().unwrap_or(0);
        if !(interval_s.is_finite() && interval_ns > 0)
            || time
                .iter()
                .enumerate()
                .any(|(i, &t)| crate::time::step(start_ns, i as i64, interval_ns) != Ok(t))
        {
            anyhow::bail!("time series is not on a regular {interval_s} s grid");
        }
        Ok(TimeSeries {
            start_ns,
            interval_ns,
            channels,
            units,
            data,
            station: Station {
                code: h5::read_str_attr(g, "station")?,
                name: h5::read_str_attr(g, "station_name")?,
                latitude_deg: h5::read_attr(g, "latitude_deg")?,
                longitude_deg: h5::read_attr(g, "longitude_deg")?,
                elevation_m: h5::read_attr(g, "elevation_m")?,
            },
        })
    }
}
