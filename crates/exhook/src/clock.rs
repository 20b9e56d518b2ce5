//! Time as `BrokerInfo` writes it: the uptime as text for v1 servers and the date and time in
//! UTC, without a calendar library.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `BrokerInfo.uptime` in v1: e.g. `1 days, 2 hours, 0 minutes, 5 seconds`, leading zero units
/// left out.
pub(crate) fn uptime_text(d: Duration) -> String {
    let s = d.as_secs();
    let parts = [
        (s / 86_400, "days"),
        (s / 3_600 % 24, "hours"),
        (s / 60 % 60, "minutes"),
        (s % 60, "seconds"),
    ];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(3);
    parts[first..]
        .iter()
        .map(|(n, unit)| format!("{n} {unit}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `BrokerInfo.datetime`: `YYYY-MM-DD HH:MM:SS` in UTC.
pub(crate) fn datetime_text(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_date(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Year, month, day of a day count since 1970-01-01 (proleptic Gregorian calendar), counting in
/// 400-year eras that start on March 1st so leap days fall at the end of a year.
pub(crate) fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // month counted from March
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_uptimes_read_as_people_write_them() {
        assert_eq!(datetime_text(UNIX_EPOCH), "1970-01-01 00:00:00");
        assert_eq!(
            datetime_text(UNIX_EPOCH + Duration::from_secs(951_827_696)),
            "2000-02-29 12:34:56"
        );
        assert_eq!(
            datetime_text(UNIX_EPOCH + Duration::from_secs(1_735_689_599)),
            "2024-12-31 23:59:59"
        );
        assert_eq!(uptime_text(Duration::from_secs(5)), "5 seconds");
        assert_eq!(
            uptime_text(Duration::from_secs(90_061)),
            "1 days, 1 hours, 1 minutes, 1 seconds"
        );
        assert_eq!(
            uptime_text(Duration::from_secs(3_600)),
            "1 hours, 0 minutes, 0 seconds"
        );
    }
}
