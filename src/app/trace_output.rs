//! The formats a trace answer (origin or forward) is given in, one reading for both
//! interfaces: `cites trace origin|forward --format json|dot|svg|epcis` and the trace routes'
//! `Accept` header (application/json, text/vnd.graphviz, image/svg+xml, application/ld+json).
//! The rendering itself is `trace::render`'s; an answer a format cannot show (a picture too
//! large to read, an event EPCIS cannot carry) is a typed refusal, never a partial output.

use domain::Timestamp;
use serde::Serialize;
use trace::{RenderError, View};

/// A format of a trace answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// The node-link graph, as the routes answer by default.
    Json,
    /// GraphViz DOT, deterministic.
    Dot,
    /// An SVG picture.
    Svg,
    /// An EPCIS 2.0 JSON-LD document.
    Epcis,
}

impl OutputFormat {
    pub const ALL: [OutputFormat; 4] = [
        OutputFormat::Json,
        OutputFormat::Dot,
        OutputFormat::Svg,
        OutputFormat::Epcis,
    ];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Json => "json",
            OutputFormat::Dot => "dot",
            OutputFormat::Svg => "svg",
            OutputFormat::Epcis => "epcis",
        }
    }

    /// The media type of the body.
    pub fn media_type(self) -> &'static str {
        match self {
            OutputFormat::Json => "application/json",
            OutputFormat::Dot => "text/vnd.graphviz",
            OutputFormat::Svg => "image/svg+xml",
            OutputFormat::Epcis => "application/ld+json",
        }
    }

    /// The format a `--format` value names, or an error naming what is accepted.
    pub fn parse(name: &str) -> Result<OutputFormat, String> {
        OutputFormat::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!(
                    "invalid format {name:?}: accepted {}",
                    OutputFormat::ALL.map(|f| f.name()).join(", ")
                )
            })
    }

    /// The format an `Accept` header asks for: the first media type listed that is one of
    /// ours (parameters and quality ignored), JSON when none is, as for any other route.
    pub fn from_accept<'a>(accept: impl IntoIterator<Item = &'a str>) -> OutputFormat {
        accept
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|t| t.split(';').next())
            .find_map(|t| {
                OutputFormat::ALL
                    .into_iter()
                    .find(|f| f.media_type().eq_ignore_ascii_case(t.trim()))
            })
            .unwrap_or(OutputFormat::Json)
    }
}

/// `answer` (an `Origin` or a `Forward`, whose `view` is `view`) in `format`; an EPCIS
/// document says it was created `now`.
pub fn render(
    answer: &impl Serialize,
    view: &View<'_>,
    format: OutputFormat,
    now: Timestamp,
) -> Result<String, RenderError> {
    Ok(match format {
        OutputFormat::Json => format!("{:#}", serde_json::json!(answer)),
        OutputFormat::Dot => trace::render::dot::render(view),
        OutputFormat::Svg => trace::render::svg::render(view)?,
        OutputFormat::Epcis => {
            format!("{:#}", trace::render::epcis_out::render(view, now)?)
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_format_is_read_from_its_name_or_the_accept_header() {
        assert_eq!(OutputFormat::parse("SVG"), Ok(OutputFormat::Svg));
        let e = OutputFormat::parse("png").unwrap_err();
        assert!(e.contains("accepted json, dot, svg, epcis"), "{e}");
        assert_eq!(OutputFormat::from_accept([]), OutputFormat::Json);
        assert_eq!(
            OutputFormat::from_accept(["text/html, image/svg+xml;q=0.9"]),
            OutputFormat::Svg
        );
        assert_eq!(
            OutputFormat::from_accept(["*/*", "Text/Vnd.Graphviz"]),
            OutputFormat::Dot
        );
        assert_eq!(
            OutputFormat::from_accept(["application/ld+json"]),
            OutputFormat::Epcis
        );
    }
}
