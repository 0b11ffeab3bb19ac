//! The home page: the signed-in person's access, their requests and what waits for them.

pub use crate::model::home::*;

use crate::domain::AppError;
use leptos::prelude::*;

#[server]
pub async fn get_home() -> Result<HomeView, AppError> {
    use crate::api::context::signed_in;
    use crate::backend::services;
    let (state, person) = signed_in().await?;
    services::home::load(&state, &person).await
}
