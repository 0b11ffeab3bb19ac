//! Reusable pieces of the interface.

pub mod feedback;
pub mod layout;
pub mod table;
