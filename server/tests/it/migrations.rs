//! The two migration folders describe one schema: applied to SQLite and to PostgreSQL, they
//! give the same tables, the same columns with the same nullability and corresponding types,
//! the same named constraints and the same indexes. (Before this test, a recipe in the
//! migrations' README kept them equal by hand.)

use crate::harness::{TestBackend, TestDatabase};
use std::collections::BTreeMap;

/// Table -> column -> (type family, nullable); and the sets of constraint and index names.
#[derive(Debug, Default, PartialEq)]
struct Schema {
    columns: BTreeMap<String, BTreeMap<String, (String, bool)>>,
    constraints: Vec<String>,
    indexes: Vec<String>,
}

/// Types as the `Any` driver sees them: integers (SQLite integers, PostgreSQL bigint and
/// boolean), text, bytes, reals.
fn family(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "integer" | "bigint" | "boolean" | "int" => "integer",
        "text" | "character varying" => "text",
        "blob" | "bytea" => "bytes",
        "real" | "double precision" => "real",
        other => other,
    }
    .to_string()
}

async fn sqlite_schema(url: &str) -> Schema {
    let db = app::backend::Db::connect(url, true).await.unwrap();
    db.migrate().await.unwrap();
    let pool = db.reader();
    let mut schema = Schema::default();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select name, sql from sqlite_master where type = 'table' \
         and name not in ('_sqlx_migrations', 'sqlite_sequence') order by name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, sql) in tables {
        let columns: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "select name, type, \"notnull\", pk from pragma_table_info($1) order by cid",
        )
        .bind(&table)
        .fetch_all(pool)
        .await
        .unwrap();
        schema.columns.insert(
            table.clone(),
            columns
                .into_iter()
                // A primary key column is never null, declared so or not.
                .map(|(name, kind, notnull, pk)| (name, (family(&kind), notnull == 0 && pk == 0)))
                .collect(),
        );
        let lower = sql.to_ascii_lowercase();
        for part in lower.split("constraint ").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            schema.constraints.push(name);
        }
    }
    schema.indexes = sqlx::query_scalar(
        "select name from sqlite_master where type = 'index' and sql is not null order by name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    schema.constraints.sort();
    db.close().await;
    schema
}

async fn postgres_schema(url: &str) -> Schema {
    let db = app::backend::Db::connect(url, true).await.unwrap();
    db.migrate().await.unwrap();
    let pool = db.reader();
    let mut schema = Schema::default();
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text, data_type::text, is_nullable::text \
         from information_schema.columns where table_schema = current_schema() \
         and table_name <> '_sqlx_migrations' order by table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (table, column, kind, nullable) in columns {
        schema
            .columns
            .entry(table)
            .or_default()
            .insert(column, (family(&kind), nullable == "YES"));
    }
    // Primary keys left unnamed are named by PostgreSQL (`<table>_pkey`); SQLite names
    // none: only the names the migrations gave count.
    schema.constraints = sqlx::query_scalar(
        "select c.conname::text from pg_constraint c join pg_namespace n on n.oid = c.connamespace \
         where n.nspname = current_schema() and c.conname not like '%\\_pkey' order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    // Indexes that back a constraint are the constraint's, not an index of their own.
    schema.indexes = sqlx::query_scalar(
        "select i.indexname::text from pg_indexes i where i.schemaname = current_schema() \
         and i.tablename <> '_sqlx_migrations' and not exists (select 1 from pg_constraint c \
         where c.conname = i.indexname) and i.indexname not like '%\\_pkey' order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    db.close().await;
    schema
}

async fn compare(backend: TestBackend) {
    let sqlite = TestDatabase::create(&TestBackend::Sqlite).await;
    let postgres = TestDatabase::create(&backend).await;
    let lite = sqlite_schema(&sqlite.url).await;
    let pg = postgres_schema(&postgres.url).await;
    let tables = |schema: &Schema| schema.columns.keys().cloned().collect::<Vec<_>>();
    assert_eq!(tables(&lite), tables(&pg), "tables");
    for (table, columns) in &lite.columns {
        assert_eq!(Some(columns), pg.columns.get(table), "columns of {table}");
    }
    assert_eq!(lite.constraints, pg.constraints, "named constraints");
    assert_eq!(lite.indexes, pg.indexes, "indexes");
    assert!(lite.columns.len() > 20, "{:?}", tables(&lite));
}

/// It needs both databases, so it runs with the PostgreSQL tests.
mod postgres {
    use crate::harness::TestBackend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_two_migration_folders_describe_one_schema() {
        match TestBackend::postgres() {
            Some(backend) => super::compare(backend).await,
            None => eprintln!("not run: GATEHOUSE_TEST_POSTGRES_URL is not set"),
        }
    }
}
