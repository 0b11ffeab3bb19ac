//! The secrets in email links. Only a SHA-256 of each token is stored; the token itself
//! exists in the delivered message and nowhere else.

use super::Tx;
use crate::domain::Timestamp;
use sqlx::Row;

/// What a token lets its person do, and to what.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ActionSpec {
    /// `decide` (approve or deny a request), `extend` (an assignment) or `review`.
    pub purpose: String,
    /// `access_request`, `assignment` or `access_review`.
    pub subject_kind: String,
    pub subject_id: i64,
    /// The subject's version when the message was written: a later version makes the
    /// link stale.
    pub subject_version: i64,
    /// The only person who may use it.
    pub person_id: i64,
    /// When it stops working.
    pub expires_at: i64,
}

#[derive(Clone, Debug)]
pub struct TokenRow {
    pub id: i64,
    pub spec: ActionSpec,
    pub used_at: Option<i64>,
    pub created_at: i64,
}

/// The stored form of a token.
pub fn hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token: 32 bytes (256 bits) from the operating system, hex encoded.
pub fn generate() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Stores a new token for `spec` and returns it (the only time it is seen).
pub async fn mint(tx: &mut Tx, now: Timestamp, spec: &ActionSpec) -> Result<String, sqlx::Error> {
    mint_with(tx, now, spec, None).await
}

/// Removes the unused links minted for a message before, so that a new attempt or a
/// resend leaves one valid link per button, not one per attempt. Returns how many.
pub async fn replace_for_message(tx: &mut Tx, message_id: i64) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query("delete from action_token where outbound_message_id = $1 and used_at is null")
            .bind(message_id)
            .execute(&mut **tx)
            .await?
            .rows_affected(),
    )
}

/// [`mint`], for a link in message `message_id`.
pub async fn mint_for_message(
    tx: &mut Tx,
    now: Timestamp,
    spec: &ActionSpec,
    message_id: i64,
) -> Result<String, sqlx::Error> {
    mint_with(tx, now, spec, Some(message_id)).await
}

async fn mint_with(
    tx: &mut Tx,
    now: Timestamp,
    spec: &ActionSpec,
    message_id: Option<i64>,
) -> Result<String, sqlx::Error> {
    let token = generate();
    sqlx::query(
        "insert into action_token (token_hash, purpose, subject_kind, subject_id, \
         subject_version, person_id, expires_at, created_at, outbound_message_id) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(hash(&token))
    .bind(&spec.purpose)
    .bind(&spec.subject_kind)
    .bind(spec.subject_id)
    .bind(spec.subject_version)
    .bind(spec.person_id)
    .bind(spec.expires_at)
    .bind(now.millis())
    .bind(message_id)
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// The token's row, looked up by its hash. Tokens that are not 64 hex digits are not
/// looked up at all.
pub async fn find(tx: &mut Tx, token: &str) -> Result<Option<TokenRow>, sqlx::Error> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let row = sqlx::query(
        "select id, purpose, subject_kind, subject_id, subject_version, person_id, expires_at, \
         used_at, created_at from action_token where token_hash = $1",
    )
    .bind(hash(&token.to_ascii_lowercase()))
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|row| {
        Ok(TokenRow {
            id: row.try_get("id")?,
            spec: ActionSpec {
                purpose: row.try_get("purpose")?,
                subject_kind: row.try_get("subject_kind")?,
                subject_id: row.try_get("subject_id")?,
                subject_version: row.try_get("subject_version")?,
                person_id: row.try_get("person_id")?,
                expires_at: row.try_get("expires_at")?,
            },
            used_at: row.try_get("used_at")?,
            created_at: row.try_get("created_at")?,
        })
    })
    .transpose()
}

/// Uses the token up, in the caller's transaction; false when it was already used.
pub async fn consume(tx: &mut Tx, now: Timestamp, token_id: i64) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("update action_token set used_at = $1 where id = $2 and used_at is null")
            .bind(now.millis())
            .bind(token_id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1,
    )
}

/// Uses up every unused link of one purpose on one subject for one person (an approver no
/// longer entitled, a request cancelled); returns how many.
pub async fn use_up_for(
    tx: &mut Tx,
    now: Timestamp,
    purpose: &str,
    subject_kind: &str,
    subject_id: i64,
    person_id: Option<i64>,
) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "update action_token set used_at = $1 where used_at is null and purpose = $2 \
         and subject_kind = $3 and subject_id = $4 and ($5 is null or person_id = $5)",
    )
    .bind(now.millis())
    .bind(purpose)
    .bind(subject_kind)
    .bind(subject_id)
    .bind(person_id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_and_stored_as_their_hash() {
        let one = generate();
        let two = generate();
        assert_eq!(one.len(), 64);
        assert_ne!(one, two);
        assert_eq!(hash(&one).len(), 64);
        assert_ne!(hash(&one), one);
        assert_eq!(hash(&one), hash(&one));
    }
}
