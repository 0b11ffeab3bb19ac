//! Server functions, one file per resource. Each is thin: who is asking, then one service
//! or store call, with authorization decided here on the server from stored data.

pub mod access;
pub mod audit;
pub mod catalogs;
pub mod connectors;
pub mod dev;
pub mod home;
pub mod links;
pub mod mail;
pub mod manage;
pub mod requests;
pub mod reviews;
pub mod scim;
pub mod session;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use crate::backend::AppState;
    use crate::domain::AppError;
    use leptos::prelude::use_context;
    use tower_sessions::Session;

    /// The application state and the caller's session, from the request.
    pub async fn request_context() -> Result<(AppState, Session), AppError> {
        let state = use_context::<AppState>().ok_or_else(|| {
            tracing::error!("AppState missing from the server function context");
            AppError::internal()
        })?;
        let session: Session = leptos_axum::extract().await.map_err(|error| {
            tracing::error!(%error, "session layer missing");
            AppError::internal()
        })?;
        Ok((state, session))
    }

    /// The application state and the signed-in person, or "please sign in".
    pub async fn signed_in(
    ) -> Result<(AppState, crate::backend::store::person::PersonRow), AppError> {
        let (state, session) = request_context().await?;
        let person = crate::backend::auth::require_person(&state, &session).await?;
        Ok((state, person))
    }
}
