//! The EMQX-style plugin configuration, `etc/plugins/extension_hook.conf`: `key = value` lines,
//! `#` comments, blank lines, values optionally quoted. The lines of EMQX 4.1's guide work as
//! they are:
//!
//! ```text
//! exhook.drivers = python3
//! exhook.drivers.python3.path = data/extension/
//! exhook.drivers.python3.init_module = hooks
//! ```
//!
//! [`crate::PortDrivers`] reads it when the plugin loads (and on reload). A bad value fails the
//! load with the file, line and key named; an unknown key is only warned about, because EMQX
//! accepted and ignored any `exhook.drivers.<name>.<key>`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::config::DriverConfig;
use crate::error::{ConfigError, SettingError};
use crate::settings::{DriverSettings, RawValue};

/// The drivers a file configures, and what it said that was ignored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfFile {
    /// The drivers listed in `exhook.drivers`, in that order.
    pub drivers: Vec<DriverConfig>,
    /// Lines that were ignored, with the reason (unknown keys, unlisted drivers, repeats).
    pub warnings: Vec<String>,
}

/// Reads `path`; `Ok(None)` when it does not exist.
pub fn read(path: &Path) -> Result<Option<ConfFile>, ConfigError> {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            parse(&text, &file).map(Some)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Read { file, source }),
    }
}

/// Parses the text of a file named `file` (used in messages).
pub fn parse(text: &str, file: &str) -> Result<ConfFile, ConfigError> {
    let invalid = |line: usize, key: &str, source: SettingError| ConfigError::Invalid {
        file: file.to_owned(),
        line,
        key: key.to_owned(),
        source,
    };
    let syntax = |line: usize, text: &str, problem: &'static str| ConfigError::Syntax {
        file: file.to_owned(),
        line,
        text: text.to_owned(),
        problem,
    };
    let mut out = ConfFile::default();
    let mut listed: Option<(usize, Vec<String>)> = None;
    let mut settings: BTreeMap<String, DriverSettings> = BTreeMap::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (index, raw_line) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(syntax(line_no, line, "expected `key = value`"));
        };
        let key = key.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(syntax(line_no, key, "not a key"));
        }
        let value = unquote(value.trim());
        if let Some(previous) = seen.insert(key.to_owned(), line_no) {
            out.warnings.push(format!(
                "{file} line {line_no}: {key} repeats line {previous}; the last value counts"
            ));
        }
        if key == "exhook.drivers" {
            let names = driver_names(value).map_err(|m| invalid(line_no, key, m))?;
            listed = Some((line_no, names));
            continue;
        }
        let Some((name, setting)) = key
            .strip_prefix("exhook.drivers.")
            .and_then(|rest| rest.split_once('.'))
        else {
            out.warnings
                .push(format!("{file} line {line_no}: unknown key {key} ignored"));
            continue;
        };
        let entry = settings.entry(name.to_owned()).or_default();
        match entry.set(setting, RawValue::Text(value.to_owned())) {
            Ok(()) => {}
            Err(SettingError::UnknownKey { .. }) => out.warnings.push(format!(
                "{file} line {line_no}: unknown key {key} ignored (known: {})",
                crate::config::SETTING_KEYS.join(", ")
            )),
            Err(e) => return Err(invalid(line_no, key, e)),
        }
    }
    let (line_no, names) = listed.unwrap_or_default();
    for name in &names {
        let driver = settings
            .remove(name)
            .unwrap_or_default()
            .finish(name)
            .map_err(|m| invalid(line_no, "exhook.drivers", m))?;
        out.drivers.push(driver);
    }
    for name in settings.keys() {
        out.warnings.push(format!(
            "{file}: settings of driver {name} ignored: it is not listed in exhook.drivers"
        ));
    }
    Ok(out)
}

/// `python3`, `python3,java`, ` python3 , java `: the names, trimmed (EMQX did not trim).
fn driver_names(value: &str) -> Result<Vec<String>, SettingError> {
    let mut names: Vec<String> = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        if name == "python2" {
            return Err(SettingError::Python2);
        }
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// A value without its surrounding double or single quotes.
fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::DriverKind;

    /// The block of EMQX 4.1's guide (and of `../shared/seed/extension_hook.conf`).
    const SEED: &str = "## Setup the supported drivers\n##\n## Value: python3 | java\n\
        exhook.drivers = python3\n\n## Search path for scripts/library\n\
        exhook.drivers.python3.path = data/extension/\n\n## Call timeout\n##\n\
        ## Value: Duration\n##exhook.drivers.python3.call_timeout = 5s\n\n\
        ## Initial module name\n## Your filename or module name\n\
        exhook.drivers.python3.init_module = hooks\n";

    #[test]
    fn the_guides_block_configures_python3() {
        let conf = parse(SEED, "x.conf").unwrap();
        assert!(conf.warnings.is_empty(), "{:?}", conf.warnings);
        let [d] = conf.drivers.as_slice() else {
            panic!("{conf:?}")
        };
        assert_eq!((d.name.as_str(), d.kind), ("python3", DriverKind::Python3));
        assert_eq!(d.path, ["data/extension/"]);
        assert_eq!(d.init_module, "hooks");
        assert_eq!(d.call_timeout, Duration::from_secs(5));
        assert_eq!(d.pool_size, 1);
    }

    #[test]
    fn several_drivers_quotes_and_unknown_keys() {
        let text = "exhook.drivers = python3, java\n\
            exhook.drivers.java.path = \"data/java/\"\n\
            exhook.drivers.java.init_module = 'com.example.Hooks'\n\
            exhook.drivers.java.pool_size = 2\n\
            exhook.drivers.python3.buffer = 3\n\
            exhook.drivers.python.path = x\n\
            exhook.other = 1\n";
        let conf = parse(text, "x.conf").unwrap();
        let names: Vec<_> = conf.drivers.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["python3", "java"]);
        assert_eq!(conf.drivers[1].path, ["data/java/"]);
        assert_eq!(conf.drivers[1].init_module, "com.example.Hooks");
        assert_eq!(conf.drivers[1].pool_size, 2);
        assert_eq!(conf.warnings.len(), 3, "{:?}", conf.warnings);
        assert!(conf.warnings[0].contains("exhook.drivers.python3.buffer"));
    }

    #[test]
    fn bad_values_name_file_line_and_key() {
        let err = parse(
            "exhook.drivers = python3\nexhook.drivers.python3.call_timeout = 5x\n",
            "e.conf",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("e.conf line 2: exhook.drivers.python3.call_timeout:"),
            "{err}"
        );
        let err = parse("exhook.drivers = ruby\n", "e.conf")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 1: exhook.drivers:") && err.contains("needs kind"),
            "{err}"
        );
        let err = parse("exhook.drivers = python2\n", "e.conf")
            .unwrap_err()
            .to_string();
        assert!(err.contains("use python3"), "{err}");
        let err = parse("just words\n", "e.conf").unwrap_err().to_string();
        assert!(err.contains("key = value"), "{err}");
    }

    #[test]
    fn nothing_listed_means_no_driver() {
        let conf = parse("# empty\n\n", "x.conf").unwrap();
        assert!(conf.drivers.is_empty() && conf.warnings.is_empty());
    }
}
