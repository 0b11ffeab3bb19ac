//! The HR inbound (SCIM) page's server functions: the tokens HR systems use. Making and
//! revoking them is for administrators; auditors read the list.

pub use crate::model::scim::*;

use crate::domain::AppError;
#[cfg(feature = "ssr")]
use crate::domain::Timestamp;
use leptos::prelude::*;

/// Where a token made by a form posted without JavaScript waits for the page it is
/// redirected to, which takes it out (once).
#[cfg(feature = "ssr")]
const NEW_TOKEN_KEY: &str = "scim.new_token";

/// The endpoint and the tokens. Administrators and auditors.
#[server]
pub async fn get_scim_settings() -> Result<ScimSettings, AppError> {
    use crate::api::context::request_context;
    use crate::backend::services::scim;
    let (state, session) = request_context().await?;
    let person = crate::backend::auth::require_person(&state, &session).await?;
    let tokens = scim::tokens(&state, &person)
        .await?
        .into_iter()
        .map(|row| ScimTokenView {
            id: row.id,
            name: row.name,
            created_by: row.created_by,
            created_at: Timestamp(row.created_at),
            last_used_at: row.last_used_at.map(Timestamp),
            revoked_at: row.revoked_at.map(Timestamp),
        })
        .collect();
    let can_manage = crate::backend::auth::permissions::administers(&person);
    let new_token = if can_manage {
        session
            .remove::<NewScimToken>(NEW_TOKEN_KEY)
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    Ok(ScimSettings {
        endpoint: format!(
            "{}/scim/v2",
            state.settings.mail.base_url.trim_end_matches('/')
        ),
        can_manage,
        tokens,
        new_token,
    })
}

/// Makes a token named after the system that will use it, and returns it: the only time
/// it is seen. Administrators only.
#[server]
pub async fn create_scim_token(name: String) -> Result<NewScimToken, AppError> {
    use crate::api::context::request_context;
    use crate::backend::services::scim;
    let (state, session) = request_context().await?;
    let person = crate::backend::auth::require_person(&state, &session).await?;
    let (_, token) = scim::create_token(&state, &person, &name).await?;
    let made = NewScimToken {
        name: name.trim().to_string(),
        token,
    };
    // A form posted without JavaScript is redirected back to the page, which reads the
    // token from the session once; with JavaScript the page shows the answer itself.
    let headers: http::HeaderMap = leptos_axum::extract()
        .await
        .map_err(|_| AppError::internal())?;
    let plain_form = headers
        .get(http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if plain_form {
        session
            .insert(NEW_TOKEN_KEY, &made)
            .await
            .map_err(|error| {
                tracing::error!(%error, "session store failed");
                AppError::internal()
            })?;
    }
    Ok(made)
}

/// Revokes a token: the HR system using it is refused from its next request. Administrators
/// only.
#[server]
pub async fn revoke_scim_token(token_id: i64) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::scim;
    let (state, person) = signed_in().await?;
    scim::revoke_token(&state, &person, token_id).await
}
