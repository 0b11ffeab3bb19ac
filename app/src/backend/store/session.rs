//! Sessions for tower-sessions, kept in the `session` table of either backend so several
//! instances share them. The record is stored as JSON bytes; it holds ids and times only,
//! never a secret from the identity provider. The row is keyed by a SHA-256 of the session
//! id, never the id itself: someone who can read the table (a backup, a replica) cannot
//! use a row to act as its person.

use crate::backend::Db;
use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: Db,
}

impl DbSessionStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

/// The stored key of a session id.
fn key_of(id: &Id) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn backend_error(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

fn expiry_millis(record: &Record) -> i64 {
    i64::try_from(record.expiry_date.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn now_millis() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        let data = serde_json::to_vec(&record.data)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        // A new id must not take over an existing session: insert only if absent, and draw
        // again on the (astronomically unlikely) collision.
        loop {
            let inserted = sqlx::query(
                "insert into session (id, data, expiry_at) values ($1, $2, $3) on conflict (id) do nothing",
            )
            .bind(key_of(&record.id))
            .bind(data.clone())
            .bind(expiry_millis(record))
            .execute(self.db.writer())
            .await
            .map_err(backend_error)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_vec(&record.data)
            .map_err(|error| session_store::Error::Encode(error.to_string()))?;
        sqlx::query(
            "insert into session (id, data, expiry_at) values ($1, $2, $3) \
             on conflict (id) do update set data = excluded.data, expiry_at = excluded.expiry_at",
        )
        .bind(key_of(&record.id))
        .bind(data)
        .bind(expiry_millis(record))
        .execute(self.db.writer())
        .await
        .map_err(backend_error)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(Vec<u8>, i64)> =
            sqlx::query_as("select data, expiry_at from session where id = $1 and expiry_at > $2")
                .bind(key_of(id))
                .bind(now_millis())
                .fetch_optional(self.db.reader())
                .await
                .map_err(backend_error)?;
        let Some((data, expiry_at)) = row else {
            return Ok(None);
        };
        let data = serde_json::from_slice(&data)
            .map_err(|error| session_store::Error::Decode(error.to_string()))?;
        let expiry_date =
            time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(expiry_at) * 1_000_000)
                .map_err(|error| session_store::Error::Decode(error.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("delete from session where id = $1")
            .bind(key_of(id))
            .execute(self.db.writer())
            .await
            .map_err(backend_error)?;
        Ok(())
    }
}

/// Removes sessions past their expiry; returns how many. Run by the housekeeping worker.
pub async fn delete_expired(db: &Db, now_millis: i64) -> Result<u64, sqlx::Error> {
    let result = sqlx::query("delete from session where expiry_at <= $1")
        .bind(now_millis)
        .execute(db.writer())
        .await?;
    Ok(result.rows_affected())
}
