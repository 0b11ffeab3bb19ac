//! Work claimed under a lease: the mail outbox and the provisioning queue share one
//! mechanism. An item waits (`waiting`), is claimed by one worker until its lease runs out
//! (`working`), fails and waits for its next attempt (`failed`), is given up (`dead`), or
//! is done. A worker that dies leaves its items to be claimed again after the lease. On
//! PostgreSQL several workers claim disjoint sets (`FOR UPDATE SKIP LOCKED`); on SQLite
//! the single writer serialises them.

use super::Tx;
use crate::backend::{Backend, Db};
use crate::domain::Timestamp;
use sqlx::AnyPool;

/// One leased table. The names are constants of the code, never input.
pub struct LeasedQueue {
    pub table: &'static str,
    pub waiting: &'static str,
    pub working: &'static str,
    /// Extra condition on items that may be claimed, ending in `and ` (or empty).
    pub claimable: &'static str,
}

/// The mail outbox; items held for a digest are never claimed on their own.
pub const MESSAGES: LeasedQueue = LeasedQueue {
    table: "outbound_message",
    waiting: "queued",
    working: "sending",
    claimable: "digest_key is null and ",
};

/// Provisioning jobs.
pub const JOBS: LeasedQueue = LeasedQueue {
    table: "provisioning_job",
    waiting: "pending",
    working: "running",
    claimable: "",
};

impl LeasedQueue {
    /// The condition of a due item: waiting or failed and due, or working under a lease
    /// that ran out (`now` names the placeholder of the current time).
    fn due(&self, now: &str) -> String {
        let Self {
            waiting,
            working,
            claimable,
            ..
        } = self;
        format!(
            "{claimable}((status in ('{waiting}', 'failed') and next_attempt_at <= {now}) \
             or (status = '{working}' and lease_until < {now}))"
        )
    }

    /// Claims up to `limit` due items until `lease_until`, in the caller's transaction;
    /// returns their ids.
    pub async fn claim(
        &self,
        db: &Db,
        tx: &mut Tx,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        self.claim_where(db, tx, now, owner, lease_until, limit, "")
            .await
    }

    /// [`Self::claim`], among items that also meet `condition` (SQL of the code, never
    /// input; empty for none).
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_where(
        &self,
        db: &Db,
        tx: &mut Tx,
        now: Timestamp,
        owner: &str,
        lease_until: Timestamp,
        limit: i64,
        condition: &str,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let Self { table, working, .. } = self;
        let locking = match db.backend() {
            Backend::Postgres => " for update skip locked",
            Backend::Sqlite => "",
        };
        let due = self.due("$3");
        let also = if condition.is_empty() {
            String::new()
        } else {
            format!(" and ({condition})")
        };
        let sql = format!(
            "update {table} set status = '{working}', lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1, updated_at = $3 where id in (\
             select id from {table} where {due}{also} \
             order by next_attempt_at, id limit $4{locking}) returning id"
        );
        sqlx::query_scalar(&sql)
            .bind(owner)
            .bind(lease_until.millis())
            .bind(now.millis())
            .bind(limit)
            .fetch_all(&mut **tx)
            .await
    }

    /// The values of `column` among due items, oldest due first, at most `limit` of them
    /// (to claim work that belongs together).
    pub async fn due_keys(
        &self,
        tx: &mut Tx,
        now: Timestamp,
        column: &str,
        limit: i64,
    ) -> Result<Vec<Option<i64>>, sqlx::Error> {
        let sql = format!(
            "select {column} from {} where {} group by {column} \
             order by min(next_attempt_at) limit $2",
            self.table,
            self.due("$1")
        );
        sqlx::query_scalar(&sql)
            .bind(now.millis())
            .bind(limit)
            .fetch_all(&mut **tx)
            .await
    }

    /// Records a failed attempt: due again at `retry_at`, or dead when `None`. Only the
    /// worker holding the lease may; false when it lost it.
    pub async fn fail(
        &self,
        db: &Db,
        now: Timestamp,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<Timestamp>,
    ) -> Result<bool, sqlx::Error> {
        let (status, next) = match retry_at {
            Some(at) => ("failed", at.millis()),
            None => ("dead", now.millis()),
        };
        let sql = format!(
            "update {} set status = $1, next_attempt_at = $2, last_error = $3, \
             lease_owner = null, lease_until = null, updated_at = $4 \
             where id = $5 and status = '{}' and lease_owner = $6",
            self.table, self.working
        );
        let mut tx = db.begin_write().await?;
        let done = sqlx::query(&sql)
            .bind(status)
            .bind(next)
            .bind(error)
            .bind(now.millis())
            .bind(id)
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(done)
    }

    /// Extends every lease `owner` holds until `until` (a worker still at work on them
    /// says so); returns how many.
    pub async fn renew(&self, db: &Db, owner: &str, until: Timestamp) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "update {} set lease_until = $1 where status = '{}' and lease_owner = $2",
            self.table, self.working
        );
        let mut tx = db.begin_write().await?;
        let renewed = sqlx::query(&sql)
            .bind(until.millis())
            .bind(owner)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(renewed)
    }

    /// When the next item becomes due (a waiting one, or a lease that runs out).
    pub async fn earliest_due(&self, pool: &AnyPool) -> Result<Option<Timestamp>, sqlx::Error> {
        let Self {
            table,
            waiting,
            working,
            claimable,
        } = self;
        let at: Option<i64> = sqlx::query_scalar(&format!(
            "select min(case when status = '{working}' then lease_until else next_attempt_at end) \
             from {table} where {claimable}status in ('{waiting}', 'failed', '{working}')"
        ))
        .fetch_one(pool)
        .await?;
        Ok(at.map(Timestamp))
    }

    /// A dead or failed item goes again from a fresh retry budget; false when it is
    /// neither.
    pub async fn requeue(&self, tx: &mut Tx, now: Timestamp, id: i64) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "update {} set status = '{}', attempts = 0, next_attempt_at = $1, updated_at = $1 \
             where id = $2 and status in ('dead', 'failed')",
            self.table, self.waiting
        );
        Ok(sqlx::query(&sql)
            .bind(now.millis())
            .bind(id)
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1)
    }
}
