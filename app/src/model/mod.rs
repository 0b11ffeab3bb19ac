//! What crosses the wire: the views server functions return and the forms pages post,
//! one file per area, shared by the pages (both sides) and the backend (server side), so
//! that neither depends on the other's layer. No behaviour beyond presenting a value.

pub mod access;
pub mod audit;
pub mod catalogs;
pub mod connectors;
pub mod home;
pub mod links;
pub mod mail;
pub mod manage;
pub mod requests;
pub mod reviews;
pub mod scim;
pub mod session;
