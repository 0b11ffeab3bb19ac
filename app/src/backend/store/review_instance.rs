//! Review instances and their items: the snapshot of assignments in scope (set-wise, in
//! batches of assignment ids), reviewers resolved in SQL, decisions, and what reports and
//! the reviewer's page read.

use super::review::{ReviewRow, StageRow};
use super::Tx;
use crate::domain::time::MILLIS_PER_DAY;
use crate::domain::Timestamp;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq)]
pub struct InstanceRow {
    pub id: i64,
    pub review_id: i64,
    pub review_name: String,
    pub status: String,
    pub stage: i64,
    pub stage_count: i64,
    pub start_at: i64,
    pub end_at: i64,
    pub stage_end_at: i64,
    pub snapshot_until_id: i64,
    pub ended_at: Option<i64>,
    pub applied_at: Option<i64>,
}

const INSTANCE_COLUMNS: &str =
    "i.id, i.access_review_id, r.name as review_name, i.status, i.stage, \
    i.stage_count, i.start_at, i.end_at, i.stage_end_at, i.snapshot_until_id, \
    i.ended_at, i.applied_at";

fn instance_from(row: &sqlx::any::AnyRow) -> Result<InstanceRow, sqlx::Error> {
    Ok(InstanceRow {
        id: row.try_get("id")?,
        review_id: row.try_get("access_review_id")?,
        review_name: row.try_get("review_name")?,
        status: row.try_get("status")?,
        stage: row.try_get("stage")?,
        stage_count: row.try_get("stage_count")?,
        start_at: row.try_get("start_at")?,
        end_at: row.try_get("end_at")?,
        stage_end_at: row.try_get("stage_end_at")?,
        snapshot_until_id: row.try_get("snapshot_until_id")?,
        ended_at: row.try_get("ended_at")?,
        applied_at: row.try_get("applied_at")?,
    })
}

pub async fn find(tx: &mut Tx, instance_id: i64) -> Result<Option<InstanceRow>, sqlx::Error> {
    sqlx::query(&format!(
        "select {INSTANCE_COLUMNS} from review_instance i join access_review r on r.id = i.access_review_id \
         where i.id = $1"
    ))
    .bind(instance_id)
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(instance_from)
    .transpose()
}

/// The instances of a definition, newest first, at most `limit`.
pub async fn of_review(
    tx: &mut Tx,
    review_id: i64,
    limit: i64,
) -> Result<Vec<InstanceRow>, sqlx::Error> {
    sqlx::query(&format!(
        "select {INSTANCE_COLUMNS} from review_instance i join access_review r on r.id = i.access_review_id \
         where i.access_review_id = $1 order by i.start_at desc, i.id desc limit $2"
    ))
    .bind(review_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(instance_from)
    .collect()
}

/// Items and decided items of a stage: the instance's counters for its current stage (a
/// stage can have a million items; pages read this on every load), counted otherwise.
pub async fn stage_progress(
    tx: &mut Tx,
    instance_id: i64,
    stage: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let current = sqlx::query(
        "select stage_items, stage_decided from review_instance where id = $1 and stage = $2 \
         and status <> 'starting'",
    )
    .bind(instance_id)
    .bind(stage)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = current {
        return Ok((row.try_get("stage_items")?, row.try_get("stage_decided")?));
    }
    count_stage(tx, instance_id, stage).await
}

/// Counts the items and decided items of a stage, and keeps the counts on the instance
/// when it is the current stage.
pub async fn recount_stage(
    tx: &mut Tx,
    instance_id: i64,
    stage: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let (items, decided) = count_stage(tx, instance_id, stage).await?;
    sqlx::query("update review_instance set stage_items = $1, stage_decided = $2 where id = $3 and stage = $4")
        .bind(items)
        .bind(decided)
        .bind(instance_id)
        .bind(stage)
        .execute(&mut **tx)
        .await?;
    Ok((items, decided))
}

/// Adds `newly` decided items to the current stage's count.
pub async fn add_decided(tx: &mut Tx, instance_id: i64, newly: i64) -> Result<(), sqlx::Error> {
    if newly != 0 {
        sqlx::query("update review_instance set stage_decided = stage_decided + $1 where id = $2")
            .bind(newly)
            .bind(instance_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// How many of `item_ids` are undecided.
pub async fn undecided_among(tx: &mut Tx, item_ids: &[i64]) -> Result<i64, sqlx::Error> {
    if item_ids.is_empty() {
        return Ok(0);
    }
    let list = item_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query_scalar(&format!(
        "select count(*) from review_item where id in ({list}) and decision is null"
    ))
    .fetch_one(&mut **tx)
    .await
}

async fn count_stage(tx: &mut Tx, instance_id: i64, stage: i64) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "select count(*) as items, count(decision) as decided from review_item \
         where review_instance_id = $1 and stage = $2",
    )
    .bind(instance_id)
    .bind(stage)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.try_get("items")?, row.try_get("decided")?))
}

/// Creates the instance of `review_id` starting at `start_at`, to be filled from the
/// assignments that exist now in batches of `batch_size` assignment ids; none when it
/// exists already (another Gatehouse made it).
#[allow(clippy::too_many_arguments)]
pub async fn create(
    tx: &mut Tx,
    now: Timestamp,
    review_id: i64,
    start_at: i64,
    end_at: i64,
    stage_end_at: i64,
    stage_count: i64,
    batch_size: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let id: Option<i64> = sqlx::query_scalar(
        "insert into review_instance (access_review_id, status, stage, stage_count, start_at, end_at, \
         stage_end_at, snapshot_until_id, created_at, updated_at) \
         values ($1, 'starting', 1, $2, $3, $4, $5, (select coalesce(max(id), 0) from assignment), $6, $6) \
         on conflict (access_review_id, start_at) do nothing returning id",
    )
    .bind(review_id)
    .bind(stage_count)
    .bind(start_at)
    .bind(end_at)
    .bind(stage_end_at)
    .bind(now.millis())
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(id) = id {
        list_batches(tx, id, batch_size).await?;
        rank_names(tx, id).await?;
        statistics_for_snapshot(tx).await?;
    }
    Ok(id)
}

/// Cuts the instance's snapshot into batches of `size` assignment ids, up to the largest
/// id when it was created.
async fn list_batches(tx: &mut Tx, instance_id: i64, size: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into review_snapshot_batch (review_instance_id, after_id, upto_id) \
         with recursive b (after_id) as ( \
             select cast(0 as bigint) union all select after_id + $2 from b \
             where after_id + $2 < (select snapshot_until_id from review_instance where id = $1)) \
         select $1, b.after_id, case when b.after_id + $2 < i.snapshot_until_id \
                then b.after_id + $2 else i.snapshot_until_id end \
         from b join review_instance i on i.id = $1 where i.snapshot_until_id > 0",
    )
    .bind(instance_id)
    .bind(size.max(1))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Takes the first batch of the instance's snapshot not done yet and marks it done, in
/// the transaction that fills it (a crash undoes both). On PostgreSQL the batch stays
/// locked until then and other transactions take the next one; SQLite has one writer,
/// whose first statement here takes its lock.
pub async fn claim_batch(tx: &mut Tx, instance_id: i64) -> Result<Option<(i64, i64)>, sqlx::Error> {
    if tx.backend_name() != "PostgreSQL" {
        return sqlx::query_as(
            "update review_snapshot_batch set done = true where review_instance_id = $1 \
             and after_id = (select min(after_id) from review_snapshot_batch \
                             where review_instance_id = $1 and not done) \
             returning after_id, upto_id",
        )
        .bind(instance_id)
        .fetch_optional(&mut **tx)
        .await;
    }
    let claimed: Option<(i64, i64)> = sqlx::query_as(
        "select after_id, upto_id from review_snapshot_batch \
         where review_instance_id = $1 and not done order by after_id limit 1 for update skip locked",
    )
    .bind(instance_id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((after, _)) = claimed {
        sqlx::query(
            "update review_snapshot_batch set done = true where review_instance_id = $1 and after_id = $2",
        )
        .bind(instance_id)
        .bind(after)
        .execute(&mut **tx)
        .await?;
    }
    Ok(claimed)
}

/// How many batches of the instance's snapshot are not done (or are being filled now by
/// another transaction).
pub async fn batches_left(tx: &mut Tx, instance_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "select count(*) from review_snapshot_batch where review_instance_id = $1 and not done",
    )
    .bind(instance_id)
    .fetch_one(&mut **tx)
    .await
}

/// Locks a starting instance for the transaction that completes it: false when it is not
/// starting any more (another Gatehouse completed it).
pub async fn lock_starting(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update review_instance set updated_at = $1 where id = $2 and status = 'starting'",
    )
    .bind(now.millis())
    .bind(instance_id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// PostgreSQL plans the snapshot's joins by the statistics of what it reads: the ranks
/// just written, and the people and assignments, which autovacuum analyzes unless it is
/// off (then they are analyzed here once). Without statistics it joined a batch of 25 000
/// assignments to every person in a nested loop: 3 s a batch instead of 0.1 s.
async fn statistics_for_snapshot(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if tx.backend_name() != "PostgreSQL" {
        return Ok(());
    }
    let never: Vec<String> = sqlx::query_scalar(
        "select cast(relname as text) from pg_stat_user_tables \
         where relname in ('person', 'assignment') and schemaname = current_schema() \
         and last_analyze is null and last_autoanalyze is null order by relname",
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut tables = vec!["review_rank".to_string()];
    tables.extend(never);
    sqlx::query(&format!("analyze {}", tables.join(", ")))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Ranks the names of people and of packages and resources as they are now, for the
/// instance's items to be ordered by (integers index and compare much faster than text).
async fn rank_names(tx: &mut Tx, instance_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into review_rank (review_instance_id, subject, subject_id, position) \
         select $1, 'person', id, row_number() over (order by lower(display_name), lower(email), id) \
         from person",
    )
    .bind(instance_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "insert into review_rank (review_instance_id, subject, subject_id, position) \
         select $1, subject, id, row_number() over (order by lower(name), subject, id) \
         from (select 'package' as subject, id, name from access_package \
               union all select 'resource' as subject, id, name from resource) x",
    )
    .bind(instance_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Instances whose snapshot is not complete yet.
pub async fn starting(pool: &sqlx::AnyPool, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from review_instance where status = 'starting' order by id limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

enum Bind {
    Int(i64),
    Text(String),
}

/// The reviewer an item names itself under a stage's rule, when the rule names one person
/// (`h` is the holder, `m` their manager joined by [`MANAGER_JOIN`]); none for rules of
/// several reviewers, which get reviewer rows.
fn single_reviewer(reviewer_kind: &str) -> &'static str {
    match reviewer_kind {
        "manager" => "m.id",
        "self" => "case when h.status = 'active' then h.id end",
        // Typed: in a SELECT with an ORDER BY, PostgreSQL takes a bare null for text.
        _ => "cast(null as bigint)",
    }
}

/// The holder's manager, when active and not the holder.
const MANAGER_JOIN: &str =
    "left join person m on m.id = h.manager_id and m.status = 'active' and m.id <> h.id";

/// Items with their reviewers, as a derived table: `person_id` (the reviewer) and
/// `columns` of the item `i`, from the reviewer the item names and from its reviewer rows.
/// In `filter`, `x.` stands for the pair: `x.person_id`, `x.review_item_id`,
/// `x.review_instance_id`, `x.stage`. Each half is one index range: the item's reviewer by
/// `review_item_reviewer_id_idx`, the rows by their own indexes.
fn assigned(columns: &str, filter: &str) -> String {
    let on_item = filter
        .replace("x.person_id", "i.reviewer_id")
        .replace("x.review_item_id", "i.id")
        .replace("x.", "i.");
    let on_row = filter.replace("x.", "r.");
    format!(
        "(select i.reviewer_id as person_id, {columns} from review_item i \
         where i.reviewer_id is not null and {on_item} \
         union all select r.person_id, {columns} from review_item_reviewer r \
         join review_item i on i.id = r.review_item_id where {on_row})"
    )
}

/// `person` (a bind) reviews the item `item` (a table alias).
fn reviews(item: &str, person: &str) -> String {
    format!(
        "({item}.reviewer_id = {person} or exists (select 1 from review_item_reviewer r \
         where r.review_item_id = {item}.id and r.person_id = {person}))"
    )
}

/// What the statement that made a batch of items did about their reviewers, for
/// [`resolve_reviewers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Named {
    /// The items were made without reviewers.
    No,
    /// The items were made with the reviewer a rule of one reviewer (manager, self) finds;
    /// `left`: how many found none, when the database said so (PostgreSQL).
    ByRule { left: Option<u64> },
}

/// Puts the assignments with ids in (`after`, `upto`] (a batch claimed by
/// [`claim_batch`]) that the review covers into the instance as stage-1 items, with their
/// recommendation, their ranks and, under a rule of one reviewer (`reviewer_kind` of
/// stage 1), their reviewer, in one INSERT ... SELECT. Returns how many items it made, and
/// what it did about their reviewers.
///
/// On PostgreSQL the rows are written in the order of the reviewer's page (reviewer,
/// holder, access): a reviewer's items then sit together in the table and its reviewer
/// index is written in runs, not at random (5 to 15 % less time; on SQLite, whose unique
/// index on the assignment is then written at random instead, it was slower). The batch
/// is the claiming transaction's alone, so no item of it exists yet: a plain INSERT,
/// whose conflicts the unique index would refuse (PostgreSQL's `on conflict do nothing`
/// took 28 % more time).
#[allow(clippy::too_many_arguments)]
pub async fn snapshot_batch(
    tx: &mut Tx,
    now: Timestamp,
    instance: &InstanceRow,
    review: &ReviewRow,
    reviewer_kind: &str,
    after: i64,
    upto: i64,
) -> Result<(u64, Named), sqlx::Error> {
    let window_cutoff = now.millis() - review.sign_in_window_days * MILLIS_PER_DAY;
    let postgres = tx.backend_name() == "PostgreSQL";
    let mut binds = vec![
        Bind::Int(instance.id),
        Bind::Int(now.millis()),
        Bind::Int(window_cutoff),
        Bind::Int(after),
        Bind::Int(upto),
    ];
    let mut filters = String::new();
    let next = |binds: &mut Vec<Bind>, value: Bind| {
        binds.push(value);
        format!("${}", binds.len())
    };
    match review.scope_kind.as_str() {
        "packages" => {
            let p = next(&mut binds, Bind::Int(review.id));
            filters.push_str(&format!(
                " and a.access_package_id in (select access_package_id from access_review_package where access_review_id = {p})"
            ));
        }
        "catalog" => {
            let p = next(&mut binds, Bind::Int(review.catalog_id.unwrap_or(0)));
            filters.push_str(&format!(
                " and a.access_package_id in (select id from access_package where catalog_id = {p})"
            ));
        }
        _ => {}
    }
    if !review.departments.is_empty() {
        let list = review
            .departments
            .iter()
            .map(|department| next(&mut binds, Bind::Text(department.to_lowercase())))
            .collect::<Vec<_>>()
            .join(", ");
        filters.push_str(&format!(
            " and lower(coalesce(h.department, '')) in ({list})"
        ));
    }
    if !review.employee_types.is_empty() {
        // Attributes are stored as compact JSON (serde_json), so the pair reads exactly so.
        let list = review
            .employee_types
            .iter()
            .map(|kind| {
                let pair = format!(
                    "\"employee_type\":{}",
                    serde_json::to_string(kind).unwrap_or_default()
                );
                let pattern = format!("%{}%", pair.replace('%', "\\%").replace('_', "\\_"));
                format!(
                    "h.attributes_json like {} escape '\\'",
                    next(&mut binds, Bind::Text(pattern))
                )
            })
            .collect::<Vec<_>>()
            .join(" or ");
        filters.push_str(&format!(" and ({list})"));
    }
    if let Some(days) = review.held_longer_than_days {
        let p = next(&mut binds, Bind::Int(now.millis() - days * MILLIS_PER_DAY));
        filters.push_str(&format!(" and a.start_at <= {p}"));
    }
    if let Some(days) = review.inactive_days {
        let p = next(&mut binds, Bind::Int(now.millis() - days * MILLIS_PER_DAY));
        filters.push_str(&format!(
            " and (h.last_sign_in_at is null or h.last_sign_in_at <= {p})"
        ));
    }
    let sql = format!(
        "insert into review_item (review_instance_id, stage, assignment_id, person_id, access_package_id, \
         reviewer_id, holder_rank, access_rank, recommendation, recommendation_json, created_at) \
         select $1, 1, a.id, a.person_id, a.access_package_id, {reviewer}, \
         coalesce(hr.position, 0), coalesce(ar.position, 0), \
         case when h.status <> 'active' or h.last_sign_in_at <= $3 \
              or (h.last_sign_in_at is null and a.start_at <= $3) then 'remove' else 'keep' end, \
         case when h.status <> 'active' then '[{{\"kind\":\"holder_not_active\"}}]' \
              when h.last_sign_in_at is null and a.start_at <= $3 then '[{{\"kind\":\"never_signed_in\"}}]' \
              when h.last_sign_in_at <= $3 then '[{{\"kind\":\"inactive\",\"days\":' \
                   || cast(($2 - h.last_sign_in_at) / {MILLIS_PER_DAY} as text) || '}}]' \
              else '[]' end, \
         $2 \
         from assignment a join person h on h.id = a.person_id {manager} \
         left join review_rank hr on hr.review_instance_id = $1 and hr.subject = 'person' \
              and hr.subject_id = a.person_id \
         left join review_rank ar on ar.review_instance_id = $1 and ar.subject = 'package' \
              and ar.subject_id = a.access_package_id \
         where a.id > $4 and a.id <= $5 and a.status = 'active'{filters}{order}",
        reviewer = single_reviewer(reviewer_kind),
        manager = if reviewer_kind == "manager" { MANAGER_JOIN } else { "" },
        order = if postgres { " order by 6, 7, 8, 3" } else { "" },
    );
    let one_reviewer = matches!(reviewer_kind, "manager" | "self");
    // PostgreSQL also says how many items found no reviewer, so that a batch where every
    // item has one skips the fallbacks' search (0.2 to 0.3 s a batch).
    let sql = if postgres && one_reviewer {
        format!(
            "with made as ({sql} returning reviewer_id) \
             select count(*), count(*) - count(reviewer_id) from made"
        )
    } else {
        sql
    };
    // Planned with its values each time (a generic plan on PostgreSQL does not see that the
    // id range is narrow).
    let mut query = sqlx::query(&sql).persistent(false);
    for bind in binds {
        query = match bind {
            Bind::Int(value) => query.bind(value),
            Bind::Text(value) => query.bind(value),
        };
    }
    if !one_reviewer {
        return Ok((query.execute(&mut **tx).await?.rows_affected(), Named::No));
    }
    if !postgres {
        let made = query.execute(&mut **tx).await?.rows_affected();
        return Ok((made, Named::ByRule { left: None }));
    }
    let row = query.fetch_one(&mut **tx).await?;
    let count = |index: usize| -> Result<u64, sqlx::Error> {
        Ok(u64::try_from(row.try_get::<i64, _>(index)?).unwrap_or(0))
    };
    Ok((
        count(0)?,
        Named::ByRule {
            left: Some(count(1)?),
        },
    ))
}

/// The largest item id so far (items made later have larger ids).
pub async fn max_item_id(tx: &mut Tx) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select coalesce(max(id), 0) from review_item")
        .fetch_one(&mut **tx)
        .await
}

/// The items of one instance and stage that a transaction has just made, for the
/// statements that complete them (reviewers, policy checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewItems {
    /// Items with ids in (`after`, `upto`]: right when this transaction is the only one
    /// making items of the stage (a stage carried on, drift, a batch on SQLite's one
    /// writer). Read by the primary key, not by an index over the whole instance (which
    /// made each batch of a snapshot slower than the one before).
    Ids { after: i64, upto: i64 },
    /// The items of the assignments with ids in (`after`, `upto`]: a snapshot batch on
    /// PostgreSQL, where batches of one instance are filled at once and their item ids
    /// interleave. Read by `review_item_assignment_instance_stage_uq`.
    Assignments { after: i64, upto: i64 },
}

impl NewItems {
    /// The items made since `after_item` was the largest item id.
    pub async fn since(tx: &mut Tx, after_item: i64) -> Result<Self, sqlx::Error> {
        Ok(Self::Ids {
            after: after_item,
            upto: max_item_id(tx).await?,
        })
    }

    /// The condition on the item `alias`, the instance bound as `instance` and the stage
    /// as `stage`. (`+ 0` keeps the planners from reading a whole instance's index range
    /// where the primary key, or the assignments' unique index, finds the few: while an
    /// instance is being filled, PostgreSQL's statistics know nothing of it and took it
    /// for one row, so that a late batch read the million items before it, 1.2 s.)
    fn condition(&self, alias: &str, instance: &str, stage: &str) -> String {
        match *self {
            Self::Ids { after, upto } => format!(
                "{alias}.id > {after} and {alias}.id <= {upto} \
                 and {alias}.review_instance_id + 0 = {instance} and {alias}.stage + 0 = {stage}"
            ),
            Self::Assignments { after, upto } => format!(
                "{alias}.assignment_id > {after} and {alias}.assignment_id <= {upto} \
                 and {alias}.review_instance_id + 0 = {instance} and {alias}.stage + 0 = {stage}"
            ),
        }
    }

    /// The items `i` with their assignments `a` granted under the policy bound as
    /// `policy` (instance `$1`, stage `$2`), as joined tables. For the items of assignments
    /// the policy's assignments in the range are read first, by
    /// `assignment_assignment_policy_id_idx` and their items by the unique index
    /// (`offset 0` and `+ 0` keep the planner there: on the statistics of a table being
    /// filled it read the whole instance instead, 0.3 to 0.8 s for a policy with one
    /// holder).
    fn under_policy(&self, policy: &str) -> String {
        match *self {
            Self::Ids { .. } => format!(
                "review_item i join assignment a on a.id = i.assignment_id \
                 and a.assignment_policy_id = {policy} and {}",
                self.condition("i", "$1", "$2")
            ),
            Self::Assignments { after, upto } => format!(
                "(select id from assignment where assignment_policy_id = {policy} \
                  and id > {after} and id <= {upto} offset 0) a \
                 join review_item i on i.assignment_id = a.id \
                 and i.review_instance_id + 0 = $1 and i.stage + 0 = $2"
            ),
        }
    }
}

/// Gives the `items` of `stage` their reviewers by the stage's
/// rule (a manager or the holder on the item itself, several people as reviewer rows), then
/// fallbacks to those left without one, then the review's owner, then the administrators.
/// Nobody reviews their own access, except in a self-review. `named`: what the statement
/// that made the items did about their reviewers ([`snapshot_batch`]): under a rule of one
/// reviewer only those without one need looking at, and none when none is left.
pub async fn resolve_reviewers(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: &StageRow,
    review: &ReviewRow,
    items: NewItems,
    named: Named,
) -> Result<(), sqlx::Error> {
    if named == (Named::ByRule { left: Some(0) }) {
        return Ok(());
    }
    // Every statement is planned with its values (`persistent(false)`): a generic plan does
    // not see that the range is narrow.
    let range = items.condition("review_item", "$1", "$2");
    let scope = items.condition("i", "$1", "$2");
    match stage.reviewer_kind.as_str() {
        "manager" | "self" if named == Named::No => {
            let reviewer = if stage.reviewer_kind == "manager" {
                "(select m.id from person h join person m on m.id = h.manager_id \
                 where h.id = review_item.person_id and m.status = 'active' and m.id <> h.id)"
            } else {
                "(select h.id from person h where h.id = review_item.person_id and h.status = 'active')"
            };
            sqlx::query(&format!(
                "update review_item set reviewer_id = {reviewer} \
                 where {range} and reviewer_id is null and {reviewer} is not null"
            ))
            .bind(instance_id)
            .bind(stage.position)
            .persistent(false)
            .execute(&mut **tx)
            .await?;
        }
        _ => {}
    }
    // Reviewer rows: by the rule when it names several people, then, for the items still
    // without a reviewer, the fallbacks, the review's owner and the administrators. An
    // extra stage has no rule: only the owner and administrators.
    let rule = match stage.reviewer_kind.as_str() {
        "package_owners" => Some((
            "join access_package_owner o on o.access_package_id = i.access_package_id \
             join person m on m.id = o.person_id and $4 = $4",
            0,
        )),
        "named" => Some((
            "join access_review_person rp on rp.access_review_id = $4 \
             and rp.stage_position = $2 and rp.role = 'reviewer' join person m on m.id = rp.person_id",
            review.id,
        )),
        "group" => Some((
            "join person_group_member g on g.person_group_id = $4 join person m on m.id = g.person_id",
            stage.person_group_id.unwrap_or(0),
        )),
        _ => None,
    };
    let unresolved = "i.reviewer_id is null and not exists \
         (select 1 from review_item_reviewer x where x.review_item_id = i.id)";
    let fallbacks = [
        (
            "join access_review_person rp on rp.access_review_id = $4 \
             and rp.stage_position = $2 and rp.role = 'fallback' \
             join person m on m.id = rp.person_id",
            review.id,
        ),
        ("join person m on m.id = $4", review.owner_id),
        ("join person m on m.is_admin and $4 = $4", 0),
    ];
    let rule_step = rule.map(|(joins, value)| (joins, value, false));
    let fallback_steps = fallbacks
        .into_iter()
        .map(|(joins, value)| (joins, value, true));
    for (joins, value, only_unresolved) in rule_step.into_iter().chain(fallback_steps) {
        if only_unresolved {
            // Most batches are resolved by the rule alone, and most of the rest by the
            // first fallback: the others need not read them.
            let left: i64 = sqlx::query_scalar(&format!(
                "select count(*) from review_item i where {scope} and {unresolved}"
            ))
            .bind(instance_id)
            .bind(stage.position)
            .persistent(false)
            .fetch_one(&mut **tx)
            .await?;
            if left == 0 {
                break;
            }
        }
        let filter = if only_unresolved {
            format!(" and {unresolved}")
        } else {
            String::new()
        };
        add_reviewer_rows(
            tx,
            now,
            instance_id,
            stage.position,
            &scope,
            joins,
            &filter,
            value,
        )
        .await?;
    }
    Ok(())
}

/// Reviewer rows for the items in `scope`: each active person `m` that `joins` finds for
/// an item, except its holder. Binds: $1 instance, $2 stage, $3 now, $4 `value`.
#[allow(clippy::too_many_arguments)]
async fn add_reviewer_rows(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: i64,
    scope: &str,
    joins: &str,
    filter: &str,
    value: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "insert into review_item_reviewer (review_item_id, person_id, review_instance_id, stage, created_at) \
         select i.id, m.id, i.review_instance_id, i.stage, $3 from review_item i {joins} \
         where {scope} and m.status = 'active' and m.id <> i.person_id{filter} on conflict do nothing"
    ))
    .bind(instance_id)
    .bind(stage)
    .bind(now.millis())
    .bind(value)
    .persistent(false)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves an instance from `from` status to `to`; false when it was not in `from`.
pub async fn set_status(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    from: &str,
    to: &str,
) -> Result<bool, sqlx::Error> {
    let stamp = match to {
        "ended" => ", ended_at = $1",
        "applied" => ", applied_at = $1",
        _ => "",
    };
    Ok(sqlx::query(&format!(
        "update review_instance set status = $2, updated_at = $1, version = version + 1{stamp} \
         where id = $3 and status = $4"
    ))
    .bind(now.millis())
    .bind(to)
    .bind(instance_id)
    .bind(from)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Instances in progress whose current stage has ended by `now`.
pub async fn stage_due(
    pool: &sqlx::AnyPool,
    now: Timestamp,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from review_instance where status = 'in_progress' and stage_end_at <= $1 \
         order by stage_end_at limit $2",
    )
    .bind(now.millis())
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The earliest end of a stage in progress.
pub async fn earliest_stage_end(pool: &sqlx::AnyPool) -> Result<Option<Timestamp>, sqlx::Error> {
    let at: Option<i64> = sqlx::query_scalar(
        "select min(stage_end_at) from review_instance where status = 'in_progress'",
    )
    .fetch_one(pool)
    .await?;
    Ok(at.map(Timestamp))
}

/// Instances in progress, with their review's reminder days, for reminders.
pub async fn in_progress(
    pool: &sqlx::AnyPool,
    limit: i64,
) -> Result<Vec<(i64, i64, i64, String)>, sqlx::Error> {
    sqlx::query(
        "select i.id, i.stage, i.stage_end_at, r.reminder_days_json from review_instance i \
         join access_review r on r.id = i.access_review_id where i.status = 'in_progress' \
         order by i.stage_end_at limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok((
            row.try_get("id")?,
            row.try_get("stage")?,
            row.try_get("stage_end_at")?,
            row.try_get("reminder_days_json")?,
        ))
    })
    .collect()
}

/// Gives undecided items of a stage the `decision` (keep or remove) or their
/// recommendation (`None`), recorded as decided by nobody with `reason`.
pub async fn apply_default(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: i64,
    decision: Option<&str>,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let decided = sqlx::query(
        "update review_item set decision = coalesce($1, recommendation), reason = $2, decided_at = $3 \
         where review_instance_id = $4 and stage = $5 and decision is null \
         and coalesce($1, recommendation) is not null",
    )
    .bind(decision)
    .bind(reason)
    .bind(now.millis())
    .bind(instance_id)
    .bind(stage)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(decided)
}

/// Copies the items of `from_stage` that go on (`carry`: all, kept, removed) to the next
/// stage, undecided, with their recommendation. Returns how many.
pub async fn carry_on(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    from_stage: i64,
    carry: &str,
    only_decided_by: Option<&[i64]>,
) -> Result<u64, sqlx::Error> {
    let filter = match carry {
        "kept" => " and decision = 'keep'",
        "removed" => " and decision = 'remove'",
        _ => "",
    };
    let by = match only_decided_by {
        Some(ids) if !ids.is_empty() => format!(
            " and decided_by_id in ({})",
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(_) => " and 1 = 0".to_string(),
        None => String::new(),
    };
    Ok(sqlx::query(&format!(
        "insert into review_item (review_instance_id, stage, assignment_id, drift_id, person_id, \
         access_package_id, resource_id, holder_rank, access_rank, recommendation, recommendation_json, \
         created_at) \
         select review_instance_id, stage + 1, assignment_id, drift_id, person_id, access_package_id, \
         resource_id, holder_rank, access_rank, recommendation, recommendation_json, $1 from review_item \
         where review_instance_id = $2 and stage = $3{filter}{by} on conflict do nothing"
    ))
    .bind(now.millis())
    .bind(instance_id)
    .bind(from_stage)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Opens stage `stage` of an instance, ending at `stage_end_at`.
pub async fn set_stage(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: i64,
    stage_count: i64,
    stage_end_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update review_instance set stage = $1, stage_count = $2, stage_end_at = $3, updated_at = $4, \
         end_at = case when end_at < $3 then $3 else end_at end, version = version + 1 where id = $5",
    )
    .bind(stage)
    .bind(stage_count)
    .bind(stage_end_at)
    .bind(now.millis())
    .bind(instance_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A reviewer's share of a stage.
#[derive(Clone, Debug, PartialEq)]
pub struct ReviewerShare {
    pub person_id: i64,
    pub display_name: String,
    pub items: i64,
    pub open: i64,
}

/// The reviewers of a stage with their items and how many still wait for them.
pub async fn reviewers_of_stage(
    tx: &mut Tx,
    instance_id: i64,
    stage: i64,
) -> Result<Vec<ReviewerShare>, sqlx::Error> {
    sqlx::query(&format!(
        "select y.person_id, p.display_name, count(*) as items, \
             sum(case when y.decision is null then 1 else 0 end) as open \
             from {} y join person p on p.id = y.person_id \
             group by y.person_id, p.display_name order by y.person_id",
        assigned("i.decision", "x.review_instance_id = $1 and x.stage = $2")
    ))
    .bind(instance_id)
    .bind(stage)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        Ok(ReviewerShare {
            person_id: row.try_get("person_id")?,
            display_name: row.try_get("display_name")?,
            items: row.try_get("items")?,
            open: row.try_get("open")?,
        })
    })
    .collect()
}

/// Records `person`'s decision on those of `item_ids` that are theirs on the stage; returns
/// how many were.
#[allow(clippy::too_many_arguments)]
pub async fn decide(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: i64,
    person_id: i64,
    item_ids: &[i64],
    decision: &str,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    if item_ids.is_empty() {
        return Ok(0);
    }
    let list = item_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let decided = sqlx::query(&format!(
        "update review_item set decision = $1, reason = $2, decided_by_id = $3, decided_at = $4 \
         where review_instance_id = $5 and stage = $6 and id in ({list}) and {mine}",
        mine = reviews("review_item", "$3")
    ))
    .bind(decision)
    .bind(reason)
    .bind(person_id)
    .bind(now.millis())
    .bind(instance_id)
    .bind(stage)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(decided)
}

/// Takes the recommendation for every undecided item of `person` on the stage; returns
/// how many. Only the reviewer's items are read.
pub async fn accept_recommendations(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: i64,
    person_id: i64,
) -> Result<u64, sqlx::Error> {
    let mine = assigned(
        "i.id as item_id, i.decision, i.recommendation",
        "x.person_id = $1 and x.review_instance_id = $2 and x.stage = $3",
    );
    let decided = sqlx::query(&format!(
        "update review_item set decision = recommendation, reason = 'Accepted the recommendation', \
         decided_by_id = $1, decided_at = $4 \
         where id in (select y.item_id from {mine} y where y.decision is null \
                      and y.recommendation is not null) \
         and decision is null and recommendation is not null"
    ))
    .bind(person_id)
    .bind(instance_id)
    .bind(stage)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok(decided)
}

/// Whether `person` reviews item `item_id` (of the instance's stage).
pub async fn reviews_item(
    tx: &mut Tx,
    instance_id: i64,
    stage: i64,
    item_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(&format!(
        "select i.id from review_item i where i.id = $1 and i.review_instance_id = $3 \
         and i.stage = $4 and {}",
        reviews("i", "$2")
    ))
    .bind(item_id)
    .bind(person_id)
    .bind(instance_id)
    .bind(stage)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

/// The holder of an item.
pub async fn holder_of(tx: &mut Tx, item_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("select person_id from review_item where id = $1")
        .bind(item_id)
        .fetch_one(&mut **tx)
        .await
}

/// Hands item `item_id` from `from` to `to`, recording who did it and why.
#[allow(clippy::too_many_arguments)]
pub async fn reassign(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: i64,
    item_id: i64,
    from: i64,
    to: i64,
    reason: &str,
) -> Result<(), sqlx::Error> {
    // The new reviewer's row, saying who handed the item over and why; then the old
    // reviewer goes, whether the item named them or they had a row.
    sqlx::query(
        "insert into review_item_reviewer (review_item_id, person_id, review_instance_id, stage, \
         reassigned_by_id, reassign_reason, created_at) values ($1, $2, $3, $4, $5, $6, $7) \
         on conflict do nothing",
    )
    .bind(item_id)
    .bind(to)
    .bind(instance_id)
    .bind(stage)
    .bind(from)
    .bind(reason)
    .bind(now.millis())
    .execute(&mut **tx)
    .await?;
    sqlx::query("delete from review_item_reviewer where review_item_id = $1 and person_id = $2")
        .bind(item_id)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    sqlx::query("update review_item set reviewer_id = null where id = $1 and reviewer_id = $2")
        .bind(item_id)
        .bind(from)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An item as the reviewer's page shows it, before the context is added.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRow {
    pub id: i64,
    pub person_id: i64,
    pub holder_name: String,
    pub holder_email: String,
    pub department: Option<String>,
    pub access_name: String,
    pub unexplained: bool,
    pub assignment_id: Option<i64>,
    pub package_id: Option<i64>,
    pub held_since: Option<i64>,
    pub recommendation: Option<String>,
    pub recommendation_json: String,
    pub decision: Option<String>,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
}

/// A page of `person`'s items on the stage, ordered by holder (`by_package` false) or by
/// package, filtered by `query` (holder's name or email, or the access's name), with how
/// many match (`known_total` is taken as the count when there is no search).
///
/// The order and the page come from the reviewer's items' ranks (one index range for the
/// items that name them); only the page's items are read in full.
#[allow(clippy::too_many_arguments)]
pub async fn page_of_reviewer(
    tx: &mut Tx,
    instance_id: i64,
    stage: i64,
    person_id: i64,
    by_package: bool,
    query: &str,
    known_total: Option<i64>,
    limit: i64,
    offset: i64,
) -> Result<(i64, Vec<ItemRow>), sqlx::Error> {
    let pattern = format!(
        "%{}%",
        query
            .trim()
            .to_lowercase()
            .replace('%', "\\%")
            .replace('_', "\\_")
    );
    let searching = !query.trim().is_empty();
    // The order, the count and the search read only the reviewer's items: without a search
    // their ranks alone (in the index), with one the names of their holders and access.
    let mine = assigned(
        "i.id as item_id, i.holder_rank, i.access_rank, i.person_id as holder_id, \
         i.access_package_id, i.resource_id",
        "x.person_id = $1 and x.review_instance_id = $2 and x.stage = $3",
    );
    // A search matches the people and the access by name once each (a set the database
    // hashes), not once per item: a reviewer of 10 000 items has about a hundred holders.
    let from = if !searching {
        format!("from {mine} y")
    } else {
        format!(
            "from {mine} y \
             where y.holder_id in (select id from person \
                 where lower(display_name) || ' ' || lower(email) like $4 escape '\\') \
             or y.access_package_id in (select id from access_package \
                 where lower(name) like $4 escape '\\') \
             or (y.access_package_id is null and y.resource_id in (select id from resource \
                 where lower(name) like $4 escape '\\'))"
        )
    };
    let order = if by_package {
        "y.access_rank, y.holder_rank, y.item_id"
    } else {
        "y.holder_rank, y.access_rank, y.item_id"
    };
    let (limit_at, offset_at) = if searching {
        ("$5", "$6")
    } else {
        ("$4", "$5")
    };
    // Without a search the count is known; with one, it comes with the page (one pass over
    // the reviewer's items, not two), and by itself only past the last page.
    let known = known_total.filter(|_| !searching);
    let counted = if known.is_some() {
        "0"
    } else {
        "count(*) over ()"
    };
    let sql = format!(
        "select y.item_id, {counted} as matching {from} order by {order} \
         limit {limit_at} offset {offset_at}"
    );
    let mut page = sqlx::query_as(&sql)
        .bind(person_id)
        .bind(instance_id)
        .bind(stage);
    if searching {
        page = page.bind(&pattern);
    }
    let page: Vec<(i64, i64)> = page.bind(limit).bind(offset).fetch_all(&mut **tx).await?;
    let matching = match (known, page.first()) {
        (Some(total), _) => total,
        (None, Some((_, matching))) => *matching,
        (None, None) => {
            let sql = format!("select count(*) {from}");
            let mut count = sqlx::query_scalar(&sql)
                .bind(person_id)
                .bind(instance_id)
                .bind(stage);
            if searching {
                count = count.bind(&pattern);
            }
            count.fetch_one(&mut **tx).await?
        }
    };
    let ids: Vec<i64> = page.into_iter().map(|(id, _)| id).collect();
    if ids.is_empty() {
        return Ok((matching, Vec::new()));
    }
    let list = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let mut rows = sqlx::query(&format!(
        "select i.id, i.person_id, h.display_name, h.email, h.department, \
         coalesce(pk.name, res.name, '') as access_name, i.drift_id, i.assignment_id, \
         i.access_package_id, a.start_at, i.recommendation, i.recommendation_json, i.decision, \
         i.reason, d.display_name as decided_by, i.decided_at \
         from review_item i join person h on h.id = i.person_id \
         left join access_package pk on pk.id = i.access_package_id \
         left join resource res on res.id = i.resource_id \
         left join assignment a on a.id = i.assignment_id \
         left join person d on d.id = i.decided_by_id where i.id in ({list})"
    ))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        let drift: Option<i64> = row.try_get("drift_id")?;
        Ok(ItemRow {
            id: row.try_get("id")?,
            person_id: row.try_get("person_id")?,
            holder_name: row.try_get("display_name")?,
            holder_email: row.try_get("email")?,
            department: row.try_get("department")?,
            access_name: row.try_get("access_name")?,
            unexplained: drift.is_some(),
            assignment_id: row.try_get("assignment_id")?,
            package_id: row.try_get("access_package_id")?,
            held_since: row.try_get("start_at")?,
            recommendation: row.try_get("recommendation")?,
            recommendation_json: row.try_get("recommendation_json")?,
            decision: row.try_get("decision")?,
            reason: row.try_get("reason")?,
            decided_by: row.try_get("decided_by")?,
            decided_at: row.try_get("decided_at")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    // In the page's order.
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id));
    Ok((matching, rows))
}

/// `person`'s progress on the stage: (items, decided, undecided with a recommendation).
pub async fn reviewer_progress(
    tx: &mut Tx,
    instance_id: i64,
    stage: i64,
    person_id: i64,
) -> Result<(i64, i64, i64), sqlx::Error> {
    let row = sqlx::query(&format!(
        "select count(*) as items, count(y.decision) as decided, \
         count(case when y.recommendation is not null and y.decision is null then 1 end) \
         as open_recommended from {} y",
        assigned(
            "i.decision, i.recommendation",
            "x.person_id = $1 and x.review_instance_id = $2 and x.stage = $3"
        )
    ))
    .bind(person_id)
    .bind(instance_id)
    .bind(stage)
    .fetch_one(&mut **tx)
    .await?;
    Ok((
        row.try_get("items")?,
        row.try_get("decided")?,
        row.try_get::<Option<i64>, _>("open_recommended")?
            .unwrap_or(0),
    ))
}

/// The instances `person` reviews in, open ones first, newest first, at most `limit`:
/// (instance, items, decided) on the instance's current stage.
pub async fn of_reviewer(
    tx: &mut Tx,
    person_id: i64,
    limit: i64,
) -> Result<Vec<(InstanceRow, i64, i64)>, sqlx::Error> {
    let instances = sqlx::query(&format!(
        "select {INSTANCE_COLUMNS} \
         from review_instance i join access_review r on r.id = i.access_review_id \
         where i.id in (select review_instance_id from review_item where reviewer_id = $1 \
                        union select review_instance_id from review_item_reviewer where person_id = $1) \
         order by case when i.status = 'in_progress' then 0 else 1 end, i.start_at desc, i.id desc limit $2"
    ))
    .bind(person_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(instance_from)
    .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(instances.len());
    for instance in instances {
        let (items, decided, _) =
            reviewer_progress(tx, instance.id, instance.stage, person_id).await?;
        out.push((instance, items, decided));
    }
    Ok(out)
}

/// Whether `person` has any item in the instance (any stage).
pub async fn is_reviewer(
    tx: &mut Tx,
    instance_id: i64,
    person_id: i64,
) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar(
        "select id from review_item where reviewer_id = $1 and review_instance_id = $2 \
         union all select review_item_id from review_item_reviewer \
         where person_id = $1 and review_instance_id = $2 limit 1",
    )
    .bind(person_id)
    .bind(instance_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(found.is_some())
}

/// Decisions of earlier stages on the same assignments: (assignment, stage, reviewer,
/// decision, reason).
pub async fn earlier_decisions(
    tx: &mut Tx,
    instance_id: i64,
    stage: i64,
    assignment_ids: &[i64],
) -> Result<Vec<(i64, i64, Option<String>, Option<String>, String)>, sqlx::Error> {
    if assignment_ids.is_empty() || stage <= 1 {
        return Ok(Vec::new());
    }
    let list = assignment_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "select i.assignment_id, i.stage, d.display_name, i.decision, i.reason from review_item i \
         left join person d on d.id = i.decided_by_id \
         where i.review_instance_id = $1 and i.stage < $2 and i.assignment_id in ({list}) \
         order by i.stage"
    ))
    .bind(instance_id)
    .bind(stage)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        Ok((
            row.try_get("assignment_id")?,
            row.try_get("stage")?,
            row.try_get("display_name")?,
            row.try_get("decision")?,
            row.try_get("reason")?,
        ))
    })
    .collect()
}

/// Final decisions in earlier instances of the same review on the assignments, newest
/// first: (assignment, instance start, decision).
pub async fn history(
    tx: &mut Tx,
    review_id: i64,
    before_start: i64,
    assignment_ids: &[i64],
) -> Result<Vec<(i64, i64, Option<String>)>, sqlx::Error> {
    if assignment_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = assignment_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "select i.assignment_id, ri.start_at, i.decision from review_item i \
         join review_instance ri on ri.id = i.review_instance_id \
         where ri.access_review_id = $1 and ri.start_at < $2 and i.assignment_id in ({list}) \
         and i.stage = (select max(j.stage) from review_item j where j.review_instance_id = i.review_instance_id \
                        and j.assignment_id = i.assignment_id) \
         order by ri.start_at desc"
    ))
    .bind(review_id)
    .bind(before_start)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("assignment_id")?, row.try_get("start_at")?, row.try_get("decision")?)))
    .collect()
}

/// Start instants of the earlier instances of a review, newest first, at most `limit`.
pub async fn earlier_starts(
    tx: &mut Tx,
    review_id: i64,
    before_start: i64,
    limit: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select start_at from review_instance where access_review_id = $1 and start_at < $2 \
         and status <> 'cancelled' order by start_at desc limit $3",
    )
    .bind(review_id)
    .bind(before_start)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// How each assignment was got: approvals of the request that granted it (approver,
/// outcome, justification), or nothing for a direct assignment.
pub async fn approvals_of(
    tx: &mut Tx,
    assignment_ids: &[i64],
) -> Result<Vec<(i64, String, String, String)>, sqlx::Error> {
    if assignment_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = assignment_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "select a.id, p.display_name, d.outcome, d.justification from assignment a \
         join decision d on d.access_request_id = a.access_request_id \
         join person p on p.id = d.approver_id where a.id in ({list}) order by a.id, d.stage_position"
    ))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        Ok((
            row.try_get("id")?,
            row.try_get("display_name")?,
            row.try_get("outcome")?,
            row.try_get("justification")?,
        ))
    })
    .collect()
}

/// Who created each assignment and whether through a request: (assignment, request id,
/// actor's label from the audit trail).
pub async fn origins_of(
    tx: &mut Tx,
    assignment_ids: &[i64],
) -> Result<Vec<(i64, Option<i64>, Option<String>)>, sqlx::Error> {
    if assignment_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = assignment_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    sqlx::query(&format!(
        "select a.id, a.access_request_id, \
         (select e.actor_label from audit_event e where e.object_kind = 'assignment' \
          and e.object_id = cast(a.id as text) and e.action = 'assignment.created' order by e.id limit 1) as actor \
         from assignment a where a.id in ({list})"
    ))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("id")?, row.try_get("access_request_id")?, row.try_get("actor")?)))
    .collect()
}

/// Peers, as counted when the instance was filled: for each (package, department) asked,
/// (active people in the department, of whom hold the package).
pub async fn peers(
    tx: &mut Tx,
    instance_id: i64,
    pairs: &[(i64, String)],
) -> Result<Vec<(i64, String, i64, i64)>, sqlx::Error> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let mut packages: Vec<i64> = pairs.iter().map(|(package, _)| *package).collect();
    packages.sort_unstable();
    packages.dedup();
    let mut departments: Vec<&str> = pairs
        .iter()
        .map(|(_, department)| department.as_str())
        .collect();
    departments.sort_unstable();
    departments.dedup();
    let package_list = packages
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let department_list = (2..departments.len() + 2)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "select p.access_package_id, p.department, d.people, p.holders from review_peer p \
         join review_department d on d.review_instance_id = p.review_instance_id \
              and d.department = p.department \
         where p.review_instance_id = $1 and p.access_package_id in ({package_list}) \
         and p.department in ({department_list})"
    );
    let mut query = sqlx::query(&sql).bind(instance_id);
    for department in &departments {
        query = query.bind(*department);
    }
    let found = query
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("access_package_id")?,
                row.try_get("department")?,
                row.try_get("people")?,
                row.try_get("holders")?,
            ))
        })
        .collect::<Result<Vec<(i64, String, i64, i64)>, sqlx::Error>>()?;
    Ok(found
        .into_iter()
        .filter(|(package, department, ..)| {
            pairs.iter().any(|(p, d)| p == package && d == department)
        })
        .collect())
}

/// Counts the active holders of the packages in the review's scope, per department, among
/// the assignments with ids up to `upto` (the snapshot's), once the instance is filled.
pub async fn count_peers(
    tx: &mut Tx,
    instance_id: i64,
    review: &ReviewRow,
    upto: i64,
) -> Result<(), sqlx::Error> {
    let (filter, value) = match review.scope_kind.as_str() {
        "packages" => (
            " and a.access_package_id in (select access_package_id from access_review_package \
             where access_review_id = $3)",
            review.id,
        ),
        "catalog" => (
            " and a.access_package_id in (select id from access_package where catalog_id = $3)",
            review.catalog_id.unwrap_or(0),
        ),
        _ => (" and $3 = $3", 0),
    };
    sqlx::query(&format!(
        "insert into review_peer (review_instance_id, access_package_id, department, holders) \
         select $1, a.access_package_id, h.department, count(*) \
         from assignment a join person h on h.id = a.person_id \
         where a.id <= $2 and a.status = 'active' and h.status = 'active' \
         and h.department is not null{filter} \
         group by a.access_package_id, h.department on conflict do nothing"
    ))
    .bind(instance_id)
    .bind(upto)
    .bind(value)
    .persistent(false)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Counts the active people of each department, once the instance is filled.
pub async fn count_departments(tx: &mut Tx, instance_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "insert into review_department (review_instance_id, department, people) \
         select $1, department, count(*) from person where status = 'active' \
         and department is not null group by department on conflict do nothing",
    )
    .bind(instance_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// After a large change to the review tables (an instance filled, a stage opened),
/// PostgreSQL's statistics are renewed at once: planned on stale ones, a reviewer's
/// "accept all" over a freshly filled instance took minutes instead of milliseconds.
/// (SQLite's planner does not depend on them.)
pub async fn refresh_statistics(tx: &mut Tx) -> Result<(), sqlx::Error> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("analyze review_item, review_item_reviewer")
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// An item whose result is to be applied: the decision of the last stage it reached.
#[derive(Clone, Debug, PartialEq)]
pub struct FinalItem {
    pub id: i64,
    pub assignment_id: Option<i64>,
    pub drift_id: Option<i64>,
    pub decision: Option<String>,
    pub reason: String,
    pub decided_by: Option<(i64, String)>,
}

/// Up to `limit` items of an instance not applied yet, each the last stage its assignment
/// reached.
pub async fn unapplied_final(
    tx: &mut Tx,
    instance_id: i64,
    limit: i64,
) -> Result<Vec<FinalItem>, sqlx::Error> {
    sqlx::query(
        "select i.id, i.assignment_id, i.drift_id, i.decision, i.reason, i.decided_by_id, d.display_name \
         from review_item i left join person d on d.id = i.decided_by_id \
         where i.review_instance_id = $1 and i.applied_at is null \
         and not exists (select 1 from review_item later where later.review_instance_id = i.review_instance_id \
             and later.stage > i.stage and (later.assignment_id = i.assignment_id or later.drift_id = i.drift_id)) \
         order by i.id limit $2",
    )
    .bind(instance_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        let by: Option<i64> = row.try_get("decided_by_id")?;
        let name: Option<String> = row.try_get("display_name")?;
        Ok(FinalItem {
            id: row.try_get("id")?,
            assignment_id: row.try_get("assignment_id")?,
            drift_id: row.try_get("drift_id")?,
            decision: row.try_get("decision")?,
            reason: row.try_get("reason")?,
            decided_by: by.zip(name),
        })
    })
    .collect()
}

/// Marks an item (and the earlier stages' items of the same assignment) applied.
pub async fn mark_applied(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    item: &FinalItem,
    result: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update review_item set applied_at = $1, applied_result = $2 where review_instance_id = $3 \
         and applied_at is null and (id = $4 or assignment_id = $5 or drift_id = $6)",
    )
    .bind(now.millis())
    .bind(result)
    .bind(instance_id)
    .bind(item.id)
    .bind(item.assignment_id)
    .bind(item.drift_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One reviewer's tally on one stage, for the report and the quality flags.
#[derive(Clone, Debug, PartialEq)]
pub struct TallyRow {
    pub stage: i64,
    pub person_id: i64,
    pub display_name: String,
    pub items: i64,
    pub kept: i64,
    pub removed: i64,
    pub not_sure: i64,
    pub undecided: i64,
    pub first_decided_at: Option<i64>,
    pub last_decided_at: Option<i64>,
}

/// Per stage and reviewer: their items, and what they decided themselves.
pub async fn tallies(
    tx: &mut Tx,
    instance_id: i64,
    only_stage: Option<i64>,
) -> Result<Vec<TallyRow>, sqlx::Error> {
    sqlx::query(
        &format!(
            "select y.stage, y.person_id, p.display_name, count(*) as items, \
             sum(case when y.decided_by_id = y.person_id and y.decision = 'keep' then 1 else 0 end) as kept, \
             sum(case when y.decided_by_id = y.person_id and y.decision = 'remove' then 1 else 0 end) as removed, \
             sum(case when y.decided_by_id = y.person_id and y.decision = 'not_sure' then 1 else 0 end) as not_sure, \
             sum(case when y.decision is null then 1 else 0 end) as undecided, \
             min(case when y.decided_by_id = y.person_id then y.decided_at end) as first_decided_at, \
             max(case when y.decided_by_id = y.person_id then y.decided_at end) as last_decided_at \
             from {} y join person p on p.id = y.person_id \
             group by y.stage, y.person_id, p.display_name order by y.stage, lower(p.display_name)",
            assigned(
                "i.stage, i.decision, i.decided_by_id, i.decided_at",
                "x.review_instance_id = $1 and ($2 = 0 or x.stage = $2)"
            )
        ),
    )
    .bind(instance_id)
    .bind(only_stage.unwrap_or(0))
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        let sum = |column: &str| -> Result<i64, sqlx::Error> {
            Ok(row.try_get::<Option<i64>, _>(column)?.unwrap_or(0))
        };
        Ok(TallyRow {
            stage: row.try_get("stage")?,
            person_id: row.try_get("person_id")?,
            display_name: row.try_get("display_name")?,
            items: row.try_get("items")?,
            kept: sum("kept")?,
            removed: sum("removed")?,
            not_sure: sum("not_sure")?,
            undecided: sum("undecided")?,
            first_decided_at: row.try_get("first_decided_at")?,
            last_decided_at: row.try_get("last_decided_at")?,
        })
    })
    .collect()
}

/// Totals of an instance's final items: (kept, removed, not sure, undecided, applied
/// removals, removals verified downstream).
pub async fn totals(tx: &mut Tx, instance_id: i64) -> Result<[i64; 6], sqlx::Error> {
    let row = sqlx::query(
        "select sum(case when i.decision = 'keep' then 1 else 0 end) as kept, \
         sum(case when i.decision = 'remove' then 1 else 0 end) as removed, \
         sum(case when i.decision = 'not_sure' then 1 else 0 end) as not_sure, \
         sum(case when i.decision is null then 1 else 0 end) as undecided, \
         sum(case when i.applied_result = 'ended' then 1 else 0 end) as applied, \
         sum(case when i.applied_result = 'ended' and a.status = 'removed' then 1 else 0 end) as verified \
         from review_item i left join assignment a on a.id = i.assignment_id \
         where i.review_instance_id = $1 \
         and not exists (select 1 from review_item later where later.review_instance_id = i.review_instance_id \
             and later.stage > i.stage and (later.assignment_id = i.assignment_id or later.drift_id = i.drift_id))",
    )
    .bind(instance_id)
    .fetch_one(&mut **tx)
    .await?;
    let mut out = [0i64; 6];
    for (slot, column) in out.iter_mut().zip([
        "kept",
        "removed",
        "not_sure",
        "undecided",
        "applied",
        "verified",
    ]) {
        *slot = row.try_get::<Option<i64>, _>(column)?.unwrap_or(0);
    }
    Ok(out)
}

/// Decisions per day: (day's midnight, decisions that day).
pub async fn decisions_per_day(
    tx: &mut Tx,
    instance_id: i64,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query(&format!(
        "select (decided_at / {MILLIS_PER_DAY}) * {MILLIS_PER_DAY} as day, count(*) as decided \
         from review_item where review_instance_id = $1 and decided_at is not null \
         group by (decided_at / {MILLIS_PER_DAY}) order by 1"
    ))
    .bind(instance_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("day")?, row.try_get("decided")?)))
    .collect()
}

/// One line of the CSV export.
#[derive(Clone, Debug, PartialEq)]
pub struct ExportRow {
    pub id: i64,
    pub stage: i64,
    pub holder: String,
    pub holder_email: String,
    pub access: String,
    pub reviewers: String,
    pub recommendation: Option<String>,
    pub decision: Option<String>,
    pub reason: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub applied_at: Option<i64>,
    pub applied_result: Option<String>,
    pub verified_at: Option<i64>,
}

/// Up to `limit` items of an instance after item `after`, for the export.
pub async fn export_page(
    tx: &mut Tx,
    instance_id: i64,
    after: i64,
    limit: i64,
) -> Result<Vec<ExportRow>, sqlx::Error> {
    let rows = sqlx::query(
        "select i.id, i.stage, h.display_name as holder, h.email, coalesce(pk.name, res.name, '') as access, \
         i.recommendation, i.decision, i.reason, d.display_name as decided_by, i.decided_at, i.applied_at, \
         i.applied_result, a.removed_at \
         from review_item i join person h on h.id = i.person_id \
         left join access_package pk on pk.id = i.access_package_id \
         left join resource res on res.id = i.resource_id \
         left join person d on d.id = i.decided_by_id \
         left join assignment a on a.id = i.assignment_id \
         where i.review_instance_id = $1 and i.id > $2 order by i.id limit $3",
    )
    .bind(instance_id)
    .bind(after)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        out.push(ExportRow {
            id: row.try_get("id")?,
            stage: row.try_get("stage")?,
            holder: row.try_get("holder")?,
            holder_email: row.try_get("email")?,
            access: row.try_get("access")?,
            reviewers: String::new(),
            recommendation: row.try_get("recommendation")?,
            decision: row.try_get("decision")?,
            reason: row.try_get("reason")?,
            decided_by: row.try_get("decided_by")?,
            decided_at: row.try_get("decided_at")?,
            applied_at: row.try_get("applied_at")?,
            applied_result: row.try_get("applied_result")?,
            verified_at: row.try_get("removed_at")?,
        });
    }
    if let (Some(first), Some(last)) = (out.first().map(|r| r.id), out.last().map(|r| r.id)) {
        let names = sqlx::query(&format!(
            "select y.review_item_id, p.display_name from {} y join person p on p.id = y.person_id \
             order by y.review_item_id, p.display_name",
            assigned(
                "i.id as review_item_id",
                "x.review_instance_id = $1 and x.review_item_id between $2 and $3"
            )
        ))
        .bind(instance_id)
        .bind(first)
        .bind(last)
        .fetch_all(&mut **tx)
        .await?;
        let mut by_item: std::collections::HashMap<i64, Vec<String>> =
            std::collections::HashMap::new();
        for row in &names {
            by_item
                .entry(row.try_get("review_item_id")?)
                .or_default()
                .push(row.try_get("display_name")?);
        }
        for row in &mut out {
            if let Some(names) = by_item.remove(&row.id) {
                row.reviewers = names.join("; ");
            }
        }
    }
    Ok(out)
}

/// The duration in days of the policy an assignment was granted under, when it has one.
pub async fn policy_days(tx: &mut Tx, assignment_id: i64) -> Result<Option<i64>, sqlx::Error> {
    Ok(sqlx::query_scalar::<_, Option<i64>>(
        "select p.duration_value from assignment a join assignment_policy p on p.id = a.assignment_policy_id \
         where a.id = $1 and p.duration_kind = 'max_days'",
    )
    .bind(assignment_id)
    .fetch_optional(&mut **tx)
    .await?
    .flatten())
}

/// Instances whose results are being applied.
pub async fn applying(pool: &sqlx::AnyPool, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select id from review_instance where status = 'applying' order by id limit $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Whether `person` reviewed any of `item_ids` at a stage before `stage`.
pub async fn reviewed_at_earlier_stage(
    tx: &mut Tx,
    instance_id: i64,
    stage: i64,
    person_id: i64,
    item_ids: &[i64],
) -> Result<bool, sqlx::Error> {
    if item_ids.is_empty() {
        return Ok(false);
    }
    let list = item_ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let found: i64 = sqlx::query_scalar(&format!(
        "select count(*) from {} y",
        assigned(
            "i.id",
            &format!(
                "x.person_id = $1 and x.review_instance_id = $2 and x.stage < $3 \
                 and x.review_item_id in ({list})"
            )
        )
    ))
    .bind(person_id)
    .bind(instance_id)
    .bind(stage)
    .fetch_one(&mut **tx)
    .await?;
    Ok(found > 0)
}

/// Moves the end of the instance's current stage `stage` to `now`; false when the
/// instance is not in progress at that stage.
pub async fn end_stage_at(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    stage: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "update review_instance set stage_end_at = $1, updated_at = $1, version = version + 1 \
         where id = $2 and stage = $3 and status = 'in_progress' and stage_end_at > $1",
    )
    .bind(now.millis())
    .bind(instance_id)
    .bind(stage)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1)
}

/// Puts downstream membership that no grant explains (open `unexpected_member` drift of a
/// known person, on a resource the review covers) into the instance as stage-1 items,
/// recommended for removal. Returns how many.
pub async fn snapshot_drift(
    tx: &mut Tx,
    now: Timestamp,
    instance_id: i64,
    review: &ReviewRow,
) -> Result<u64, sqlx::Error> {
    let (scope, key) = match review.scope_kind.as_str() {
        "packages" => (
            "and d.resource_id in (select pr.resource_id from access_package_resource pr \
             join access_review_package rp on rp.access_package_id = pr.access_package_id \
             where rp.access_review_id = $3)",
            review.id,
        ),
        "catalog" => ("and r.catalog_id = $3", review.catalog_id.unwrap_or(0)),
        _ => ("and $3 = $3", 0),
    };
    Ok(sqlx::query(&format!(
        "insert into review_item (review_instance_id, stage, drift_id, person_id, resource_id, \
         recommendation, recommendation_json, created_at) \
         select $1, 1, d.id, d.person_id, d.resource_id, 'remove', '[{{\"kind\":\"unexplained\"}}]', $2 \
         from drift d join resource r on r.id = d.resource_id \
         where d.kind = 'unexpected_member' and d.resolved_at is null and d.person_id is not null {scope} \
         on conflict do nothing"
    ))
    .bind(instance_id)
    .bind(now.millis())
    .bind(key)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// What a drift item is about: (person, resource, its connector, resource name, still open).
pub async fn drift_subject(
    tx: &mut Tx,
    drift_id: i64,
) -> Result<Option<(i64, i64, i64, String, bool)>, sqlx::Error> {
    sqlx::query(
        "select d.person_id, d.resource_id, d.connector_id, r.name, d.resolved_at from drift d \
         join resource r on r.id = d.resource_id where d.id = $1 and d.person_id is not null",
    )
    .bind(drift_id)
    .fetch_optional(&mut **tx)
    .await?
    .map(|row| {
        let resolved: Option<i64> = row.try_get("resolved_at")?;
        Ok((
            row.try_get("person_id")?,
            row.try_get("resource_id")?,
            row.try_get("connector_id")?,
            row.try_get("name")?,
            resolved.is_none(),
        ))
    })
    .transpose()
}

/// A package that grants `resource_id`, to turn kept downstream membership into a grant.
pub async fn package_granting(tx: &mut Tx, resource_id: i64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select access_package_id from access_package_resource where resource_id = $1 \
         order by access_package_id limit 1",
    )
    .bind(resource_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The policies with a requester rule (groups, departments or attributes) that the
/// assignments with ids in (`after`, `upto`] were granted under (one index probe each).
pub async fn policies_with_rules(
    tx: &mut Tx,
    after: i64,
    upto: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "select p.id from assignment_policy p where p.requestor_scope in ('groups', 'attribute_rule') \
         and exists (select 1 from assignment a where a.assignment_policy_id = p.id \
                     and a.id > $1 and a.id <= $2) order by p.id",
    )
    .bind(after)
    .bind(upto)
    .persistent(false)
    .fetch_all(&mut **tx)
    .await
}

/// A holder of an item granted under a policy, with what its rule looks at.
#[derive(Clone, Debug)]
pub struct HolderUnderPolicy {
    pub item_id: i64,
    pub person_id: i64,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub attributes_json: String,
    pub recommendation_json: String,
}

/// The stage-1 `items` of the instance (one snapshot batch) granted under `policy_id`,
/// with their holders.
pub async fn holders_under_policy(
    tx: &mut Tx,
    instance_id: i64,
    policy_id: i64,
    items: NewItems,
) -> Result<Vec<HolderUnderPolicy>, sqlx::Error> {
    sqlx::query(&format!(
        "select i.id, i.person_id, h.department, h.job_title, h.attributes_json, i.recommendation_json \
         from {} join person h on h.id = i.person_id",
        items.under_policy("$3"),
    ))
    .bind(instance_id)
    .bind(1_i64)
    .bind(policy_id)
    .persistent(false)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| {
        Ok(HolderUnderPolicy {
            item_id: row.try_get("id")?,
            person_id: row.try_get("person_id")?,
            department: row.try_get("department")?,
            job_title: row.try_get("job_title")?,
            attributes_json: row.try_get("attributes_json")?,
            recommendation_json: row.try_get("recommendation_json")?,
        })
    })
    .collect()
}

/// The groups of the holders of the instance's stage-1 `items` under `policy_id`:
/// (person, group).
pub async fn groups_of_holders(
    tx: &mut Tx,
    instance_id: i64,
    policy_id: i64,
    items: NewItems,
) -> Result<Vec<(i64, i64)>, sqlx::Error> {
    sqlx::query(&format!(
        "select m.person_id, m.person_group_id from person_group_member m where m.person_id in \
         (select i.person_id from {})",
        items.under_policy("$3"),
    ))
    .bind(instance_id)
    .bind(1_i64)
    .bind(policy_id)
    .persistent(false)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| Ok((row.try_get("person_id")?, row.try_get("person_group_id")?)))
    .collect()
}

/// Recommends removing an item, with its concerns.
pub async fn set_concerns(
    tx: &mut Tx,
    item_id: i64,
    concerns_json: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "update review_item set recommendation = 'remove', recommendation_json = $1 where id = $2",
    )
    .bind(concerns_json)
    .bind(item_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
