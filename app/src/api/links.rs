//! Email action links. Opening one (`open_action_link`, called while the page renders)
//! changes nothing, because mail scanners open links; acting (`use_action_link`) is a
//! POST by the signed-in person the link was sent to.

pub use crate::model::links::*;

use crate::domain::AppError;
use leptos::prelude::*;

/// What an action link leads to. Reads only: opening a link changes nothing.
#[server]
pub async fn open_action_link(token: String) -> Result<LinkView, AppError> {
    use crate::api::context::request_context;
    use crate::backend::{auth, services::links};
    let (state, session) = request_context().await?;
    let viewer = auth::current_person(&state, &session).await?;
    links::open(&state, &token, viewer.as_ref()).await
}

/// Uses an action link: `approve` or `deny` a request, or `extend` access (with
/// `end_date`). Only the signed-in person the link was sent to may; the link is used up in
/// the same transaction as the decision. Goes to the request's page afterwards.
#[server]
pub async fn use_action_link(
    token: String,
    choice: String,
    #[server(default)] justification: String,
    #[server(default)] end_date: String,
) -> Result<(), AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services::links;
    let (state, person) = signed_in().await?;
    let request_id =
        links::act(&state, &person, &token, &choice, &justification, &end_date).await?;
    leptos_axum::redirect(&format!("/requests/{request_id}"));
    Ok(())
}
