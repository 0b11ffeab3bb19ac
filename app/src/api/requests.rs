//! The request catalog, the request form, cancelling, and the approvals inbox.

pub use crate::model::requests::*;

use crate::domain::AppError;
#[cfg(feature = "ssr")]
use crate::domain::Timestamp;
use leptos::prelude::*;

/// An approval waiting for the signed-in person (the home page shows the same).
pub use crate::api::home::WaitingApproval as ApprovalItem;

/// Packages the signed-in person may request, optionally filtered by words, by catalog
/// name (empty: every catalog) and by approval (`needs_approval`, `at_once`, empty: both).
#[server]
pub async fn list_requestable(
    search: String,
    #[server(default)] catalog: String,
    #[server(default)] approval: String,
) -> Result<Vec<CatalogEntry>, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let requestor = store::policy::requestor(&mut tx, person.id).await?;
    let mut entries = Vec::new();
    for package in store::policy::listed_packages(&mut tx, &search).await? {
        if !catalog.is_empty() && !package.catalog_name.eq_ignore_ascii_case(catalog.trim()) {
            continue;
        }
        let policies = store::policy::policies_of(&mut tx, package.id).await?;
        if let Some(policy) = policies
            .iter()
            .find(|policy| policy.scope.admits(&requestor))
        {
            let needs_approval = !policy.stages.is_empty();
            let wanted = match approval.as_str() {
                "needs_approval" => needs_approval,
                "at_once" => !needs_approval,
                _ => true,
            };
            if wanted {
                entries.push(CatalogEntry {
                    package_id: package.id,
                    name: package.name,
                    description: package.description,
                    catalog_name: package.catalog_name,
                    duration: policy.duration.describe(),
                    needs_approval,
                });
            }
        }
    }
    Ok(entries)
}

#[server]
pub async fn get_request_form(package_id: i64) -> Result<RequestFormView, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let package = store::policy::package_details(&mut tx, package_id)
        .await?
        .ok_or_else(|| AppError::not_found("access package"))?;
    let requestor = store::policy::requestor(&mut tx, person.id).await?;
    let policies = store::policy::policies_of(&mut tx, package.id)
        .await?
        .into_iter()
        .filter(|policy| policy.scope.admits(&requestor))
        .map(|policy| PolicyChoice {
            policy_id: policy.id,
            name: policy.name,
            duration: policy.duration.describe(),
            stage_count: policy.stages.len(),
            justification_required: policy.justification_required,
            questions: policy.questions,
        })
        .collect();
    Ok(RequestFormView {
        package_id: package.id,
        name: package.name,
        description: package.description,
        catalog_name: package.catalog_name,
        policies,
        reports: store::policy::direct_reports(&mut tx, person.id).await?,
        self_id: person.id,
        today: state.clock.now().date_utc(),
    })
}

/// Answers as posted (`answers[p{policy}q{index}]`), by policy and question index.
#[cfg(feature = "ssr")]
fn answers_by_policy(
    posted: std::collections::BTreeMap<String, String>,
) -> std::collections::BTreeMap<i64, Vec<String>> {
    let mut answers: std::collections::BTreeMap<i64, Vec<String>> = Default::default();
    for (key, value) in posted {
        let parsed = key
            .strip_prefix('p')
            .and_then(|rest| rest.split_once('q'))
            .and_then(|(policy, index)| {
                Some((policy.parse::<i64>().ok()?, index.parse::<usize>().ok()?))
            });
        if let Some((policy, index)) = parsed.filter(|(_, index)| *index < 5) {
            let list = answers.entry(policy).or_default();
            if list.len() <= index {
                list.resize(index + 1, String::new());
            }
            if let Some(slot) = list.get_mut(index) {
                *slot = value;
            }
        }
    }
    answers
}

/// Submits a request. Dates are `YYYY-MM-DD` (empty: from now / the longest allowed).
#[allow(clippy::too_many_arguments)]
#[server]
pub async fn submit_request(
    package_id: i64,
    policy_id: Option<i64>,
    for_person_id: Option<i64>,
    justification: String,
    #[server(default)] answers: std::collections::BTreeMap<String, String>,
    start_date: String,
    end_date: String,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::requests;
    let (state, person) = signed_in().await?;
    let input = requests::SubmitRequest {
        package_id,
        policy_id,
        for_person_id: for_person_id.filter(|id| *id != person.id),
        justification,
        answers: answers_by_policy(answers),
        start_at: crate::domain::time::optional_date("start_date", &start_date)?,
        end_at: crate::domain::time::optional_date("end_date", &end_date)?,
    };
    let submitted = requests::submit(&state, &person, input)
        .await
        .map_err(|mut error| {
            // The service names the period's fields after the stored columns.
            for field in &mut error.fields {
                field.field = match field.field.as_str() {
                    "end_at" => "end_date".into(),
                    "start_at" => "start_date".into(),
                    other => other.into(),
                };
            }
            error
        })?;
    leptos_axum::redirect(&format!("/?submitted={}", submitted.request_id));
    Ok(())
}

#[server]
pub async fn cancel_request(request_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::requests;
    let (state, person) = signed_in().await?;
    requests::cancel(&state, &person, request_id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

#[server]
pub async fn list_approvals() -> Result<Vec<ApprovalItem>, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::approvals;
    let (state, person) = signed_in().await?;
    approvals::waiting_for(&state, person.id, 200).await
}

/// Approves or denies one request. `outcome` is `approve` or `deny`.
#[server]
pub async fn decide_request(
    request_id: i64,
    outcome: String,
    justification: String,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::requests;
    let (state, person) = signed_in().await?;
    let outcome = match outcome.as_str() {
        "approve" => requests::Outcome::Approve,
        "deny" => requests::Outcome::Deny,
        _ => {
            return Err(AppError::invalid_field(
                "outcome",
                "Choose approve or deny.",
            ))
        }
    };
    requests::decide(&state, &person, request_id, outcome, &justification).await?;
    leptos_axum::redirect("/approvals");
    Ok(())
}

/// The holder gives an access package back before its end.
#[server]
pub async fn release_access(assignment_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::assignments;
    let (state, person) = signed_in().await?;
    assignments::release(&state, &person, assignment_id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// An owner or administrator removes someone's access, saying why.
#[server]
pub async fn revoke_access(assignment_id: i64, comment: String) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::assignments;
    let (state, person) = signed_in().await?;
    assignments::revoke(&state, &person, assignment_id, &comment).await
}

/// Approves or denies several requests with one comment. Each is decided on its own (the
/// first valid decision wins for each); when some cannot be decided, the answer says which
/// and why, and the others stay decided.
#[server]
pub async fn decide_requests(
    request_ids: Option<Vec<i64>>,
    outcome: String,
    justification: String,
) -> Result<usize, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::requests;
    use crate::domain::ErrorCode;
    let (state, person) = signed_in().await?;
    let outcome = match outcome.as_str() {
        "approve" => requests::Outcome::Approve,
        "deny" => requests::Outcome::Deny,
        _ => {
            return Err(AppError::invalid_field(
                "outcome",
                "Choose approve or deny.",
            ))
        }
    };
    let request_ids = request_ids.unwrap_or_default();
    if request_ids.is_empty() {
        return Err(AppError::invalid_field(
            "request_ids",
            "Select at least one request.",
        ));
    }
    if request_ids.len() > 200 {
        return Err(AppError::invalid_field(
            "request_ids",
            "Select at most 200 requests at once.",
        ));
    }
    let mut decided = 0;
    let mut refusals = Vec::new();
    let mut all_unknown = true;
    for request_id in &request_ids {
        match requests::decide(&state, &person, *request_id, outcome, &justification).await {
            Ok(_) => decided += 1,
            Err(error) => {
                all_unknown &= error.code == ErrorCode::NotFound;
                refusals.push(format!("request {request_id}: {}", error.message));
            }
        }
    }
    // None of them is the person's to decide: as if none existed.
    if decided == 0 && all_unknown {
        return Err(AppError::not_found("request"));
    }
    if !refusals.is_empty() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "{decided} of {} decided. Not decided: {}",
                request_ids.len(),
                refusals.join(" ")
            ),
        ));
    }
    leptos_axum::redirect("/approvals");
    Ok(decided)
}

#[server]
pub async fn get_extension_form(assignment_id: i64) -> Result<ExtensionFormView, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::store;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let row = match store::assignment::find(&mut tx, assignment_id).await? {
        Some(row) if crate::backend::auth::permissions::holds(&person, row.person_id) => row,
        _ => return Err(AppError::not_found("assignment")),
    };
    let package = store::policy::package_details(&mut tx, row.package_id)
        .await?
        .ok_or_else(|| AppError::not_found("assignment"))?;
    let policy = store::policy::policies_of(&mut tx, row.package_id)
        .await?
        .into_iter()
        .find(|policy| Some(policy.id) == row.policy_id);
    Ok(ExtensionFormView {
        assignment_id: row.id,
        package_name: package.name,
        current_end: row.end_at.map(Timestamp),
        step: policy
            .as_ref()
            .map(|p| p.duration.describe())
            .unwrap_or_default(),
        needs_approval: policy
            .as_ref()
            .filter(|policy| policy.extension_allowed)
            .map(|policy| policy.extension_needs_approval && !policy.stages.is_empty()),
        justification_required: policy.is_some_and(|policy| policy.justification_required),
    })
}

#[server]
pub async fn request_extension(
    assignment_id: i64,
    end_date: String,
    justification: String,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::requests;
    let (state, person) = signed_in().await?;
    let new_end = crate::domain::time::optional_date("end_date", &end_date)?;
    requests::request_extension(&state, &person, assignment_id, new_end, &justification).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// A request with its stages, approvers and decisions: for the person it is for, the one
/// who asked, its approvers, administrators and auditors. To anyone else it does not exist.
#[server]
pub async fn get_request(request_id: i64) -> Result<RequestDetail, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::auth::permissions;
    use crate::backend::store;
    use crate::domain::approvers::ApproverRule;
    let (state, person) = signed_in().await?;
    let mut tx = state.db.reader().begin().await?;
    let request = store::request::find(&mut tx, request_id).await?;
    let visible = match &request {
        Some(request) => permissions::may_see_request(&mut tx, &person, request).await?,
        None => false,
    };
    let Some(request) = request.filter(|_| visible) else {
        return Err(AppError::not_found("request"));
    };
    let package = store::policy::package_details(&mut tx, request.package_id)
        .await?
        .ok_or_else(|| AppError::not_found("request"))?;
    let for_name = store::person::display_name(&mut tx, request.person_id).await?;
    // Stored answers that cannot be read fail the page (the cause is logged), not show none.
    let submission = store::request::submission(&mut tx, request.id).await?;
    let stages = match request.policy_id {
        Some(policy_id) => store::policy::stages_of(&mut tx, policy_id).await?,
        None => Vec::new(),
    };
    let tasks = store::request::tasks_of(&mut tx, request.id).await?;
    let decisions = store::request::decisions_of(&mut tx, request.id).await?;
    let pending = request.status == crate::domain::status::RequestStatus::PendingApproval;
    let current = request.current_stage.unwrap_or(0);
    let stage_views = stages
        .iter()
        .map(|stage| {
            let position = i64::from(stage.position);
            let progress = if pending && position == current {
                "current"
            } else if decisions.iter().any(|d| d.stage_position == position) {
                "done"
            } else {
                "pending"
            };
            let stage_tasks: Vec<_> = tasks
                .iter()
                .filter(|task| task.stage_position == position)
                .collect();
            StageView {
                position,
                asks: match stage.rule {
                    ApproverRule::Manager => "Manager",
                    ApproverRule::SecondLevelManager => "Second-level manager",
                    ApproverRule::PackageOwners => "Package owners",
                    ApproverRule::NamedPeople { .. } => "Named approvers",
                    ApproverRule::GroupMembers { .. } => "Members of a group",
                }
                .to_string(),
                progress: progress.to_string(),
                approvers: stage_tasks
                    .iter()
                    .map(|task| task.approver_name.clone())
                    .collect(),
                due_at: stage_tasks.first().map(|task| Timestamp(task.due_at)),
                decisions: decisions
                    .iter()
                    .filter(|d| d.stage_position == position)
                    .map(|d| {
                        let verb = if d.outcome == "approve" {
                            "approved"
                        } else {
                            "denied"
                        };
                        let comment = if d.justification.is_empty() {
                            String::new()
                        } else {
                            format!(": “{}”", d.justification)
                        };
                        format!(
                            "{} {verb} on {}{comment}",
                            d.approver_name,
                            Timestamp(d.decided_at).date_time_utc()
                        )
                    })
                    .collect(),
            }
        })
        .collect();
    let mut provisioning = store::provisioning::steps_of_request(&mut tx, request.id).await?;
    if !permissions::sees_downstream_errors(&person) {
        for step in &mut provisioning {
            step.error = None;
        }
    }
    Ok(RequestDetail {
        request_id: request.id,
        kind: request.kind,
        package_name: package.name,
        for_name,
        status: request.status,
        justification: submission.justification,
        answers: submission.answers,
        submitted_at: Timestamp(submission.submitted_at),
        start_at: Timestamp(request.start_at),
        end_at: request.end_at.map(Timestamp),
        stages: stage_views,
        provisioning,
    })
}
