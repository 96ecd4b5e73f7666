//! The report crate's errors: a table or chart that could not be written, a Trade Database
//! file that could not be read.

/// What went wrong while writing a table or drawing a chart.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not build or write the table: {0}")]
    Table(#[from] polars::prelude::PolarsError),
    #[error("could not draw the chart: {0}")]
    Chart(String),
    #[error("could not encode the chart as PNG: {0}")]
    Png(#[from] png::EncodingError),
    #[error("could not write the JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not read the Trade Database file {}: {message}", file.display())]
    TradeFile {
        file: std::path::PathBuf,
        message: String,
    },
    #[error("could not write the report: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
