//! Who is asking and what they may do. `session` turns a browser session into the
//! signed-in person; `permissions` answers every "may this person do this to this object"
//! question from stored data.

pub mod permissions;
mod session;

pub use session::*;
