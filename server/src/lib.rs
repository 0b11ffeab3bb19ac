//! The gatehouse binary's library: configuration, startup, the HTTP router and the
//! workers, composed here so tests can start the real application on port 0.

pub mod config;
pub mod http;
pub mod metrics;
pub mod oidc;
pub mod scim;
pub mod startup;
pub mod telemetry;

use app::backend::workers;
use app::backend::{AppState, Clock, SystemClock};
use config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A started application: its address, its state, and the handles to stop it.
pub struct Running {
    pub address: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting connections, lets workers finish their step, and waits.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
        self.state.db.close().await;
    }

    /// Resolves when a shutdown was requested and every task has ended.
    pub async fn wait(self) {
        for task in self.tasks {
            let _ = task.await;
        }
        self.state.db.close().await;
    }

    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

/// Opens and migrates the database, loads the demo if asked and the database is empty,
/// binds, and starts serving and the workers. `run_workers` is off in tests that drain
/// workers step by step.
pub async fn start(
    config: &Config,
    clock: Arc<dyn Clock>,
    run_workers: bool,
) -> Result<Running, String> {
    let db = startup::open_database(config).await?;
    startup::migrate(&db).await?;
    let state = AppState::new(db, clock, config.settings());
    if config.seed_demo {
        let people = app::backend::store::person::count(state.db.reader())
            .await
            .map_err(|error| format!("cannot count people: {error}"))?;
        if people == 0 {
            let summary = app::backend::services::demo::seed(&state)
                .await
                .map_err(|error| format!("loading the demo failed: {}", error.message))?;
            tracing::info!(?summary, "demo organisation loaded");
        }
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.bind))?;
    let address = listener
        .local_addr()
        .map_err(|error| format!("cannot read the listening address: {error}"))?;
    let (shutdown, shutdown_signal) = watch::channel(false);

    let router = http::router(config, state.clone());
    let mut http_shutdown = shutdown_signal.clone();
    let mut tasks = vec![tokio::spawn(async move {
        let served = axum::serve(listener, router.into_make_service())
            .with_graceful_shutdown(async move {
                let _ = http_shutdown.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "http server failed");
        }
    })];
    if run_workers {
        let workers = workers::all(&state)?;
        for worker in workers {
            tasks.push(tokio::spawn(workers::run(
                worker,
                state.clone(),
                shutdown_signal.clone(),
            )));
        }
    }
    tracing::info!(%address, backend = state.db.backend().name(), "gatehouse is serving");
    Ok(Running {
        address,
        state,
        shutdown,
        tasks,
    })
}

/// `gatehouse serve`: runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: &Config) -> Result<(), String> {
    // The handlers first: a signal that arrives while Gatehouse starts (it listens before
    // it has started every worker) stops it gracefully instead of killing it.
    let stop = stop_signal();
    let running = start(config, Arc::new(SystemClock), true).await?;
    if config.is_development() {
        tracing::warn!(
            "development mode: development sign-in and demo data; never use this in production"
        );
    }
    let shutdown = running.shutdown_handle();
    tokio::spawn(async move {
        stop.await;
        tracing::info!("shutting down");
        let _ = shutdown.send(true);
    });
    running.wait().await;
    Ok(())
}

/// Installs the handlers of SIGINT and SIGTERM now; the future ends at the first of them.
fn stop_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            match (interrupt, terminate) {
                (Some(mut interrupt), Some(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// `gatehouse migrate`.
pub async fn migrate(config: &Config) -> Result<String, String> {
    let db = startup::open_database(config).await?;
    startup::migrate(&db).await?;
    db.close().await;
    Ok("The database schema is up to date.".to_string())
}

/// `gatehouse seed-demo`: loads the demo organisation into an empty database.
pub async fn seed_demo(config: &Config) -> Result<String, String> {
    if !config.is_development() {
        return Err(
            "seed-demo is refused when GATEHOUSE_ENV=production: the demo organisation brings 30 people, administrators among them"
                .to_string(),
        );
    }
    let db = startup::open_database(config).await?;
    startup::migrate(&db).await?;
    let state = AppState::new(db, Arc::new(SystemClock), config.settings());
    let outcome = app::backend::services::demo::seed(&state).await;
    state.db.close().await;
    let summary = outcome.map_err(|error| error.message)?;
    Ok(format!(
        "Loaded the demo organisation: {} people, {} access packages, {} pending requests, {} assignments.",
        summary.people, summary.packages, summary.pending_requests, summary.assignments
    ))
}

/// `gatehouse person-left <email>`: the person left; their access ends and their accounts
/// downstream are queued to be switched off (the server's workers carry it out).
pub async fn person_left(config: &Config, email: &str) -> Result<String, String> {
    let db = startup::open_database(config).await?;
    startup::migrate(&db).await?;
    let state = AppState::new(db, Arc::new(SystemClock), config.settings());
    let outcome = app::backend::services::people::leave(
        &state,
        &app::backend::store::audit::Actor::System("cli"),
        email,
    )
    .await;
    state.db.close().await;
    let left = outcome.map_err(|error| error.message)?;
    Ok(format!(
        "{email} has left: {} assignment(s) ended, {} account(s) to switch off downstream.",
        left.ended, left.deactivations
    ))
}

/// `gatehouse audit-verify`: checks every event of the audit chain with the audit key, its
/// head, and the last signed checkpoint outside the database; then writes a new checkpoint
/// when the chain is intact and moved.
pub async fn audit_verify(config: &Config) -> Result<String, String> {
    let db = startup::open_database(config).await?;
    let checkpoints = config.audit_checkpoint_file.as_path();
    let outcome = app::backend::services::audit::verify_full(&db, Some(checkpoints)).await;
    let outcome = match outcome {
        Ok(check) if check.chain_break.is_none() => {
            let now = app::backend::Clock::now(&SystemClock);
            app::backend::services::audit::write_checkpoint(&db, checkpoints, now)
                .await
                .map(|_| check)
        }
        other => other,
    };
    db.close().await;
    let check =
        outcome.map_err(|error| format!("cannot read the audit trail: {}", error.message))?;
    match check.chain_break {
        None => {
            let mut said = format!(
                "The audit chain is intact: {} events verified",
                check.events
            );
            if check.unkeyed > 0 {
                said.push_str(&format!(
                    " ({} of them written before the trail was keyed)",
                    check.unkeyed
                ));
            }
            match check.checkpoint {
                Some(checkpoint) => said.push_str(&format!(
                    ", consistent with the signed checkpoint of event {}.",
                    checkpoint.event_id
                )),
                None => said.push_str("; there was no checkpoint to compare with."),
            }
            Ok(said)
        }
        Some(chain_break) => Err(format!("The audit chain is broken: {chain_break}.")),
    }
}
