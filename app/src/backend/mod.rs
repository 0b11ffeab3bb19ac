//! The server side that server functions call (compiled only with the `ssr` feature):
//! storage, use cases, sign-in and sessions, workers. The dependency direction is one way:
//! `server -> backend -> domain`.

pub mod auth;
pub mod clock;
pub mod connectors;
pub mod db;
pub mod mail;
pub mod services;
pub mod state;
pub mod store;
pub mod workers;

pub use clock::{Clock, ManualClock, SystemClock};
pub use db::{Backend, Db};
pub use state::{AppState, Settings};
