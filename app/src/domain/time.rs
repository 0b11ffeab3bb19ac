//! Instants as milliseconds since the Unix epoch (UTC). This is the form stored in both
//! databases (an integer sorts, compares and indexes the same way in SQLite and PostgreSQL).

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

pub const MILLIS_PER_MINUTE: i64 = 60_000;

/// A delay in words: "a minute", "90 seconds", "5 minutes".
pub fn describe_seconds(seconds: i64) -> String {
    match seconds {
        60 => "a minute".to_string(),
        s if s > 60 && s % 60 == 0 => format!("{} minutes", s / 60),
        1 => "a second".to_string(),
        s => format!("{s} seconds"),
    }
}
pub const MILLIS_PER_HOUR: i64 = 60 * MILLIS_PER_MINUTE;
pub const MILLIS_PER_DAY: i64 = 24 * MILLIS_PER_HOUR;

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    pub fn plus_days(self, days: i64) -> Self {
        Self(self.0.saturating_add(days.saturating_mul(MILLIS_PER_DAY)))
    }

    pub fn plus_minutes(self, minutes: i64) -> Self {
        Self(
            self.0
                .saturating_add(minutes.saturating_mul(MILLIS_PER_MINUTE)),
        )
    }

    /// Whole days from `self` until `later`, rounded down; negative when `later` is earlier.
    pub fn days_until(self, later: Timestamp) -> i64 {
        (later.0 - self.0).div_euclid(MILLIS_PER_DAY)
    }

    /// The calendar date in UTC as `YYYY-MM-DD`, without pulling a date library into the
    /// browser bundle (civil-from-days, H. Hinnant's algorithm).
    pub fn date_utc(self) -> String {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        format!("{year:04}-{month:02}-{day:02}")
    }

    /// Midnight UTC at the start of a `YYYY-MM-DD` date, as typed into a date field.
    pub fn parse_date(text: &str) -> Result<Self, String> {
        let invalid = || format!("Enter a date like 2026-12-31 (got {:?}).", text.trim());
        let mut parts = text.trim().splitn(3, '-');
        let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let (Ok(year), Ok(month), Ok(day)) = (
            year.parse::<i64>(),
            month.parse::<u32>(),
            day.parse::<u32>(),
        ) else {
            return Err(invalid());
        };
        if !(1970..=9999).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return Err(invalid());
        }
        let days = days_from_civil(year, month, day);
        // Reject 2026-02-30 and the like: the day must survive the round trip.
        if civil_from_days(days) != (year, month, day) {
            return Err(invalid());
        }
        Ok(Self(days * MILLIS_PER_DAY))
    }

    /// `YYYY-MM-DD HH:MM UTC`.
    pub fn date_time_utc(self) -> String {
        let minutes_of_day = self.0.rem_euclid(MILLIS_PER_DAY) / MILLIS_PER_MINUTE;
        format!(
            "{} {:02}:{:02} UTC",
            self.date_utc(),
            minutes_of_day / 60,
            minutes_of_day % 60
        )
    }
}

impl Timestamp {
    /// A date and time typed into a `datetime-local` field (`YYYY-MM-DDTHH:MM`, read as
    /// UTC), or a date alone (midnight UTC).
    pub fn parse_date_time(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let invalid = || format!("Enter a date and time like 2026-12-31T09:00 (got {text:?}).");
        let Some((date, time)) = text.split_once(['T', ' ']) else {
            return Self::parse_date(text).map_err(|_| invalid());
        };
        let day = Self::parse_date(date).map_err(|_| invalid())?;
        let mut parts = time.trim_end_matches('Z').splitn(3, ':');
        let (Some(hours), Some(minutes)) = (parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let (Ok(hours), Ok(minutes)) = (hours.parse::<i64>(), minutes.parse::<i64>()) else {
            return Err(invalid());
        };
        if !(0..24).contains(&hours) || !(0..60).contains(&minutes) {
            return Err(invalid());
        }
        Ok(Self(
            day.0 + hours * MILLIS_PER_HOUR + minutes * MILLIS_PER_MINUTE,
        ))
    }

    /// The same day of the month and time of day `months` calendar months later, or the
    /// month's last day when it is shorter (31 January plus one month is 28 or 29 February).
    pub fn plus_months(self, months: u32) -> Self {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let time_of_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let index = year * 12 + i64::from(month) - 1 + i64::from(months);
        let (year, month) = (
            index.div_euclid(12),
            u32::try_from(index.rem_euclid(12)).unwrap_or(0) + 1,
        );
        let mut day = day;
        while day > 28 && civil_from_days(days_from_civil(year, month, day)) != (year, month, day) {
            day -= 1;
        }
        Self(days_from_civil(year, month, day) * MILLIS_PER_DAY + time_of_day)
    }

    /// `YYYY-MM-DDTHH:MM`, as a `datetime-local` field shows it.
    pub fn date_time_input(self) -> String {
        let minutes_of_day = self.0.rem_euclid(MILLIS_PER_DAY) / MILLIS_PER_MINUTE;
        format!(
            "{}T{:02}:{:02}",
            self.date_utc(),
            minutes_of_day / 60,
            minutes_of_day % 60
        )
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.date_time_utc())
    }
}

/// How much of the period from `start` to `end` has passed at `now`, 0 to 100.
pub fn elapsed_percent(start: Timestamp, end: Timestamp, now: Timestamp) -> u8 {
    if end <= start || now >= end {
        return 100;
    }
    if now <= start {
        return 0;
    }
    let percent = (now.0 - start.0) as i128 * 100 / (end.0 - start.0) as i128;
    percent.clamp(0, 100) as u8
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days_since_epoch: i64) -> (i64, u32, u32) {
    let z = days_since_epoch + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A date typed into the form field `field`: none when left empty, a field error when it
/// is not a date.
pub fn optional_date(
    field: &str,
    text: &str,
) -> Result<Option<Timestamp>, crate::domain::AppError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    Timestamp::parse_date(text)
        .map(Some)
        .map_err(|message| crate::domain::AppError::invalid_field(field, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_read_as_words() {
        assert_eq!(describe_seconds(60), "a minute");
        assert_eq!(describe_seconds(300), "5 minutes");
        assert_eq!(describe_seconds(90), "90 seconds");
        assert_eq!(describe_seconds(1), "a second");
    }

    #[test]
    fn months_are_added_on_the_calendar() {
        let jan31 = Timestamp::parse_date_time("2026-01-31T09:30").unwrap();
        assert_eq!(jan31.plus_months(1).date_time_input(), "2026-02-28T09:30");
        assert_eq!(jan31.plus_months(3).date_time_input(), "2026-04-30T09:30");
        assert_eq!(jan31.plus_months(12).date_time_input(), "2027-01-31T09:30");
        assert_eq!(
            Timestamp::parse_date_time("2027-11-15T00:00")
                .unwrap()
                .plus_months(3)
                .date_time_input(),
            "2028-02-15T00:00"
        );
        assert_eq!(
            Timestamp::parse_date_time("2026-12-02")
                .unwrap()
                .date_time_input(),
            "2026-12-02T00:00"
        );
        assert!(Timestamp::parse_date_time("2026-12-02T25:00").is_err());
        assert!(Timestamp::parse_date_time("soon").is_err());
    }

    #[test]
    fn epoch_is_first_of_january_1970() {
        assert_eq!(Timestamp(0).date_utc(), "1970-01-01");
    }

    #[test]
    fn known_instants_format_as_their_calendar_dates() {
        // 2026-11-30T11:53:00Z
        assert_eq!(
            Timestamp(1_796_039_580_000).date_time_utc(),
            "2026-11-30 11:53 UTC"
        );
        // leap day
        assert_eq!(Timestamp(951_782_400_000).date_utc(), "2000-02-29");
        // before the epoch
        assert_eq!(Timestamp(-MILLIS_PER_DAY).date_utc(), "1969-12-31");
    }

    #[test]
    fn days_until_rounds_down_and_can_be_negative() {
        let start = Timestamp(0);
        assert_eq!(start.days_until(start.plus_days(3)), 3);
        assert_eq!(start.days_until(Timestamp(MILLIS_PER_DAY - 1)), 0);
        assert_eq!(start.days_until(Timestamp(-1)), -1);
    }

    #[test]
    fn dates_typed_into_a_form_parse_to_midnight_utc() {
        assert_eq!(
            Timestamp::parse_date("2000-02-29"),
            Ok(Timestamp(951_782_400_000))
        );
        assert_eq!(Timestamp::parse_date(" 1970-01-01 "), Ok(Timestamp(0)));
        for bad in [
            "",
            "2026-02-30",
            "2026-13-01",
            "31/12/2026",
            "2026-12",
            "abcd-ef-gh",
            "1969-12-31",
        ] {
            assert!(Timestamp::parse_date(bad).is_err(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_a_formatted_date_gives_back_its_midnight(day in 0i64..2_900_000) {
            let midnight = Timestamp(day * MILLIS_PER_DAY);
            proptest::prop_assert_eq!(Timestamp::parse_date(&midnight.date_utc()), Ok(midnight));
        }
    }

    #[test]
    fn elapsed_percent_is_clamped_to_the_period() {
        let start = Timestamp(1_000);
        let end = Timestamp(2_000);
        assert_eq!(elapsed_percent(start, end, Timestamp(0)), 0);
        assert_eq!(elapsed_percent(start, end, Timestamp(1_250)), 25);
        assert_eq!(elapsed_percent(start, end, Timestamp(5_000)), 100);
        assert_eq!(elapsed_percent(end, start, Timestamp(1_500)), 100);
    }

    proptest::proptest! {
        #[test]
        fn consecutive_days_have_increasing_dates(day in -100_000i64..100_000) {
            let today = Timestamp(day * MILLIS_PER_DAY).date_utc();
            let tomorrow = Timestamp((day + 1) * MILLIS_PER_DAY).date_utc();
            proptest::prop_assert!(tomorrow > today, "{} then {}", today, tomorrow);
        }
    }
}
