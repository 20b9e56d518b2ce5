//! What a port driver is configured with. Two sources give the same [`DriverConfig`]: the
//! `[exhook.drivers.<name>]` tables of `hookmq.toml` (read here, through serde, so a bad value
//! names its key and the binary exits 64) and the EMQX-style `etc/plugins/extension_hook.conf`
//! (read by [`crate::conf_file`]). Both apply values through
//! [`crate::settings::DriverSettings::set`], so a key means the same thing in either file.

use std::fmt;
use std::time::Duration;

use hookmq_hooks::{BreakerConfig, Dispatch, FailedAction, HookPoint, Overflow};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::settings::{DriverSettings, RawValue};

/// Where the EMQX-style plugin configuration is looked for, relative to the broker's working
/// directory (EMQX's install root).
pub const DEFAULT_CONF_FILE: &str = "etc/plugins/extension_hook.conf";

/// The search path a driver gets when none is configured (EMQX's `data/extension/`).
pub const DEFAULT_PATH: &str = "data/extension/";

/// The deadline of each hook call when none is configured (EMQX's 5 s).
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// The least default `init_timeout` of a Java driver.
pub const MIN_JAVA_INIT_TIMEOUT: Duration = Duration::from_secs(15);

/// The most workers one driver may run.
pub const MAX_POOL_SIZE: usize = 64;

/// The longest queue (per shard) a driver may configure.
pub const MAX_QUEUE_CAPACITY: usize = 1 << 20;

/// The most calls one batch may hold.
pub const MAX_BATCH: usize = 65_536;

/// The keys a driver accepts, in both files.
pub const SETTING_KEYS: [&str; 20] = [
    "enable",
    "kind",
    "path",
    "call_timeout",
    "init_timeout",
    "hold_timeout",
    "init_module",
    "pool_size",
    "failed_action",
    "mandatory",
    "breaker_failures",
    "breaker_window",
    "breaker_cooldown",
    "priority",
    "dispatch",
    "observe",
    "overflow",
    "queue_capacity",
    "batch",
    "max_batch",
];

/// Which runtime a driver starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DriverKind {
    /// `python3 -u -m erlport.cli ...`, `python3` found on `PATH`.
    Python3,
    /// The same with the executable `python` (EMQX 4.2's name, common on Windows and in venvs).
    Python,
    /// `java -cp ... erlport.CLI ...`, `java` found on `PATH` or in `$JAVA_HOME/bin`.
    Java,
}

impl DriverKind {
    /// The kind a driver name or `kind` value stands for: `python3`, `python` or `java`.
    pub fn from_name(name: &str) -> Option<DriverKind> {
        match name {
            "python3" => Some(DriverKind::Python3),
            "python" => Some(DriverKind::Python),
            "java" => Some(DriverKind::Java),
            _ => None,
        }
    }

    /// `python3`, `python` or `java`.
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Python3 => "python3",
            DriverKind::Python => "python",
            DriverKind::Java => "java",
        }
    }

    /// True for the two Python kinds.
    pub fn is_python(self) -> bool {
        !matches!(self, DriverKind::Java)
    }

    /// The `init_timeout` when none is configured: `call_timeout`, and for Java at least
    /// [`MIN_JAVA_INIT_TIMEOUT`] (a JVM takes a while to start; EMQX users hit a load failure
    /// there with its 5 s).
    pub fn default_init_timeout(self, call_timeout: Duration) -> Duration {
        match self {
            DriverKind::Java => call_timeout.max(MIN_JAVA_INIT_TIMEOUT),
            _ => call_timeout,
        }
    }

    /// EMQX's default `init_module`: `main` for Python, `Main` for Java.
    pub fn default_init_module(self) -> &'static str {
        if self.is_python() { "main" } else { "Main" }
    }
}

impl fmt::Display for DriverKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One driver, ready to load.
#[derive(Debug, Clone, PartialEq)]
pub struct DriverConfig {
    /// The driver's name: its registry handler name, the name `hookmq ctl` uses.
    pub name: String,
    /// Which runtime it starts.
    pub kind: DriverKind,
    /// Load it with the plugin (`false`: only `hookmq ctl exhook drivers enable` starts it).
    pub enable: bool,
    /// Search path: directories (and, for Java, jars) as written, relative ones resolved against
    /// the broker's working directory.
    pub path: Vec<String>,
    /// Deadline of every hook call.
    pub call_timeout: Duration,
    /// Deadline of starting a worker and its `init()` (defaults to `call_timeout`).
    pub init_timeout: Duration,
    /// How long a publisher's acknowledgement held by a `message_publish` answer waits for
    /// `confirm` before `failed_action` decides it.
    pub hold_timeout: Duration,
    /// The Python module or Java class whose `init()` returns the hook specs.
    pub init_module: String,
    /// Worker processes; each client's events always go to the same one.
    pub pool_size: usize,
    /// What a failed call means for the valued hooks.
    pub failed_action: FailedAction,
    /// Whether the broker cannot do without this driver's `client_authenticate`: while no
    /// worker can take the call, new clients are refused with 0x88 Server unavailable (3.x:
    /// return code 3) instead of falling through to `allow_anonymous`.
    pub mandatory: bool,
    /// When the registry stops calling the driver after failed calls, and for how long
    /// (`breaker_failures`, `breaker_window`, `breaker_cooldown`).
    pub breaker: BreakerConfig,
    /// Chain position against other handlers (higher first).
    pub priority: i32,
    /// How events reach the workers.
    pub dispatch: Dispatch,
    /// Hooks the driver only observes, whatever its `init()` says (which may add more): the
    /// broker never waits for them and ignores what they answer.
    pub observe: Vec<HookPoint>,
    /// What a full queue does to notifications and observed events.
    pub overflow: Overflow,
    /// Offer hookmq's batched protocol to the worker (taken by hookmq's runtimes; others, such
    /// as EMQX's erlport, decline and get one call per frame).
    pub batch: bool,
    /// The most calls one batch frame holds.
    pub max_batch: usize,
}

impl DriverConfig {
    /// A driver of `kind` named `name` with every default.
    pub fn new(name: &str, kind: DriverKind) -> DriverConfig {
        DriverConfig {
            name: name.to_owned(),
            kind,
            enable: true,
            path: vec![DEFAULT_PATH.to_owned()],
            call_timeout: DEFAULT_CALL_TIMEOUT,
            init_timeout: kind.default_init_timeout(DEFAULT_CALL_TIMEOUT),
            hold_timeout: hookmq_hooks::DEFAULT_HOLD_TIMEOUT,
            init_module: kind.default_init_module().to_owned(),
            pool_size: 1,
            failed_action: FailedAction::Ignore,
            mandatory: false,
            breaker: BreakerConfig::DEFAULT,
            priority: 0,
            dispatch: Dispatch::default(),
            observe: Vec::new(),
            overflow: Overflow::Drop,
            batch: true,
            max_batch: crate::batch::DEFAULT_MAX_BATCH,
        }
    }
}

/// `[exhook.drivers]`: where the runtimes are, where the EMQX-style file is, and the drivers
/// configured in `hookmq.toml` (`[exhook.drivers.<name>]` tables).
#[derive(Debug, Clone, PartialEq)]
pub struct DriversConfig {
    /// Directory holding `python/erlport` and `java/.../erlport.jar`; empty: discovered
    /// (`$HOOKMQ_RUNTIMES`, then next to the executable).
    pub runtimes_dir: String,
    /// The EMQX-style `key = value` file, relative to the working directory; empty: none.
    pub conf_file: String,
    /// The drivers of `hookmq.toml`, in name order.
    pub drivers: Vec<DriverConfig>,
}

impl Default for DriversConfig {
    fn default() -> Self {
        DriversConfig {
            runtimes_dir: String::new(),
            conf_file: DEFAULT_CONF_FILE.to_owned(),
            drivers: Vec::new(),
        }
    }
}

impl<'de> Deserialize<'de> for DriversConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DriversVisitor)
    }
}

struct DriversVisitor;

impl<'de> Visitor<'de> for DriversVisitor {
    type Value = DriversConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("runtimes_dir, conf_file and [exhook.drivers.<name>] tables")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DriversConfig, A::Error> {
        let mut config = DriversConfig::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "runtimes_dir" => config.runtimes_dir = map.next_value()?,
                "conf_file" => config.conf_file = map.next_value()?,
                _ => {
                    let driver = map.next_value_seed(DriverSeed(&key))?;
                    config.drivers.push(driver);
                }
            }
        }
        Ok(config)
    }
}

/// Reads one `[exhook.drivers.<name>]` table.
struct DriverSeed<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for DriverSeed<'_> {
    type Value = DriverConfig;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<DriverConfig, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DriverSeed<'_> {
    type Value = DriverConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a table of driver settings ({})",
            SETTING_KEYS.join(", ")
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DriverConfig, A::Error> {
        let mut settings = DriverSettings::default();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value_seed(SettingSeed {
                key: &key,
                settings: &mut settings,
            })?;
        }
        settings.finish(self.0).map_err(de::Error::custom)
    }
}

/// Reads one value and applies it, so an error carries the key's path.
struct SettingSeed<'a> {
    key: &'a str,
    settings: &'a mut DriverSettings,
}

impl<'de> DeserializeSeed<'de> for SettingSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let value = deserializer.deserialize_any(RawVisitor)?;
        self.settings
            .set(self.key, value)
            .map_err(de::Error::custom)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, an integer, a boolean or an array of strings")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Text(v.to_owned()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        i64::try_from(v)
            .map(RawValue::Int)
            .map_err(|_| E::custom("integer too large"))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<String>()? {
            items.push(item);
        }
        Ok(RawValue::List(items))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DriversConfig, String> {
        let value: toml::Value = toml::from_str(text).map_err(|e| e.to_string())?;
        DriversConfig::deserialize(value).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_table_is_the_default() {
        assert_eq!(parse("").unwrap(), DriversConfig::default());
    }

    #[test]
    fn a_driver_table_gets_defaults_by_kind() {
        let c = parse(
            "[python3]\npath = \"data/extension/:lib\"\ninit_module = \"hooks\"\n\
             [auth]\nkind = \"java\"\npool_size = 2\ncall_timeout = 2\nfailed_action = \"deny\"\n\
             mandatory = true\n",
        )
        .unwrap();
        let auth = &c.drivers[0];
        assert_eq!((auth.name.as_str(), auth.kind), ("auth", DriverKind::Java));
        assert_eq!(auth.init_module, "Main");
        assert_eq!(auth.call_timeout, Duration::from_secs(2));
        assert_eq!(auth.init_timeout, MIN_JAVA_INIT_TIMEOUT);
        assert_eq!(auth.failed_action, FailedAction::Deny);
        assert!(auth.mandatory);
        let py = &c.drivers[1];
        assert_eq!(py.path, ["data/extension/", "lib"]);
        assert_eq!(py.call_timeout, DEFAULT_CALL_TIMEOUT);
        assert_eq!(py.init_timeout, DEFAULT_CALL_TIMEOUT);
        assert_eq!(py.failed_action, FailedAction::Ignore);
        assert_eq!(py.pool_size, 1);
        assert!(!py.mandatory);
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let err = parse("[python3]\npool_size = 0\n").unwrap_err();
        assert!(err.contains("from 1 to 64"), "{err}");
        let err = parse("[python3]\ncall_timeout = \"5\"\n").unwrap_err();
        assert!(err.contains("no unit"), "{err}");
        let err = parse("[python3]\ninit_modul = \"x\"\n").unwrap_err();
        assert!(
            err.contains("unknown driver setting \"init_modul\""),
            "{err}"
        );
        let err = parse("[mine]\npath = \"x\"\n").unwrap_err();
        assert!(err.contains("needs kind"), "{err}");
        let err = parse("[java]\ndispatch = \"sync\"\n").unwrap_err();
        assert!(err.contains("queued or inline"), "{err}");
    }
}
