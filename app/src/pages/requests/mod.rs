//! `/requests/...`: the pages of one request.

pub mod detail;
