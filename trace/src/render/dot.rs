//! A deterministic GraphViz DOT text of an answer: nodes in key order (specimens as boxes,
//! events as rounded boxes, the starting node drawn bold), edges by source, target and kind,
//! labelled with their exact quantity (custody edges dashed), every string escaped. The same
//! answer gives byte-identical text, so a DOT file can be compared or kept as evidence.
//! petgraph's own `Dot` is for debugging and its output may change between versions; this one
//! is ours.

use super::{View, edge_label};
use crate::query::Node;

/// The DOT text of `view`.
pub fn render(view: &View<'_>) -> String {
    let docs = view.documents_by_event();
    let mut title = view.title();
    if view.truncated {
        title.push_str("\nTRUNCATED: the depth or node limit cut this trace");
    }
    let mut out = String::from("digraph trace {\n");
    out.push_str(&format!(
        "  graph [rankdir=LR, labelloc=t, label={}];\n",
        quoted(&title)
    ));
    out.push_str("  node [fontname=\"DejaVu Sans\", fontsize=10];\n");
    out.push_str("  edge [fontname=\"DejaVu Sans\", fontsize=9];\n");
    for node in view.sorted_nodes() {
        let lines = view.node_lines(node, &docs);
        let (shape, extra) = match node {
            Node::Specimen { .. } => ("box", ""),
            Node::Event { .. } => ("box", ", style=rounded"),
        };
        let bold = if node.key() == view.start {
            ", penwidth=2"
        } else {
            ""
        };
        out.push_str(&format!(
            "  {} [shape={shape}{extra}{bold}, label={}];\n",
            quoted(&node_id(node)),
            quoted(&lines.join("\n"))
        ));
    }
    for e in view.sorted_edges() {
        let (from, to) = ends(&e.from, &e.to, e.kind);
        let mut attrs = vec![format!("kind={}", quoted(e.kind))];
        if let Some(l) = edge_label(e) {
            attrs.push(format!("label={}", quoted(&l)));
        }
        if e.kind == "subject" {
            attrs.push("style=dashed".to_owned());
        }
        out.push_str(&format!(
            "  {} -> {} [{}];\n",
            quoted(&from),
            quoted(&to),
            attrs.join(", ")
        ));
    }
    out.push_str("}\n");
    out
}

/// A node's DOT id: specimens and events are separate namespaces in the register, so each
/// key is prefixed by its kind.
fn node_id(node: &Node) -> String {
    match node {
        Node::Specimen { key, .. } => format!("specimen:{key}"),
        Node::Event { key, .. } => format!("event:{key}"),
    }
}

/// The ids of an edge's ends: `input` and `subject` run from a specimen to an event,
/// `output` from an event to a specimen.
fn ends(from: &str, to: &str, kind: &str) -> (String, String) {
    if kind == "output" {
        (format!("event:{from}"), format!("specimen:{to}"))
    } else {
        (format!("specimen:{from}"), format!("event:{to}"))
    }
}

/// A DOT quoted string: backslash and double quote escaped, a line break as DOT's centred
/// `\n`, other control characters dropped (no key holds one).
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn quoting_escapes_what_dot_reads_specially() {
        assert_eq!(quoted("a\"b\\c\nd\u{7}"), "\"a\\\"b\\\\c\\nd\"");
    }
}
