//! One driver's settings as a configuration file writes them (`key = value`), checked and
//! applied one key at a time. `hookmq.toml` ([`crate::config`]) and the EMQX-style `.conf` file
//! ([`crate::conf_file`]) both go through [`DriverSettings::set`], so a key means the same in
//! either file and a bad value is reported the same way.

use std::fmt;
use std::time::Duration;

use hookmq_hooks::{BreakerConfig, Dispatch, FailedAction, HookPoint, Overflow};

use crate::config::{DriverConfig, DriverKind, MAX_BATCH, MAX_POOL_SIZE, MAX_QUEUE_CAPACITY};
use crate::error::SettingError;

/// A value as a configuration file wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// Text (every value of the `.conf` file; quoted values in TOML).
    Text(String),
    /// A TOML integer.
    Int(i64),
    /// A TOML boolean.
    Bool(bool),
    /// A TOML array of strings.
    List(Vec<String>),
}

impl fmt::Display for RawValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RawValue::Text(t) => write!(f, "{t:?}"),
            RawValue::Int(i) => write!(f, "{i}"),
            RawValue::Bool(b) => write!(f, "{b}"),
            RawValue::List(l) => write!(f, "{l:?}"),
        }
    }
}

/// The settings of one driver as read so far; [`DriverSettings::finish`] applies the defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DriverSettings {
    kind: Option<DriverKind>,
    enable: Option<bool>,
    mandatory: Option<bool>,
    breaker_failures: Option<u32>,
    breaker_window: Option<Duration>,
    breaker_cooldown: Option<Duration>,
    path: Option<Vec<String>>,
    call_timeout: Option<Duration>,
    hold_timeout: Option<Duration>,
    init_timeout: Option<Duration>,
    init_module: Option<String>,
    pool_size: Option<usize>,
    failed_action: Option<FailedAction>,
    priority: Option<i32>,
    dispatch: Option<Dispatch>,
    observe: Option<Vec<HookPoint>>,
    overflow: Option<Overflow>,
    queue_capacity: Option<usize>,
    batch: Option<bool>,
    max_batch: Option<usize>,
}

impl DriverSettings {
    /// Applies `key = value`; the error says what is wrong with the value (the caller names the
    /// key and the file), or [`SettingError::UnknownKey`].
    pub fn set(&mut self, key: &str, value: RawValue) -> Result<(), SettingError> {
        let bad = |expected: &'static str| SettingError::BadValue {
            value: value.to_string(),
            expected,
        };
        match key {
            "enable" => self.enable = Some(boolean(&value).ok_or_else(|| bad("true or false"))?),
            "mandatory" => {
                self.mandatory = Some(boolean(&value).ok_or_else(|| bad("true or false"))?)
            }
            "breaker_failures" => {
                let n = integer(&value).and_then(|n| u32::try_from(n).ok());
                self.breaker_failures =
                    Some(n.ok_or_else(|| bad("a number of failures (0: no circuit breaker)"))?);
            }
            "breaker_window" => self.breaker_window = Some(duration(&value)?),
            "breaker_cooldown" => self.breaker_cooldown = Some(duration(&value)?),
            "kind" => {
                let kind = text(&value).and_then(DriverKind::from_name);
                self.kind = Some(kind.ok_or_else(|| bad("python3, python or java"))?);
            }
            "path" => {
                let list = match &value {
                    RawValue::Text(t) => split_path(t),
                    RawValue::List(l) => l.iter().map(|s| s.trim().to_owned()).collect(),
                    _ => return Err(bad("a path")),
                };
                if list.iter().any(String::is_empty) || list.is_empty() {
                    return Err(bad("a path (directories separated by ':')"));
                }
                self.path = Some(list);
            }
            "call_timeout" | "init_timeout" | "hold_timeout" => {
                let d = duration(&value)?;
                match key {
                    "call_timeout" => self.call_timeout = Some(d),
                    "init_timeout" => self.init_timeout = Some(d),
                    _ => self.hold_timeout = Some(d),
                }
            }
            "init_module" => {
                let name = text(&value).map(str::trim).unwrap_or_default();
                let valid = !name.is_empty()
                    && name.len() <= 255
                    && name
                        .chars()
                        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '$'));
                if !valid {
                    return Err(bad(
                        "a module or class name (e.g. hooks, com.example.Hooks)",
                    ));
                }
                self.init_module = Some(name.to_owned());
            }
            "pool_size" => {
                let n = integer(&value).filter(|n| (1..=MAX_POOL_SIZE as i64).contains(n));
                let n = n.ok_or_else(|| SettingError::PoolSize {
                    value: value.to_string(),
                })?;
                self.pool_size = Some(n as usize);
            }
            "failed_action" => {
                self.failed_action = Some(match text(&value) {
                    Some("ignore") => FailedAction::Ignore,
                    Some("deny") => FailedAction::Deny,
                    _ => return Err(bad("ignore or deny")),
                });
            }
            "priority" => {
                let p = integer(&value).and_then(|n| i32::try_from(n).ok());
                self.priority = Some(p.ok_or_else(|| bad("an integer"))?);
            }
            "dispatch" => {
                self.dispatch = Some(match text(&value) {
                    Some("queued") => Dispatch::default(),
                    Some("inline") => Dispatch::Inline,
                    _ => return Err(bad("queued or inline")),
                });
            }
            "observe" => {
                let names: Vec<&str> = match &value {
                    RawValue::Text(t) => t.split(',').map(str::trim).collect(),
                    RawValue::List(l) => l.iter().map(|n| n.trim()).collect(),
                    _ => return Err(bad("a list of hook names")),
                };
                let mut points = Vec::new();
                for name in names.into_iter().filter(|n| !n.is_empty()) {
                    let point =
                        HookPoint::from_name(name).ok_or_else(|| SettingError::UnknownHook {
                            name: name.to_owned(),
                        })?;
                    if !points.contains(&point) {
                        points.push(point);
                    }
                }
                self.observe = Some(points);
            }
            "overflow" => {
                self.overflow = Some(match text(&value) {
                    Some("drop") => Overflow::Drop,
                    Some("block") => Overflow::Block,
                    _ => return Err(bad("drop or block")),
                });
            }
            "batch" => self.batch = Some(boolean(&value).ok_or_else(|| bad("true or false"))?),
            "max_batch" => {
                let n = integer(&value).filter(|n| (1..=MAX_BATCH as i64).contains(n));
                self.max_batch =
                    Some(n.ok_or_else(|| bad("a number of calls from 1 to 65536"))? as usize);
            }
            "queue_capacity" => {
                let n = integer(&value).filter(|n| (1..=MAX_QUEUE_CAPACITY as i64).contains(n));
                let n = n.ok_or_else(|| bad("a queue length from 1 to 1048576"))?;
                self.queue_capacity = Some(n as usize);
            }
            _ => {
                return Err(SettingError::UnknownKey {
                    key: key.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The driver named `name` with these settings and defaults for the rest. Without a `kind`
    /// the name must be a kind (`python3`, `python`, `java`), as in EMQX.
    pub fn finish(self, name: &str) -> Result<DriverConfig, SettingError> {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(SettingError::DriverName {
                name: name.to_owned(),
            });
        }
        let kind = match (self.kind, DriverKind::from_name(name)) {
            (Some(kind), _) | (None, Some(kind)) => kind,
            (None, None) => {
                return Err(SettingError::NoKind {
                    name: name.to_owned(),
                });
            }
        };
        let mut c = DriverConfig::new(name, kind);
        let call_timeout = self.call_timeout.unwrap_or(c.call_timeout);
        c.enable = self.enable.unwrap_or(c.enable);
        c.path = self.path.unwrap_or(c.path);
        c.call_timeout = call_timeout;
        c.hold_timeout = self.hold_timeout.unwrap_or(c.hold_timeout);
        c.init_timeout = self
            .init_timeout
            .unwrap_or_else(|| kind.default_init_timeout(call_timeout));
        c.init_module = self.init_module.unwrap_or(c.init_module);
        c.pool_size = self.pool_size.unwrap_or(c.pool_size);
        c.failed_action = self.failed_action.unwrap_or(c.failed_action);
        c.mandatory = self.mandatory.unwrap_or(c.mandatory);
        c.breaker = BreakerConfig {
            failures: self.breaker_failures.unwrap_or(c.breaker.failures),
            window: self.breaker_window.unwrap_or(c.breaker.window),
            cooldown: self.breaker_cooldown.unwrap_or(c.breaker.cooldown),
        };
        c.priority = self.priority.unwrap_or(c.priority);
        c.dispatch = self.dispatch.unwrap_or(c.dispatch);
        if let (Some(n), Dispatch::Queued { capacity, .. }) = (self.queue_capacity, &mut c.dispatch)
        {
            *capacity = n;
        }
        c.observe = self.observe.unwrap_or(c.observe);
        c.overflow = self.overflow.unwrap_or(c.overflow);
        c.batch = self.batch.unwrap_or(c.batch);
        c.max_batch = self.max_batch.unwrap_or(c.max_batch);
        Ok(c)
    }
}

fn text(v: &RawValue) -> Option<&str> {
    match v {
        RawValue::Text(t) => Some(t.trim()),
        _ => None,
    }
}

fn boolean(v: &RawValue) -> Option<bool> {
    match v {
        RawValue::Bool(b) => Some(*b),
        RawValue::Text(t) => match t.trim() {
            "true" | "on" => Some(true),
            "false" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn integer(v: &RawValue) -> Option<i64> {
    match v {
        RawValue::Int(i) => Some(*i),
        RawValue::Text(t) => t.trim().parse().ok(),
        _ => None,
    }
}

/// A `:`-separated search path (EMQX's form), empty pieces dropped.
fn split_path(text: &str) -> Vec<String> {
    text.split(':')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A duration written `500ms`, `5s`, `1m` or `1h`; a TOML integer counts seconds. Text without a
/// unit is refused: EMQX read it as milliseconds, hookmq.toml as seconds, so it is ambiguous.
pub fn duration(v: &RawValue) -> Result<Duration, SettingError> {
    let d = match v {
        RawValue::Int(n) if *n > 0 => Duration::from_secs(*n as u64),
        RawValue::Text(t) => parse_duration(t)?,
        other => {
            return Err(SettingError::NotADuration {
                value: other.to_string(),
                source: None,
            });
        }
    };
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(SettingError::DurationRange {
            value: v.to_string(),
        });
    }
    Ok(d)
}

fn parse_duration(text: &str) -> Result<Duration, SettingError> {
    let t = text.trim();
    let bad = |source| SettingError::NotADuration {
        value: format!("{t:?}"),
        source,
    };
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let n: u64 = number.parse().map_err(|e| bad(Some(e)))?;
    let ms_per = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => return Err(SettingError::NoUnit { text: t.to_owned() }),
        _ => return Err(bad(None)),
    };
    n.checked_mul(ms_per)
        .map(Duration::from_millis)
        .ok_or_else(|| bad(None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_need_units_in_text() {
        let d = |s: &str| duration(&RawValue::Text(s.into()));
        assert_eq!(d("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(d(" 5s "), Ok(Duration::from_secs(5)));
        assert_eq!(d("1m"), Ok(Duration::from_secs(60)));
        assert!(d("5000").is_err());
        assert!(d("0s").is_err());
        assert!(d("2h").is_err());
        assert!(d("fast").is_err());
        assert_eq!(duration(&RawValue::Int(3)), Ok(Duration::from_secs(3)));
    }

    #[test]
    fn breaker_keys_set_the_circuit_breaker() {
        let mut s = DriverSettings::default();
        assert_eq!(
            s.clone().finish("python3").unwrap().breaker,
            BreakerConfig::DEFAULT
        );
        s.set("breaker_failures", RawValue::Int(3)).unwrap();
        s.set("breaker_window", RawValue::Text("2s".into()))
            .unwrap();
        s.set("breaker_cooldown", RawValue::Text("500ms".into()))
            .unwrap();
        let c = s.clone().finish("python3").unwrap();
        assert_eq!(
            c.breaker,
            BreakerConfig {
                failures: 3,
                window: Duration::from_secs(2),
                cooldown: Duration::from_millis(500),
            }
        );
        assert!(s.set("breaker_failures", RawValue::Int(-1)).is_err());
        assert!(
            s.set("breaker_failures", RawValue::Text("many".into()))
                .is_err()
        );
        assert!(
            s.set("breaker_window", RawValue::Text("0s".into()))
                .is_err()
        );
        assert!(
            s.set("breaker_cooldown", RawValue::Text("soon".into()))
                .is_err()
        );
    }

    #[test]
    fn observe_overflow_and_queue_capacity() {
        let mut s = DriverSettings::default();
        let text = |t: &str| RawValue::Text(t.into());
        s.set(
            "observe",
            text("message_publish, message.delivered,,message_publish"),
        )
        .unwrap();
        s.set("overflow", text("block")).unwrap();
        s.set("queue_capacity", RawValue::Int(16)).unwrap();
        let c = s.clone().finish("python3").unwrap();
        assert_eq!(
            c.observe,
            [HookPoint::MessagePublish, HookPoint::MessageDelivered]
        );
        assert_eq!(c.overflow, Overflow::Block);
        assert!(matches!(c.dispatch, Dispatch::Queued { capacity: 16, .. }));
        let list = RawValue::List(vec!["client_check_acl".into()]);
        s.set("observe", list).unwrap();
        assert_eq!(
            s.finish("java").unwrap().observe,
            [HookPoint::ClientAuthorize]
        );
        let mut s = DriverSettings::default();
        assert!(matches!(
            s.set("observe", text("message_sent")),
            Err(SettingError::UnknownHook { .. })
        ));
        assert!(s.set("overflow", text("wait")).is_err());
        assert!(s.set("queue_capacity", RawValue::Int(0)).is_err());
        assert!(s.set("queue_capacity", text("lots")).is_err());
        s.set("batch", text("off")).unwrap();
        s.set("max_batch", RawValue::Int(64)).unwrap();
        let c = s.clone().finish("python").unwrap();
        assert_eq!((c.batch, c.max_batch), (false, 64));
        assert!(DriverConfig::new("x", DriverKind::Java).batch);
        assert!(s.set("max_batch", RawValue::Int(0)).is_err());
        assert!(s.set("batch", text("sometimes")).is_err());
    }
}
