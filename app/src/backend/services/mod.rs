//! Use cases that span tables. Each opens one write transaction, asks the domain, writes
//! the new state with its audit event and outbox rows, and commits.

pub mod approval_tasks;
pub mod approvals;
pub mod assignments;
pub mod audit;
pub mod connectors;
pub mod demo;
pub mod home;
pub mod identity;
pub mod links;
pub mod mail;
pub mod manage;
pub mod people;
pub mod provisioning;
pub mod reconcile;
pub mod requests;
pub mod reviews;
pub mod scim;
