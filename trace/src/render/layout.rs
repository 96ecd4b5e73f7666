//! A layered drawing of a directed graph, small and iterative (Sugiyama's method in three
//! steps): each node's layer is the longest path to it from a source (Kahn's order, no
//! recursion, so a 100,000-step chain lays out as any other); an edge spanning several layers
//! passes through a placeholder slot in each layer between; a few barycentre sweeps order each
//! layer to reduce crossings. Layers are columns left to right, boxes left-aligned in their
//! column and stacked with a gap, so an edge runs horizontally inside a column (along its own
//! row or its placeholder's slot) and diagonally only in the gaps between columns: it never
//! crosses a box.

use std::collections::VecDeque;

/// Horizontal space between two columns, where edges cross over and carry their labels.
pub const COLUMN_GAP: f64 = 140.0;
/// Vertical space between two boxes of a column.
pub const ROW_GAP: f64 = 24.0;
/// The height of the slot an edge passing through a column takes.
pub const PASS_HEIGHT: f64 = 10.0;
/// The width of a column that only edges pass through.
pub const PASS_WIDTH: f64 = 24.0;
/// Barycentre sweeps (each one down and one up): crossings settle after a few on the graphs a
/// trace gives.
pub const SWEEPS: usize = 4;

/// A box: top-left corner and size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// Where everything goes: a box per node, a polyline per edge (from its source box's border
/// to its target box's border) with the point its label sits at, and the extent.
#[derive(Debug, Clone)]
pub struct Laid {
    pub boxes: Vec<Rect>,
    pub edges: Vec<Vec<(f64, f64)>>,
    pub labels: Vec<(f64, f64)>,
    pub width: f64,
    pub height: f64,
}

/// Lays out nodes `0..sizes.len()` (each `(width, height)`) joined by `edges` `(from, to)`,
/// right of `left` and below `top`; `width` and `height` include those margins. Node order
/// breaks ties, so the same input lays out the same.
pub fn layout(sizes: &[(f64, f64)], edges: &[(usize, usize)], left: f64, top: f64) -> Laid {
    let n = sizes.len();
    let layer = layers(n, edges);
    // Slots: the real nodes, then one placeholder per layer an edge passes through.
    let mut slot_layer = layer.clone();
    let mut chains: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(u, v) in edges {
        let (a, b) = if layer[u] <= layer[v] { (u, v) } else { (v, u) };
        let mut chain = vec![a];
        for l in layer[a] + 1..layer[b] {
            slot_layer.push(l);
            up.push(Vec::new());
            down.push(Vec::new());
            chain.push(slot_layer.len() - 1);
        }
        chain.push(b);
        for w in chain.windows(2) {
            down[w[0]].push(w[1]);
            up[w[1]].push(w[0]);
        }
        chains.push(chain);
    }
    let depth = slot_layer.iter().copied().max().map_or(0, |m| m + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (s, &l) in slot_layer.iter().enumerate() {
        columns[l].push(s);
    }
    order(&mut columns, &up, &down, slot_layer.len());

    // Columns left to right; slots stacked in each, the column centred vertically.
    let size = |s: usize| {
        if s < n { sizes[s] } else { (0.0, PASS_HEIGHT) }
    };
    let mut col_x = Vec::with_capacity(depth);
    let mut col_w = Vec::with_capacity(depth);
    let mut x = left;
    for c in &columns {
        let w = c
            .iter()
            .filter(|&&s| s < n)
            .map(|&s| sizes[s].0)
            .fold(0.0, f64::max);
        let w = if w > 0.0 { w } else { PASS_WIDTH };
        col_x.push(x);
        col_w.push(w);
        x += w + COLUMN_GAP;
    }
    let heights: Vec<f64> = columns
        .iter()
        .map(|c| {
            c.iter().map(|&s| size(s).1).sum::<f64>() + ROW_GAP * c.len().saturating_sub(1) as f64
        })
        .collect();
    let tallest = heights.iter().copied().fold(0.0, f64::max);
    let mut at = vec![
        Rect {
            x: 0.0,
            y: 0.0,
            w: 0.0,
            h: 0.0
        };
        slot_layer.len()
    ];
    for (l, c) in columns.iter().enumerate() {
        let mut y = top + (tallest - heights[l]) / 2.0;
        for &s in c {
            let (w, h) = size(s);
            let w = if s < n { w } else { col_w[l] };
            at[s] = Rect {
                x: col_x[l],
                y,
                w,
                h,
            };
            y += h + ROW_GAP;
        }
    }
    let mut lines = Vec::with_capacity(edges.len());
    let mut labels = Vec::with_capacity(edges.len());
    for (chain, &(u, _)) in chains.iter().zip(edges) {
        let (first, last) = (chain[0], chain[chain.len() - 1]);
        let mid = |s: usize| at[s].y + at[s].h / 2.0;
        let mut pts = vec![(at[first].x + at[first].w, mid(first))];
        let right = col_x[slot_layer[first]] + col_w[slot_layer[first]];
        if right > pts[0].0 {
            pts.push((right, mid(first)));
        }
        for &d in &chain[1..chain.len() - 1] {
            pts.push((at[d].x, mid(d)));
            pts.push((at[d].x + at[d].w, mid(d)));
        }
        let label_from = pts[pts.len() - 1];
        let label_to = chain
            .get(1)
            .map_or((at[last].x, mid(last)), |&s| (at[s].x, mid(s)));
        pts.push((at[last].x, mid(last)));
        labels.push((
            (label_from.0 + label_to.0) / 2.0,
            (label_from.1 + label_to.1) / 2.0,
        ));
        if first != u {
            pts.reverse();
        }
        lines.push(pts);
    }
    at.truncate(n);
    Laid {
        boxes: at,
        edges: lines,
        labels,
        width: (x - COLUMN_GAP).max(left),
        height: top + tallest,
    }
}

/// Each node's layer: the longest path to it from a source, in Kahn's order. Nodes on a cycle
/// (the register holds none) each get a layer of their own after the others.
fn layers(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(u, v) in edges {
        out[u].push(v);
        indegree[v] += 1;
    }
    let mut layer = vec![0usize; n];
    let mut done = vec![false; n];
    let mut queue: VecDeque<usize> = (0..n).filter(|&v| indegree[v] == 0).collect();
    while let Some(u) = queue.pop_front() {
        done[u] = true;
        for &v in &out[u] {
            layer[v] = layer[v].max(layer[u] + 1);
            indegree[v] -= 1;
            if indegree[v] == 0 {
                queue.push_back(v);
            }
        }
    }
    let mut next = layer.iter().copied().max().map_or(0, |m| m + 1);
    for v in 0..n {
        if !done[v] {
            layer[v] = next;
            next += 1;
        }
    }
    layer
}

/// Orders each column by the barycentre of its neighbours' positions in the column before
/// (sweeping right) or after (sweeping left); a slot with no neighbour there keeps its place.
fn order(columns: &mut [Vec<usize>], up: &[Vec<usize>], down: &[Vec<usize>], slots: usize) {
    let mut pos = vec![0.0f64; slots];
    let place = |columns: &[Vec<usize>], pos: &mut [f64]| {
        for c in columns {
            for (i, &s) in c.iter().enumerate() {
                pos[s] = i as f64;
            }
        }
    };
    place(columns, &mut pos);
    for _ in 0..SWEEPS {
        for column in columns.iter_mut().skip(1) {
            sort_by_barycentre(column, up, &mut pos);
        }
        let last = columns.len().saturating_sub(1);
        for column in columns[..last].iter_mut().rev() {
            sort_by_barycentre(column, down, &mut pos);
        }
    }
}

fn sort_by_barycentre(column: &mut [usize], neighbours: &[Vec<usize>], pos: &mut [f64]) {
    let mut keyed: Vec<(f64, usize, usize)> = column
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let ns = &neighbours[s];
            let b = if ns.is_empty() {
                i as f64
            } else {
                ns.iter().map(|&t| pos[t]).sum::<f64>() / ns.len() as f64
            };
            (b, i, s)
        })
        .collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (i, (_, _, s)) in keyed.into_iter().enumerate() {
        column[i] = s;
        pos[s] = i as f64;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_long_chain_is_layered_without_recursion() {
        let n = 100_000;
        let edges: Vec<(usize, usize)> = (1..n).map(|i| (i - 1, i)).collect();
        let l = layers(n, &edges);
        assert_eq!(l[n - 1], n - 1);
    }

    #[test]
    fn a_crossing_is_removed_by_the_barycentre_sweeps() {
        // 0 -> 3, 1 -> 2: in key order the two edges cross; ordered, they do not.
        let sizes = vec![(50.0, 20.0); 4];
        let laid = layout(&sizes, &[(0, 3), (1, 2)], 0.0, 0.0);
        let (a, b) = (
            laid.boxes[0].y < laid.boxes[1].y,
            laid.boxes[3].y < laid.boxes[2].y,
        );
        assert_eq!(a, b, "{:?}", laid.boxes);
    }

    #[test]
    fn an_edge_over_several_layers_passes_beside_the_boxes_between() {
        // 0 -> 1 -> 2 -> 3 and 0 -> 3: the long edge takes a slot in columns 1 and 2.
        let sizes = vec![(80.0, 30.0); 4];
        let laid = layout(&sizes, &[(0, 1), (1, 2), (2, 3), (0, 3)], 0.0, 0.0);
        let long = &laid.edges[3];
        assert_eq!(long.len(), 2 + 4);
        for b in &laid.boxes[1..3] {
            for p in long {
                let inside = p.0 > b.x && p.0 < b.x + b.w && p.1 > b.y && p.1 < b.y + b.h;
                assert!(!inside, "{p:?} in {b:?}");
            }
        }
    }
}
