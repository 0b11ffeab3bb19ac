//! A person asks for a package, for themselves or for a direct report.

use super::*;

#[derive(Clone, Debug, Default)]
pub struct SubmitRequest {
    pub package_id: i64,
    /// Which policy, when several admit the person.
    pub policy_id: Option<i64>,
    /// On behalf of a direct report; none for oneself.
    pub for_person_id: Option<i64>,
    pub justification: String,
    /// Answers to the questions of each policy the form offered, by policy id; only the
    /// chosen policy's are kept.
    pub answers: std::collections::BTreeMap<i64, Vec<String>>,
    pub start_at: Option<Timestamp>,
    pub end_at: Option<Timestamp>,
}

#[tracing::instrument(skip_all, fields(actor_id = actor.id))]
pub async fn submit(
    state: &AppState,
    actor: &PersonRow,
    input: SubmitRequest,
) -> Result<RequestProgress, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    // A package of a disabled catalog cannot be requested: it answers as if it did not
    // exist, as the catalog page does.
    let package = store::policy::find_package(&mut tx, input.package_id)
        .await?
        .filter(|package| package.catalog_enabled)
        .ok_or_else(|| AppError::not_found("access package"))?;
    let subject_id = match input.for_person_id {
        None => actor.id,
        Some(id) if id == actor.id => actor.id,
        Some(id) => {
            // Only a manager may ask on behalf of someone, and only for a direct report.
            let manager = match store::policy::manager_of(&mut tx, id).await {
                Ok(manager) => manager,
                Err(sqlx::Error::RowNotFound) => None,
                Err(error) => return Err(error.into()),
            };
            if manager != Some(actor.id) {
                return Err(AppError::new(
                    ErrorCode::Forbidden,
                    "You can request on behalf of your direct reports only.",
                ));
            }
            id
        }
    };
    let subject = store::person::find_in(&mut tx, subject_id)
        .await?
        .ok_or_else(|| AppError::not_found("person"))?;
    if subject.status != crate::domain::status::PersonStatus::Active {
        return Err(AppError::invalid_field(
            "for_person_id",
            "This person is no longer active; nothing can be requested for them.",
        ));
    }
    let requestor = store::policy::requestor(&mut tx, subject_id).await?;
    let policies = store::policy::policies_of(&mut tx, package.id).await?;
    let admitting: Vec<&PolicyRow> = policies
        .iter()
        .filter(|policy| policy.scope.admits(&requestor))
        .collect();
    let policy = match (admitting.as_slice(), input.policy_id) {
        ([], _) => {
            return Err(AppError::new(
                ErrorCode::Forbidden,
                format!(
                    "You cannot request {}: no policy of this package admits you.",
                    package.name
                ),
            ))
        }
        ([only], None) => *only,
        (_, None) => {
            return Err(AppError::invalid_field(
                "policy_id",
                "Choose the policy to request under.",
            ))
        }
        (_, Some(chosen)) => *admitting
            .iter()
            .find(|policy| policy.id == chosen)
            .ok_or_else(|| {
                AppError::invalid_field(
                    "policy_id",
                    "That policy does not admit you; choose another.",
                )
            })?,
    };

    let mut validation = Validation::new();
    let justification = validation.check(
        "justification",
        parse_justification(&input.justification, policy.justification_required),
    );
    let period = validation.check(
        "end_at",
        policy
            .duration
            .resolve(input.start_at, input.end_at, now)
            .map_err(|(_, message)| message),
    );
    let no_answers = Vec::new();
    let given = input.answers.get(&policy.id).unwrap_or(&no_answers);
    let answers = match check_answers(&policy.questions, given) {
        Ok(answers) => Some(answers),
        Err(error) => {
            for (index, _) in policy.questions.iter().enumerate() {
                if let Some(message) = error.field_message(&format!("answers[{index}]")) {
                    validation
                        .check::<()>(&answer_field(policy.id, index), Err(message.to_string()));
                }
            }
            None
        }
    };
    validation.finish()?;
    let (justification, (start_at, end_at), answers) = match (justification, period, answers) {
        (Some(justification), Some(period), Some(answers)) => (justification, period, answers),
        _ => return Err(AppError::internal()),
    };
    let answers_json = serde_json::to_string(&answers).map_err(|_| AppError::internal())?;

    if let Some(conflict) =
        store::policy::conflicting_package_held(&mut tx, subject_id, package.id).await?
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("{} cannot be held together with {conflict}, which is already held (separation of duties).", package.name),
        ));
    }
    if store::assignment::held_or_scheduled(&mut tx, subject_id, package.id)
        .await?
        .is_some()
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "{} is already held; ask for an extension instead.",
                package.name
            ),
        ));
    }
    if store::request::open_request_for(&mut tx, subject_id, package.id)
        .await?
        .is_some()
    {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!("A request for {} is already open.", package.name),
        ));
    }

    let accepted = accept(policy, true, now)?;
    let request_id = store::request::insert(
        &mut tx,
        now,
        &NewRequest {
            kind: "assign",
            assignment_id: None,
            person_id: subject_id,
            requested_by_id: actor.id,
            package_id: package.id,
            policy_id: policy.id,
            status: accepted.status,
            current_stage: accepted.current_stage.map(i64::from),
            justification: &justification,
            answers_json: &answers_json,
            start_at,
            end_at,
        },
    )
    .await?;
    let actor_ref = audit::Actor::person(actor.id, &actor.display_name);
    audit::append(
        &mut tx,
        now,
        &actor_ref,
        audit::Change::new("access_request.submitted", "access_request", request_id).after(
            serde_json::json!({
                "person_id": subject_id, "access_package_id": package.id, "policy_id": policy.id,
                "status": accepted.status.as_str(), "start_at": start_at, "end_at": end_at,
                "justification": justification, "answers": answers,
            }),
        ),
    )
    .await?;

    let mut outcome = RequestProgress {
        request_id,
        status: accepted.status,
        assignment_id: None,
    };
    if accepted.status == RequestStatus::Approved {
        let request = store::request::find(&mut tx, request_id)
            .await?
            .ok_or_else(AppError::internal)?;
        outcome = grant(&mut tx, now, &request, &actor_ref).await?;
    } else if let Some(stage) = policy.stages.first() {
        approval_tasks::open_stage(
            &mut tx,
            now,
            request_id,
            approval_tasks::Parties {
                subject_id,
                requested_by_id: actor.id,
                package_id: package.id,
            },
            &package.name,
            stage,
        )
        .await?;
    }
    tx.commit().await?;
    state.scheduler_wakeup.notify();
    Ok(outcome)
}
