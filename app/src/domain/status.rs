//! The statuses stored for people, requests and assignments, with their database spelling,
//! a label for people, and a tone for badges. The transitions between them are decided by
//! the state machines of the request and assignment modules.

use serde::{Deserialize, Serialize};

/// How a status is shown: the colour family of its badge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Success,
    Warning,
    Danger,
    Info,
    Neutral,
}

impl Tone {
    pub fn badge_class(self) -> &'static str {
        match self {
            Tone::Success => "badge badge-success",
            Tone::Warning => "badge badge-warning",
            Tone::Danger => "badge badge-danger",
            Tone::Info => "badge badge-info",
            Tone::Neutral => "badge badge-neutral",
        }
    }
}

/// Declares a status enum whose variants map one-to-one onto the text stored in the
/// database's check constraint, so the two can never drift apart silently.
macro_rules! stored_status {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal, $label:literal, $tone:ident;)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }

            pub fn parse(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!("unknown {} {:?}", stringify!($name), other)),
                }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            pub fn tone(self) -> Tone {
                match self { $($name::$variant => Tone::$tone,)+ }
            }
        }
    };
}

stored_status!(
    /// Whether a person may use Gatehouse and hold access.
    PersonStatus {
        Active => "active", "Active", Success;
        Disabled => "disabled", "Disabled", Warning;
        Left => "left", "Left", Neutral;
    }
);

stored_status!(
    /// The life of an access request (DOMAIN.md, Life of a request).
    RequestStatus {
        Submitted => "submitted", "Submitted", Info;
        PendingApproval => "pending_approval", "Pending approval", Warning;
        Approved => "approved", "Approved", Success;
        Delivering => "delivering", "Delivering", Info;
        Delivered => "delivered", "Delivered", Success;
        Denied => "denied", "Denied", Danger;
        TimedOut => "timed_out", "Timed out", Danger;
        Cancelled => "cancelled", "Cancelled", Neutral;
        Rejected => "rejected", "Rejected", Danger;
    }
);

impl RequestStatus {
    /// Still waiting for someone: shown under "My requests" and counted as open.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            RequestStatus::Submitted
                | RequestStatus::PendingApproval
                | RequestStatus::Approved
                | RequestStatus::Delivering
        )
    }
}

stored_status!(
    /// The life of an assignment (DOMAIN.md, Life of an assignment).
    AssignmentStatus {
        Scheduled => "scheduled", "Scheduled", Info;
        Active => "active", "Active", Success;
        Ending => "ending", "Removing", Warning;
        Removed => "removed", "Removed", Neutral;
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_stored_text() {
        for status in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(status.as_str()), Ok(*status));
        }
        for status in AssignmentStatus::ALL {
            assert_eq!(AssignmentStatus::parse(status.as_str()), Ok(*status));
        }
        for status in PersonStatus::ALL {
            assert_eq!(PersonStatus::parse(status.as_str()), Ok(*status));
        }
    }

    #[test]
    fn unknown_stored_text_is_an_error_not_a_default() {
        assert!(RequestStatus::parse("approvedd").is_err());
        assert!(AssignmentStatus::parse("").is_err());
    }

    #[test]
    fn open_requests_are_the_ones_still_in_flight() {
        let open: Vec<_> = RequestStatus::ALL.iter().filter(|s| s.is_open()).collect();
        assert_eq!(open.len(), 4);
        assert!(!RequestStatus::Denied.is_open());
        assert!(RequestStatus::PendingApproval.is_open());
    }
}
