//! Time as a parameter. Pure functions take `now: UnixTime`; services hold an `Arc<dyn Clock>`
//! and read it once per request, so the checks, the token and the log line of one request all
//! see the same instant (and tests never sleep).

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch, the unit of every JWT time claim (RFC 7519 §2 "NumericDate").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(i64);

impl UnixTime {
    /// The epoch itself; Entra prints it when an assertion lacks `nbf`/`iat`.
    pub const EPOCH: UnixTime = UnixTime(0);

    /// A time from whole seconds since the epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Self(secs)
    }

    /// Whole seconds since the epoch.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// This time moved forward by `secs` (saturating; never wraps).
    pub const fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs))
    }

    /// This time moved back by `secs` (saturating).
    pub const fn minus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_sub(secs))
    }

    /// This time moved forward by a duration (saturating).
    pub fn plus(self, d: Duration) -> Self {
        self.plus_secs(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Seconds from `earlier` to `self` (negative when `earlier` is later).
    pub const fn secs_since(self, earlier: UnixTime) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Entra's timestamp style in error bodies: `2024-06-04 11:40:28Z`.
    pub fn to_entra_timestamp(self) -> String {
        match time::OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            Err(_) => self.0.to_string(),
        }
    }

    /// The ISO-8601 form with seven fractional digits Entra prints in AADSTS700024:
    /// `2024-06-04T11:40:28.0000000Z`.
    pub fn to_entra_iso(self) -> String {
        match time::OffsetDateTime::from_unix_timestamp(self.0) {
            Ok(t) => format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.0000000Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            Err(_) => self.0.to_string(),
        }
    }

    /// RFC 3339 (`2024-06-04T11:40:28Z`), for logs and CLI output.
    pub fn to_rfc3339(self) -> String {
        time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| self.0.to_string())
    }
}

impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// The source of "now". Only [`SystemClock`] reads the wall clock.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "SystemClock is the one place that reads the wall clock"
    )]
    fn now(&self) -> UnixTime {
        let secs = std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}

/// Parses a human duration such as `90s`, `10m`, `1h`, `2d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, InvalidDuration> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| InvalidDuration(text.to_owned()))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(InvalidDuration(text.to_owned())),
    };
    n.checked_mul(mult)
        .map(Duration::from_secs)
        .ok_or_else(|| InvalidDuration(text.to_owned()))
}

/// A duration string that is not `<number>[s|m|h|d]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration '{0}': use a number followed by s, m, h or d, for example 10m or 1h")]
pub struct InvalidDuration(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_timestamp_formats() {
        let t = UnixTime::from_secs(1_717_501_228);
        assert_eq!(t.to_entra_timestamp(), "2024-06-04 11:40:28Z");
        assert_eq!(t.to_entra_iso(), "2024-06-04T11:40:28.0000000Z");
        assert_eq!(
            UnixTime::EPOCH.to_entra_iso(),
            "1970-01-01T00:00:00.0000000Z"
        );
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(
            UnixTime::from_secs(i64::MAX).plus_secs(1).as_secs(),
            i64::MAX
        );
        assert_eq!(
            UnixTime::from_secs(10).secs_since(UnixTime::from_secs(4)),
            6
        );
    }
}
