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

/// A tick label without spurious decimals: 100, 0.25, 1.5e-5.
fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
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
    let (w, h) = (620 * panels.len().max(1) as u32, 440u32);
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
    let x_tick = |v: &f64| -> String {
        if categories.is_empty() {
            tick(*v)
        } else if (v - v.round()).abs() < 1e-6 && v.round() >= 0.0 {
            categories
                .get(v.round() as usize)
                .cloned()
                .unwrap_or_default()
        } else {
            String::new()
        }
    };
    let (y0, y1) = range(ys(), false);
    let mut builder = ChartBuilder::on(area);
    builder
        .caption(&p.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62);
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| anyhow::anyhow!("plot: {e:?}");
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_labels(if p.log_x {
                    4
                } else if categories.is_empty() {
                    10
                } else {
                    categories.len() * 2 + 1
                })
                .x_label_formatter(&|v| x_tick(v))
                .y_label_formatter(&|v| tick(*v))
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
                .position(SeriesLabelPosition::UpperRight)
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
