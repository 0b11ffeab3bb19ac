//! The crash drill: the real `gatehouse serve` process is killed with SIGKILL at random
//! moments while many assignments expire at once; after the restarts every one is removed
//! from the real SCIM server and verified, each ended and verified exactly once (one
//! audit event of each), and the audit chain still verifies.
//!
//! `GATEHOUSE_DRILL_N` (default 1000) assignments in groups of `GATEHOUSE_DRILL_GROUP_SIZE`
//! (default 500), `GATEHOUSE_DRILL_KILLS` (default 20) kills; the closing notes report a
//! run with 10 000.

use crate::harness::{TestApp, TestBackend, TestDatabase};
use crate::holders;
use crate::provisioning::{Tenant, TOKEN};
use app::backend::store;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator for the kill moments; the seed is printed so that a
/// failing run can be repeated (`GATEHOUSE_DRILL_SEED`).
struct Moments(u64);

impl Moments {
    fn next_millis(&mut self, low: u64, high: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        low + (self.0 >> 33) % (high - low)
    }
}

/// The server process, killed with SIGKILL when dropped (also when the test fails).
struct Serving(Child);

impl Serving {
    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(database: &TestDatabase, log: &std::path::Path) -> Serving {
    let log = std::fs::File::create(log).unwrap();
    Serving(
        Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .arg("serve")
            .env_clear()
            .env("GATEHOUSE_ENV", "development")
            .env("GATEHOUSE_AUDIT_KEY", crate::harness::TEST_AUDIT_KEY)
            .env("GATEHOUSE_BIND", "127.0.0.1:0")
            .env("GATEHOUSE_PUBLIC_URL", "http://127.0.0.1:3000")
            .env("GATEHOUSE_LOG", "warn")
            .env("GATEHOUSE_DATABASE_URL", &database.url)
            .env("GATEHOUSE_DATA_DIR", database.data_dir.path())
            .env("GATEHOUSE_SITE_ROOT", database.data_dir.path().join("site"))
            .env("GATEHOUSE_SECRET_SCIM_TEST", TOKEN)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("the gatehouse binary starts"),
    )
}

async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn sigkill_drill(backend: TestBackend) {
    let n = env_number("GATEHOUSE_DRILL_N", 1000);
    let kills = env_number("GATEHOUSE_DRILL_KILLS", 20);
    let seed = env_number("GATEHOUSE_DRILL_SEED", 0) as u64;
    let seed = if seed == 0 {
        u64::from(std::process::id()) ^ 0x9e37_79b9
    } else {
        seed
    };
    let mut moments = Moments(seed);

    // Downstream: n users in groups of at most 500, each group in its own SCIM tenant
    // and Gatehouse connector, as separate applications would be (the test server filters
    // a group's members for each removal, so one group of 10 000 would measure it alone).
    let groups = n
        .div_ceil(env_number("GATEHOUSE_DRILL_GROUP_SIZE", 500))
        .max(1);
    let app = TestApp::spawn_with(backend, &[("GATEHOUSE_SECRET_SCIM_TEST", TOKEN)]).await;
    app.seed_demo().await;
    let now = app.clock_now();
    let mut downstream = Vec::with_capacity(groups);
    let mut tx = app.state.db.begin_write().await.unwrap();
    for g in 0..groups {
        let tenant = Tenant::new().await;
        let group = tenant.create_group(&format!("drill-{g}")).await;
        let names: Vec<String> = (g..n)
            .step_by(groups)
            .map(|i| format!("drill-{i}@example.com"))
            .collect();
        let users = tenant.create_users(&names).await;
        tenant.add_members(&group, &users).await;
        assert_eq!(tenant.member_ids(&group).await.len(), names.len());
        // The production default timeout.
        let config = serde_json::json!({ "base_url": tenant.base, "timeout_seconds": 10 });
        let connector = holders::connector(
            &mut tx,
            now,
            &format!("Drill SCIM {g}"),
            "scim",
            config,
            "SCIM_TEST",
        )
        .await;
        let package =
            holders::package(&mut tx, now, &format!("drill-{g}"), &[(connector, &group)]).await;
        for (name, user) in names.iter().zip(&users) {
            let person = holders::holder(&mut tx, now, name, name).await;
            store::provisioning::save_account(&mut tx, now, connector, person, user)
                .await
                .unwrap();
            holders::hold(&mut tx, now, person, package, now.plus_days(1)).await;
        }
        downstream.push((tenant, group));
    }
    tx.commit().await.unwrap();
    // T by the wall clock, which the real process uses: a second from now.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        + 1_000;
    sqlx::query("update assignment set end_at = $1 where person_id in (select id from person where email like 'drill-%')")
        .bind(t)
        .execute(app.state.db.writer())
        .await
        .unwrap();
    let database = app.into_database().await;
    let pool = sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(&database.url)
        .await
        .unwrap();
    let ours = "(select id from person where email like 'drill-%')";

    // Killed at random moments, restarted each time.
    let started = Instant::now();
    let logs = database.data_dir.path();
    for kill in 0..kills {
        let child = serve(&database, &logs.join(format!("run-{kill}.log")));
        tokio::time::sleep(Duration::from_millis(moments.next_millis(300, 4_000))).await;
        child.kill();
    }
    let removed_before_last = count(
        &pool,
        &format!(
            "select count(*) from assignment where status = 'removed' and person_id in {ours}"
        ),
    )
    .await;

    // The last start runs to the end (leases left by killed processes run out first).
    let child = serve(&database, &logs.join("run-last.log"));
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let removed = count(
            &pool,
            &format!(
                "select count(*) from assignment where status = 'removed' and person_id in {ours}"
            ),
        )
        .await;
        if removed as usize == n || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill();
    let elapsed = started.elapsed();

    let removed = count(
        &pool,
        &format!(
            "select count(*) from assignment where status = 'removed' and person_id in {ours}"
        ),
    )
    .await;
    assert_eq!(removed as usize, n, "every access removed (seed {seed})");
    for (tenant, group) in &downstream {
        let in_group = tenant.member_ids(group).await;
        assert!(
            in_group.is_empty(),
            "{} still downstream (seed {seed})",
            in_group.len()
        );
    }
    for action in ["assignment.ended", "assignment.removal_verified"] {
        let twice = count(
            &pool,
            &format!(
            "select count(*) from (select object_id from audit_event where action = '{action}' \
             and object_id in (select cast(id as text) from assignment where person_id in {ours}) \
             group by object_id having count(*) <> 1) as repeated"
        ),
        )
        .await;
        let total = count(
            &pool,
            &format!(
                "select count(*) from audit_event where action = '{action}' \
             and object_id in (select cast(id as text) from assignment where person_id in {ours})"
            ),
        )
        .await;
        assert_eq!(
            (total as usize, twice),
            (n, 0),
            "{action} exactly once each (seed {seed})"
        );
    }
    let jobs =
        format!("from provisioning_job where operation = 'remove_member' and person_id in {ours}");
    assert_eq!(
        count(
            &pool,
            &format!("select count(*) {jobs} and status = 'succeeded' and verified_at >= {t}")
        )
        .await as usize,
        n,
        "one removal job each, verified after T"
    );
    let rerun = count(&pool, &format!("select count(*) {jobs} and attempts > 1")).await;
    let verify = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("audit-verify")
        .env_clear()
        .env("GATEHOUSE_ENV", "development")
        .env("GATEHOUSE_AUDIT_KEY", crate::harness::TEST_AUDIT_KEY)
        .env("GATEHOUSE_LOG", "warn")
        .env("GATEHOUSE_DATABASE_URL", &database.url)
        .env("GATEHOUSE_DATA_DIR", database.data_dir.path())
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "the audit chain verifies: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    eprintln!(
        "crash drill: {n} assignments in {groups} groups, {kills} kills (seed {seed}); {removed_before_last} removed before the last start; \
         all {n} removed and verified {:.1} s after the first start; {rerun} removal jobs ran again after a kill",
        elapsed.as_secs_f64()
    );
    pool.close().await;
}

crate::on_both_backends!(sigkill_drill);
