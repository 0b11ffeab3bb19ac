//! Gatehouse, the shared crate: pages and components (browser and server), server functions
//! (`api`), pure rules (`domain`) and, with the `ssr` feature, the server side (`backend`).
#![recursion_limit = "256"]

pub mod api;
mod app;
pub mod components;
pub mod domain;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod backend;

pub use app::{shell, App};

/// Entry point of the browser bundle: takes over the server-rendered page.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
