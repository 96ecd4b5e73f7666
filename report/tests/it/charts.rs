//! Charts decode as images of the expected size with each plotted line's colour in them, and
//! the SVG parses as XML holding its text.

use plotters::style::RGBColor;
use report::chart::{self, ImageFormat};

use crate::support::{d, seeded, trend};

/// Width, height and RGB pixels of a PNG.
pub(crate) fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

pub(crate) fn pixels_of(pixels: &[u8], colour: RGBColor) -> usize {
    pixels
        .chunks_exact(3)
        .filter(|p| p[0] == colour.0 && p[1] == colour.1 && p[2] == colour.2)
        .count()
}

#[test]
fn a_quota_use_png_has_its_size_and_the_used_pace_and_limit_lines() {
    let review = seeded();
    let leopard = &review.rows[1];
    assert_eq!(leopard.taxon_name, "Panthera pardus");
    let png = chart::quota_use(leopard, review.today, ImageFormat::Png).unwrap();
    let (w, h, pixels) = decode(&png);
    assert_eq!((w, h), (chart::WIDTH, chart::HEIGHT));
    for colour in [chart::USED_COLOUR, chart::PACE_COLOUR, chart::LIMIT_COLOUR] {
        assert!(pixels_of(&pixels, colour) > 100, "{colour:?} missing");
    }
    assert!(pixels_of(&pixels, chart::EXPORTER_COLOUR) == 0);
}

#[test]
fn a_quota_in_preparation_is_drawn_without_pace_or_limit() {
    let review = seeded();
    let crocodile = review.rows.iter().find(|r| r.limit.is_none()).unwrap();
    let (_, _, pixels) =
        decode(&chart::quota_use(crocodile, review.today, ImageFormat::Png).unwrap());
    assert!(pixels_of(&pixels, chart::USED_COLOUR) > 100);
    // The legend has no entry for them either.
    assert_eq!(pixels_of(&pixels, chart::PACE_COLOUR), 0);
    assert_eq!(pixels_of(&pixels, chart::LIMIT_COLOUR), 0);
}

#[test]
fn a_trend_png_draws_each_series_that_has_figures() {
    let (w, h, pixels) = decode(&chart::trend(&trend(), ImageFormat::Png).unwrap());
    assert_eq!((w, h), (chart::WIDTH, chart::HEIGHT));
    for colour in [
        chart::LIMIT_COLOUR,
        chart::EXPORTER_COLOUR,
        chart::IMPORTER_COLOUR,
    ] {
        assert!(pixels_of(&pixels, colour) > 100, "{colour:?} missing");
    }
    // No ledger figures were given: no line of that colour.
    assert_eq!(pixels_of(&pixels, chart::USED_COLOUR), 0);
}

fn svg_texts(svg: &str) -> Vec<String> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
        .filter(|t| !t.is_empty())
        .collect()
}

#[test]
fn the_svg_charts_parse_and_hold_their_titles_labels_and_colours() {
    let review = seeded();
    let aloe = review.rows.iter().find(|r| r.quota_id == 4).unwrap();
    let svg = String::from_utf8(chart::quota_use(aloe, d("2026-05-15"), ImageFormat::Svg).unwrap())
        .unwrap();
    let texts = svg_texts(&svg);
    assert!(
        texts
            .iter()
            .any(|t| t == "Aloe ferox from ZA: 2026-04-01 to 2027-03-31"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t == "straight-line pace"));
    // The legacy KIL is read as KGM.
    assert!(texts.iter().any(|t| t == "KGM"));
    assert!(svg.to_uppercase().contains("#1F77B4"));

    let svg = String::from_utf8(chart::trend(&trend(), ImageFormat::Svg).unwrap()).unwrap();
    let texts = svg_texts(&svg);
    assert!(
        texts
            .iter()
            .any(|t| t == "Panthera pardus from NA, 2021 to 2025 (NAR)"),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t == "importer-reported"));
    assert!(texts.iter().any(|t| t == "2023"));
}
