//! Structured logs with tracing: text for people, JSON for log collectors.

use crate::config::{Config, LogFormat};
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(&config.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    // A second init (as in tests that start several servers) keeps the first subscriber.
    let _ = match config.log_format {
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
        LogFormat::Text => registry
            .with(fmt::layer().with_writer(std::io::stderr))
            .try_init(),
    };
}
