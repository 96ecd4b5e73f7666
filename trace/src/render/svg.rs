//! An SVG picture of an answer an officer can open in any browser, drawn here in pure Rust
//! (no system Graphviz): one box per specimen and event (kind, key, taxon, term, quantity and
//! source; date, country, agent and documents cited), arrows labelled with exact quantities
//! (custody dashed), the starting node bold, laid out in layers from the acquisitions to the
//! specimen (the render module's layout). A truncated answer says so in red above the picture.
//!
//! Text is in a monospace family so that a box's width follows from its longest line; the
//! same answer gives byte-identical SVG. Every node is a `<g class="node" data-key=…>` with its
//! `<rect>` and `<text>`, every edge a `<g class="edge" data-from=… data-to=…>`, so the
//! picture can be checked as a person sees it.

use std::fmt::Write as _;

use super::layout::{Laid, layout};
use super::{RenderError, View, edge_label};
use crate::query::Node;

/// Nodes a picture draws at most: beyond that no officer reads it, and the layout's sweeps grow
/// with it; a larger answer is refused (take DOT or JSON, or lower the limits).
pub const SVG_NODES_MAX: usize = 2_000;
/// Font size of the text, in pixels.
const FONT: f64 = 12.0;
/// Width of one character of the monospace font at [`FONT`] (DejaVu Sans Mono: 0.602 em), with
/// a margin for fonts a little wider.
const CHAR_W: f64 = 7.6;
/// Height of a line of text.
const LINE_H: f64 = 16.0;
/// Space inside a box around its text.
const PAD: f64 = 8.0;
/// Margin around the picture.
const MARGIN: f64 = 20.0;
/// Height of the title band (two lines: the title and, when cut, the truncation notice).
const TITLE_H: f64 = 48.0;

/// The SVG picture of `view`, or a refusal when it has more than [`SVG_NODES_MAX`] nodes.
pub fn render(view: &View<'_>) -> Result<String, RenderError> {
    if view.nodes.len() > SVG_NODES_MAX {
        return Err(RenderError::TooLarge {
            format: "the SVG picture",
            nodes: view.nodes.len(),
            max: SVG_NODES_MAX,
        });
    }
    let docs = view.documents_by_event();
    let nodes = view.sorted_nodes();
    let lines: Vec<Vec<String>> = nodes.iter().map(|n| view.node_lines(n, &docs)).collect();
    let sizes: Vec<(f64, f64)> = lines
        .iter()
        .map(|ls| {
            let chars = ls.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            (
                chars as f64 * CHAR_W + 2.0 * PAD,
                ls.len() as f64 * LINE_H + 2.0 * PAD,
            )
        })
        .collect();
    let index = |kind_event: bool, key: &str| {
        nodes
            .binary_search_by(|n| {
                n.key()
                    .cmp(key)
                    .then_with(|| matches!(n, Node::Event { .. }).cmp(&kind_event))
            })
            .ok()
    };
    let edges = view.sorted_edges();
    let mut pairs = Vec::with_capacity(edges.len());
    let mut drawn = Vec::with_capacity(edges.len());
    for e in &edges {
        let from_event = e.kind == "output";
        if let (Some(a), Some(b)) = (index(from_event, &e.from), index(!from_event, &e.to)) {
            pairs.push((a, b));
            drawn.push(*e);
        }
    }
    let laid = layout(&sizes, &pairs, MARGIN, MARGIN + TITLE_H);
    let width = (laid.width + MARGIN).max(title_width(view) + 2.0 * MARGIN);
    let height = laid.height + MARGIN;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"{FONT}\">",
        w = num(width),
        h = num(height)
    );
    out.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" \
         markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" \
         fill=\"#333\"/></marker></defs>\n",
    );
    let _ = writeln!(
        out,
        "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<text class=\"title\" x=\"{MARGIN}\" y=\"{}\" font-size=\"{}\" font-weight=\"bold\">{}</text>",
        num(MARGIN + 14.0),
        FONT + 2.0,
        esc(&view.title())
    );
    if view.truncated {
        let _ = writeln!(
            out,
            "<text class=\"truncated\" x=\"{MARGIN}\" y=\"{}\" fill=\"#b00\">TRUNCATED: the depth or node limit cut this trace; raise them to see all of it</text>",
            num(MARGIN + 34.0)
        );
    }
    draw_edges(&mut out, &laid, &drawn);
    draw_nodes(&mut out, &laid, &nodes, &lines, view.start);
    out.push_str("</svg>\n");
    Ok(out)
}

fn title_width(view: &View<'_>) -> f64 {
    let notice = if view.truncated { 82 } else { 0 };
    view.title().chars().count().max(notice) as f64 * (CHAR_W + 1.5)
}

fn draw_edges(out: &mut String, laid: &Laid, edges: &[&crate::query::QueryEdge]) {
    for ((e, pts), (lx, ly)) in edges.iter().zip(&laid.edges).zip(&laid.labels) {
        let dash = if e.kind == "subject" {
            " stroke-dasharray=\"5 3\""
        } else {
            ""
        };
        let points: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
            .collect();
        let _ = write!(
            out,
            "<g class=\"edge\" data-from=\"{}\" data-to=\"{}\" data-kind=\"{}\">\
             <polyline points=\"{}\" fill=\"none\" stroke=\"#333\"{dash} marker-end=\"url(#arrow)\"/>",
            esc(&e.from),
            esc(&e.to),
            e.kind,
            points.join(" ")
        );
        if let Some(label) = edge_label(e) {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"{}\" fill=\"#036\">{}</text>",
                num(*lx),
                num(*ly - 4.0),
                FONT - 1.0,
                esc(&label)
            );
        }
        out.push_str("</g>\n");
    }
}

fn draw_nodes(out: &mut String, laid: &Laid, nodes: &[&Node], lines: &[Vec<String>], start: &str) {
    for ((node, r), ls) in nodes.iter().zip(&laid.boxes).zip(lines) {
        let (kind, fill, rx) = match node {
            Node::Specimen { .. } => ("specimen", "#eef5ff", 0),
            Node::Event { .. } => ("event", "#fff6e5", 8),
        };
        let stroke = if node.key() == start { 3 } else { 1 };
        let _ = write!(
            out,
            "<g class=\"node\" data-kind=\"{kind}\" data-key=\"{}\">\
             <rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"#333\" stroke-width=\"{stroke}\"/>\
             <text x=\"{}\" y=\"{}\">",
            esc(node.key()),
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h),
            num(r.x + PAD),
            num(r.y + PAD)
        );
        for (i, l) in ls.iter().enumerate() {
            let weight = if i == 0 { " font-weight=\"bold\"" } else { "" };
            let _ = write!(
                out,
                "<tspan x=\"{}\" dy=\"{}\"{weight}>{}</tspan>",
                num(r.x + PAD),
                if i == 0 { LINE_H - 4.0 } else { LINE_H },
                esc(l)
            );
        }
        out.push_str("</text></g>\n");
    }
}

/// A coordinate with at most two decimals, no trailing zeros: the same layout, the same text.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// Text and attribute values escaped for XML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(-0.001), "0");
        assert_eq!(esc("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
