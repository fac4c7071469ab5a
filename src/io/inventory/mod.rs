//! Station metadata: where each channel is, how it is oriented and how many counts a unit of
//! ground motion gives, epoch by epoch (a sensor swapped in 2019 is two epochs of one channel).
//! One registry, as [`crate::io::waveforms`] and [`crate::io::picks`]: each format has an
//! `is_…` test on a file's first bytes and a reader into an [`Inventory`].
//!
//! | format       | module         | what it holds |
//! |--------------|----------------|---------------|
//! | `stationxml` | [`stationxml`] | FDSN StationXML 1.x (what every FDSN station service and SeisComP write) |

pub mod stationxml;

crate::choice! {
    /// A station-metadata format (see the module docs).
    pub enum Format {
        Stationxml = "stationxml",
    }
}

impl Format {
    /// Whether `head`, the first bytes of a file, are of this format.
    pub fn is(self, head: &[u8]) -> bool {
        match self {
            Format::Stationxml => stationxml::is_stationxml(head),
        }
    }

    /// Reads a whole file (`label` names it in errors, with line and field).
    pub fn read(self, label: &str, bytes: &[u8]) -> anyhow::Result<Inventory> {
        match self {
            Format::Stationxml => stationxml::read(label, bytes),
        }
    }
}

/// The station-metadata format of a file from its first bytes, if any.
pub fn sniff(head: &[u8]) -> Option<Format> {
    Format::ALL.iter().copied().find(|f| f.is(head))
}

/// The overall sensitivity of a channel's response (StationXML `InstrumentSensitivity`): counts
/// per input unit at `frequency_hz`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sensitivity {
    pub value: f64,
    pub frequency_hz: f64,
    /// `M/S`, `M/S**2`, `PA`, …, as the file spells it.
    pub input_units: String,
    pub output_units: String,
}

/// One epoch of one channel.
#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    pub network: String,
    pub station: String,
    pub location: String,
    /// `HHZ`.
    pub code: String,
    /// Start of the epoch (ns since 1970 UTC).
    pub start_ns: i64,
    /// End of the epoch; `None`: open.
    pub end_ns: Option<i64>,
    /// Degrees (WGS84), metres above sea level and below the surface.
    pub latitude: f64,
    pub longitude: f64,
    pub elevation_m: f64,
    pub depth_m: f64,
    /// Degrees clockwise from north; `None` where the file does not say.
    pub azimuth_deg: Option<f64>,
    /// Degrees down from horizontal (−90: up).
    pub dip_deg: Option<f64>,
    pub sample_rate_hz: Option<f64>,
    pub sensitivity: Option<Sensitivity>,
    /// 1-based line of the `<Channel>` element, for messages.
    pub line: u64,
}

impl Channel {
    /// `NET.STA.LOC.CHA`.
    pub fn id(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.network, self.station, self.location, self.code
        )
    }

    /// Whether the epoch covers `time_ns`.
    pub fn covers(&self, time_ns: i64) -> bool {
        self.start_ns <= time_ns && self.end_ns.is_none_or(|e| time_ns < e)
    }
}

/// The channel epochs of one or more metadata files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Inventory {
    pub channels: Vec<Channel>,
}

impl Inventory {
    /// The epoch of channel `NET.STA.LOC.CHA` (`id`) in force at `time_ns`.
    pub fn channel_at(&self, id: &str, time_ns: i64) -> Option<&Channel> {
        self.channels
            .iter()
            .find(|c| c.covers(time_ns) && c.id() == id)
    }

    /// The channel epochs of station trace `NET.STA.LOC.BI` (`trace`: every component of the
    /// band and instrument) in force at `time_ns`.
    pub fn components_at(&self, trace: &str, time_ns: i64) -> Vec<&Channel> {
        self.channels
            .iter()
            .filter(|c| c.covers(time_ns))
            .filter(|c| {
                let id = c.id();
                id.len() == trace.len() + 1 && id.starts_with(trace)
            })
            .collect()
    }

    /// Adds the epochs of `other`; two epochs of one channel that overlap in time are an error
    /// naming both (which sensor recorded the overlap cannot be told). Each new epoch is checked
    /// against the epochs of its own channel only, so a network's thousands of epochs merge in
    /// linear time.
    pub fn merge(&mut self, label: &str, other: Inventory) -> anyhow::Result<()> {
        type Codes = (String, String, String, String);
        let codes = |c: &Channel| -> Codes {
            (
                c.network.clone(),
                c.station.clone(),
                c.location.clone(),
                c.code.clone(),
            )
        };
        let mut of_channel: std::collections::HashMap<Codes, Vec<usize>> = Default::default();
        for (i, c) in self.channels.iter().enumerate() {
            of_channel.entry(codes(c)).or_default().push(i);
        }
        for c in other.channels {
            let epochs = of_channel.entry(codes(&c)).or_default();
            if let Some(o) = epochs.iter().map(|&i| &self.channels[i]).find(|o| {
                o.start_ns < c.end_ns.unwrap_or(i64::MAX)
                    && c.start_ns < o.end_ns.unwrap_or(i64::MAX)
            }) {
                anyhow::bail!(
                    "{label}: line {}: channel {} has an epoch from {} that overlaps the one from {} (line {}): a channel has one epoch at a time",
                    c.line,
                    c.id(),
                    crate::time::format_rfc3339(c.start_ns),
                    crate::time::format_rfc3339(o.start_ns),
                    o.line
                );
            }
            epochs.push(self.channels.len());
            self.channels.push(c);
        }
        Ok(())
    }
}
