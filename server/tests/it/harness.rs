//! Starts the real application on port 0 with a fresh database on either backend and a
//! clock the test controls; helpers are named after what a person does.

use app::backend::{AppState, ManualClock};
use app::domain::Timestamp;
use gatehouse_server::config::{Config, Sources};
use gatehouse_server::Running;
use leptos::server_fn::ServerFn;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

/// 2026-11-30T09:00:00Z: tests start at a fixed instant and move time themselves.
pub const TEST_START: Timestamp = Timestamp(1_796_029_200_000);
/// The origin the test application believes it is served from.
pub const PUBLIC_ORIGIN: &str = "http://127.0.0.1:3999";
/// The audit key of every application the tests start, in this process or as a child
/// process on the same database (one process holds one key).
pub const TEST_AUDIT_KEY: &str = "the audit key of the test suite, not for production";

#[derive(Clone, Debug)]
pub enum TestBackend {
    Sqlite,
    Postgres { base_url: String },
}

impl TestBackend {
    /// PostgreSQL when `GATEHOUSE_TEST_POSTGRES_URL` is set.
    pub fn postgres() -> Option<Self> {
        std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
            .ok()
            .filter(|url| !url.is_empty())
            .map(|base_url| TestBackend::Postgres { base_url })
    }
}

/// Declares each listed `async fn name(backend: TestBackend)` as two tests,
/// `sqlite::name` and `postgres::name`. Without `GATEHOUSE_TEST_POSTGRES_URL` the
/// PostgreSQL ones say so and pass; `make test` then leaves them out by name so the counts
/// it prints are honest.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::harness::TestBackend::Sqlite).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    match $crate::harness::TestBackend::postgres() {
                        Some(backend) => super::$name(backend).await,
                        None => eprintln!("not run: GATEHOUSE_TEST_POSTGRES_URL is not set"),
                    }
                }
            )+
        }
    };
}

/// A database of its own for one test, removed when dropped.
pub struct TestDatabase {
    pub url: String,
    pub data_dir: tempfile::TempDir,
    postgres_drop: Option<(String, String)>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDatabase {
    pub async fn create(backend: &TestBackend) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        match backend {
            TestBackend::Sqlite => {
                let url = format!("sqlite://{}/gatehouse.db", data_dir.path().display());
                Self {
                    url,
                    data_dir,
                    postgres_drop: None,
                }
            }
            TestBackend::Postgres { base_url } => {
                let name = format!(
                    "gh_test_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    rand_suffix()
                );
                let admin = sqlx::PgPool::connect(base_url)
                    .await
                    .expect("connect to PostgreSQL");
                sqlx::query(&format!("create database {name}"))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let mut url = url::Url::parse(base_url).expect("PostgreSQL URL");
                url.set_path(&name);
                Self {
                    url: url.to_string(),
                    data_dir,
                    postgres_drop: Some((base_url.clone(), name)),
                }
            }
        }
    }
}

fn rand_suffix() -> u32 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((base_url, name)) = self.postgres_drop.take() {
            // Drop runs outside async; a short-lived runtime on its own thread does it.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async move {
                        if let Ok(admin) = sqlx::PgPool::connect(&base_url).await {
                            let _ = sqlx::query(&format!(
                                "drop database if exists {name} with (force)"
                            ))
                            .execute(&admin)
                            .await;
                            admin.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// The configuration a test application runs with, plus any overrides.
pub fn test_config(database: &TestDatabase, overrides: &[(&str, &str)]) -> Config {
    let mut env: HashMap<String, String> = [
        ("GATEHOUSE_ENV", "development"),
        ("GATEHOUSE_DEV_SIGN_IN", "true"),
        ("GATEHOUSE_BIND", "127.0.0.1:0"),
        ("GATEHOUSE_PUBLIC_URL", PUBLIC_ORIGIN),
        ("GATEHOUSE_LOG", "warn"),
        ("GATEHOUSE_AUDIT_KEY", TEST_AUDIT_KEY),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    env.insert("GATEHOUSE_DATABASE_URL".into(), database.url.clone());
    env.insert(
        "GATEHOUSE_DATA_DIR".into(),
        database.data_dir.path().display().to_string(),
    );
    env.insert(
        "GATEHOUSE_SITE_ROOT".into(),
        database.data_dir.path().join("site").display().to_string(),
    );
    for (key, value) in overrides {
        env.insert(key.to_string(), value.to_string());
    }
    Config::load(&Sources::from_maps(env, HashMap::new())).expect("test configuration")
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub clock: ManualClock,
    pub state: AppState,
    running: Option<Running>,
    // Dropped last: the database outlives the server using it.
    pub database: TestDatabase,
}

impl TestApp {
    pub async fn spawn(backend: TestBackend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    pub async fn spawn_with(backend: TestBackend, overrides: &[(&str, &str)]) -> Self {
        let database = TestDatabase::create(&backend).await;
        let config = test_config(&database, overrides);
        // GATEHOUSE_TEST_LOG=debug (or any filter) shows the server's log while debugging.
        if let Ok(filter) = std::env::var("GATEHOUSE_TEST_LOG") {
            let mut logged = config.clone();
            logged.log_filter = filter;
            gatehouse_server::telemetry::init(&logged);
        }
        let clock = ManualClock::new(TEST_START);
        let running = gatehouse_server::start(&config, Arc::new(clock.clone()), false)
            .await
            .expect("application starts");
        let base = format!("http://{}", running.address);
        Self {
            base,
            client: new_client(),
            clock,
            state: running.state.clone(),
            running: Some(running),
            database,
        }
    }

    /// Loads the demo organisation, as `make run` does on an empty database.
    pub async fn seed_demo(&self) {
        app::backend::services::demo::seed(&self.state)
            .await
            .expect("demo loads");
    }

    /// The test clock's current time.
    pub fn clock_now(&self) -> Timestamp {
        use app::backend::Clock;
        self.clock.now()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The id of a demo person by display name.
    pub async fn person_id(&self, display_name: &str) -> i64 {
        sqlx::query_scalar("select id from person where display_name = $1")
            .bind(display_name)
            .fetch_one(self.state.db.reader())
            .await
            .expect("person exists")
    }

    /// A demo person as the services take them.
    pub async fn person(&self, display_name: &str) -> app::backend::store::person::PersonRow {
        let id = self.person_id(display_name).await;
        app::backend::store::person::find(self.state.db.reader(), id)
            .await
            .expect("person loads")
            .expect("person exists")
    }

    /// The id of an access package by name.
    pub async fn package_id(&self, name: &str) -> i64 {
        sqlx::query_scalar("select id from access_package where name = $1")
            .bind(name)
            .fetch_one(self.state.db.reader())
            .await
            .expect("package exists")
    }

    /// The response to a GET of a page, as a browser asks for it.
    pub async fn get_page(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(self.url(path))
            .header("accept", "text/html")
            .send()
            .await
            .expect("page answers")
    }

    /// The HTML of a page, as a browser without JavaScript gets it.
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> String {
        self.get_page(client, path)
            .await
            .text()
            .await
            .expect("page body")
    }

    /// Calls a server function the way the hydrated page does (form-encoded POST).
    pub async fn call<F: ServerFn>(
        &self,
        client: &reqwest::Client,
        form: &[(&str, String)],
    ) -> reqwest::Response {
        self.call_path(client, F::PATH, form).await
    }

    /// Posts a form to a server function by its path, as `call` does.
    pub async fn call_path(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, String)],
    ) -> reqwest::Response {
        client
            .post(self.url(path))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("server function answers")
    }

    /// Development sign-in as the named person with the given client; returns the session
    /// cookie value.
    pub async fn sign_in_as(&self, client: &reqwest::Client, display_name: &str) -> String {
        let id = self.person_id(display_name).await;
        let response = self
            .call::<app::api::session::DevSignIn>(client, &[("person_id", id.to_string())])
            .await;
        assert!(
            response.status().is_success() || response.status().is_redirection(),
            "{}",
            response.status()
        );
        session_cookie(&response).expect("sign-in sets the session cookie")
    }

    /// One number from the database (a count, a sum, an id).
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(self.state.db.reader())
            .await
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }

    /// Runs a worker step after step at the test clock's time until it finds nothing to
    /// do; returns how many items it handled.
    pub async fn drain(&self, worker: &dyn app::backend::workers::Worker) -> usize {
        let mut handled = 0;
        loop {
            let step = worker.step(self.clock_now()).await.expect("worker step");
            if step == 0 {
                return handled;
            }
            handled += step;
        }
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// Stops the in-process server and keeps its database, for a server of another kind
    /// (a child process) to use.
    pub async fn into_database(mut self) -> TestDatabase {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
        let Self { database, .. } = self;
        database
    }
}

pub fn new_client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        // Longer than the server's own request timeout, so a stuck request fails the test
        // instead of hanging the suite.
        .timeout(std::time::Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

/// The value of the `gatehouse` session cookie a response sets, if any.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|cookie| {
            cookie
                .strip_prefix("gatehouse=")
                .map(|rest| rest.split(';').next().unwrap_or_default().to_string())
        })
}
