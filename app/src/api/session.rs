//! Who is signed in, development sign-in, and sign-out.

pub use crate::model::session::*;

use crate::domain::AppError;
use leptos::prelude::*;

#[server]
pub async fn get_site_info() -> Result<SiteInfo, AppError> {
    use crate::api::context::request_context;
    use crate::backend::auth;
    let (state, session) = request_context().await?;
    let viewer = auth::current_person(&state, &session)
        .await?
        .map(|person| Viewer {
            id: person.id,
            display_name: person.display_name,
            email: person.email,
            is_admin: person.is_admin,
            is_auditor: person.is_auditor,
            roles_to_confirm: person.roles_to_confirm,
        });
    Ok(SiteInfo {
        development: state.settings.development,
        dev_sign_in: state.settings.dev_sign_in,
        oidc_sign_in: state.settings.oidc_origin.is_some(),
        viewer,
    })
}

/// The people one may sign in as with development sign-in. Refused outside development.
#[server]
pub async fn list_sign_in_choices() -> Result<Vec<SignInChoice>, AppError> {
    use crate::api::context::request_context;
    use crate::backend::store;
    let (state, _session) = request_context().await?;
    if !state.settings.dev_sign_in {
        return Err(AppError::new(
            crate::domain::ErrorCode::Disabled,
            "Development sign-in is switched off.",
        ));
    }
    let people = store::person::list_active(state.db.reader()).await?;
    Ok(people
        .into_iter()
        .map(|person| {
            let mut roles = Vec::new();
            if person.is_admin {
                roles.push("administrator");
            }
            if person.is_auditor {
                roles.push("auditor");
            }
            let title = person.job_title.unwrap_or_default();
            let label = if roles.is_empty() {
                format!("{} ({})", person.display_name, title)
            } else {
                format!("{} ({}; {})", person.display_name, title, roles.join(", "))
            };
            SignInChoice {
                id: person.id,
                label,
            }
        })
        .collect())
}

/// Signs in as a chosen person. Development mode only; the session id changes.
#[server]
pub async fn dev_sign_in(
    person_id: i64,
    /// Where to go afterwards (same-origin paths only).
    #[server(default)]
    next: String,
) -> Result<(), AppError> {
    use crate::api::context::request_context;
    use crate::backend::auth;
    let (state, session) = request_context().await?;
    if !state.settings.dev_sign_in {
        return Err(AppError::new(
            crate::domain::ErrorCode::Disabled,
            "Development sign-in is switched off.",
        ));
    }
    auth::sign_in(&state, &session, person_id, "development").await?;
    leptos_axum::redirect(&crate::domain::navigation::safe_next(&next));
    Ok(())
}

#[server]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::api::context::request_context;
    use crate::backend::auth;
    let (state, session) = request_context().await?;
    match auth::sign_out(&state, &session).await? {
        // End the identity provider's session too; it sends the browser back to sign-in.
        Some(provider_logout) => leptos_axum::redirect(&provider_logout),
        None => leptos_axum::redirect("/"),
    }
    Ok(())
}
