//! Assignment policies: who may request a package, for how long, and whether the request
//! needs approval. Pure rules; the store loads the policy and the person, these decide.

use super::{time::MILLIS_PER_DAY, time::MILLIS_PER_HOUR, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who may request under a policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum RequestorScope {
    Everyone,
    /// Members of any of these groups, or people in any of these departments.
    Groups {
        group_ids: Vec<i64>,
        departments: Vec<String>,
    },
    /// Every listed attribute must have the listed value (e.g. department = Sales and
    /// employee type = employee). `department` and `job_title` are attributes too.
    AttributeRule {
        equals: BTreeMap<String, String>,
    },
    /// Nobody requests; owners and administrators assign directly.
    Nobody,
}

/// What the eligibility check needs to know about the person asking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requestor {
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub group_ids: Vec<i64>,
    pub attributes: BTreeMap<String, String>,
}

impl Requestor {
    fn attribute(&self, name: &str) -> Option<&str> {
        match name {
            "department" => self.department.as_deref(),
            "job_title" => self.job_title.as_deref(),
            other => self.attributes.get(other).map(String::as_str),
        }
    }
}

impl RequestorScope {
    pub fn admits(&self, person: &Requestor) -> bool {
        match self {
            RequestorScope::Everyone => true,
            RequestorScope::Nobody => false,
            RequestorScope::Groups {
                group_ids,
                departments,
            } => {
                person.group_ids.iter().any(|id| group_ids.contains(id))
                    || person.department.as_ref().is_some_and(|department| {
                        departments
                            .iter()
                            .any(|d| d.eq_ignore_ascii_case(department))
                    })
            }
            RequestorScope::AttributeRule { equals } => {
                !equals.is_empty()
                    && equals.iter().all(|(name, value)| {
                        person
                            .attribute(name)
                            .is_some_and(|actual| actual.eq_ignore_ascii_case(value))
                    })
            }
        }
    }
}

/// How long access granted under a policy lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DurationRule {
    /// Everyone's access ends at this instant.
    FixedEnd(Timestamp),
    /// The requester picks an end at most this many days after the start.
    MaxDays(i64),
    MaxHours(i64),
    NoEnd,
}

pub const MAX_DAYS_LIMIT: i64 = 3_650;
pub const MAX_HOURS_LIMIT: i64 = 24 * 31;

impl DurationRule {
    /// Checks an administrator's rule: a positive, bounded length, or a future fixed end.
    pub fn validate(self, now: Timestamp) -> Result<Self, String> {
        match self {
            DurationRule::MaxDays(days) if !(1..=MAX_DAYS_LIMIT).contains(&days) => Err(format!(
                "Enter a number of days from 1 to {MAX_DAYS_LIMIT}."
            )),
            DurationRule::MaxHours(hours) if !(1..=MAX_HOURS_LIMIT).contains(&hours) => Err(
                format!("Enter a number of hours from 1 to {MAX_HOURS_LIMIT}."),
            ),
            DurationRule::FixedEnd(end) if end <= now => {
                Err("The fixed end date must be in the future.".into())
            }
            rule => Ok(rule),
        }
    }

    fn longest(self) -> Option<i64> {
        match self {
            DurationRule::MaxDays(days) => Some(days.saturating_mul(MILLIS_PER_DAY)),
            DurationRule::MaxHours(hours) => Some(hours.saturating_mul(MILLIS_PER_HOUR)),
            DurationRule::FixedEnd(_) | DurationRule::NoEnd => None,
        }
    }

    /// The period a request gets: the requested start (now when none or in the past) and
    /// an end within the rule. With a cap and no requested end, the longest allowed period.
    /// Errors name the field they belong to.
    pub fn resolve(
        self,
        requested_start: Option<Timestamp>,
        requested_end: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(Timestamp, Option<Timestamp>), (&'static str, String)> {
        let start = requested_start.filter(|start| *start > now).unwrap_or(now);
        if start > now.plus_days(365) {
            return Err((
                "start_at",
                "The start can be at most a year from now.".into(),
            ));
        }
        if let Some(end) = requested_end {
            if end <= start {
                return Err(("end_at", "The end must be after the start.".into()));
            }
        }
        match self {
            DurationRule::NoEnd => Ok((start, requested_end)),
            DurationRule::FixedEnd(end) => {
                if start >= end {
                    return Err((
                        "start_at",
                        "The start must be before the policy's fixed end.".into(),
                    ));
                }
                Ok((
                    start,
                    Some(requested_end.map_or(end, |requested| requested.min(end))),
                ))
            }
            rule => {
                let longest = rule.longest().unwrap_or(0);
                let latest = Timestamp(start.millis().saturating_add(longest));
                match requested_end {
                    Some(end) if end > latest => Err((
                        "end_at",
                        format!("This package can be held for at most {}.", rule.describe()),
                    )),
                    Some(end) => Ok((start, Some(end))),
                    None => Ok((start, Some(latest))),
                }
            }
        }
    }

    /// Checks an extension: the new end must be later than the current one and within the
    /// rule, counted from the current end (a capped grant can be renewed by one more period).
    pub fn check_extension(
        self,
        current_end: Option<Timestamp>,
        new_end: Option<Timestamp>,
    ) -> Result<(), String> {
        let Some(current_end) = current_end else {
            return Err("This access has no end date; there is nothing to extend.".into());
        };
        let Some(new_end) = new_end else {
            return match self {
                DurationRule::NoEnd => Ok(()),
                _ => Err("Choose the new end date.".into()),
            };
        };
        if new_end <= current_end {
            return Err(format!(
                "The new end must be after the current end, {}.",
                current_end.date_utc()
            ));
        }
        match self {
            DurationRule::NoEnd => Ok(()),
            DurationRule::FixedEnd(fixed) if new_end > fixed => Err(format!(
                "This package ends for everyone on {}.",
                fixed.date_utc()
            )),
            DurationRule::FixedEnd(_) => Ok(()),
            rule => {
                let latest = Timestamp(
                    current_end
                        .millis()
                        .saturating_add(rule.longest().unwrap_or(0)),
                );
                if new_end > latest {
                    Err(format!(
                        "An extension adds at most {}: choose {} or earlier.",
                        rule.describe(),
                        latest.date_utc()
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    pub fn describe(self) -> String {
        match self {
            DurationRule::FixedEnd(end) => format!("until {}", end.date_utc()),
            DurationRule::MaxDays(1) => "1 day".into(),
            DurationRule::MaxDays(days) => format!("{days} days"),
            DurationRule::MaxHours(1) => "1 hour".into(),
            DurationRule::MaxHours(hours) => format!("{hours} hours"),
            DurationRule::NoEnd => "no end date".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: Timestamp = Timestamp(1_000 * MILLIS_PER_DAY);

    fn sales_employee() -> Requestor {
        Requestor {
            department: Some("Sales".into()),
            job_title: Some("Account Executive".into()),
            group_ids: vec![7],
            attributes: BTreeMap::from([("employee_type".into(), "employee".into())]),
        }
    }

    #[test]
    fn scopes_admit_exactly_who_they_name() {
        let person = sales_employee();
        assert!(RequestorScope::Everyone.admits(&person));
        assert!(!RequestorScope::Nobody.admits(&person));
        assert!(RequestorScope::Groups {
            group_ids: vec![7],
            departments: vec![]
        }
        .admits(&person));
        assert!(RequestorScope::Groups {
            group_ids: vec![],
            departments: vec!["sales".into()]
        }
        .admits(&person));
        assert!(!RequestorScope::Groups {
            group_ids: vec![8],
            departments: vec!["Finance".into()]
        }
        .admits(&person));
        let rule = |pairs: &[(&str, &str)]| RequestorScope::AttributeRule {
            equals: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert!(rule(&[("department", "Sales"), ("employee_type", "employee")]).admits(&person));
        assert!(!rule(&[("department", "Sales"), ("employee_type", "contractor")]).admits(&person));
        assert!(!rule(&[("cost_center", "42")]).admits(&person));
        assert!(
            !rule(&[]).admits(&person),
            "an empty rule admits nobody rather than everyone"
        );
    }

    #[test]
    fn out_of_range_rules_are_refused() {
        assert!(DurationRule::MaxDays(0).validate(NOW).is_err());
        assert!(DurationRule::MaxDays(MAX_DAYS_LIMIT + 1)
            .validate(NOW)
            .is_err());
        assert!(DurationRule::MaxHours(-3).validate(NOW).is_err());
        assert!(DurationRule::FixedEnd(NOW).validate(NOW).is_err());
        assert!(DurationRule::MaxDays(30).validate(NOW).is_ok());
    }

    #[test]
    fn a_capped_request_without_an_end_gets_the_longest_period() {
        let (start, end) = DurationRule::MaxDays(30).resolve(None, None, NOW).unwrap();
        assert_eq!(start, NOW);
        assert_eq!(end, Some(NOW.plus_days(30)));
    }

    #[test]
    fn an_end_before_the_start_or_past_the_cap_is_refused_on_its_field() {
        let rule = DurationRule::MaxHours(8);
        let start = NOW.plus_days(1);
        assert_eq!(
            rule.resolve(Some(start), Some(start), NOW).unwrap_err().0,
            "end_at"
        );
        assert_eq!(
            rule.resolve(Some(start), Some(start.plus_days(1)), NOW)
                .unwrap_err()
                .0,
            "end_at"
        );
        assert_eq!(
            rule.resolve(Some(NOW.plus_days(400)), None, NOW)
                .unwrap_err()
                .0,
            "start_at"
        );
    }

    #[test]
    fn a_fixed_end_caps_the_requested_end() {
        let fixed = NOW.plus_days(10);
        let (_, end) = DurationRule::FixedEnd(fixed)
            .resolve(None, Some(NOW.plus_days(20)), NOW)
            .unwrap();
        assert_eq!(end, Some(fixed));
        assert_eq!(
            DurationRule::FixedEnd(fixed)
                .resolve(Some(fixed), None, NOW)
                .unwrap_err()
                .0,
            "start_at"
        );
    }

    #[test]
    fn an_extension_is_later_and_within_one_more_period() {
        let end = NOW.plus_days(3);
        let rule = DurationRule::MaxDays(30);
        assert!(rule
            .check_extension(Some(end), Some(end.plus_days(30)))
            .is_ok());
        assert!(rule
            .check_extension(Some(end), Some(end.plus_days(31)))
            .is_err());
        assert!(rule.check_extension(Some(end), Some(end)).is_err());
        assert!(rule.check_extension(Some(end), None).is_err());
        assert!(rule.check_extension(None, Some(end)).is_err());
        assert!(DurationRule::NoEnd.check_extension(Some(end), None).is_ok());
        assert!(DurationRule::FixedEnd(end.plus_days(5))
            .check_extension(Some(end), Some(end.plus_days(6)))
            .is_err());
    }

    proptest! {
        #[test]
        fn a_resolved_period_always_lies_within_the_rule(
            days in 1i64..400,
            start_offset in -5i64..300,
            length in 1i64..600,
        ) {
            let rule = DurationRule::MaxDays(days);
            let start = NOW.plus_days(start_offset);
            let end = start.plus_days(length);
            if let Ok((granted_start, Some(granted_end))) = rule.resolve(Some(start), Some(end), NOW) {
                prop_assert!(granted_start >= NOW);
                prop_assert!(granted_end > granted_start);
                prop_assert!(granted_end.millis() - granted_start.millis() <= days * MILLIS_PER_DAY);
            }
        }
    }
}
