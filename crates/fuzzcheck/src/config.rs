//! Checks for the configuration files an operator writes: `hookmq.toml` (loaded and validated as
//! `hookmq start` and `hookmq config check` do) and EMQX's `extension_hook.conf`. A typo must
//! give an error naming the key (and the line, where the format has lines), never a panic.

use std::path::Path;

use hookmq::config::{LoadError, parse};
use hookmq_port::ConfigError;
use hookmq_port::conf_file;

/// `config_toml`: any text either loads to a configuration whose broker part validates, or
/// fails with a syntax error carrying the parser's message or with a key and what is wrong with
/// it. Nothing is read from disk (the built-in auth sources' files, which `hookmq config check`
/// also reads, are covered by `passwd_file` and `acl_file`).
pub fn check_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text, Path::new("hookmq.toml")) {
        Ok(config) => {
            if let Err(e) = config.broker().validate() {
                panic!("a loaded configuration does not validate: {e}");
            }
        }
        Err(LoadError::Syntax { path, message }) => {
            assert_eq!(
                path,
                Path::new("hookmq.toml"),
                "syntax error names another file"
            );
            assert!(!message.is_empty(), "syntax error without a message");
        }
        Err(LoadError::Invalid { key, message }) => {
            assert!(!key.is_empty(), "error names no key: {message}");
            assert!(!message.is_empty(), "error on {key} says nothing");
        }
        Err(e @ LoadError::Read { .. }) => panic!("parsing text read a file: {e}"),
    }
}

/// `conf_file`: any text (read as the broker reads the file, lossily as UTF-8) either gives
/// drivers that were listed in `exhook.drivers`, once each, with warnings that name the file; or
/// fails with the file, a line inside it, and for a bad value an `exhook.drivers` key.
pub fn check_conf_file(data: &[u8]) {
    const FILE: &str = "extension_hook.conf";
    let text = String::from_utf8_lossy(data);
    let lines = text.lines().count();
    match conf_file::parse(&text, FILE) {
        Ok(conf) => {
            for (i, d) in conf.drivers.iter().enumerate() {
                assert!(!d.name.is_empty(), "a driver without a name");
                assert!(
                    conf.drivers[..i].iter().all(|o| o.name != d.name),
                    "driver {} configured twice",
                    d.name
                );
            }
            for w in &conf.warnings {
                assert!(w.starts_with(FILE), "warning without the file: {w}");
            }
        }
        Err(e) => {
            let message = e.to_string();
            match &e {
                ConfigError::Syntax { file, line, .. } => {
                    assert_eq!(file, FILE, "{message}");
                    assert!(
                        *line >= 1 && *line <= lines,
                        "line outside the file: {message}"
                    );
                }
                ConfigError::Invalid {
                    file, line, key, ..
                } => {
                    assert_eq!(file, FILE, "{message}");
                    assert!(
                        *line >= 1 && *line <= lines,
                        "line outside the file: {message}"
                    );
                    assert!(
                        key.starts_with("exhook.drivers"),
                        "not a driver key: {message}"
                    );
                }
                other => panic!("unexpected error from parsing text: {other}"),
            }
            assert!(
                message.starts_with(&format!("{FILE} line ")),
                "error without file and line: {message}"
            );
        }
    }
}
