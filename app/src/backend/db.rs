//! The database handle. One code path serves SQLite and PostgreSQL through sqlx's `Any`
//! driver: every query is written once with `$1` placeholders, which both accept
//! (ARCHITECTURE.md, Storage). Where the dialects must differ, both versions stand side by
//! side in the same function, chosen by [`Backend`].

use crate::domain::{AppError, ErrorCode};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Transaction};
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Chooses the backend from a database URL, or says in one sentence what is wrong.
    pub fn from_url(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(format!(
                "GATEHOUSE_DATABASE_URL must start with sqlite:// or postgres:// (got {})",
                redact_url(url)
            ))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// A URL safe to print: the password, if any, replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            // set_password only fails for URLs that cannot carry one, which this one does.
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        Ok(parsed) => parsed.to_string(),
        Err(_) => "an unparseable URL".to_string(),
    }
}

/// The SQLite file a `sqlite:` URL points at, if it names a file.
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(std::path::PathBuf::from(path))
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    backend: Backend,
    /// Reads (and, on PostgreSQL, writes).
    pool: AnyPool,
    /// Writes. On SQLite a single connection, so write transactions queue here instead of
    /// failing with SQLITE_BUSY; readers never block it in WAL mode.
    writer: AnyPool,
}

/// What the schema of a database is, compared with what this binary knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// Every migration this binary has is applied, and no other.
    Current,
    /// Some of this binary's migrations are not applied yet (or none: a new database).
    Behind { applied: Option<i64>, latest: i64 },
    /// The database carries migrations this binary does not know: it was upgraded by a
    /// newer Gatehouse.
    Newer { applied: i64, latest: i64 },
}

impl Db {
    /// Connects. For SQLite, `create` decides whether a missing file may be created.
    pub async fn connect(url: &str, create: bool) -> Result<Self, sqlx::Error> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let backend =
            Backend::from_url(url).map_err(|reason| sqlx::Error::Configuration(reason.into()))?;
        match backend {
            Backend::Sqlite => {
                let url = sqlite_url_with_mode(url, create);
                let options = AnyConnectOptions::from_str(&url)?;
                let pool = sqlite_pool_options(4, 16)
                    .connect_with(options.clone())
                    .await?;
                let writer = sqlite_pool_options(1, 64).connect_with(options).await?;
                Ok(Self {
                    backend,
                    pool,
                    writer,
                })
            }
            Backend::Postgres => {
                let options = AnyConnectOptions::from_str(url)?;
                let pool = AnyPoolOptions::new()
                    .max_connections(20)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Ok(Self {
                    backend,
                    writer: pool.clone(),
                    pool,
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool for reads that need no transaction.
    pub fn reader(&self) -> &AnyPool {
        &self.pool
    }

    /// The pool for single-statement writes outside a transaction (sessions, housekeeping).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Starts a write transaction. Every state change, its audit event and its outbox rows
    /// go into one of these.
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>, sqlx::Error> {
        self.writer.begin().await
    }

    /// The database's clock (milliseconds since the epoch).
    pub async fn now(&self) -> Result<crate::domain::Timestamp, sqlx::Error> {
        let sql = match self.backend {
            Backend::Sqlite => {
                "select cast(round((julianday('now') - 2440587.5) * 86400000.0) as integer)"
            }
            Backend::Postgres => {
                "select cast(extract(epoch from clock_timestamp()) * 1000 as bigint)"
            }
        };
        sqlx::query_scalar(sql)
            .fetch_one(&self.pool)
            .await
            .map(crate::domain::Timestamp)
    }

    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("select 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        self.backend.migrator().run(&self.writer).await
    }

    pub async fn schema_state(&self) -> Result<SchemaState, sqlx::Error> {
        let latest = self
            .backend
            .migrator()
            .iter()
            .map(|migration| migration.version)
            .max()
            .unwrap_or(0);
        let table_exists: i64 = match self.backend {
            Backend::Sqlite => {
                sqlx::query_scalar(
                    "select count(*) from sqlite_master where type = 'table' and name = '_sqlx_migrations'",
                )
                .fetch_one(&self.pool)
                .await?
            }
            Backend::Postgres => {
                sqlx::query_scalar(
                    "select count(*) from information_schema.tables \
                     where table_schema = current_schema() and table_name = '_sqlx_migrations'",
                )
                .fetch_one(&self.pool)
                .await?
            }
        };
        if table_exists == 0 {
            return Ok(SchemaState::Behind {
                applied: None,
                latest,
            });
        }
        let applied: Option<i64> =
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success = $1")
                .bind(true)
                .fetch_one(&self.pool)
                .await?;
        Ok(match applied {
            Some(applied) if applied > latest => SchemaState::Newer { applied, latest },
            Some(applied) if applied == latest => SchemaState::Current,
            applied => SchemaState::Behind { applied, latest },
        })
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

/// A pool of SQLite connections, each with a page cache of up to `cache_mib` MiB (SQLite's
/// default, 2 MiB, made the writer re-read the pages of the indexes it was adding to:
/// starting a review over a million assignments took 1.6 s longer).
fn sqlite_pool_options(max_connections: u32, cache_mib: i64) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |connection, _metadata| {
            Box::pin(async move {
                // WAL lets readers run beside the writer; the busy timeout covers the rare
                // checkpoint; foreign keys are off by default in SQLite.
                sqlx::query("pragma journal_mode = wal")
                    .execute(&mut *connection)
                    .await?;
                sqlx::query("pragma foreign_keys = on")
                    .execute(&mut *connection)
                    .await?;
                sqlx::query("pragma busy_timeout = 10000")
                    .execute(&mut *connection)
                    .await?;
                sqlx::query("pragma synchronous = normal")
                    .execute(&mut *connection)
                    .await?;
                sqlx::query(&format!("pragma cache_size = -{}", cache_mib * 1024))
                    .execute(&mut *connection)
                    .await?;
                Ok(())
            })
        })
}

fn sqlite_url_with_mode(url: &str, create: bool) -> String {
    if url.contains("mode=") {
        return url.to_string();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let mode = if create { "rwc" } else { "rw" };
    format!("{url}{separator}mode={mode}")
}

/// A write refused by a named constraint becomes what that constraint means to the person
/// (a field error, or a 409: `store::constraint`); any other database failure becomes the
/// generic internal error for the person, with its cause in the log.
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if let Some(explained) = super::store::constraint::explain(&error) {
            tracing::info!(%error, "a database constraint refused a write");
            return explained;
        }
        tracing::error!(error = %error, "database error");
        AppError::new(ErrorCode::Internal, AppError::internal().message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_is_chosen_by_the_url_scheme() {
        assert_eq!(Backend::from_url("sqlite://data/g.db"), Ok(Backend::Sqlite));
        assert_eq!(
            Backend::from_url("postgres://u@h/db"),
            Ok(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db"),
            Ok(Backend::Postgres)
        );
        let refusal = Backend::from_url("mysql://root:hunter2@localhost/db").unwrap_err();
        assert!(
            refusal.contains("must start with sqlite:// or postgres://"),
            "{refusal}"
        );
        assert!(
            !refusal.contains("hunter2"),
            "the password leaked: {refusal}"
        );
    }

    #[test]
    fn sqlite_paths_are_read_from_the_url() {
        assert_eq!(
            sqlite_path("sqlite://data/g.db?mode=rwc"),
            Some("data/g.db".into())
        );
        assert_eq!(sqlite_path("sqlite:///tmp/x.db"), Some("/tmp/x.db".into()));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn sqlite_urls_get_an_explicit_open_mode() {
        assert_eq!(
            sqlite_url_with_mode("sqlite://a.db", true),
            "sqlite://a.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url_with_mode("sqlite://a.db?x=1", false),
            "sqlite://a.db?x=1&mode=rw"
        );
        assert_eq!(
            sqlite_url_with_mode("sqlite://a.db?mode=ro", true),
            "sqlite://a.db?mode=ro"
        );
    }
}
