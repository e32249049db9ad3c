//! A workspace's own settings: `<workspace>/config.json`.
//!
//! Every stage runs with sensible defaults; this file is where a team writes
//! down what only it knows: its own mail domains (so the pipeline can tell
//! inbound from outbound mail) and the thresholds behind each warning. The
//! run and nightly jobs read it at start; a missing file means defaults.
//!
//! ```json
//! {
//!   "internal_domains": ["brightloop.example", "brightloop-eu.example"],
//!   "warnings": { "no_activity_days": 21, "ghosted_mails": 2 }
//! }
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::predict::WarningConfig;

/// The name of the settings file inside a workspace.
pub const CONFIG_FILE: &str = "config.json";

/// Settings of one workspace; every field may be left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkspaceConfig {
    /// Our own mail domains, beside those given on the command line and the
    /// deal owners' domains.
    pub internal_domains: Vec<String>,
    /// Thresholds of the warnings; fields left out keep their defaults.
    pub warnings: WarningConfig,
}

impl WorkspaceConfig {
    /// The path of the settings file of `workspace`.
    pub fn path(workspace: &Path) -> PathBuf {
        workspace.join(CONFIG_FILE)
    }

    /// Reads `<workspace>/config.json`, or the defaults when there is none.
    /// A file that is there but wrong is an error naming it, never ignored:
    /// a mistyped threshold silently replaced by a default would mislead.
    pub fn load(workspace: &Path) -> Result<WorkspaceConfig> {
        let path = Self::path(workspace);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(WorkspaceConfig::default())
            }
            Err(e) => return Err(Error::io(&path, e)),
        };
        serde_json::from_str(&text).map_err(|e| Error::bad_input(&path, e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_gives_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            WorkspaceConfig::load(dir.path()).unwrap(),
            WorkspaceConfig::default()
        );
    }

    #[test]
    fn fields_left_out_keep_their_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let json = r#"{"internal_domains": ["us.example"], "warnings": {"ghosted_mails": 5}}"#;
        std::fs::write(WorkspaceConfig::path(dir.path()), json).unwrap();
        let config = WorkspaceConfig::load(dir.path()).unwrap();
        assert_eq!(config.internal_domains, vec!["us.example"]);
        assert_eq!(config.warnings.ghosted_mails, 5);
        let defaults = WarningConfig::default();
        assert_eq!(config.warnings.no_activity_days, defaults.no_activity_days);
    }

    #[test]
    fn a_typo_is_an_error_naming_the_file_and_the_field() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            WorkspaceConfig::path(dir.path()),
            r#"{"internal_domain": []}"#,
        )
        .unwrap();
        let error = WorkspaceConfig::load(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("config.json") && error.contains("internal_domain"),
            "{error}"
        );
    }
}
