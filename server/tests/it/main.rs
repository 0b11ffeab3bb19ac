//! The one integration test binary of the server crate (each extra binary costs a link on
//! a two-core machine). Tests named `sqlite::…` and `postgres::…` run the same body on
//! each backend.

mod harness;

mod audit_trail;
mod demo;
mod http_basics;
mod sessions;
mod startup_refusals;
mod workers;
