//! Charts drawn with plotters, as PNG or SVG: a quota's use over its period against a
//! straight-line pace, and the multi-year trend of a taxon and exporter (quota, use in the
//! ledger, exporter- and importer-reported quantities).
//!
//! Text is drawn with DejaVu Sans embedded in the crate (ab_glyph), never a system font, so a
//! chart looks the same on every machine. Each line has a fixed colour, named here.

use std::sync::OnceLock;

use chrono::{Duration, NaiveDate};
use domain::Date;
use plotters::coord::Shift;
use plotters::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::input::{TrendPoint, TrendSeries};
use crate::quota_use::QuotaUseRow;

/// DejaVu Sans (its licence is `fonts/DejaVuSans-LICENSE`, beside it).
const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

/// Size of every chart, in pixels.
pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 400;

/// Use so far (committed + exported), and the ledger's use in a trend.
pub const USED_COLOUR: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// The straight-line pace that would use the quota exactly by the period's end.
pub const PACE_COLOUR: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
/// The quota's limit.
pub const LIMIT_COLOUR: RGBColor = RGBColor(0xd6, 0x27, 0x28);
/// Exporter-reported quantities in a trend.
pub const EXPORTER_COLOUR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
/// Importer-reported quantities in a trend.
pub const IMPORTER_COLOUR: RGBColor = RGBColor(0x94, 0x67, 0xbd);

/// PNG or SVG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Svg,
}

/// Registers the embedded font once per process.
fn font_ready() -> crate::Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| "the embedded DejaVu Sans font could not be read".to_owned())
        })
        .clone()
        .map_err(crate::Error::Chart)
}

fn chart_error<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> crate::Error {
    crate::Error::Chart(e.to_string())
}

/// Draws on a backend of `format` and returns the encoded image. plotters' backends are
/// different types, so the caller gives one closure per backend, both calling the same drawing.
fn render(
    format: ImageFormat,
    draw_svg: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> crate::Result<()>,
    draw_png: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> crate::Result<()>,
) -> crate::Result<Vec<u8>> {
    font_ready()?;
    match format {
        ImageFormat::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
                draw_svg(&root)?;
                root.present().map_err(chart_error)?;
            }
            Ok(svg.into_bytes())
        }
        ImageFormat::Png => {
            let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
            {
                let root =
                    BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
                draw_png(&root)?;
                root.present().map_err(chart_error)?;
            }
            let mut out = Vec::new();
            let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.write_header()?.write_image_data(&pixels)?;
            Ok(out)
        }
    }
}

fn f(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// The top of the y axis: a tenth above the highest value, at least 1.
fn y_top(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0_f64, f64::max);
    if max > 0.0 { max * 1.1 } else { 1.0 }
}

/// The quota's use over its period: use at each month's end (or `today`) as a line from zero
/// at the period's start, against the straight line from zero to the limit at its end, and the
/// limit itself.
pub fn quota_use(row: &QuotaUseRow, today: Date, format: ImageFormat) -> crate::Result<Vec<u8>> {
    let start = row.period_start;
    let days = (row.period_last_day - start).num_days().max(1);
    let as_of = today.min(row.period_last_day);
    let mut used = vec![(0_i64, 0.0_f64)];
    for m in &row.months {
        let Some(first) = NaiveDate::parse_from_str(&format!("{}-01", m.month), "%Y-%m-%d").ok()
        else {
            continue;
        };
        let month_end = first
            .checked_add_months(chrono::Months::new(1))
            .and_then(|n| n.pred_opt())
            .unwrap_or(first);
        let day = (month_end.min(as_of) - start).num_days().clamp(0, days);
        used.push((day, f(m.cumulative)));
    }
    let limit = row.limit.map(f);
    let top = y_top(used.iter().map(|p| p.1).chain(limit));
    let title = format!(
        "{} from {}: {} to {}",
        row.taxon_name,
        row.exporter.as_str(),
        row.period_start,
        row.period_last_day
    );
    let unit = &row.unit;
    render(
        format,
        |root| draw_use(root, &title, unit, start, days, top, &used, limit),
        |root| draw_use(root, &title, unit, start, days, top, &used, limit),
    )
}

#[allow(clippy::too_many_arguments)] // The one drawing both backends share, fed by `quota_use`.
fn draw_use<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    unit: &str,
    start: Date,
    days: i64,
    top: f64,
    used: &[(i64, f64)],
    limit: Option<f64>,
) -> crate::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(chart_error)?;
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(0_i64..days, 0.0_f64..top)
        .map_err(chart_error)?;
    let day_label = |x: &i64| (start + Duration::days(*x)).format("%Y-%m-%d").to_string();
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&day_label)
        .y_desc(unit)
        .label_style((FAMILY, 13))
        .draw()
        .map_err(chart_error)?;
    if let Some(limit) = limit {
        chart
            .draw_series(LineSeries::new(
                [(0, 0.0), (days, limit)],
                PACE_COLOUR.stroke_width(2),
            ))
            .map_err(chart_error)?
            .label("straight-line pace")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], PACE_COLOUR.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                [(0, limit), (days, limit)],
                LIMIT_COLOUR.stroke_width(2),
            ))
            .map_err(chart_error)?
            .label("limit")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], LIMIT_COLOUR.stroke_width(2)));
    }
    chart
        .draw_series(LineSeries::new(
            used.iter().copied(),
            USED_COLOUR.stroke_width(3),
        ))
        .map_err(chart_error)?
        .label("used (committed + exported)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], USED_COLOUR.stroke_width(3)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

/// The trend of one taxon and exporter over the years: the quota, the ledger's use and the
/// reported quantities, each line broken where a year has no figure.
pub fn trend(series: &TrendSeries, format: ImageFormat) -> crate::Result<Vec<u8>> {
    let years: Vec<i32> = series.points.iter().map(|p| p.year).collect();
    let first = years.iter().copied().min().unwrap_or(2000);
    let last = years.iter().copied().max().unwrap_or(first);
    let lines: Vec<Line<'_>> = [
        (
            "quota",
            LIMIT_COLOUR,
            (|p: &TrendPoint| p.quota) as fn(&TrendPoint) -> Option<Decimal>,
        ),
        ("used (ledger)", USED_COLOUR, |p| p.used),
        ("exporter-reported", EXPORTER_COLOUR, |p| {
            p.exporter_reported
        }),
        ("importer-reported", IMPORTER_COLOUR, |p| {
            p.importer_reported
        }),
    ]
    .into_iter()
    .map(|(name, colour, value)| (name, colour, segments(&series.points, value)))
    .filter(|(_, _, segs)| !segs.is_empty())
    .collect();
    let top = y_top(lines.iter().flat_map(|l| l.2.iter().flatten().map(|p| p.1)));
    let title = format!(
        "{} from {}, {} to {} ({})",
        series.taxon_name,
        series.exporter.as_str(),
        first,
        last,
        series.unit.code()
    );
    render(
        format,
        |root| draw_trend(root, &title, first, last, top, &lines),
        |root| draw_trend(root, &title, first, last, top, &lines),
    )
}

/// The runs of consecutive years that have a value, each as one segment of the line.
fn segments(
    points: &[TrendPoint],
    value: fn(&TrendPoint) -> Option<Decimal>,
) -> Vec<Vec<(i32, f64)>> {
    let mut sorted: Vec<&TrendPoint> = points.iter().collect();
    sorted.sort_by_key(|p| p.year);
    let mut out: Vec<Vec<(i32, f64)>> = Vec::new();
    let mut previous: Option<i32> = None;
    for p in sorted {
        match value(p) {
            Some(v) => {
                let continues = previous.is_some_and(|y| y + 1 == p.year);
                match out.last_mut() {
                    Some(seg) if continues => seg.push((p.year, f(v))),
                    _ => out.push(vec![(p.year, f(v))]),
                }
                previous = Some(p.year);
            }
            None => previous = None,
        }
    }
    out
}

type Line<'a> = (&'a str, RGBColor, Vec<Vec<(i32, f64)>>);

fn draw_trend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    first: i32,
    last: i32,
    top: f64,
    lines: &[Line<'_>],
) -> crate::Result<()>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(chart_error)?;
    // Half a year of room either side, so a single year still has a width.
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FAMILY, 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (f64::from(first) - 0.5)..(f64::from(last) + 0.5),
            0.0_f64..top,
        )
        .map_err(chart_error)?;
    let year_label = |x: &f64| {
        if (x - x.round()).abs() < 1e-9 {
            format!("{}", x.round())
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .x_labels(usize::try_from(last - first + 2).unwrap_or(2).min(12))
        .x_label_formatter(&year_label)
        .label_style((FAMILY, 13))
        .draw()
        .map_err(chart_error)?;
    for (name, colour, segs) in lines {
        let colour = *colour;
        for (i, seg) in segs.iter().enumerate() {
            let points: Vec<(f64, f64)> = seg.iter().map(|(y, v)| (f64::from(*y), *v)).collect();
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    colour.stroke_width(3),
                ))
                .map_err(chart_error)?;
            let dots = chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 4, colour.filled())))
                .map_err(chart_error)?;
            if i == 0 {
                dots.label(*name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(3))
                });
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FAMILY, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(chart_error)?;
    Ok(())
}

/// A chart to be written as a file of its own: a name without extension, made of lower-case
/// ASCII letters, digits and hyphens (safe in any file system), and the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedChart {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl ImageFormat {
    /// The file extension of the format.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

/// Every chart of a quota-use review: each quota's use against its pace (`quota-<id>`), then
/// each trend (`trend-<n>-<exporter>-<taxon>`).
pub fn quota_use_charts(
    review: &crate::QuotaUseReview,
    trends: &[TrendSeries],
    format: ImageFormat,
) -> crate::Result<Vec<NamedChart>> {
    let mut charts = Vec::with_capacity(review.rows.len() + trends.len());
    for row in &review.rows {
        charts.push(NamedChart {
            name: format!("quota-{}", row.quota_id),
            bytes: quota_use(row, review.today, format)?,
        });
    }
    charts.extend(trend_charts(trends, format)?);
    Ok(charts)
}

/// One chart per trend, named `trend-<n>-<exporter>-<taxon>` (n from 1, in the given order).
pub fn trend_charts(series: &[TrendSeries], format: ImageFormat) -> crate::Result<Vec<NamedChart>> {
    series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(NamedChart {
                name: format!(
                    "trend-{}-{}-{}",
                    i + 1,
                    s.exporter.as_str().to_ascii_lowercase(),
                    slug(&s.taxon_name)
                ),
                bytes: trend(s, format)?,
            })
        })
        .collect()
}

/// Longest taxon part of a chart's file name, in bytes: names stay well under the 255 bytes
/// file systems allow, however long a scope description is.
const SLUG_MAX: usize = 60;

/// Lower-case ASCII letters and digits, every other run of characters one hyphen.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(SLUG_MAX);
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "taxon".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod slug_tests {
    use super::slug;

    #[test]
    fn a_taxon_name_becomes_a_file_name() {
        assert_eq!(
            slug("Acipenser gueldenstaedtii (term CAV, source W)"),
            "acipenser-gueldenstaedtii-term-cav-source-w"
        );
        assert_eq!(slug("Æ ß"), "taxon");
        assert_eq!(slug(&"a".repeat(300)).len(), 60);
    }
}
