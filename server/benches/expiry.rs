//! Benchmark, two parts.
//!
//! Steady: K assignments (BENCH_STEADY, default 200) end one after another, one every
//! BENCH_STEADY_MS (default 50 ms); each grants a group in a real SCIM server and a group
//! in a real LDAP directory (slapd). Latency: from an assignment's end until it is gone
//! from both, verified by reading them back.
//!
//! Burst: N assignments end at the same instant T; how long until each is gone from a
//! real SCIM server and verified (read back), compared with a plain client making the same
//! calls at full speed against the same server: per group, for each batch of up to 500
//! people, a PATCH removing up to 100 members at a time and one GET reading the group
//! back.
//!
//!   make bench                                  (K = 200; N = 500, one group)
//!   BENCH_N=100000 BENCH_GROUPS=200 make bench  (500 people per group)
//!
//! Each group lives in its own scim2-server tenant and Gatehouse connector, as if each
//! were another application (one store of 100 000 users would make the server itself
//! check every new userName against all the others).
//!
//! Needs scim2-server and slapd from `scripts/setup.sh --for test`. Prints figures;
//! asserts nothing about speed (a benchmark is not a test).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use app::backend::services::provisioning::Provisioner;
use app::backend::store;
use app::backend::workers::{self, ExpirySweeper, Worker};
use app::backend::{Clock, SystemClock};
use app::domain::Timestamp;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;
#[path = "../tests/support/holders.rs"]
mod holders;
#[path = "../tests/support/slapd.rs"]
mod slapd;

use common::env_number;
use holders::{connector, hold, holder, package};

const TOKEN: &str = "bench-token";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Scim {
    base: String,
    http: reqwest::Client,
}

impl Scim {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/scim+json");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap_or(Value::Null)
    }

    async fn group(&self, name: &str) -> String {
        let created = self
            .call(
                reqwest::Method::POST,
                "/Groups",
                Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name})),
            )
            .await;
        created["id"].as_str().unwrap().to_string()
    }

    async fn user(&self, email: &str) -> String {
        let created = self
            .call(
                reqwest::Method::POST,
                "/Users",
                Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": email, "active": true})),
            )
            .await;
        created["id"].as_str().unwrap().to_string()
    }

    async fn add(&self, group: &str, users: &[String]) {
        for chunk in users.chunks(200) {
            let members: Vec<Value> = chunk.iter().map(|user| json!({ "value": user })).collect();
            self.call(
                reqwest::Method::PATCH,
                &format!("/Groups/{group}"),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{ "op": "add", "path": "members", "value": members }],
                })),
            )
            .await;
        }
    }

    /// What Gatehouse does per batch: PATCH removes of up to 100 members each, then one
    /// GET of the group to verify.
    async fn remove_and_verify(&self, group: &str, users: &[String]) {
        for chunk in users.chunks(100) {
            let selection = chunk
                .iter()
                .map(|user| format!("value eq \"{user}\""))
                .collect::<Vec<_>>()
                .join(" or ");
            self.call(
                reqwest::Method::PATCH,
                &format!("/Groups/{group}"),
                Some(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{ "op": "remove", "path": format!("members[{selection}]") }],
                })),
            )
            .await;
        }
        let read = self
            .call(reqwest::Method::GET, &format!("/Groups/{group}"), None)
            .await;
        let still = read["members"].as_array().is_some_and(|members| {
            members
                .iter()
                .any(|member| users.iter().any(|user| member["value"] == *user))
        });
        assert!(!still);
    }
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64)).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n = env_number("BENCH_N", 500);
    let groups = env_number("BENCH_GROUPS", 1).clamp(1, n.max(1));
    let port = free_port();
    let server = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../.tools/scim/bin/scim2-server"
    );
    let mut scim_process = Command::new(server)
        .args([
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--bearer-token",
            TOKEN,
            "--dynamic-tenants",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("scim2-server (run scripts/setup.sh --for test)");
    // One tenant (its own store) per group, as if each group were another application.
    let http = reqwest::Client::new();
    let tenants: Vec<Scim> = (0..groups)
        .map(|g| Scim {
            base: format!("http://127.0.0.1:{port}/tg{g}/v2"),
            http: http.clone(),
        })
        .collect();
    for _ in 0..100 {
        if http
            .get(format!(
                "http://127.0.0.1:{port}/ready/v2/ServiceProviderConfig"
            ))
            .bearer_auth(TOKEN)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Gatehouse on SQLite with the demo organisation, workers started by hand below.
    let dir = tempfile::tempdir().unwrap();
    let config = common::config(
        &format!("sqlite://{}/bench.db", dir.path().display()),
        dir.path(),
        &[
            ("GATEHOUSE_SECRET_BENCH", TOKEN.to_string()),
            (
                "GATEHOUSE_SECRET_BENCH_LDAP",
                slapd::LDAP_PASSWORD.to_string(),
            ),
        ],
    );
    let running = gatehouse_server::start(&config, Arc::new(SystemClock), false)
        .await
        .unwrap();
    let state = running.state.clone();
    app::backend::services::demo::seed(&state).await.unwrap();

    let steady_k = env_number("BENCH_STEADY", 200);
    if steady_k > 0 {
        let every = Duration::from_millis(env_number("BENCH_STEADY_MS", 50) as u64);
        steady(
            &state,
            Scim {
                base: format!("http://127.0.0.1:{port}/steady/v2"),
                http: http.clone(),
            },
            steady_k,
            every,
        )
        .await;
    }

    // Downstream: N users spread over G groups, twice: once for the plain client, once
    // for Gatehouse.
    let setup = Instant::now();
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        users.push(
            tenants[i % groups]
                .user(&format!("bench-{i}@example.com"))
                .await,
        );
    }
    let mut baseline_groups = Vec::with_capacity(groups);
    let mut bench_groups = Vec::with_capacity(groups);
    let members_of = |g: usize| -> Vec<String> {
        users
            .iter()
            .enumerate()
            .filter(|(i, _)| i % groups == g)
            .map(|(_, user)| user.clone())
            .collect()
    };
    for (g, scim) in tenants.iter().enumerate() {
        let baseline_group = scim.group(&format!("baseline-{g}")).await;
        let group = scim.group(&format!("bench-{g}")).await;
        scim.add(&baseline_group, &members_of(g)).await;
        scim.add(&group, &members_of(g)).await;
        baseline_groups.push(baseline_group);
        bench_groups.push(group);
    }

    // Gatehouse: a connector, a package and a resource per group, N people holding one
    // each, ending at T.
    let now = SystemClock.now();
    let mut tx = state.db.begin_write().await.unwrap();
    let mut connectors = Vec::with_capacity(groups);
    for (g, scim) in tenants.iter().enumerate() {
        let config = json!({ "base_url": scim.base, "timeout_seconds": 60 });
        connectors.push(
            connector(
                &mut tx,
                now,
                &format!("Bench SCIM {g}"),
                "scim",
                config,
                "BENCH",
            )
            .await,
        );
    }
    let mut packages = Vec::with_capacity(groups);
    for (g, group) in bench_groups.iter().enumerate() {
        packages.push(
            package(
                &mut tx,
                now,
                &format!("bench-{g}"),
                &[(connectors[g], group)],
            )
            .await,
        );
    }
    for (i, user) in users.iter().enumerate() {
        let person = holder(
            &mut tx,
            now,
            &format!("bench-{i}@example.com"),
            &format!("Bench {i}"),
        )
        .await;
        store::provisioning::save_account(&mut tx, now, connectors[i % groups], person, user)
            .await
            .unwrap();
        hold(&mut tx, now, person, packages[i % groups], now.plus_days(1)).await;
    }
    tx.commit().await.unwrap();
    let setup_seconds = setup.elapsed().as_secs_f64();

    // The plain client: the same calls, one after another, at full speed.
    let baseline = Instant::now();
    for (g, baseline_group) in baseline_groups.iter().enumerate() {
        for batch in members_of(g).chunks(500) {
            tenants[g].remove_and_verify(baseline_group, batch).await;
        }
    }
    let baseline_seconds = baseline.elapsed().as_secs_f64();

    // All N end at T, two seconds from now; the workers run as in `gatehouse serve`.
    let t = Timestamp(SystemClock.now().millis() + 2_000);
    sqlx::query("update assignment set end_at = $1 where person_id in (select id from person where email like 'bench-%')")
        .bind(t.millis())
        .execute(state.db.writer())
        .await
        .unwrap();
    expire_with_workers(&state, "bench-%", n, Duration::from_secs(1_800)).await;

    let mut latencies: Vec<i64> = sqlx::query_scalar(
        "select j.verified_at - a.end_at from provisioning_job j join assignment a on a.id = j.assignment_id \
         where j.operation = 'remove_member' and j.verified_at is not null \
         and j.resource_id in (select id from resource where name like 'bench-%')",
    )
    .fetch_all(state.db.reader())
    .await
    .unwrap();
    latencies.sort_unstable();
    let ended_at: Option<i64> = sqlx::query_scalar(
        "select max(occurred_at) from audit_event where action = 'assignment.ended'",
    )
    .fetch_one(state.db.reader())
    .await
    .unwrap();
    let mut remaining = 0;
    for (scim, group) in tenants.iter().zip(&bench_groups) {
        remaining += scim
            .call(reqwest::Method::GET, &format!("/Groups/{group}"), None)
            .await["members"]
            .as_array()
            .map_or(0, Vec::len);
    }
    let drain_seconds = latencies.last().copied().unwrap_or(0) as f64 / 1000.0;
    let gatehouse_rate = latencies.len() as f64 / drain_seconds.max(0.001);
    let baseline_rate = n as f64 / baseline_seconds;
    println!("expiry benchmark: {n} assignments in {groups} group(s) ending at the same instant, SCIM scim2-server 0.8.3 (a tenant per group), SQLite");
    println!("  setup (users, memberships, assignments): {setup_seconds:.1} s");
    println!("  plain client, the same calls (PATCH removes of 100, one GET read-back per 500), sequential: {baseline_seconds:.2} s = {baseline_rate:.0} removals/s");
    println!(
        "  gatehouse: {} of {n} verified removed; last {drain_seconds:.2} s after T = {gatehouse_rate:.0} removals/s ({:.0}% of the plain client)",
        latencies.len(),
        100.0 * gatehouse_rate / baseline_rate
    );
    println!(
        "  end-to-verified latency after T: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms",
        percentile(&latencies, 50.0),
        percentile(&latencies, 90.0),
        percentile(&latencies, 99.0),
        percentile(&latencies, 100.0)
    );
    println!(
        "  all ended (audit) {} ms after T; members left downstream: {remaining}",
        ended_at.map_or(-1, |at| at - t.millis())
    );
    running.stop().await;
    let _ = scim_process.kill();
    let _ = scim_process.wait();
}

/// Runs the sweeper and the provisioner as `gatehouse serve` does until `n` assignments
/// of the packages named like `packages` are removed (see [`wait_removed`]).
async fn expire_with_workers(
    state: &app::backend::AppState,
    packages: &str,
    n: usize,
    patience: Duration,
) {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sweeper: Arc<dyn Worker> = Arc::new(ExpirySweeper::new(state.clone()));
    let provisioner: Arc<dyn Worker> = Arc::new(Provisioner::new(state.clone()));
    let tasks = vec![
        tokio::spawn(workers::run(sweeper, state.clone(), stopped.clone())),
        tokio::spawn(workers::run(provisioner, state.clone(), stopped.clone())),
    ];
    state.scheduler_wakeup.notify();
    wait_removed(state, packages, n, patience).await;
    let _ = stop.send(true);
    state.scheduler_wakeup.notify();
    for task in tasks {
        let _ = task.await;
    }
}

/// Waits until `n` assignments of the packages whose name is like `packages` are removed
/// (verified downstream), or `patience` has passed. Looks twice a second with a query the
/// indexes answer: the latencies come from the recorded times, and a monitor that scanned
/// every person 20 times a second took a core from the workers it measured.
async fn wait_removed(
    state: &app::backend::AppState,
    packages: &str,
    n: usize,
    patience: Duration,
) {
    let deadline = Instant::now() + patience;
    loop {
        let removed: i64 = sqlx::query_scalar(
            "select count(*) from assignment where status = 'removed' \
             and access_package_id in (select id from access_package where name like $1)",
        )
        .bind(packages)
        .fetch_one(state.db.reader())
        .await
        .unwrap();
        if removed as usize >= n || Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// K assignments, each granting a SCIM group and an LDAP group, ending one every `every`.
async fn steady(state: &app::backend::AppState, scim: Scim, k: usize, every: Duration) {
    let ldap = slapd::Slapd::start().await;
    let mut users = Vec::with_capacity(k);
    let mut entries = Vec::with_capacity(k);
    for i in 0..k {
        let email = format!("steady-{i}@example.com");
        users.push(scim.user(&email).await);
        entries.push(
            ldap.add_person(&format!("steady-{i}"), &format!("Steady {i}"), &email)
                .await,
        );
    }
    let scim_group = scim.group("steady").await;
    scim.add(&scim_group, &users).await;
    let ldap_group = ldap.add_group("steady", &entries).await;

    let now = SystemClock.now();
    let mut tx = state.db.begin_write().await.unwrap();
    let scim_connector = connector(
        &mut tx,
        now,
        "Steady SCIM",
        "scim",
        json!({ "base_url": scim.base, "timeout_seconds": 10 }),
        "BENCH",
    )
    .await;
    let ldap_config = json!({ "url": ldap.url, "bind_dn": slapd::LDAP_ADMIN, "users_base": slapd::PEOPLE_BASE, "timeout_seconds": 10 });
    let ldap_connector = connector(
        &mut tx,
        now,
        "Steady LDAP",
        "ldap",
        ldap_config,
        "BENCH_LDAP",
    )
    .await;
    let package = package(
        &mut tx,
        now,
        "steady",
        &[(scim_connector, &scim_group), (ldap_connector, &ldap_group)],
    )
    .await;
    // The first ends three seconds from now, the next `every` later, and so on.
    let first = now.millis() + 3_000;
    let every_ms = i64::try_from(every.as_millis()).unwrap_or(i64::MAX);
    for i in 0..k {
        let person = holder(
            &mut tx,
            now,
            &format!("steady-{i}@example.com"),
            &format!("Steady {i}"),
        )
        .await;
        store::provisioning::save_account(&mut tx, now, scim_connector, person, &users[i])
            .await
            .unwrap();
        store::provisioning::save_account(&mut tx, now, ldap_connector, person, &entries[i])
            .await
            .unwrap();
        hold(
            &mut tx,
            now,
            person,
            package,
            Timestamp(first + every_ms * i as i64),
        )
        .await;
    }
    tx.commit().await.unwrap();

    let patience = every * u32::try_from(k).unwrap_or(u32::MAX) + Duration::from_secs(120);
    expire_with_workers(state, "steady", k, patience).await;

    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "select a.id, c.kind, j.verified_at - a.end_at from provisioning_job j \
         join assignment a on a.id = j.assignment_id join connector c on c.id = j.connector_id \
         where j.operation = 'remove_member' and j.verified_at is not null and a.access_package_id = $1",
    )
    .bind(package)
    .fetch_all(state.db.reader())
    .await
    .unwrap();
    let mut by_kind: HashMap<&str, Vec<i64>> = HashMap::new();
    let mut both: HashMap<i64, (usize, i64)> = HashMap::new();
    for (assignment, kind, latency) in &rows {
        by_kind
            .entry(if kind == "scim" { "scim" } else { "ldap" })
            .or_default()
            .push(*latency);
        let entry = both.entry(*assignment).or_insert((0, i64::MIN));
        *entry = (entry.0 + 1, entry.1.max(*latency));
    }
    let mut whole: Vec<i64> = both
        .values()
        .filter(|(jobs, _)| *jobs == 2)
        .map(|(_, latency)| *latency)
        .collect();
    whole.sort_unstable();
    let left_scim = scim
        .call(reqwest::Method::GET, &format!("/Groups/{scim_group}"), None)
        .await["members"]
        .as_array()
        .map_or(0, Vec::len);
    let left_ldap = ldap.members_of(&ldap_group).await.len();
    println!(
        "steady expiry: {k} assignments ending one every {} ms, each in a SCIM group (scim2-server 0.8.3) and an LDAP group (slapd), SQLite",
        every.as_millis()
    );
    for kind in ["scim", "ldap"] {
        let mut latencies = by_kind.remove(kind).unwrap_or_default();
        latencies.sort_unstable();
        println!(
            "  {kind}: {} verified removed; end-to-verified p50 {} ms, p99 {} ms, max {} ms",
            latencies.len(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            percentile(&latencies, 100.0)
        );
    }
    println!(
        "  gone from both: {} of {k}; p50 {} ms, p99 {} ms, max {} ms; members left downstream: SCIM {left_scim}, LDAP {left_ldap}",
        whole.len(),
        percentile(&whole, 50.0),
        percentile(&whole, 99.0),
        percentile(&whole, 100.0)
    );
}
