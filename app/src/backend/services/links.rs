//! Email action links: what one leads to, and using it. The checks run in this order so
//! the page says the most useful thing: unknown, used, expired, not signed in, someone
//! else's, then whether its request or access still waits for it.

use crate::backend::services::requests::{self, Outcome};
use crate::backend::store::{self, action_token::TokenRow, person::PersonRow, Tx};
use crate::backend::AppState;
use crate::domain::status::{AssignmentStatus, RequestStatus};
use crate::domain::{AppError, ErrorCode, Timestamp};
use crate::model::links::{DecideView, ExtendView, LinkProblem, LinkView, ReviewLinkView};

/// A link that passed every check, with what it is about.
enum Usable {
    Decide {
        token: TokenRow,
        request: store::request::RequestRow,
    },
    Extend {
        token: TokenRow,
        assignment: store::assignment::AssignmentRow,
    },
    /// A reviewer's list; decisions are taken on the list's page.
    Review {
        instance: store::review_instance::InstanceRow,
    },
}

async fn check(
    tx: &mut Tx,
    now: Timestamp,
    raw: &str,
    viewer: Option<&PersonRow>,
) -> Result<Result<Usable, LinkProblem>, AppError> {
    let Some(token) = store::action_token::find(tx, raw.trim()).await? else {
        return Ok(Err(LinkProblem::Invalid));
    };
    if let Some(at) = token.used_at {
        return Ok(Err(LinkProblem::Used { at: Timestamp(at) }));
    }
    if token.spec.expires_at <= now.millis() {
        return Ok(Err(LinkProblem::Expired {
            at: Timestamp(token.spec.expires_at),
        }));
    }
    let Some(viewer) = viewer else {
        return Ok(Err(LinkProblem::SignInRequired));
    };
    if viewer.id != token.spec.person_id {
        return Ok(Err(LinkProblem::SomeoneElse));
    }
    match (
        token.spec.purpose.as_str(),
        token.spec.subject_kind.as_str(),
    ) {
        ("decide", "access_request") => {
            let Some(request) = store::request::find(tx, token.spec.subject_id).await? else {
                return Ok(Err(LinkProblem::Invalid));
            };
            if request.status != RequestStatus::PendingApproval {
                let settled = requests::already_decided(tx, &request).await?;
                return Ok(Err(LinkProblem::Settled {
                    message: settled.message,
                }));
            }
            let stage = request.current_stage.unwrap_or(1);
            if request.version != token.spec.subject_version
                || !store::request::has_open_task(tx, request.id, stage, viewer.id).await?
            {
                return Ok(Err(LinkProblem::Changed));
            }
            Ok(Ok(Usable::Decide { token, request }))
        }
        ("extend", "assignment") => {
            let Some(assignment) = store::assignment::find(tx, token.spec.subject_id).await? else {
                return Ok(Err(LinkProblem::Invalid));
            };
            if assignment.status != AssignmentStatus::Active {
                return Ok(Err(LinkProblem::Settled {
                    message: "This access has already ended.".to_string(),
                }));
            }
            if assignment.version != token.spec.subject_version {
                return Ok(Err(LinkProblem::Settled {
                    message: "This access changed after the email was sent (it may already be extended); see your access in Gatehouse.".to_string(),
                }));
            }
            Ok(Ok(Usable::Extend { token, assignment }))
        }
        ("review", "review_instance") => {
            let Some(instance) = store::review_instance::find(tx, token.spec.subject_id).await?
            else {
                return Ok(Err(LinkProblem::Invalid));
            };
            if instance.status != "in_progress" || instance.stage_end_at <= now.millis() {
                return Ok(Err(LinkProblem::Settled {
                    message: "This review has ended; decisions can no longer be recorded."
                        .to_string(),
                }));
            }
            if instance.stage != token.spec.subject_version
                || !store::review_instance::is_reviewer(tx, instance.id, viewer.id).await?
            {
                return Ok(Err(LinkProblem::Changed));
            }
            Ok(Ok(Usable::Review { instance }))
        }
        _ => Ok(Err(LinkProblem::Invalid)),
    }
}

/// What the link leads to, for its page. Reads only.
#[tracing::instrument(skip_all)]
pub async fn open(
    state: &AppState,
    raw: &str,
    viewer: Option<&PersonRow>,
) -> Result<LinkView, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.reader().begin().await?;
    let usable = match check(&mut tx, now, raw, viewer).await? {
        Ok(usable) => usable,
        Err(problem) => return Ok(LinkView::Problem(problem)),
    };
    Ok(match usable {
        Usable::Decide { request, .. } => {
            // Stored answers that cannot be read fail the page, their cause logged, rather
            // than showing the approver none.
            let facts = store::request::to_decide(&mut tx, request.id).await?;
            let stage_position = request.current_stage.unwrap_or(1);
            let due_at = store::request::stage_due_at(&mut tx, request.id, stage_position).await?;
            LinkView::Decide(DecideView {
                request_id: request.id,
                requester_name: facts.requester_name,
                package_name: facts.package_name,
                justification: facts.justification,
                answers: facts.answers,
                stage_position,
                due_at: due_at.map(Timestamp),
            })
        }
        Usable::Review { instance } => {
            let viewer = viewer.ok_or_else(AppError::internal)?;
            let (items, decided, _) = store::review_instance::reviewer_progress(
                &mut tx,
                instance.id,
                instance.stage,
                viewer.id,
            )
            .await?;
            LinkView::Review(ReviewLinkView {
                instance_id: instance.id,
                review_name: instance.review_name,
                items,
                open_items: items - decided,
                stage_end_at: Timestamp(instance.stage_end_at),
            })
        }
        Usable::Extend { assignment, .. } => {
            let package_name = store::policy::package_name(&mut tx, assignment.package_id).await?;
            LinkView::Extend(ExtendView {
                assignment_id: assignment.id,
                package_name,
                end_at: assignment.end_at.map(Timestamp),
            })
        }
    })
}

/// Uses the link as `person`: `approve`/`deny` for a decide link, `extend` for an extend
/// link. The link is used up in the same transaction as what it does. Returns the
/// request's id.
#[tracing::instrument(skip_all, fields(person_id = person.id))]
pub async fn act(
    state: &AppState,
    person: &PersonRow,
    raw: &str,
    choice: &str,
    justification: &str,
    end_date: &str,
) -> Result<i64, AppError> {
    let now = state.clock.now();
    let usable = {
        let mut tx = state.db.reader().begin().await?;
        check(&mut tx, now, raw, Some(person)).await?
    };
    let refused = |problem: LinkProblem| {
        // Someone else's link, or no link at all, is refused as such; a link that is
        // used, expired or overtaken conflicts with what happened since.
        let code = match problem {
            LinkProblem::SomeoneElse => ErrorCode::Forbidden,
            LinkProblem::Invalid => ErrorCode::NotFound,
            _ => ErrorCode::Conflict,
        };
        AppError::new(
            code,
            format!("{}. {}", problem.title(), problem.explanation()),
        )
    };
    match (usable.map_err(refused)?, choice) {
        (Usable::Decide { token, request }, "approve" | "deny") => {
            let outcome = if choice == "approve" {
                Outcome::Approve
            } else {
                Outcome::Deny
            };
            let done = requests::decide_with(
                state,
                person,
                request.id,
                outcome,
                justification,
                Some(token.id),
            )
            .await?;
            Ok(done.request_id)
        }
        (Usable::Extend { token, assignment }, "extend") => {
            let new_end = crate::domain::time::optional_date("end_date", end_date)?;
            let done = requests::request_extension_with(
                state,
                person,
                assignment.id,
                new_end,
                justification,
                Some(token.id),
            )
            .await?;
            Ok(done.request_id)
        }
        _ => Err(AppError::invalid_field(
            "choice",
            "Choose one of the buttons on the page.",
        )),
    }
}
