//! The one integration test binary of the server crate (each extra binary costs a link on
//! a two-core machine). Tests named `sqlite::…` and `postgres::…` run the same body on
//! each backend.

// A panic is how a test (or its helper) fails.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod harness;
#[path = "../support/holders.rs"]
mod holders;

mod assignments;
mod audit_trail;
mod authorization;
mod catalogs;
mod concurrency;
mod crash;
mod demo;
mod faults;
mod http_basics;
mod mail;
mod manage;
mod migrations;
mod oidc;
mod provisioning;
mod rendering;
mod request_api;
mod requests;
mod reviews;
mod scim;
mod security;
mod sessions;
#[path = "../support/slapd.rs"]
mod slapd;
mod startup_refusals;
mod upgrades;
mod workers;
