//! The state machine of an assignment (DOMAIN.md, Life of an assignment). Every path that
//! ends access goes through `End`, whatever the reason, so there is one way out.

use super::status::AssignmentStatus;
use super::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemovalReason {
    Expired,
    DeniedInReview,
    Revoked,
    Released,
    UserLeft,
    NotEligible,
    SeparationOfDuties,
}

impl RemovalReason {
    /// The spelling stored in `assignment.removal_reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::Expired => "expired",
            RemovalReason::DeniedInReview => "denied_in_review",
            RemovalReason::Revoked => "revoked",
            RemovalReason::Released => "released",
            RemovalReason::UserLeft => "user_left",
            RemovalReason::NotEligible => "not_eligible",
            RemovalReason::SeparationOfDuties => "separation_of_duties",
        }
    }

    pub const ALL: [RemovalReason; 7] = [
        RemovalReason::Expired,
        RemovalReason::DeniedInReview,
        RemovalReason::Revoked,
        RemovalReason::Released,
        RemovalReason::UserLeft,
        RemovalReason::NotEligible,
        RemovalReason::SeparationOfDuties,
    ];

    /// The reason from its stored spelling.
    pub fn parse(stored: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|reason| reason.as_str() == stored)
    }

    /// Why access ended, as anyone looking at it reads it.
    pub fn describe(self) -> &'static str {
        match self {
            RemovalReason::Expired => "Its end date passed",
            RemovalReason::DeniedInReview => "A reviewer decided it is no longer needed",
            RemovalReason::Revoked => "An owner or administrator revoked it",
            RemovalReason::Released => "Its holder gave it back",
            RemovalReason::UserLeft => "Its holder left the organisation",
            RemovalReason::NotEligible => "Its holder is no longer eligible for it",
            RemovalReason::SeparationOfDuties => "It conflicts with other access of its holder",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentState {
    pub status: AssignmentStatus,
    pub start_at: Timestamp,
    pub end_at: Option<Timestamp>,
    pub removal_reason: Option<RemovalReason>,
    pub removed_at: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssignmentEvent {
    /// The start time was reached.
    Start,
    /// An extension was granted: the new end (none: no end).
    Extend { new_end: Option<Timestamp> },
    /// Access ends for this reason; removal downstream begins.
    End(RemovalReason),
    /// Every resource was removed downstream and the removal verified.
    RemovalVerified,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentRefusal {
    #[error("the assignment starts at {start}, which is not yet")]
    NotYetStarted { start: Timestamp },
    #[error("an extension must end later than the current end")]
    ExtensionNotLater,
    #[error("the assignment is already ending or removed")]
    AlreadyEnding,
    #[error("{event} does not apply to an assignment that is {}", .status.label())]
    NotApplicable {
        event: &'static str,
        status: AssignmentStatus,
    },
}

impl AssignmentState {
    pub fn new(start_at: Timestamp, end_at: Option<Timestamp>, now: Timestamp) -> Self {
        Self {
            status: if start_at > now {
                AssignmentStatus::Scheduled
            } else {
                AssignmentStatus::Active
            },
            start_at,
            end_at,
            removal_reason: None,
            removed_at: None,
        }
    }

    /// Whether the end has come at `now` (expiry is due at the deadline itself).
    pub fn is_due_to_expire(&self, now: Timestamp) -> bool {
        matches!(
            self.status,
            AssignmentStatus::Active | AssignmentStatus::Scheduled
        ) && self.end_at.is_some_and(|end| end <= now)
    }

    pub fn apply(&self, event: AssignmentEvent, now: Timestamp) -> Result<Self, AssignmentRefusal> {
        use AssignmentEvent as E;
        use AssignmentStatus as S;
        let not_applicable = |event: &'static str| AssignmentRefusal::NotApplicable {
            event,
            status: self.status,
        };
        match (self.status, event) {
            (S::Scheduled, E::Start) if self.start_at > now => {
                Err(AssignmentRefusal::NotYetStarted {
                    start: self.start_at,
                })
            }
            (S::Scheduled, E::Start) => Ok(Self {
                status: S::Active,
                ..self.clone()
            }),
            (_, E::Start) => Err(not_applicable("starting")),

            (S::Scheduled | S::Active, E::Extend { new_end }) => {
                // No end is later than any end; an end is later only if it is after the old.
                let later = match (self.end_at, new_end) {
                    (_, None) => true,
                    (None, Some(_)) => false,
                    (Some(old), Some(new)) => new > old,
                };
                if !later {
                    return Err(AssignmentRefusal::ExtensionNotLater);
                }
                Ok(Self {
                    end_at: new_end,
                    ..self.clone()
                })
            }
            (_, E::Extend { .. }) => Err(not_applicable("extending")),

            (S::Scheduled | S::Active, E::End(reason)) => Ok(Self {
                status: S::Ending,
                removal_reason: Some(reason),
                ..self.clone()
            }),
            (S::Ending | S::Removed, E::End(_)) => Err(AssignmentRefusal::AlreadyEnding),

            (S::Ending, E::RemovalVerified) => Ok(Self {
                status: S::Removed,
                removed_at: Some(now),
                ..self.clone()
            }),
            (_, E::RemovalVerified) => Err(not_applicable("confirming removal")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssignmentEvent as E;
    use AssignmentStatus as S;

    const NOW: Timestamp = Timestamp(10_000);

    fn state(status: S) -> AssignmentState {
        AssignmentState {
            status,
            start_at: Timestamp(5_000),
            end_at: Some(Timestamp(20_000)),
            removal_reason: None,
            removed_at: None,
        }
    }

    fn expected(status: S, event: E) -> Option<S> {
        match (status, event) {
            (S::Scheduled, E::Start) => Some(S::Active),
            (S::Scheduled | S::Active, E::Extend { .. }) => Some(status),
            (S::Scheduled | S::Active, E::End(_)) => Some(S::Ending),
            (S::Ending, E::RemovalVerified) => Some(S::Removed),
            _ => None,
        }
    }

    #[test]
    fn every_state_and_event_pair_follows_the_table() {
        let events = [
            E::Start,
            E::Extend {
                new_end: Some(Timestamp(30_000)),
            },
            E::End(RemovalReason::Expired),
            E::End(RemovalReason::Released),
            E::RemovalVerified,
        ];
        for status in S::ALL {
            for event in events {
                let outcome = state(*status).apply(event, NOW);
                match expected(*status, event) {
                    Some(to) => {
                        assert_eq!(outcome.map(|s| s.status), Ok(to), "{status:?} + {event:?}")
                    }
                    None => assert!(outcome.is_err(), "{status:?} + {event:?}: {outcome:?}"),
                }
            }
        }
    }

    #[test]
    fn a_scheduled_assignment_does_not_start_early() {
        let scheduled = AssignmentState::new(Timestamp(50_000), None, NOW);
        assert_eq!(scheduled.status, S::Scheduled);
        assert_eq!(
            scheduled.apply(E::Start, NOW),
            Err(AssignmentRefusal::NotYetStarted {
                start: Timestamp(50_000)
            })
        );
        assert_eq!(
            scheduled.apply(E::Start, Timestamp(50_000)).unwrap().status,
            S::Active
        );
    }

    #[test]
    fn an_extension_must_end_later() {
        let active = state(S::Active);
        assert_eq!(
            active.apply(
                E::Extend {
                    new_end: Some(Timestamp(20_000))
                },
                NOW
            ),
            Err(AssignmentRefusal::ExtensionNotLater)
        );
        assert_eq!(
            active
                .apply(E::Extend { new_end: None }, NOW)
                .unwrap()
                .end_at,
            None
        );
    }

    #[test]
    fn expiry_is_due_exactly_at_the_end() {
        let active = state(S::Active);
        assert!(!active.is_due_to_expire(Timestamp(19_999)));
        assert!(active.is_due_to_expire(Timestamp(20_000)));
        assert!(!state(S::Ending).is_due_to_expire(Timestamp(30_000)));
    }

    #[test]
    fn removal_keeps_its_reason_and_time() {
        let ending = state(S::Active)
            .apply(E::End(RemovalReason::Revoked), NOW)
            .unwrap();
        let removed = ending.apply(E::RemovalVerified, Timestamp(12_000)).unwrap();
        assert_eq!(removed.removal_reason, Some(RemovalReason::Revoked));
        assert_eq!(removed.removed_at, Some(Timestamp(12_000)));
        assert_eq!(
            removed.apply(E::End(RemovalReason::Expired), NOW),
            Err(AssignmentRefusal::AlreadyEnding)
        );
    }

    #[test]
    fn a_removal_reason_reads_back_from_its_stored_spelling() {
        for reason in RemovalReason::ALL {
            assert_eq!(RemovalReason::parse(reason.as_str()), Some(reason));
            assert!(!reason.describe().is_empty());
        }
        assert_eq!(RemovalReason::parse("EXPIRED"), None);
        assert_eq!(RemovalReason::parse(""), None);
    }
}
