//! The errors of the built-in sources: a file that cannot be used (at start: the binary exits 64
//! naming it; on reload: the previous contents stay and the error is logged) and configuration
//! values that make no sense.

use std::path::PathBuf;

/// Why a built-in source cannot start or reload.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The file cannot be read.
    #[error("{key}: cannot read {path}: {source}")]
    Read {
        /// The configuration key naming the file, e.g. `auth.password_file.path`.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file's contents are wrong at a line.
    #[error("{key}: {path}:{line}: {message}")]
    Parse {
        /// The configuration key naming the file, e.g. `auth.acl_file.path`.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A configuration key has a value the source cannot use.
    #[error("invalid configuration key {key}: {message}")]
    Config {
        /// Dotted key, e.g. `auth.jwt.secret`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Registering the source's handler failed.
    #[error("cannot register {name}: {source}")]
    Register {
        /// The handler name.
        name: String,
        /// The cause.
        #[source]
        source: hookmq_hooks::RegistryError,
    },
}

/// A parse failure of one line, before the file's path is known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl LineError {
    /// An error at `line`.
    pub fn new(line: usize, message: impl Into<String>) -> LineError {
        LineError {
            line,
            message: message.into(),
        }
    }

    /// The same error with the file it came from and the key that names that file.
    pub(crate) fn in_file(self, key: &'static str, path: PathBuf) -> AuthError {
        AuthError::Parse {
            key,
            path,
            line: self.line,
            message: self.message,
        }
    }
}
