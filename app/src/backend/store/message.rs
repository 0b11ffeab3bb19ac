//! The email outbox: messages written in the same transaction as the change that causes
//! them, delivered later by the mailer (or shown on the development mail page).
//!
//! A message is `queued`, then `sending` while a mailer holds its lease, then `sent`; a
//! failed attempt makes it `failed` until its next attempt, and after the retry budget
//! `dead` (shown to administrators, who can send it again). Items held for a person's
//! daily digest carry `digest_key` and are never claimed on their own: the digest that
//! carries them records itself in `digest_message_id`.

use super::Tx;
use crate::backend::Db;
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

/// `digest_key` of items held for the recipient's daily digest.
pub const DAILY_DIGEST: &str = "daily";

pub struct NewMessage<'a> {
    pub to_person_id: Option<i64>,
    pub to_address: &'a str,
    pub template: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    /// JSON list of the action links to mint at delivery.
    pub actions_json: &'a str,
    /// `Some(DAILY_DIGEST)` holds the item for the daily digest.
    pub digest_key: Option<&'a str>,
}

pub async fn enqueue(
    tx: &mut Tx,
    now: Timestamp,
    message: &NewMessage<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into outbound_message (to_person_id, to_address, template, subject, body_text, \
         body_html, actions_json, digest_key, next_attempt_at, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9) returning id",
    )
    .bind(message.to_person_id)
    .bind(message.to_address)
    .bind(message.template)
    .bind(message.subject)
    .bind(message.body_text)
    .bind(message.body_html)
    .bind(message.actions_json)
    .bind(message.digest_key)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

/// A message claimed for delivery.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub to_address: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub actions_json: String,
    pub attempts: i64,
}

/// Claims up to `limit` due messages under a lease until `lease_until` (see
/// [`super::lease`]).
pub async fn claim_due(
    db: &Db,
    now: Timestamp,
    owner: &str,
    lease_until: Timestamp,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let ids = super::lease::MESSAGES
        .claim(db, &mut tx, now, owner, lease_until, limit)
        .await?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(
            "select m.id, m.to_address, p.display_name, m.subject, m.body_text, m.body_html, \
             m.actions_json, m.attempts from outbound_message m \
             left join person p on p.id = m.to_person_id where m.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        claimed.push(Claimed {
            id: row.try_get("id")?,
            to_address: row.try_get("to_address")?,
            to_name: row.try_get("display_name")?,
            subject: row.try_get("subject")?,
            body_text: row.try_get("body_text")?,
            body_html: row.try_get("body_html")?,
            actions_json: row.try_get("actions_json")?,
            attempts: row.try_get("attempts")?,
        });
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Records a delivery. Only the mailer holding the lease may; false when it lost it.
pub async fn mark_sent(
    db: &Db,
    now: Timestamp,
    id: i64,
    owner: &str,
    delivered_bodies: Option<(&str, &str)>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let done = sqlx::query(
        "update outbound_message set status = 'sent', sent_at = $1, lease_owner = null, \
         lease_until = null, last_error = null, updated_at = $1 \
         where id = $2 and status = 'sending' and lease_owner = $3",
    )
    .bind(now.millis())
    .bind(id)
    .bind(owner)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if let (true, Some((text, html))) = (done, delivered_bodies) {
        // Development mailbox only: it keeps what it "delivered", links included.
        sqlx::query("update outbound_message set body_text = $1, body_html = $2 where id = $3")
            .bind(text)
            .bind(html)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// How many messages are in each state (held digest items count as `held`).
pub async fn counts(pool: &AnyPool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as(
        "select case when digest_key is not null and status = 'queued' then 'held' \
         else status end as state, count(*) from outbound_message group by 1 order by 1",
    )
    .fetch_all(pool)
    .await
}

#[derive(Clone, Debug)]
pub struct MessageRow {
    pub id: i64,
    pub to_address: String,
    pub template: String,
    pub subject: String,
    pub body_text: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub sent_at: Option<i64>,
    pub created_at: i64,
}

const MESSAGE_COLUMNS: &str = "id, to_address, template, subject, body_text, status, attempts, \
     last_error, next_attempt_at, sent_at, created_at";

fn message_row(row: &sqlx::any::AnyRow) -> Result<MessageRow, sqlx::Error> {
    Ok(MessageRow {
        id: row.try_get("id")?,
        to_address: row.try_get("to_address")?,
        template: row.try_get("template")?,
        subject: row.try_get("subject")?,
        body_text: row.try_get("body_text")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        sent_at: row.try_get("sent_at")?,
        created_at: row.try_get("created_at")?,
    })
}

pub async fn list_recent(pool: &AnyPool, limit: i64) -> Result<Vec<MessageRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {MESSAGE_COLUMNS} from outbound_message order by id desc limit $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(message_row).collect()
}

/// Messages that need an administrator's eye: dead ones, and failed ones still retrying.
pub async fn list_troubled(pool: &AnyPool, limit: i64) -> Result<Vec<MessageRow>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "select {MESSAGE_COLUMNS} from outbound_message where status in ('dead', 'failed') \
         order by status, id desc limit $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter().map(message_row).collect()
}

/// A held digest item.
#[derive(Clone, Debug)]
pub struct HeldItem {
    pub id: i64,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub actions_json: String,
}

/// People with items held for their digest, created before `before`.
pub async fn people_with_held_items(
    pool: &AnyPool,
    before: Timestamp,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select distinct to_person_id from outbound_message where digest_key = $1 \
         and status = 'queued' and to_person_id is not null and created_at < $2 order by 1",
    )
    .bind(DAILY_DIGEST)
    .bind(before.millis())
    .fetch_all(pool)
    .await
}

pub async fn held_items(
    tx: &mut Tx,
    person_id: i64,
    before: Timestamp,
) -> Result<Vec<HeldItem>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, subject, body_text, body_html, actions_json from outbound_message \
         where digest_key = $1 and status = 'queued' and to_person_id = $2 and created_at < $3 \
         order by id",
    )
    .bind(DAILY_DIGEST)
    .bind(person_id)
    .bind(before.millis())
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(HeldItem {
                id: row.try_get("id")?,
                subject: row.try_get("subject")?,
                body_text: row.try_get("body_text")?,
                body_html: row.try_get("body_html")?,
                actions_json: row.try_get("actions_json")?,
            })
        })
        .collect()
}

/// Gives up a held digest item that cannot go out (`reason` says why): it leaves the
/// digest and shows among the dead messages, which administrators can send again.
pub async fn dead_letter_held(
    tx: &mut Tx,
    now: Timestamp,
    item_id: i64,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update outbound_message set status = 'dead', last_error = $1, updated_at = $2 \
         where id = $3 and status = 'queued'",
    )
    .bind(reason)
    .bind(now.millis())
    .bind(item_id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Marks held items as carried by the digest message `digest_id`.
pub async fn fold_into_digest(
    tx: &mut Tx,
    now: Timestamp,
    item_ids: &[i64],
    digest_id: i64,
) -> Result<(), sqlx::Error> {
    for id in item_ids {
        sqlx::query(
            "update outbound_message set status = 'sent', sent_at = $1, digest_message_id = $2, \
             updated_at = $1 where id = $3 and status = 'queued'",
        )
        .bind(now.millis())
        .bind(digest_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Records that a once-only notice went out; false when it already had.
pub async fn mark_notice_sent(tx: &mut Tx, now: Timestamp, key: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "insert into notice_sent (notice_key, created_at) values ($1, $2) \
         on conflict (notice_key) do nothing",
    )
    .bind(key)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}
