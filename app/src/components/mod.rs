//! Reusable pieces of the interface.

pub mod detail;
pub mod feedback;
pub mod form;
pub mod layout;
pub mod route;
pub mod table;
