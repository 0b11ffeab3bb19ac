//! One file per page; folders would mirror URL segments as pages grow.

pub mod access_detail;
pub mod action_link;
pub mod approvals;
pub mod audit;
pub mod catalog;
pub mod catalogs;
pub mod connectors;
pub mod dev_mail;
pub mod extend_access;
pub mod home;
pub mod mail_queue;
pub mod manage;
pub mod not_found;
pub mod policy;
pub mod request_detail;
pub mod request_package;
pub mod settings;
pub mod sign_in;
