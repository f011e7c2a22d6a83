//! Rates as operators write them: `40/s`, `90/min`, `60/h`, `5/30s`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `calls` upstream calls per `per`, and how many may go back to back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub calls: u32,
    pub per: Duration,
    /// Calls allowed back to back before the spacing applies.
    pub burst: u32,
}

impl Rate {
    pub const fn per_second(calls: u32, burst: u32) -> Rate {
        Rate {
            calls,
            per: Duration::from_secs(1),
            burst,
        }
    }

    /// `calls` per window, which may all go at once (a quota per window).
    pub const fn per_window(calls: u32, per: Duration, burst: u32) -> Rate {
        Rate { calls, per, burst }
    }

    /// Seconds between calls on average.
    pub fn interval(&self) -> f64 {
        self.per.as_secs_f64() / f64::from(self.calls.max(1))
    }

    pub fn per_second_f64(&self) -> f64 {
        1.0 / self.interval()
    }

    /// Parse `N/s`, `N/min`, `N/h`, `N/<duration>` (`5/30s`), or a bare
    /// number of calls per second (`2.5`). The burst stays `burst`.
    pub fn parse(text: &str, burst: u32) -> Result<Rate, String> {
        let text = text.trim();
        let bad =
            || format!("rate {text:?}: expected N/s, N/min, N/h or N/<duration> such as 5/30s");
        let Some((n, unit)) = text.split_once('/') else {
            let per_sec: f64 = text.parse().map_err(|_| bad())?;
            if !(per_sec > 0.0 && per_sec.is_finite()) {
                return Err(bad());
            }
            // Fractional rates become calls per hour.
            let per_hour = (per_sec * 3600.0).round().max(1.0) as u32;
            return Ok(if per_sec.fract() == 0.0 {
                Rate::per_second(per_sec as u32, burst)
            } else {
                Rate::per_window(per_hour, Duration::from_secs(3600), burst)
            });
        };
        let calls: u32 = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            "d" | "day" => Duration::from_secs(86400),
            other => humantime::parse_duration(other).map_err(|_| bad())?,
        };
        if calls == 0 || per.is_zero() {
            return Err(bad());
        }
        Ok(Rate {
            calls,
            per,
            burst: burst.max(1),
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.per.as_secs() {
            1 => write!(f, "{}/s", self.calls),
            60 => write!(f, "{}/min", self.calls),
            3600 => write!(f, "{}/h", self.calls),
            86400 => write!(f, "{}/d", self.calls),
            _ => write!(f, "{}/{}", self.calls, humantime::format_duration(self.per)),
        }
    }
}

/// A rate as configuration gives it: text (`"1/s"`) or a number per second.
/// The burst comes from elsewhere, so it is kept apart.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSetting(pub String);

impl Serialize for RateSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RateSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Num(n) => n.to_string(),
            Raw::Text(t) => t,
        };
        Rate::parse(&text, 1).map_err(serde::de::Error::custom)?;
        Ok(RateSetting(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_in_every_unit() {
        let r = Rate::parse("60/h", 5).unwrap();
        assert_eq!(
            (r.calls, r.per, r.burst),
            (60, Duration::from_secs(3600), 5)
        );
        assert_eq!(r.interval(), 60.0);
        assert_eq!(Rate::parse("5/30s", 5).unwrap().interval(), 6.0);
        assert_eq!(Rate::parse("1/s", 1).unwrap().interval(), 1.0);
        assert_eq!(Rate::parse("90/min", 1).unwrap().interval(), 60.0 / 90.0);
        assert_eq!(Rate::parse("40", 20).unwrap().interval(), 1.0 / 40.0);
        assert!((Rate::parse("0.5", 1).unwrap().interval() - 2.0).abs() < 1e-9);
        for bad in ["", "0/s", "x/s", "1/fortnight", "-1", "1/0s"] {
            assert!(Rate::parse(bad, 1).is_err(), "{bad}");
        }
        assert_eq!(Rate::parse("5/30s", 5).unwrap().to_string(), "5/30s");
        assert_eq!(Rate::parse("60/h", 5).unwrap().to_string(), "60/h");
    }
}
