//! Who is asking. The session holds only the person's id and the sign-in time; everything
//! else (status, roles) is read from the database on every request, so disabling a person
//! or taking a role away takes effect at once.

use crate::backend::store::{self, audit, person::PersonRow};
use crate::backend::AppState;
use crate::domain::status::PersonStatus;
use crate::domain::{AppError, ErrorCode, Timestamp};
use tower_sessions::Session;

const PERSON_KEY: &str = "person_id";
const SIGNED_IN_AT_KEY: &str = "signed_in_at";
/// How the person signed in (`oidc`, `development`).
const METHOD_KEY: &str = "method";

fn session_error(error: tower_sessions::session::Error) -> AppError {
    tracing::error!(%error, "session store failed");
    AppError::internal()
}

/// The signed-in, active person, or `None`. A session past its absolute lifetime or of a
/// person who is no longer active is ended here.
pub async fn current_person(
    state: &AppState,
    session: &Session,
) -> Result<Option<PersonRow>, AppError> {
    let person_id: Option<i64> = session.get(PERSON_KEY).await.map_err(session_error)?;
    let Some(person_id) = person_id else {
        return Ok(None);
    };
    let signed_in_at: i64 = session
        .get(SIGNED_IN_AT_KEY)
        .await
        .map_err(session_error)?
        .unwrap_or(0);
    let now = state.clock.now();
    let lifetime_over =
        Timestamp(signed_in_at).plus_minutes(state.settings.session_absolute_minutes) <= now;
    let person = store::person::find(state.db.reader(), person_id).await?;
    match person {
        Some(mut person) if person.status == PersonStatus::Active && !lifetime_over => {
            // Administrator and auditor roles come from the identity provider at sign-in.
            // A role taken away there must not last for the whole session here: after a few
            // minutes the roles count as none until the provider confirms them again.
            let method: Option<String> = session.get(METHOD_KEY).await.map_err(session_error)?;
            let confirmed_until =
                Timestamp(signed_in_at).plus_minutes(state.settings.provider_role_minutes);
            if method.as_deref() == Some("oidc")
                && (person.is_admin || person.is_auditor)
                && confirmed_until <= now
            {
                person.is_admin = false;
                person.is_auditor = false;
                person.roles_to_confirm = true;
            }
            Ok(Some(person))
        }
        _ => {
            session.flush().await.map_err(session_error)?;
            Ok(None)
        }
    }
}

/// Whether the session belongs to someone signed in (without loading the person).
pub async fn is_signed_in(session: &Session) -> Result<bool, AppError> {
    let person_id: Option<i64> = session.get(PERSON_KEY).await.map_err(session_error)?;
    Ok(person_id.is_some())
}

pub async fn require_person(state: &AppState, session: &Session) -> Result<PersonRow, AppError> {
    current_person(state, session)
        .await?
        .ok_or_else(AppError::unauthenticated)
}

/// Starts a session for a person. The session id changes here, so an id planted before
/// sign-in (session fixation) is worthless afterwards.
pub async fn sign_in(
    state: &AppState,
    session: &Session,
    person_id: i64,
    method: &'static str,
) -> Result<PersonRow, AppError> {
    let person = store::person::find(state.db.reader(), person_id)
        .await?
        .filter(|person| person.status == PersonStatus::Active)
        .ok_or_else(|| AppError::new(ErrorCode::NotFound, "No active person with that id."))?;
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    store::person::record_sign_in(&mut tx, now, person.id).await?;
    audit::append(
        &mut tx,
        now,
        &audit::Actor::person(person.id, &person.display_name),
        audit::Change::new("session.signed_in", "person", person.id)
            .after(serde_json::json!({ "method": method })),
    )
    .await?;
    tx.commit().await?;

    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(PERSON_KEY, person.id)
        .await
        .map_err(session_error)?;
    session
        .insert(SIGNED_IN_AT_KEY, now.millis())
        .await
        .map_err(session_error)?;
    session
        .insert(METHOD_KEY, method)
        .await
        .map_err(session_error)?;
    Ok(person)
}

/// The session key of the identity provider's sign-out URL (set at an OIDC sign-in), where
/// sign-out sends the browser so the provider's session ends too.
pub const PROVIDER_LOGOUT_URL_KEY: &str = "oidc.logout_url";

/// Ends the session on the server; returns the identity provider's sign-out URL when the
/// person signed in through it.
pub async fn sign_out(state: &AppState, session: &Session) -> Result<Option<String>, AppError> {
    let provider_logout: Option<String> = session
        .get(PROVIDER_LOGOUT_URL_KEY)
        .await
        .map_err(session_error)?;
    if let Some(person) = current_person(state, session).await? {
        let now = state.clock.now();
        let mut tx = state.db.begin_write().await?;
        audit::append(
            &mut tx,
            now,
            &audit::Actor::person(person.id, &person.display_name),
            audit::Change::new("session.signed_out", "person", person.id),
        )
        .await?;
        tx.commit().await?;
    }
    session.flush().await.map_err(session_error)?;
    Ok(provider_logout)
}
