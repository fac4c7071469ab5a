//! PNG line charts for people: training histories, learning curves, optimizer comparisons.
//!
//! One chart shape serves all three (panels of x–y series, optional log axes), drawn with
//! `plotters` into an RGB buffer and encoded with the `png` crate. Text uses a DejaVu Sans subset embedded in the
//! binary (`assets/fonts/`), so plotting needs no fontconfig and looks the same everywhere.

use std::sync::Once;

use plotters::prelude::*;

static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-subset.ttf");

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a compile-time constant; a failure here is a build defect.
        let parsed = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        assert!(parsed.is_ok(), "the embedded font does not parse");
    });
}

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Mark {
    Line,
    Points,
    LinePoints,
    Dashed,
    /// Vertical error bars: points come in pairs `(x, low), (x, high)`; no legend entry.
    ErrorBars,
    /// A histogram: one bar per point, centred on x, as wide as the spacing of the points
    /// (several bar series of a panel share each bin side by side).
    Bars,
}

pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
    pub mark: Mark,
}

pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub log_x: bool,
    /// Names of x = 0, 1, 2, … for a categorical axis (optimizers); empty for a numeric one.
    pub x_categories: Vec<String>,
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// Tick labels of one axis spanning `lo..hi` with at most `labels` ticks, all in one format
/// (never `1.0e-4` beside `0.001`, nor `0.9` beside `0.88`): scientific when the axis is below
/// 1e-3 or reaches 1e6 in magnitude, otherwise the decimals of the tick step plotters takes
/// (1, 2 or 5 × 10^k, the smallest that gives at most `labels` ticks); a value within a
/// billionth of the span of zero is `0` (never `-5.6e-17`).
fn axis_format(lo: f64, hi: f64, labels: usize) -> impl Fn(f64) -> String {
    let span = (hi - lo).abs().max(f64::MIN_POSITIVE);
    let top = lo.abs().max(hi.abs());
    let scientific = !(1e-3..1e6).contains(&top);
    let wanted = span / labels.max(1) as f64;
    let decade = 10f64.powf(wanted.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|s| *s >= wanted * (1.0 - 1e-12))
        .unwrap_or(10.0 * decade);
    let decimals = (-step.log10().floor()).clamp(0.0, 9.0) as usize;
    move |v: f64| {
        if v.abs() <= span * 1e-9 {
            return "0".into();
        }
        if scientific {
            format!("{v:.1e}")
        } else {
            format!("{v:.decimals$}")
        }
    }
}

/// Whether every x of the panel is a whole number (epochs, sample counts): such an axis gets
/// whole-number ticks only.
fn integer_x(p: &Panel) -> bool {
    let mut any = false;
    for s in &p.series {
        for q in s.points.iter().filter(|q| q.0.is_finite()) {
            any = true;
            if q.0.fract() != 0.0 {
                return false;
            }
        }
    }
    any
}

/// Pixels of one panel, its margin, the areas of the axis labels and the caption's height
/// (an 18-px title): what [`png`] draws and [`legend_extent`] measures against.
const PANEL_WIDTH: u32 = 620;
const PANEL_HEIGHT: u32 = 440;
const MARGIN: u32 = 12;
const X_LABEL_AREA: u32 = 42;
const Y_LABEL_AREA: u32 = 62;
const CAPTION: u32 = 28;

/// The legend's size as a fraction of the plot area (width, height): 7 px per character of the
/// longest label plus the sample line, 18 px per row.
fn legend_extent(p: &Panel) -> (f64, f64) {
    let longest = p
        .series
        .iter()
        .map(|s| s.label.chars().count())
        .max()
        .unwrap_or(0);
    let rows = p
        .series
        .iter()
        .filter(|s| s.mark != Mark::ErrorBars)
        .count();
    // The plot area of one panel: the panel less its margins, label areas and caption.
    let w = f64::from(PANEL_WIDTH - 2 * MARGIN - Y_LABEL_AREA);
    let h = f64::from(PANEL_HEIGHT - 2 * MARGIN - X_LABEL_AREA - CAPTION);
    (
        ((longest as f64 * 7.0 + 44.0) / w).min(1.0),
        ((rows as f64 * 18.0 + 12.0) / h).min(1.0),
    )
}

/// Where the legend goes: the corner of the plot area whose legend-sized box holds no data
/// (points, and lines sampled along their segments), preferring upper right; when every corner
/// holds some, the upper left above the data, with the y axis raised to make that band empty
/// (the second value: how far to raise the top, as a fraction of the span).
fn legend_place(
    p: &Panel,
    x: (f64, f64),
    y: (f64, f64),
    log_x: bool,
) -> (SeriesLabelPosition, f64) {
    let fx = |v: f64| {
        if log_x {
            (v.max(f64::MIN_POSITIVE).ln() - x.0.ln()) / (x.1.ln() - x.0.ln())
        } else {
            (v - x.0) / (x.1 - x.0)
        }
    };
    let fy = |v: f64| (v - y.0) / (y.1 - y.0);
    // Every point, and 16 samples along each segment of a drawn line.
    let mut at: Vec<(f64, f64)> = Vec::new();
    for s in &p.series {
        let pts: Vec<(f64, f64)> = s
            .points
            .iter()
            .filter(|q| q.0.is_finite() && q.1.is_finite())
            .map(|q| (fx(q.0), fy(q.1)))
            .collect();
        at.extend(&pts);
        if matches!(s.mark, Mark::Line | Mark::LinePoints | Mark::Dashed) {
            for w in pts.windows(2) {
                at.extend((1..16).map(|k| {
                    let t = k as f64 / 16.0;
                    (
                        w[0].0 + t * (w[1].0 - w[0].0),
                        w[0].1 + t * (w[1].1 - w[0].1),
                    )
                }));
            }
        }
        if s.mark == Mark::Bars {
            // A bar covers everything from 0 up to its top.
            for q in s.points.iter().filter(|q| q.1 > 0.0) {
                at.extend((0..8).map(|k| (fx(q.0), fy(q.1 * k as f64 / 7.0))));
            }
        }
    }
    let (w, h) = legend_extent(p);
    // A margin of 3 % around the box.
    let (w, h) = (w + 0.03, h + 0.03);
    let corners = [
        (SeriesLabelPosition::UpperRight, true, true),
        (SeriesLabelPosition::UpperLeft, false, true),
        (SeriesLabelPosition::LowerRight, true, false),
        (SeriesLabelPosition::LowerLeft, false, false),
    ];
    let inside = |right: bool, upper: bool, a: f64, b: f64| {
        (if right { a > 1.0 - w } else { a < w }) && (if upper { b > 1.0 - h } else { b < h })
    };
    for (pos, right, upper) in corners {
        if !at.iter().any(|&(a, b)| inside(right, upper, a, b)) {
            return (pos, 0.0);
        }
    }
    // Raise the top so the band of the legend's height above the data is empty.
    (SeriesLabelPosition::UpperLeft, h / (1.0 - h).max(0.2))
}

fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        return (lo / 1.2, hi * 1.2);
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad, hi + pad)
}

/// Draws panels side by side and returns the PNG file's bytes.
pub fn png(panels: &[Panel]) -> anyhow::Result<Vec<u8>> {
    register_font();
    let (w, h) = (PANEL_WIDTH * panels.len().max(1) as u32, PANEL_HEIGHT);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| anyhow::anyhow!("plot: {e:?}"))?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (panel, area) in panels.iter().zip(areas) {
            draw(panel, &area)?;
        }
        root.present().map_err(|e| anyhow::anyhow!("plot: {e:?}"))?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(out)
}

fn draw<DB: DrawingBackend>(
    p: &Panel,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> anyhow::Result<()>
where
    DB::ErrorType: 'static,
{
    let xs = || p.series.iter().flat_map(|s| s.points.iter().map(|q| q.0));
    let ys = || p.series.iter().flat_map(|s| s.points.iter().map(|q| q.1));
    let (x0, x1) = if p.x_categories.is_empty() {
        range(xs(), p.log_x)
    } else {
        (-0.5, p.x_categories.len() as f64 - 0.5)
    };
    let categories = &p.x_categories;
    let integer = categories.is_empty() && !p.log_x && integer_x(p);
    let x_labels = if p.log_x {
        4
    } else if integer {
        ((x1 - x0).floor() as usize + 1).clamp(2, 10)
    } else if categories.is_empty() {
        10
    } else {
        categories.len() * 2 + 1
    };
    let x_format = axis_format(x0, x1, x_labels);
    let x_tick = |v: &f64| -> String {
        if integer {
            // Whole numbers only: no `1.5` epochs.
            if (v - v.round()).abs() < 1e-6 {
                x_format(v.round())
            } else {
                String::new()
            }
        } else if categories.is_empty() {
            x_format(*v)
        } else if (v - v.round()).abs() < 1e-6 && v.round() >= 0.0 {
            categories
                .get(v.round() as usize)
                .cloned()
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let bars = p.series.iter().filter(|s| s.mark == Mark::Bars).count();
    // Bars stand on zero.
    let (y0, y1) = range(ys().chain((bars > 0).then_some(0.0)), false);
    let (y0, y1) = if bars > 0 {
        (y0.max(0.0), y1)
    } else {
        (y0, y1)
    };
    let (legend_at, raise) = legend_place(p, (x0, x1), (y0, y1), p.log_x);
    let y1 = y1 + raise * (y1 - y0);
    // plotters' default number of y labels.
    let y_format = axis_format(y0, y1, 10);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&p.title, ("sans-serif", 18))
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA);
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_labels(x_labels)
                .x_label_formatter(&|v| x_tick(v))
                .y_label_formatter(&|v| y_format(*v))
                .light_line_style(RGBColor(238, 238, 238))
                .x_desc(&p.x_label)
                .y_desc(&p.y_label)
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(err)?;
            for (k, s) in p.series.iter().enumerate() {
                // Error bars take the colour of the data series they follow.
                let data_before = p.series[..k]
                    .iter()
                    .filter(|s| s.mark != Mark::ErrorBars)
                    .count();
                let ci = if s.mark == Mark::ErrorBars {
                    data_before.saturating_sub(1)
                } else {
                    data_before
                };
                let color = PALETTE[ci % PALETTE.len()];
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|q| q.0.is_finite() && q.1.is_finite())
                    .collect();
                if s.mark == Mark::ErrorBars {
                    chart
                        .draw_series(
                            pts.chunks_exact(2)
                                .map(|q| PathElement::new(vec![q[0], q[1]], color.stroke_width(2))),
                        )
                        .map_err(err)?;
                    continue;
                }
                let anno = match s.mark {
                    Mark::ErrorBars => unreachable!("drawn above"),
                    Mark::Bars => {
                        // Bin width from the spacing of the points; bar series side by side.
                        let width = pts
                            .windows(2)
                            .map(|w| (w[1].0 - w[0].0).abs())
                            .filter(|d| *d > 0.0)
                            .fold(f64::INFINITY, f64::min);
                        let width = if width.is_finite() { width } else { 1.0 };
                        let nth = p.series[..k]
                            .iter()
                            .filter(|s| s.mark == Mark::Bars)
                            .count();
                        let each = 0.9 * width / bars as f64;
                        let left = -0.45 * width + nth as f64 * each;
                        chart
                            .draw_series(pts.iter().filter(|q| q.1 > 0.0).map(|&(x, y)| {
                                Rectangle::new(
                                    [(x + left, 0.0), (x + left + each, y)],
                                    color.filled(),
                                )
                            }))
                            .map_err(err)?
                    }
                    Mark::Points => chart
                        .draw_series(pts.iter().map(|&q| Circle::new(q, 4, color.filled())))
                        .map_err(err)?,
                    Mark::Dashed => chart
                        .draw_series(DashedLineSeries::new(
                            pts.clone(),
                            6,
                            4,
                            color.stroke_width(2),
                        ))
                        .map_err(err)?,
                    Mark::Line | Mark::LinePoints => {
                        if s.mark == Mark::LinePoints {
                            chart
                                .draw_series(pts.iter().map(|&q| Circle::new(q, 3, color.filled())))
                                .map_err(err)?;
                        }
                        chart
                            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                            .map_err(err)?
                    }
                };
                anno.label(s.label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .position(legend_at)
                .draw()
                .map_err(err)?;
        }};
    }
    if p.log_x {
        body!(
            builder
                .build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(err)?
        );
    } else {
        body!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_axis_has_one_number_format_and_zero_is_zero() {
        // A span of 1.5 in at most 10 ticks: steps of 0.2, one decimal for every tick.
        let f = axis_format(-0.5, 1.0, 10);
        assert_eq!(f(-5.6e-17), "0");
        assert_eq!(f(0.4), "0.4");
        assert_eq!(f(1.0), "1.0");
        // 0.87-0.99: steps of 0.02, two decimals (not `0.9` beside `0.88`).
        let f = axis_format(0.87, 0.99, 10);
        assert_eq!((f(0.88), f(0.9)), ("0.88".into(), "0.90".into()));
        let f = axis_format(0.0, 0.0005, 10);
        assert_eq!(f(0.0001), "1.0e-4");
        assert_eq!(f(0.0), "0");
        let f = axis_format(0.0, 50.0, 10);
        assert_eq!(f(10.0), "10");
    }

    #[test]
    fn the_legend_goes_where_the_data_is_not() {
        // A falling loss curve fills the upper left and lower right: the legend goes elsewhere.
        let panel = Panel {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            series: vec![Series {
                label: "loss".into(),
                points: (0..20)
                    .map(|i| (i as f64, 1.0 / (1.0 + i as f64)))
                    .collect(),
                mark: Mark::Line,
            }],
            log_x: false,
            x_categories: Vec::new(),
        };
        let (at, raise) = legend_place(&panel, (0.0, 19.0), (0.0, 1.0), false);
        assert!(matches!(at, SeriesLabelPosition::UpperRight));
        assert_eq!(raise, 0.0);
        assert!(integer_x(&panel));
        // A line that crosses every corner between its points: the legend goes above the data.
        let zigzag = Panel {
            series: vec![Series {
                label: "a long label for the fitted curve, as learning curves have".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0), (2.0, 0.0), (3.0, 1.0)],
                mark: Mark::Line,
            }],
            ..panel
        };
        let (at, raise) = legend_place(&zigzag, (0.0, 3.0), (0.0, 1.0), false);
        assert!(matches!(at, SeriesLabelPosition::UpperLeft));
        assert!(raise > 0.05, "{raise}");
    }

    #[test]
    fn writes_a_png() {
        let panel = Panel {
            title: "loss".into(),
            x_label: "epoch".into(),
            y_label: "cross-entropy".into(),
            series: vec![Series {
                label: "train".into(),
                points: vec![(1.0, 0.7), (2.0, 0.5), (3.0, f64::NAN)],
                mark: Mark::LinePoints,
            }],
            log_x: false,
            x_categories: Vec::new(),
        };
        let bytes = png(&[panel]).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
    }
}
