//! Reading the route.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The numeric `:id` of the current route; 0 (which matches nothing) when it is not a
/// number, so a mistyped address answers "not found".
pub fn id_param() -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    named_id_param("id")
}

/// The numeric parameter `name` of the current route, 0 when absent or not a number.
pub fn named_id_param(name: &'static str) -> impl Fn() -> i64 + Copy + Send + Sync + 'static {
    let params = use_params_map();
    move || {
        params
            .read()
            .get(name)
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    }
}
