//! What the benchmarks share: their settings from the environment, the process's memory,
//! percentiles, and a Gatehouse started on a database of their own.

#![allow(dead_code)]

use gatehouse_server::config::{Config, Sources};
use std::collections::HashMap;
use std::time::Duration;

/// A number from the environment, or `default`.
pub fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The process's resident memory and its peak since the last [`reset_peak`], in MB.
pub fn memory_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak resident memory to the current one (Linux `clear_refs` 5).
pub fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The `p` percentile (0 to 1) of sorted values.
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> T {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The configuration of a development Gatehouse on a free port over `database_url`, its
/// files in `data_dir`, with `extra` settings.
pub fn config(database_url: &str, data_dir: &std::path::Path, extra: &[(&str, String)]) -> Config {
    let env: HashMap<String, String> = [
        ("GATEHOUSE_ENV", "development".to_string()),
        ("GATEHOUSE_BIND", "127.0.0.1:0".to_string()),
        ("GATEHOUSE_LOG", "warn".to_string()),
        ("GATEHOUSE_DATABASE_URL", database_url.to_string()),
        ("GATEHOUSE_DATA_DIR", data_dir.display().to_string()),
    ]
    .into_iter()
    .chain(extra.iter().cloned())
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    Config::load(&Sources::from_maps(env, HashMap::new())).unwrap()
}

/// A PostgreSQL database of the benchmark's own, dropped by [`PostgresDatabase::drop_now`].
pub struct PostgresDatabase {
    admin: sqlx::PgPool,
    pub name: String,
    pub url: String,
}

impl PostgresDatabase {
    /// Creates `<prefix>_<pid>` on the server at `BENCH_POSTGRES_URL` (default the local
    /// one); none, with a line saying so, when it cannot be reached.
    pub async fn create(prefix: &str) -> Option<Self> {
        let base = std::env::var("BENCH_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string());
        let name = format!("{prefix}_{}", std::process::id());
        match sqlx::PgPool::connect(&base).await {
            Ok(admin) => {
                sqlx::query(&format!("create database {name}"))
                    .execute(&admin)
                    .await
                    .unwrap();
                let mut url = url::Url::parse(&base).unwrap();
                url.set_path(&name);
                Some(Self {
                    admin,
                    name,
                    url: url.to_string(),
                })
            }
            Err(error) => {
                println!("\nPostgreSQL not reachable at {base} ({error}): skipped");
                None
            }
        }
    }

    pub async fn drop_now(self) {
        sqlx::query(&format!(
            "drop database if exists {} with (force)",
            self.name
        ))
        .execute(&self.admin)
        .await
        .unwrap();
    }
}
