//! Opening the database safely. Each refusal is one sentence and happens before anything is
//! written: a bad URL, a data directory that cannot be written, a database upgraded by a
//! newer Gatehouse.

use crate::config::Config;
use app::backend::db::{redact_url, sqlite_path, SchemaState};
use app::backend::{Backend, Db};
use std::path::Path;

/// Checks that a directory exists (creating it if missing) and that files can be created in
/// it; the probe file is removed again.
fn ensure_writable_dir(directory: &Path, what: &str) -> Result<(), String> {
    if !directory.exists() {
        std::fs::create_dir_all(directory).map_err(|error| {
            format!(
                "the {what} {} cannot be created: {error}",
                directory.display()
            )
        })?;
    }
    if !directory.is_dir() {
        return Err(format!(
            "the {what} {} is not a directory",
            directory.display()
        ));
    }
    let probe = directory.join(format!(".gatehouse-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"probe").map_err(|error| {
        format!(
            "the {what} {} is not writable: {error}",
            directory.display()
        )
    })?;
    std::fs::remove_file(&probe).map_err(|error| {
        format!(
            "the {what} {} is not writable: {error}",
            directory.display()
        )
    })
}

/// Opens the database for serving or migrating, after the checks.
pub async fn open_database(config: &Config) -> Result<Db, String> {
    // Whatever opens the database may append to the audit trail: the key goes first.
    app::backend::store::audit::install_key(config.audit_key.clone())?;
    let backend = Backend::from_url(&config.database_url)?;
    let mut existing_file = true;
    if backend == Backend::Sqlite {
        ensure_writable_dir(&config.data_dir, "data directory (GATEHOUSE_DATA_DIR)")?;
        if let Some(file) = sqlite_path(&config.database_url) {
            let directory = file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            ensure_writable_dir(directory, "database directory")?;
            existing_file = file.exists();
        }
    }
    // An existing database is opened without permission to create anything, so a refusal
    // below leaves it exactly as it was.
    let db = Db::connect(&config.database_url, !existing_file)
        .await
        .map_err(|error| {
            format!(
                "cannot open the database {}: {}",
                redact_url(&config.database_url),
                describe_sqlx_error(&error)
            )
        })?;
    match db.schema_state().await {
        Ok(SchemaState::Newer { applied, latest }) => {
            db.close().await;
            Err(format!(
                "the database is at migration {applied} but this gatehouse knows migrations up to {latest} only: it was upgraded by a newer Gatehouse, so run that version (refusing to start)"
            ))
        }
        Ok(_) => Ok(db),
        Err(error) => {
            db.close().await;
            Err(format!(
                "cannot read the database schema version: {}",
                describe_sqlx_error(&error)
            ))
        }
    }
}

/// Applies pending migrations.
pub async fn migrate(db: &Db) -> Result<(), String> {
    db.migrate()
        .await
        .map_err(|error| format!("migrating the database failed: {error}"))
}

/// The first line of an sqlx error, without a URL (which could carry a password).
fn describe_sqlx_error(error: &sqlx::Error) -> String {
    let text = error.to_string();
    let first_line = text.lines().next().unwrap_or_default();
    if first_line.contains("://") {
        "the connection failed".to_string()
    } else {
        first_line.to_string()
    }
}
