//! The report crate's tests over its public API, on one seeded review (`support`): tables and
//! files, charts decoded as images, the HTML report's structure and the report in Chromium.
//! The Trade Database comparison over the hand-written extract in `tests/fixtures/trade/`.

#![allow(clippy::unwrap_used)]

mod charts;
mod html;
mod html_chromium;
mod support;
mod tables;
mod trade;
mod trade_bench;
