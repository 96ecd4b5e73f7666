//! The report crate's tests over its public API, on one seeded review (`support`): tables and
//! files, charts decoded as images, the HTML report's structure and the report in Chromium.

#![allow(clippy::unwrap_used)]

mod charts;
mod html;
mod html_chromium;
mod support;
mod tables;
mod trade_bench;
