//! `/access/...`: the pages of one person's access to a package.

pub mod detail;
pub mod extend;
