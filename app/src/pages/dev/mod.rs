//! `/dev/...`: pages that exist only in development mode.

pub mod mail;
