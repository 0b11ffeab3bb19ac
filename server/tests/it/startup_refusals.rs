//! The binary refuses to start, with one sentence and a non-zero exit, on a bad database
//! URL, an unwritable data directory, a database newer than itself, or development sign-in
//! in production; and it writes nothing when it refuses.

use crate::harness::{TestBackend, TestDatabase};
use std::path::Path;
use std::process::{Command, Output};

fn gatehouse(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command.args(args).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    command.env("GATEHOUSE_BIND", "127.0.0.1:0");
    command.env("GATEHOUSE_AUDIT_KEY", crate::harness::TEST_AUDIT_KEY);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("gatehouse runs")
}

/// The refusal: exit code 1 and exactly one line on stderr, which contains `expected`.
fn assert_refused(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one sentence, got: {stderr}");
    assert!(lines[0].starts_with("gatehouse: "), "{stderr}");
    assert!(
        lines[0].contains(expected),
        "expected {expected:?} in {stderr}"
    );
}

fn entries(directory: &Path) -> usize {
    std::fs::read_dir(directory)
        .map(|entries| entries.count())
        .unwrap_or(0)
}

#[test]
fn the_help_lists_the_commands() {
    let output = gatehouse(&["--help"], &[]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for command in ["serve", "migrate", "seed-demo", "audit-verify"] {
        assert!(help.contains(command), "{command} missing from: {help}");
    }
}

#[test]
fn a_bad_database_url_is_refused_without_a_trace() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("data");
    let output = gatehouse(
        &["serve"],
        &[
            (
                "GATEHOUSE_DATABASE_URL",
                "mysql://root:hunter2@localhost/gatehouse",
            ),
            ("GATEHOUSE_DATA_DIR", data.to_str().unwrap()),
        ],
    );
    assert_refused(
        &output,
        "GATEHOUSE_DATABASE_URL must start with sqlite:// or postgres://",
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("hunter2"));
    assert!(!data.exists());
}

#[test]
fn an_unreachable_database_is_refused_without_its_password() {
    let output = gatehouse(
        &["migrate"],
        &[(
            "GATEHOUSE_DATABASE_URL",
            "postgres://gatehouse:hunter2@127.0.0.1:1/gatehouse",
        )],
    );
    assert_refused(
        &output,
        "cannot open the database postgres://gatehouse:***@127.0.0.1:1/gatehouse",
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("hunter2"));
}

#[test]
fn an_unwritable_data_directory_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    // A path below a regular file can never be created, not even by root.
    let blocker = directory.path().join("not-a-directory");
    std::fs::write(&blocker, b"").unwrap();
    let data = blocker.join("data");
    let database = format!("sqlite://{}/gatehouse.db", data.display());
    let output = gatehouse(
        &["serve"],
        &[
            ("GATEHOUSE_DATABASE_URL", &database),
            ("GATEHOUSE_DATA_DIR", data.to_str().unwrap()),
        ],
    );
    assert_refused(&output, "data directory (GATEHOUSE_DATA_DIR)");
    assert_eq!(entries(directory.path()), 1);
}

#[test]
fn development_sign_in_is_refused_in_production() {
    let directory = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/gatehouse.db", directory.path().display());
    let output = gatehouse(
        &["serve"],
        &[
            ("GATEHOUSE_ENV", "production"),
            ("GATEHOUSE_DEV_SIGN_IN", "true"),
            ("GATEHOUSE_DATABASE_URL", &database),
            ("GATEHOUSE_DATA_DIR", directory.path().to_str().unwrap()),
        ],
    );
    assert_refused(
        &output,
        "GATEHOUSE_DEV_SIGN_IN=true is refused when GATEHOUSE_ENV=production",
    );
    assert_eq!(entries(directory.path()), 0);
}

#[test]
fn the_demo_is_refused_in_production() {
    let directory = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/gatehouse.db", directory.path().display());
    let env = [
        ("GATEHOUSE_ENV", "production"),
        ("GATEHOUSE_DATABASE_URL", database.as_str()),
        ("GATEHOUSE_DATA_DIR", directory.path().to_str().unwrap()),
    ];
    let mut with_seed = env.to_vec();
    with_seed.push(("GATEHOUSE_SEED_DEMO", "true"));
    assert_refused(
        &gatehouse(&["serve"], &with_seed),
        "GATEHOUSE_SEED_DEMO=true is refused when GATEHOUSE_ENV=production",
    );
    assert_refused(
        &gatehouse(&["seed-demo"], &env),
        "seed-demo is refused when GATEHOUSE_ENV=production",
    );
    assert_eq!(entries(directory.path()), 0, "nothing was written");
}

async fn migrations(url: &str) -> Vec<i64> {
    let db = app::backend::Db::connect(url, false).await.unwrap();
    let versions = sqlx::query_scalar("select version from _sqlx_migrations order by version")
        .fetch_all(db.reader())
        .await
        .unwrap();
    db.close().await;
    versions
}

async fn a_database_newer_than_the_binary_is_refused_and_left_alone(backend: TestBackend) {
    let database = TestDatabase::create(&backend).await;
    let data_dir = database.data_dir.path().to_str().unwrap().to_string();
    let env = [
        ("GATEHOUSE_DATABASE_URL", database.url.as_str()),
        ("GATEHOUSE_DATA_DIR", &data_dir),
        ("GATEHOUSE_ENV", "development"),
    ];
    let migrated = gatehouse(&["migrate"], &env);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    {
        let db = app::backend::Db::connect(&database.url, false)
            .await
            .unwrap();
        sqlx::query(
            "insert into _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
             values (9999, 'from the future', current_timestamp, $1, $2, 0)",
        )
        .bind(true)
        .bind(vec![0_u8; 48])
        .execute(db.writer())
        .await
        .unwrap();
        db.close().await;
    }
    let before = migrations(&database.url).await;
    for command in ["serve", "migrate", "seed-demo"] {
        let output = gatehouse(&[command], &env);
        assert_refused(&output, "upgraded by a newer Gatehouse");
    }
    assert_eq!(migrations(&database.url).await, before);
    let db = app::backend::Db::connect(&database.url, false)
        .await
        .unwrap();
    let people: i64 = sqlx::query_scalar("select count(*) from person")
        .fetch_one(db.reader())
        .await
        .unwrap();
    assert_eq!(people, 0, "seed-demo wrote nothing");
    db.close().await;
}

async fn migrate_twice_is_harmless_and_serve_then_answers(backend: TestBackend) {
    let database = TestDatabase::create(&backend).await;
    let data_dir = database.data_dir.path().to_str().unwrap().to_string();
    let env = [
        ("GATEHOUSE_DATABASE_URL", database.url.as_str()),
        ("GATEHOUSE_DATA_DIR", &data_dir),
        ("GATEHOUSE_ENV", "development"),
    ];
    for _ in 0..2 {
        let output = gatehouse(&["migrate"], &env);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("up to date"));
    }
    let seeded = gatehouse(&["seed-demo"], &env);
    assert!(
        seeded.status.success(),
        "{}",
        String::from_utf8_lossy(&seeded.stderr)
    );
    assert!(String::from_utf8_lossy(&seeded.stdout).contains("30 people"));
    let again = gatehouse(&["seed-demo"], &env);
    assert_refused(&again, "only into an empty database");
    let verified = gatehouse(&["audit-verify"], &env);
    assert!(verified.status.success());
    assert!(String::from_utf8_lossy(&verified.stdout).contains("intact"));
}

crate::on_both_backends!(
    a_database_newer_than_the_binary_is_refused_and_left_alone,
    migrate_twice_is_harmless_and_serve_then_answers,
);

#[test]
fn serve_stops_cleanly_on_sigterm_and_reads_a_toml_file() {
    let directory = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Settings from a TOML file; the environment names only the file.
    let file = directory.path().join("gatehouse.toml");
    std::fs::write(
        &file,
        format!(
            "bind = \"127.0.0.1:{port}\"\ndatabase_url = \"sqlite://{dir}/g.db\"\ndata_dir = \"{dir}\"\nlog_format = \"json\"\naudit_key = \"{key}\"\n",
            dir = directory.path().display(),
            key = crate::harness::TEST_AUDIT_KEY
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command
        .arg("serve")
        .env_clear()
        .env("GATEHOUSE_CONFIG", &file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let ready = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(ready, "gatehouse did not start listening on {port}");
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = (0..100).find_map(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        child.try_wait().unwrap()
    });
    let exit = exited.expect("gatehouse stopped within 10 s of SIGTERM");
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(exit.success(), "exit {exit:?}; log: {log}");
    // JSON logs, as the file asked, including the shutdown.
    assert!(log.lines().all(|line| line.starts_with('{')), "{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(directory.path().join("g.db").exists());
}
