//! The append-only, hash-chained audit trail (ARCHITECTURE.md, Storage). Events are only
//! ever inserted; the chain head row is updated in the same transaction, which in
//! PostgreSQL also serialises concurrent appenders on that row's lock.
//!
//! Each event's hash is keyed with the audit key from configuration (domain/audit.rs). The
//! key is installed once at startup ([`install_key`]) and read here, so that the many
//! places that append an event in their transaction need not carry it; it never reaches
//! the database.

use super::Tx;
use crate::domain::audit::{
    chain_hash, AuditKey, AuditRecord, ChainBreak, ChainHead, StoredAuditEvent, Verified, Verifier,
};
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};
use std::sync::OnceLock;

static AUDIT_KEY: OnceLock<AuditKey> = OnceLock::new();

/// Installs the process's audit key. Installing the same key again is harmless; another
/// key is refused (one process writes one chain with one key).
pub fn install_key(key: AuditKey) -> Result<(), String> {
    let installed = AUDIT_KEY.get_or_init(|| key.clone());
    if *installed == key {
        Ok(())
    } else {
        Err("another audit key is already installed in this process".to_string())
    }
}

/// The installed audit key.
pub fn key() -> Result<&'static AuditKey, sqlx::Error> {
    AUDIT_KEY.get().ok_or_else(|| {
        sqlx::Error::Configuration("the audit key is not installed (GATEHOUSE_AUDIT_KEY)".into())
    })
}

/// Who caused an event: a person, or a part of the system.
#[derive(Clone, Debug)]
pub enum Actor {
    Person { id: i64, label: String },
    System(&'static str),
}

impl Actor {
    pub fn person(id: i64, display_name: &str) -> Self {
        Actor::Person {
            id,
            label: display_name.to_string(),
        }
    }
}

/// What happened to which object, with its state before and after.
#[derive(Clone, Debug)]
pub struct Change {
    pub action: &'static str,
    pub object_kind: &'static str,
    pub object_id: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

impl Change {
    pub fn new(action: &'static str, object_kind: &'static str, object_id: impl ToString) -> Self {
        Self {
            action,
            object_kind,
            object_id: Some(object_id.to_string()),
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, state: serde_json::Value) -> Self {
        self.before = Some(state);
        self
    }

    pub fn after(mut self, state: serde_json::Value) -> Self {
        self.after = Some(state);
        self
    }
}

/// Takes the audit chain's lock (a row lock on PostgreSQL; SQLite has one writer anyway)
/// until the transaction ends. A transaction that will write many events and lock many
/// rows takes it first, so that two such transactions queue instead of deadlocking.
pub async fn lock_chain(tx: &mut Tx) -> Result<(), sqlx::Error> {
    sqlx::query("update audit_chain_head set last_hash = last_hash where id = 1")
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Appends one event and returns its id.
pub async fn append(
    tx: &mut Tx,
    now: Timestamp,
    actor: &Actor,
    change: Change,
) -> Result<i64, sqlx::Error> {
    let (actor_id, actor_label) = match actor {
        Actor::Person { id, label } => (Some(*id), label.clone()),
        Actor::System(name) => (None, format!("system:{name}")),
    };
    let record = AuditRecord {
        occurred_at: now.millis(),
        actor_id,
        actor_label,
        action: change.action.to_string(),
        object_kind: change.object_kind.to_string(),
        object_id: change.object_id,
        before_json: change.before.map(|value| value.to_string()),
        after_json: change.after.map(|value| value.to_string()),
    };
    // Take the head's row lock before reading it, so two PostgreSQL transactions cannot
    // both extend the same previous hash.
    lock_chain(tx).await?;
    let previous_hash: String =
        sqlx::query_scalar("select last_hash from audit_chain_head where id = 1")
            .fetch_one(&mut **tx)
            .await?;
    let hash = chain_hash(key()?, &previous_hash, &record);
    let id: i64 = sqlx::query_scalar(
        "insert into audit_event (occurred_at, actor_id, actor_label, action, object_kind, \
         object_id, before_json, after_json, prev_hash, hash, keyed) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning id",
    )
    .bind(record.occurred_at)
    .bind(record.actor_id)
    .bind(&record.actor_label)
    .bind(&record.action)
    .bind(&record.object_kind)
    .bind(&record.object_id)
    .bind(&record.before_json)
    .bind(&record.after_json)
    .bind(&previous_hash)
    .bind(&hash)
    .bind(true)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("update audit_chain_head set last_event_id = $1, last_hash = $2 where id = 1")
        .bind(id)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

#[derive(Debug)]
pub enum VerifyOutcome {
    Intact(Verified),
    Broken(ChainBreak),
}

/// The stored chain head.
pub async fn head(pool: &AnyPool) -> Result<ChainHead, sqlx::Error> {
    let (last_event_id, last_hash): (Option<i64>, String) =
        sqlx::query_as("select last_event_id, last_hash from audit_chain_head where id = 1")
            .fetch_one(pool)
            .await?;
    Ok(ChainHead {
        last_event_id,
        last_hash,
    })
}

/// The stored hash of one event and whether it was keyed, if the event exists.
pub async fn hash_of(pool: &AnyPool, event_id: i64) -> Result<Option<(String, bool)>, sqlx::Error> {
    let row = sqlx::query("select hash, keyed from audit_event where id = $1")
        .bind(event_id)
        .fetch_optional(pool)
        .await?;
    row.map(|row| Ok((row.try_get("hash")?, super::get_bool(&row, "keyed")?)))
        .transpose()
}

/// Reads the chain after `verifier`'s position in pages, in id order, and checks every
/// link, then the head.
pub async fn walk(
    pool: &AnyPool,
    mut verifier: Verifier,
    after_id: i64,
) -> Result<VerifyOutcome, sqlx::Error> {
    const PAGE: i64 = 5_000;
    let mut after_id = after_id;
    loop {
        let rows = sqlx::query(
            "select id, occurred_at, actor_id, actor_label, action, object_kind, object_id, \
             before_json, after_json, prev_hash, hash, keyed from audit_event \
             where id > $1 order by id limit $2",
        )
        .bind(after_id)
        .bind(PAGE)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            let event = StoredAuditEvent {
                id: row.try_get("id")?,
                prev_hash: row.try_get("prev_hash")?,
                hash: row.try_get("hash")?,
                keyed: super::get_bool(row, "keyed")?,
                record: AuditRecord {
                    occurred_at: row.try_get("occurred_at")?,
                    actor_id: row.try_get("actor_id")?,
                    actor_label: row.try_get("actor_label")?,
                    action: row.try_get("action")?,
                    object_kind: row.try_get("object_kind")?,
                    object_id: row.try_get("object_id")?,
                    before_json: row.try_get("before_json")?,
                    after_json: row.try_get("after_json")?,
                },
            };
            if let Err(chain_break) = verifier.next(&event) {
                return Ok(VerifyOutcome::Broken(chain_break));
            }
            after_id = event.id;
        }
    }
    Ok(match verifier.finish(&head(pool).await?) {
        Ok(verified) => VerifyOutcome::Intact(verified),
        Err(chain_break) => VerifyOutcome::Broken(chain_break),
    })
}

/// Checks every link of the whole chain with the installed key.
pub async fn verify(pool: &AnyPool) -> Result<VerifyOutcome, sqlx::Error> {
    walk(pool, Verifier::new(key()?.clone()), 0).await
}

/// How far the chain was verified already, signed with the audit key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedMark {
    pub event_id: i64,
    pub hash: String,
    /// Events verified up to it.
    pub events: i64,
    pub verified_at: i64,
    pub mac: String,
}

pub async fn verified_mark(pool: &AnyPool) -> Result<Option<VerifiedMark>, sqlx::Error> {
    let row = sqlx::query(
        "select verified_event_id, verified_hash, verified_events, verified_at, mac \
         from audit_verification where id = 1",
    )
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(VerifiedMark {
            event_id: row.try_get("verified_event_id")?,
            hash: row.try_get("verified_hash")?,
            events: row.try_get("verified_events")?,
            verified_at: row.try_get("verified_at")?,
            mac: row.try_get("mac")?,
        })
    })
    .transpose()
}

pub async fn save_verified_mark(pool: &AnyPool, mark: &VerifiedMark) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into audit_verification (id, verified_event_id, verified_hash, verified_events, \
         verified_at, mac) values (1, $1, $2, $3, $4, $5) \
         on conflict (id) do update set verified_event_id = excluded.verified_event_id, \
         verified_hash = excluded.verified_hash, verified_events = excluded.verified_events, \
         verified_at = excluded.verified_at, mac = excluded.mac",
    )
    .bind(mark.event_id)
    .bind(&mark.hash)
    .bind(mark.events)
    .bind(mark.verified_at)
    .bind(&mark.mac)
    .execute(pool)
    .await
    .map(|_| ())
}

/// One event as listed on the audit page.
#[derive(Debug, Clone)]
pub struct EventSummary {
    pub id: i64,
    pub occurred_at: i64,
    pub actor_label: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<String>,
}

pub async fn recent(pool: &AnyPool, limit: i64) -> Result<Vec<EventSummary>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, occurred_at, actor_label, action, object_kind, object_id \
         from audit_event order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(EventSummary {
                id: row.try_get("id")?,
                occurred_at: row.try_get("occurred_at")?,
                actor_label: row.try_get("actor_label")?,
                action: row.try_get("action")?,
                object_kind: row.try_get("object_kind")?,
                object_id: row.try_get("object_id")?,
            })
        })
        .collect()
}

pub async fn count_for(
    pool: &AnyPool,
    action: &str,
    object_kind: &str,
    object_id: &str,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from audit_event where action = $1 and object_kind = $2 and object_id = $3",
    )
    .bind(action)
    .bind(object_kind)
    .bind(object_id)
    .fetch_one(pool)
    .await
}

/// When the assignment ended, as its audit trail records it.
pub async fn assignment_ended_at(
    tx: &mut Tx,
    assignment_id: i64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select max(occurred_at) from audit_event where action = 'assignment.ended' \
         and object_kind = 'assignment' and object_id = $1",
    )
    .bind(assignment_id.to_string())
    .fetch_one(&mut **tx)
    .await
}
