//! The email outbox: messages written in the same transaction as the change that causes
//! them, delivered later by the mailer (or shown on the development mail page).

use super::Tx;
use crate::domain::Timestamp;
use sqlx::{AnyPool, Row};

pub struct NewMessage<'a> {
    pub to_person_id: Option<i64>,
    pub to_address: &'a str,
    pub template: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
}

pub async fn enqueue(
    tx: &mut Tx,
    now: Timestamp,
    message: &NewMessage<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "insert into outbound_message (to_person_id, to_address, template, subject, body_text, \
         body_html, next_attempt_at, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $7, $7) returning id",
    )
    .bind(message.to_person_id)
    .bind(message.to_address)
    .bind(message.template)
    .bind(message.subject)
    .bind(message.body_text)
    .bind(message.body_html)
    .bind(now.millis())
    .fetch_one(&mut **tx)
    .await
}

#[derive(Clone, Debug)]
pub struct MessageRow {
    pub id: i64,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub status: String,
    pub created_at: i64,
}

pub async fn list_recent(pool: &AnyPool, limit: i64) -> Result<Vec<MessageRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select id, to_address, subject, body_text, status, created_at from outbound_message \
         order by id desc limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(MessageRow {
                id: row.try_get("id")?,
                to_address: row.try_get("to_address")?,
                subject: row.try_get("subject")?,
                body_text: row.try_get("body_text")?,
                status: row.try_get("status")?,
                created_at: row.try_get("created_at")?,
            })
        })
        .collect()
}
