//! Every page rendered 400 times in parallel, signed in and signed out, while other
//! applications start in the same process: each render must finish within 5 seconds.
//!
//! This is the test for the rare page that never finished. Its cause was Leptos's
//! process-wide "suppress resource loading" flag, raised while an application's route list
//! is found: a page whose data started loading at that moment waited forever. Starting
//! routers during the renders is what made it happen; the server now finds the route list
//! once per process (`http::page_routes`).

use crate::harness::{new_client, test_config, TestApp, TestBackend};
use futures::stream::{self, StreamExt};
use std::time::{Duration, Instant};

/// Renders of each page (28 pages: about 11 000 renders in all).
const RENDERS_PER_PAGE: usize = 400;
/// Renders in flight at once, per application (both backends' tests run at once).
const IN_FLIGHT: usize = 25;
/// The longest a single render may take.
const LIMIT: Duration = Duration::from_secs(5);

/// Every page the application serves, with ids of the demo's own objects.
async fn every_page(app: &TestApp) -> Vec<String> {
    let first = |table: &str| format!("select coalesce(min(id), 0) from {table}");
    let request = app.scalar(&first("access_request")).await;
    let assignment = app.scalar(&first("assignment")).await;
    let package = app.scalar(&first("access_package")).await;
    let catalog = app.scalar(&first("catalog")).await;
    let policy = app.scalar(&first("assignment_policy")).await;
    assert!(request > 0 && assignment > 0 && package > 0 && catalog > 0 && policy > 0);
    // An access review in progress that Ada (signed in below) reviews.
    let mut form =
        crate::reviews::manager_review(app, "Quarterly certification", "GitHub organisation");
    form.stages[0].reviewer_kind = "named".into();
    form.stages[0].reviewers = "ada.admin@example.com".into();
    let (review, instance) = crate::reviews::start(app, "Ada Admin", &form).await;
    [
        "/".to_string(),
        "/sign-in".into(),
        "/catalog".into(),
        format!("/catalog/{package}"),
        "/approvals".into(),
        format!("/requests/{request}"),
        format!("/access/{assignment}"),
        format!("/access/{assignment}/extend"),
        "/manage".into(),
        format!("/manage/packages/{package}"),
        format!("/manage/packages/{package}/policies/new"),
        format!("/manage/packages/{package}/policies/{policy}"),
        "/manage/catalogs".into(),
        format!("/manage/catalogs/{catalog}"),
        "/manage/conflicts".into(),
        "/manage/mail".into(),
        "/manage/connectors".into(),
        "/audit".into(),
        "/dev/mail".into(),
        "/act/not-a-token".into(),
        "/settings".into(),
        "/no-such-page".into(),
        "/reviews".into(),
        format!("/reviews/{instance}"),
        format!("/reviews/{instance}?group=package&q=hana&page=1"),
        "/manage/reviews".into(),
        "/manage/reviews/new".into(),
        format!("/manage/reviews/{review}"),
        format!("/manage/reviews/instances/{instance}"),
    ]
    .to_vec()
}

async fn every_page_renders_in_time_under_load_while_applications_start(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let pages = every_page(&app).await;

    let anonymous = new_client();
    let signed_in = new_client();
    app.sign_in_as(&signed_in, "Ada Admin").await;

    // Other applications starting in this process while the pages render (each finds its
    // route list as it builds its router).
    let config = test_config(&app.database, &[]);
    let starting = {
        let state = app.state.clone();
        tokio::spawn(async move {
            for _ in 0..200 {
                let config = config.clone();
                let state = state.clone();
                tokio::task::spawn_blocking(move || {
                    drop(gatehouse_server::http::router(&config, state))
                })
                .await
                .expect("router builds");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    let renders = pages
        .iter()
        .flat_map(|page| (0..RENDERS_PER_PAGE).map(move |index| (page.clone(), index % 2 == 0)));
    let started = Instant::now();
    let outcomes: Vec<(String, Duration, Option<String>)> = stream::iter(renders)
        .map(|(page, with_session)| {
            let client = if with_session { &signed_in } else { &anonymous };
            let app = &app;
            async move {
                let began = Instant::now();
                let outcome = tokio::time::timeout(LIMIT, async {
                    let response = client
                        .get(app.url(&page))
                        .header("accept", "text/html")
                        .send()
                        .await?;
                    let status = response.status();
                    let body = response.text().await?;
                    Ok::<_, reqwest::Error>((status, body))
                })
                .await;
                let took = began.elapsed();
                let who = if with_session {
                    "signed in"
                } else {
                    "signed out"
                };
                let failure = match outcome {
                    Err(_) => Some(format!("{page} ({who}) did not finish in {LIMIT:?}")),
                    Ok(Err(error)) => Some(format!("{page} ({who}): {error}")),
                    Ok(Ok((status, _))) if status.is_server_error() => {
                        Some(format!("{page} ({who}) answered {status} after {took:?}"))
                    }
                    // A finished page has the end of its document.
                    Ok(Ok((status, body))) if status.is_success() && !body.contains("</html>") => {
                        Some(format!("{page} ({who}) stopped mid-page"))
                    }
                    Ok(Ok(_)) => None,
                };
                (format!("{page} ({who})"), took, failure)
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let elapsed = started.elapsed();
    starting.await.expect("routers built");

    let total = outcomes.len();
    let mut times: Vec<Duration> = outcomes.iter().map(|(_, took, _)| *took).collect();
    times.sort();
    let slowest = outcomes
        .iter()
        .max_by_key(|(_, took, _)| *took)
        .map(|(page, took, _)| format!("{page} {took:?}"))
        .unwrap_or_default();
    eprintln!(
        "{total} renders of {} pages in {elapsed:?}: median {:?}, 99th percentile {:?}, slowest {slowest}",
        pages.len(),
        times[total / 2],
        times[total * 99 / 100],
    );
    // The three slowest pages by median, to see where time goes.
    let mut by_page: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    for (page, took, _) in &outcomes {
        by_page.entry(page).or_default().push(*took);
    }
    let mut medians: Vec<(Duration, Duration, &str)> = by_page
        .iter_mut()
        .map(|(page, times)| {
            times.sort();
            (times[times.len() / 2], times[times.len() - 1], *page)
        })
        .collect();
    medians.sort();
    for (median, slowest, page) in medians.iter().rev().take(3) {
        eprintln!("  {page}: median {median:?}, slowest {slowest:?}");
    }
    let failures: Vec<&String> = outcomes
        .iter()
        .filter_map(|(_, _, failure)| failure.as_ref())
        .collect();
    assert_eq!(total, pages.len() * RENDERS_PER_PAGE);
    assert!(
        failures.is_empty(),
        "{} of {total} renders failed, for example: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    app.stop().await;
}

crate::on_both_backends!(every_page_renders_in_time_under_load_while_applications_start);
