//! Email action links. Opening one (`open_action_link`, called while the page renders)
//! changes nothing, because mail scanners open links; acting (`use_action_link`) is a
//! POST by the signed-in person the link was sent to.

use crate::domain::questions::Answer;
use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

/// Why a link cannot be used, each said plainly on its page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkProblem {
    /// Unknown: mistyped, cut short or altered.
    Invalid,
    Used {
        at: Timestamp,
    },
    Expired {
        at: Timestamp,
    },
    /// Opened without signing in; the link works after signing in.
    SignInRequired,
    /// Opened by someone other than the person it was sent to.
    SomeoneElse,
    /// The request was decided (or the access ended) before the link was used.
    Settled {
        message: String,
    },
    /// The request moved on since the message was written; decide in the portal.
    Changed,
}

impl LinkProblem {
    pub fn title(&self) -> &'static str {
        match self {
            LinkProblem::Invalid => "This link is not valid",
            LinkProblem::Used { .. } => "This link was already used",
            LinkProblem::Expired { .. } => "This link has expired",
            LinkProblem::SignInRequired => "Sign in to continue",
            LinkProblem::SomeoneElse => "This link was sent to someone else",
            LinkProblem::Settled { .. } => "Nothing left to decide",
            LinkProblem::Changed => "This request has changed",
        }
    }

    pub fn explanation(&self) -> String {
        match self {
            LinkProblem::Invalid => "Gatehouse does not know this link. It may have been mistyped, cut short by your mail program, or altered. Nothing was changed.".to_string(),
            LinkProblem::Used { at } => format!("It was used at {}. Each link works once. Nothing was changed.", at.date_time_utc()),
            LinkProblem::Expired { at } => format!("It stopped working at {}. Nothing was changed; open Gatehouse to see where things stand.", at.date_time_utc()),
            LinkProblem::SignInRequired => "Sign in with your own account; you will come back to this page.".to_string(),
            LinkProblem::SomeoneElse => "You are signed in as someone other than the person this link was sent to, so it cannot be used here. Nothing was changed.".to_string(),
            LinkProblem::Settled { message } => format!("{message} Nothing was changed."),
            LinkProblem::Changed => "Another decision was recorded after this email was sent, so this link no longer applies. Open your approvals in Gatehouse to see what still waits for you. Nothing was changed.".to_string(),
        }
    }
}

/// A request waiting for the link's person to approve or deny it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecideView {
    pub request_id: i64,
    pub requester_name: String,
    pub package_name: String,
    pub justification: String,
    pub answers: Vec<Answer>,
    pub stage_position: i64,
    pub due_at: Option<Timestamp>,
}

/// Access the link's person may ask to extend.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExtendView {
    pub assignment_id: i64,
    pub package_name: String,
    pub end_at: Option<Timestamp>,
}

/// A reviewer's items in an access review, waiting for their decisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewLinkView {
    pub instance_id: i64,
    pub review_name: String,
    pub items: i64,
    pub open_items: i64,
    pub stage_end_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LinkView {
    Problem(LinkProblem),
    Decide(DecideView),
    Extend(ExtendView),
    Review(ReviewLinkView),
}
