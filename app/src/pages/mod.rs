//! One file per page; folders would mirror URL segments as pages grow.

pub mod audit;
pub mod dev_mail;
pub mod home;
pub mod not_found;
pub mod sign_in;
