//! The errors of the port drivers, one enum per layer, each keeping its cause:
//!
//! - [`SettingError`]: one driver setting's value (`settings`, shared by both files);
//! - [`ConfigError`]: a configuration file (`conf_file`), naming the file, line and key;
//!
//! [`crate::PortError`] (`manager`) is what the management API and the binary see. The texts are
//! the ones users read in `hookmq ctl` output, logs and the API's `error` field: each names what
//! is wrong and, where there is one, its cause.

use crate::config::{MAX_POOL_SIZE, SETTING_KEYS};

/// Why the value of one driver setting cannot be used; the caller names the key and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    /// A key no driver has.
    #[error("unknown driver setting {key:?} (known: {})", SETTING_KEYS.join(", "))]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A value of the wrong form.
    #[error("{value} is not {expected}")]
    BadValue {
        /// The value as written.
        value: String,
        /// What the key takes.
        expected: &'static str,
    },
    /// A `pool_size` out of range.
    #[error("{value} is not a number of workers from 1 to {MAX_POOL_SIZE}")]
    PoolSize {
        /// The value as written.
        value: String,
    },
    /// A value that does not read as a duration.
    #[error("{value} is not a duration (write e.g. 5s or 500ms)")]
    NotADuration {
        /// The value as written.
        value: String,
        /// Why its number did not parse, if that was the problem.
        #[source]
        source: Option<std::num::ParseIntError>,
    },
    /// A duration written without its unit.
    #[error("{text:?} has no unit (write e.g. {text}ms or {text}s; EMQX read a bare number as ms)")]
    NoUnit {
        /// The number as written.
        text: String,
    },
    /// A duration of zero or more than an hour.
    #[error("{value} must be more than 0 and at most 1h")]
    DurationRange {
        /// The value as written.
        value: String,
    },
    /// A driver name with other characters than letters, digits, `_` and `-`.
    #[error("{name:?} is not a driver name (letters, digits, '_' and '-')")]
    DriverName {
        /// The name.
        name: String,
    },
    /// A driver without `kind` whose name is not a kind.
    #[error(
        "driver {name:?} needs kind = \"python3\", \"python\" or \"java\" (only drivers named \
         after a kind may leave it out)"
    )]
    NoKind {
        /// The driver's name.
        name: String,
    },
    /// `python2` listed in `exhook.drivers`.
    #[error("python2 is not supported (the SDK needs Python 3): use python3")]
    Python2,
}

/// Why the EMQX-style configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line that is not `key = value`.
    #[error("{file} line {line}: {text}: {problem}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The key, or the line's text when there is no key.
        text: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A value that cannot be used.
    #[error("{file} line {line}: {key}: {source}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong with the value.
        #[source]
        source: SettingError,
    },
    /// A driver configured in both files.
    #[error("driver {driver} is configured both in hookmq.toml and in {file}; keep one")]
    Duplicate {
        /// The driver's name.
        driver: String,
        /// The EMQX-style file.
        file: String,
    },
}
