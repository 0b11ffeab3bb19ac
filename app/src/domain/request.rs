//! The state machine of an access request (DOMAIN.md, Life of a request): a function from
//! (state, event, now) to the next state or a typed refusal. It decides; the services store
//! what it decided.

use super::status::RequestStatus;
use super::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a request stands, with what the machine needs to decide the next step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestState {
    pub status: RequestStatus,
    /// The approval stage waiting for decisions (1-based), while pending.
    pub current_stage: Option<u8>,
    /// How many stages the policy has (0: granted without approval).
    pub stage_count: u8,
    /// Approvals recorded so far on the current stage.
    pub approvals_on_stage: u8,
    /// Approvals the current stage needs (1: the first approver decides).
    pub required_on_stage: u8,
    pub decided_at: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestEvent {
    /// Eligibility and input were checked and passed.
    Accept,
    /// Eligibility, separation of duties or input failed.
    Reject,
    /// One approver approved `stage`; `next_stage_requires` is how many approvals the next
    /// stage needs, if there is one.
    Approve {
        stage: u8,
        next_stage_requires: u8,
    },
    Deny {
        stage: u8,
    },
    /// The stage's decision timeout passed without a final decision.
    TimeOut {
        stage: u8,
    },
    /// The requester withdrew the request.
    Cancel,
    /// Provisioning of the granted assignment started.
    StartDelivery,
    /// Every resource of the assignment was provisioned.
    FinishDelivery,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefusal {
    /// A final decision was already taken (the first valid one wins).
    #[error("this request was already decided ({})", .0.label())]
    AlreadyDecided(RequestStatus),
    /// The decision is for a stage that is not the one waiting.
    #[error("this request is not waiting at stage {given} (it is at stage {current:?})")]
    WrongStage { given: u8, current: Option<u8> },
    #[error("this request can no longer be cancelled ({})", .0.label())]
    NotCancellable(RequestStatus),
    #[error("{event} does not apply to a request that is {}", .status.label())]
    NotApplicable {
        event: &'static str,
        status: RequestStatus,
    },
}

impl RequestState {
    /// A new request, before eligibility is checked.
    pub fn submitted(stage_count: u8, required_on_first_stage: u8) -> Self {
        Self {
            status: RequestStatus::Submitted,
            current_stage: None,
            stage_count,
            approvals_on_stage: 0,
            required_on_stage: required_on_first_stage.max(1),
            decided_at: None,
        }
    }

    fn decided(&self, status: RequestStatus, now: Timestamp) -> Self {
        Self {
            status,
            current_stage: None,
            approvals_on_stage: 0,
            decided_at: Some(now),
            ..self.clone()
        }
    }

    fn is_final(&self) -> bool {
        matches!(
            self.status,
            RequestStatus::Approved
                | RequestStatus::Delivering
                | RequestStatus::Delivered
                | RequestStatus::Denied
                | RequestStatus::TimedOut
                | RequestStatus::Cancelled
                | RequestStatus::Rejected
        )
    }

    fn check_pending_stage(&self, stage: u8) -> Result<(), RequestRefusal> {
        if self.status != RequestStatus::PendingApproval {
            return Err(if self.is_final() {
                RequestRefusal::AlreadyDecided(self.status)
            } else {
                RequestRefusal::WrongStage {
                    given: stage,
                    current: self.current_stage,
                }
            });
        }
        if self.current_stage != Some(stage) {
            return Err(RequestRefusal::WrongStage {
                given: stage,
                current: self.current_stage,
            });
        }
        Ok(())
    }

    pub fn apply(&self, event: RequestEvent, now: Timestamp) -> Result<Self, RequestRefusal> {
        use RequestEvent as E;
        use RequestStatus as S;
        let not_applicable = |event: &'static str| RequestRefusal::NotApplicable {
            event,
            status: self.status,
        };
        match (self.status, event) {
            (S::Submitted, E::Accept) if self.stage_count == 0 => {
                Ok(self.decided(S::Approved, now))
            }
            (S::Submitted, E::Accept) => Ok(Self {
                status: S::PendingApproval,
                current_stage: Some(1),
                approvals_on_stage: 0,
                ..self.clone()
            }),
            (S::Submitted, E::Reject) => Ok(self.decided(S::Rejected, now)),
            (_, E::Accept) => Err(not_applicable("accepting")),
            (_, E::Reject) => Err(not_applicable("rejecting")),

            (
                _,
                E::Approve {
                    stage,
                    next_stage_requires,
                },
            ) => {
                self.check_pending_stage(stage)?;
                let approvals = self.approvals_on_stage.saturating_add(1);
                if approvals < self.required_on_stage {
                    return Ok(Self {
                        approvals_on_stage: approvals,
                        ..self.clone()
                    });
                }
                if stage >= self.stage_count {
                    return Ok(self.decided(S::Approved, now));
                }
                Ok(Self {
                    current_stage: Some(stage + 1),
                    approvals_on_stage: 0,
                    required_on_stage: next_stage_requires.max(1),
                    ..self.clone()
                })
            }
            (_, E::Deny { stage }) => {
                self.check_pending_stage(stage)?;
                Ok(self.decided(S::Denied, now))
            }
            (_, E::TimeOut { stage }) => {
                self.check_pending_stage(stage)?;
                Ok(self.decided(S::TimedOut, now))
            }

            (S::Submitted | S::PendingApproval, E::Cancel) => Ok(self.decided(S::Cancelled, now)),
            (status, E::Cancel) => Err(RequestRefusal::NotCancellable(status)),

            (S::Approved, E::StartDelivery) => Ok(Self {
                status: S::Delivering,
                ..self.clone()
            }),
            (_, E::StartDelivery) => Err(not_applicable("starting delivery")),
            (S::Delivering, E::FinishDelivery) => Ok(Self {
                status: S::Delivered,
                ..self.clone()
            }),
            (_, E::FinishDelivery) => Err(not_applicable("finishing delivery")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestEvent as E;
    use RequestStatus as S;

    const NOW: Timestamp = Timestamp(1_000);

    fn state(status: S, stage: Option<u8>) -> RequestState {
        RequestState {
            status,
            current_stage: stage,
            stage_count: 2,
            approvals_on_stage: 0,
            required_on_stage: 1,
            decided_at: None,
        }
    }

    /// One representative state per status (pending at stage 1 of 2).
    fn every_state() -> Vec<RequestState> {
        S::ALL
            .iter()
            .map(|status| state(*status, (*status == S::PendingApproval).then_some(1)))
            .collect()
    }

    fn every_event() -> Vec<E> {
        vec![
            E::Accept,
            E::Reject,
            E::Approve {
                stage: 1,
                next_stage_requires: 1,
            },
            E::Approve {
                stage: 2,
                next_stage_requires: 1,
            },
            E::Deny { stage: 1 },
            E::Deny { stage: 2 },
            E::TimeOut { stage: 1 },
            E::Cancel,
            E::StartDelivery,
            E::FinishDelivery,
        ]
    }

    /// The whole table: for every (status, event) pair, the status it leads to, or None
    /// for a refusal.
    fn expected(status: S, event: E) -> Option<S> {
        match (status, event) {
            (S::Submitted, E::Accept) => Some(S::PendingApproval),
            (S::Submitted, E::Reject) => Some(S::Rejected),
            (S::Submitted | S::PendingApproval, E::Cancel) => Some(S::Cancelled),
            (S::PendingApproval, E::Approve { stage: 1, .. }) => Some(S::PendingApproval),
            (S::PendingApproval, E::Deny { stage: 1 }) => Some(S::Denied),
            (S::PendingApproval, E::TimeOut { stage: 1 }) => Some(S::TimedOut),
            (S::Approved, E::StartDelivery) => Some(S::Delivering),
            (S::Delivering, E::FinishDelivery) => Some(S::Delivered),
            _ => None,
        }
    }

    #[test]
    fn every_state_and_event_pair_follows_the_table() {
        for from in every_state() {
            for event in every_event() {
                let outcome = from.apply(event, NOW);
                match expected(from.status, event) {
                    Some(to) => assert_eq!(
                        outcome.map(|s| s.status),
                        Ok(to),
                        "{:?} + {event:?}",
                        from.status
                    ),
                    None => assert!(
                        outcome.is_err(),
                        "{:?} + {event:?} should be refused, got {outcome:?}",
                        from.status
                    ),
                }
            }
        }
    }

    #[test]
    fn a_request_without_stages_is_approved_at_once() {
        let approved = RequestState::submitted(0, 1).apply(E::Accept, NOW).unwrap();
        assert_eq!(approved.status, S::Approved);
        assert_eq!(approved.decided_at, Some(NOW));
    }

    #[test]
    fn two_stages_need_an_approval_each_and_n_of_m_counts() {
        let pending = RequestState::submitted(2, 2).apply(E::Accept, NOW).unwrap();
        let one = pending
            .apply(
                E::Approve {
                    stage: 1,
                    next_stage_requires: 1,
                },
                NOW,
            )
            .unwrap();
        assert_eq!(
            (one.status, one.current_stage, one.approvals_on_stage),
            (S::PendingApproval, Some(1), 1)
        );
        let stage_two = one
            .apply(
                E::Approve {
                    stage: 1,
                    next_stage_requires: 1,
                },
                NOW,
            )
            .unwrap();
        assert_eq!(
            (stage_two.current_stage, stage_two.approvals_on_stage),
            (Some(2), 0)
        );
        let approved = stage_two
            .apply(
                E::Approve {
                    stage: 2,
                    next_stage_requires: 1,
                },
                NOW,
            )
            .unwrap();
        assert_eq!(approved.status, S::Approved);
        assert_eq!(approved.current_stage, None);
    }

    #[test]
    fn a_late_decision_is_told_the_request_was_already_decided() {
        let denied = state(S::PendingApproval, Some(1))
            .apply(E::Deny { stage: 1 }, NOW)
            .unwrap();
        assert_eq!(
            denied.apply(
                E::Approve {
                    stage: 1,
                    next_stage_requires: 1
                },
                NOW
            ),
            Err(RequestRefusal::AlreadyDecided(S::Denied))
        );
        assert_eq!(
            denied.apply(E::TimeOut { stage: 1 }, NOW),
            Err(RequestRefusal::AlreadyDecided(S::Denied))
        );
    }

    #[test]
    fn a_decision_for_another_stage_changes_nothing() {
        let pending = state(S::PendingApproval, Some(2));
        assert_eq!(
            pending.apply(E::Deny { stage: 1 }, NOW),
            Err(RequestRefusal::WrongStage {
                given: 1,
                current: Some(2)
            })
        );
    }
}
