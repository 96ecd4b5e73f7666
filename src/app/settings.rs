//! Settings both interfaces need: what `cites serve` runs with, read by the command line and
//! handed to the service, and the permit check's national settings file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use sync::Synchroniser;

use crate::app::permit_check::CheckSettings;

/// What `cites serve` runs with, its options already read and checked.
pub struct ServeSettings {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// When to sync (cron with seconds, UTC), already validated.
    pub sync_cron: String,
    /// Do not load the built-in sample catalogue into an empty database.
    pub no_sample: bool,
    /// The national settings of the permit check; the documented defaults without it.
    pub check_config: Option<PathBuf>,
    /// The trace register's yield and breeding tables (`GET /v1/trace/findings`); the
    /// documented defaults without it.
    pub trace_config: Option<PathBuf>,
    /// The synchroniser, with a Species+ client when a token is configured.
    pub synchroniser: Synchroniser,
}

/// A permit check settings file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("check config {}: {message}", path.display())]
pub struct SettingsFileError {
    pub path: PathBuf,
    pub message: String,
}

/// The permit check's national settings from `path`, or the defaults.
pub fn check_settings(path: Option<&Path>) -> Result<CheckSettings, SettingsFileError> {
    let Some(path) = path else {
        return Ok(CheckSettings::default());
    };
    let error = |message: String| SettingsFileError {
        path: path.to_owned(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    CheckSettings::from_toml_str(&text).map_err(|e| error(e.to_string()))
}
