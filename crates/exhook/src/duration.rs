//! Durations in the exhook configuration, written like `500ms`, `5s`, `1m`, `2h` (a bare integer
//! is seconds), and `auto_reconnect`, which is such a duration or `false`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A configured duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConfigDuration(pub Duration);

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a duration (write e.g. 500ms, 5s, 1m, 2h)")]
pub struct DurationError(String);

impl FromStr for ConfigDuration {
    type Err = DurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || DurationError(text.to_owned());
        let t = text.trim();
        let digits = t.bytes().take_while(u8::is_ascii_digit).count();
        let (number, unit) = t.split_at(digits);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let millis_per_unit: u64 = match unit.trim() {
            "ms" => 1,
            "" | "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        let ms = n.checked_mul(millis_per_unit).ok_or_else(bad)?;
        Ok(ConfigDuration(Duration::from_millis(ms)))
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        for (unit, size) in [("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
            if ms != 0 && ms.is_multiple_of(size) {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawDuration {
    Seconds(u64),
    Text(String),
    Flag(bool),
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RawDuration::deserialize(d)? {
            RawDuration::Seconds(s) => Ok(ConfigDuration(Duration::from_secs(s))),
            RawDuration::Text(t) => t.parse().map_err(serde::de::Error::custom),
            RawDuration::Flag(_) => Err(serde::de::Error::custom(
                "expected a duration such as \"5s\"",
            )),
        }
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// `auto_reconnect`: how long to wait before re-running the load handshake of a server that is
/// down, or `false` for never.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoReconnect(pub Option<Duration>);

impl Default for AutoReconnect {
    fn default() -> Self {
        AutoReconnect(Some(Duration::from_secs(60)))
    }
}

impl<'de> Deserialize<'de> for AutoReconnect {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let interval = match RawDuration::deserialize(d)? {
            RawDuration::Flag(false) => return Ok(AutoReconnect(None)),
            RawDuration::Flag(true) => return Ok(AutoReconnect::default()),
            RawDuration::Seconds(s) => Duration::from_secs(s),
            RawDuration::Text(t) => {
                t.parse::<ConfigDuration>()
                    .map_err(serde::de::Error::custom)?
                    .0
            }
        };
        if interval.is_zero() {
            return Err(serde::de::Error::custom(
                "must be a positive duration such as \"60s\", or false",
            ));
        }
        Ok(AutoReconnect(Some(interval)))
    }
}

impl Serialize for AutoReconnect {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => s.serialize_bool(false),
            Some(d) => s.serialize_str(&ConfigDuration(d).to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        for (text, ms, shown) in [
            ("500ms", 500, "500ms"),
            ("5s", 5_000, "5s"),
            ("5", 5_000, "5s"),
            ("1m", 60_000, "1m"),
            ("90s", 90_000, "90s"),
            ("2h", 7_200_000, "2h"),
        ] {
            let d: ConfigDuration = text.parse().unwrap();
            assert_eq!(d.0, Duration::from_millis(ms), "{text}");
            assert_eq!(d.to_string(), shown);
        }
        for bad in ["", "s", "5 parsecs", "-1s", "1.5s", "99999999999999999999d"] {
            assert!(bad.parse::<ConfigDuration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn auto_reconnect_is_a_duration_or_false() {
        #[derive(Deserialize)]
        struct T {
            a: AutoReconnect,
        }
        let read = |s: &str| toml::from_str::<T>(s).map(|t| t.a);
        assert_eq!(read("a = false").unwrap(), AutoReconnect(None));
        assert_eq!(
            read("a = \"2s\"").unwrap(),
            AutoReconnect(Some(Duration::from_secs(2)))
        );
        assert!(read("a = \"0s\"").is_err());
        assert!(read("a = \"soon\"").is_err());
    }
}
