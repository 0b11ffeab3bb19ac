//! Access reviews with the controllable clock: instances start at their time (once, even
//! with two schedulers), reviewers are told and reminded once, stages end with their
//! default and carry items on, fallbacks and reassignment, decisions refused after the
//! stage, careless reviewers flagged, and results applied through the one way access ends.

use crate::harness::{TestApp, TestBackend};
use app::backend::services::reviews;
use app::backend::store;
use app::backend::workers::{ReviewScheduler, Worker};
use app::domain::review::{Decision, ReviewForm, ReviewStageForm};
use app::domain::{ErrorCode, Timestamp};
use app::model::reviews::GroupBy;

/// A quarterly review of `packages` by the holders' managers, starting in an hour.
pub fn manager_review(app: &TestApp, name: &str, packages: &str) -> ReviewForm {
    let mut form = ReviewForm::new_default(app.clock_now());
    form.name = name.into();
    form.packages = packages.into();
    form.start_at = app.clock_now().plus_minutes(60).date_time_input();
    form
}

fn stage(kind: &str, days: &str) -> ReviewStageForm {
    ReviewStageForm {
        reviewer_kind: kind.into(),
        duration_days: days.into(),
        carry: "all".into(),
        ..Default::default()
    }
}

/// Defines the review as `by` and runs the scheduler until the instance is in progress
/// at its start; returns the instance.
pub async fn start(app: &TestApp, by: &str, form: &ReviewForm) -> (i64, i64) {
    let owner = app.person(by).await;
    let review_id = reviews::save(&app.state, &owner, None, 0, form)
        .await
        .unwrap();
    let start = Timestamp::parse_date_time(&form.start_at).unwrap();
    app.clock.set(start);
    let scheduler = ReviewScheduler::new(app.state.clone());
    app.drain(&scheduler).await;
    let instance = app
        .scalar(&format!(
            "select id from review_instance where access_review_id = {review_id} and status = 'in_progress'"
        ))
        .await;
    (review_id, instance)
}

async fn items_of(app: &TestApp, instance: i64, reviewer: &str) -> Vec<(i64, String)> {
    let person = app.person(reviewer).await;
    let page = reviews::reviewer_page(&app.state, &person, instance, GroupBy::Person, "", 1)
        .await
        .unwrap();
    page.items
        .into_iter()
        .map(|item| (item.item_id, item.holder_name))
        .collect()
}

async fn assignment_status(app: &TestApp, holder: &str, package: &str) -> (String, Option<String>) {
    sqlx::query_as(
        "select a.status, a.removal_reason from assignment a join person p on p.id = a.person_id \
         join access_package k on k.id = a.access_package_id \
         where p.display_name = $1 and k.name = $2 order by a.id desc limit 1",
    )
    .bind(holder)
    .bind(package)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap()
}

async fn messages(app: &TestApp, template: &str, to: &str) -> i64 {
    app.scalar(&format!(
        "select count(*) from outbound_message m join person p on p.id = m.to_person_id \
         where m.template = '{template}' and p.display_name = '{to}'"
    ))
    .await
}

async fn a_manager_review_starts_on_time_reminds_once_and_removes_what_was_denied(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    // Chloe signed in two days ago; nobody else in the demo ever did.
    sqlx::query("update person set last_sign_in_at = $1 where display_name = 'Chloe Chen'")
        .bind(app.clock_now().plus_days(-2).millis())
        .execute(app.state.db.reader())
        .await
        .unwrap();
    let form = manager_review(&app, "GitHub certification", "GitHub organisation");
    let ada = app.person("Ada Admin").await;
    let review_id = reviews::save(&app.state, &ada, None, 0, &form)
        .await
        .unwrap();
    let scheduler = ReviewScheduler::new(app.state.clone());
    // Not before its time.
    app.clock.advance_minutes(59);
    app.drain(&scheduler).await;
    assert_eq!(app.scalar("select count(*) from review_instance").await, 0);
    let start = app.clock_now().plus_minutes(1);
    assert_eq!(
        scheduler.next_due().await.unwrap(),
        Some(start),
        "the scheduler wakes at the start, to the second"
    );
    app.clock.set(start);
    app.drain(&scheduler).await;
    let instance = app
        .scalar(&format!(
            "select id from review_instance where access_review_id = {review_id}"
        ))
        .await;
    assert_eq!(
        app.scalar(&format!(
            "select start_at from review_instance where id = {instance}"
        ))
        .await,
        start.millis()
    );
    // Alice manages Ben, Chloe and Hana; Morgan manages Alice.
    let alice_items = items_of(&app, instance, "Alice Anders").await;
    let mut holders: Vec<&str> = alice_items.iter().map(|(_, h)| h.as_str()).collect();
    holders.sort_unstable();
    assert_eq!(holders, ["Ben Brooks", "Chloe Chen", "Hana Hill"]);
    assert_eq!(items_of(&app, instance, "Morgan Reyes").await.len(), 1);
    assert_eq!(messages(&app, "review_started", "Alice Anders").await, 1);
    assert_eq!(messages(&app, "review_started", "Morgan Reyes").await, 1);
    // The next instance is due a quarter later.
    assert_eq!(
        app.scalar(&format!(
            "select next_start_at from access_review where id = {review_id}"
        ))
        .await,
        start.plus_months(3).millis()
    );

    // Each item says why it may be wrong, and how it was got.
    let alice = app.person("Alice Anders").await;
    let page = reviews::reviewer_page(&app.state, &alice, instance, GroupBy::Person, "", 1)
        .await
        .unwrap();
    let hana = page
        .items
        .iter()
        .find(|item| item.holder_name == "Hana Hill")
        .unwrap();
    assert_eq!(hana.recommendation, Some(Decision::Remove));
    assert_eq!(hana.concerns, ["Never signed in to Gatehouse"]);
    let chloe = page
        .items
        .iter()
        .find(|item| item.holder_name == "Chloe Chen")
        .unwrap();
    assert_eq!(chloe.recommendation, Some(Decision::Keep));
    assert!(chloe.concerns.is_empty());
    assert!(
        chloe
            .facts
            .iter()
            .any(|fact| fact.contains("4 of 11 people in Engineering hold this")),
        "{:?}",
        chloe.facts
    );
    assert!(
        chloe
            .facts
            .iter()
            .any(|fact| fact.starts_with("Assigned directly")),
        "{:?}",
        chloe.facts
    );
    assert_eq!(
        (page.my_items, page.my_decided, page.my_recommended_open),
        (3, 0, 3)
    );
    let names: Vec<String> = page
        .items
        .iter()
        .map(|item| item.holder_name.to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "grouped by person, in name order");
    let searched = reviews::reviewer_page(&app.state, &alice, instance, GroupBy::Person, "hana", 1)
        .await
        .unwrap();
    assert_eq!((searched.matching, searched.items.len()), (1, 1));
    // By the access's name (any case), past the last page, and matching nothing.
    let access = page.items[0].access_name.to_uppercase();
    let by_access =
        reviews::reviewer_page(&app.state, &alice, instance, GroupBy::Package, &access, 1)
            .await
            .unwrap();
    let of_access = page
        .items
        .iter()
        .filter(|item| item.access_name.to_uppercase() == access)
        .count();
    assert_eq!(
        (by_access.matching, by_access.items.len()),
        (i64::try_from(of_access).unwrap(), of_access)
    );
    let past = reviews::reviewer_page(&app.state, &alice, instance, GroupBy::Person, "hana", 2)
        .await
        .unwrap();
    assert_eq!((past.matching, past.items.len()), (1, 0));
    let nothing = reviews::reviewer_page(
        &app.state,
        &alice,
        instance,
        GroupBy::Person,
        "no such name",
        1,
    )
    .await
    .unwrap();
    assert_eq!((nothing.matching, nothing.items.len()), (0, 0));
    // A removal needs a reason; refused, nothing is recorded.
    let ben_item = alice_items
        .iter()
        .find(|(_, h)| h == "Ben Brooks")
        .unwrap()
        .0;
    let refused = reviews::decide(
        &app.state,
        &alice,
        instance,
        &[ben_item],
        Decision::Remove,
        " ",
        "",
    )
    .await
    .unwrap_err();
    assert!(refused.field_message("reason").is_some(), "{refused:?}");
    assert_eq!(
        app.scalar("select count(decision) from review_item").await,
        0
    );
    // Her email link is hers alone, and used up with her first decision through it.
    let mut tx = app.state.db.begin_write().await.unwrap();
    let link = app::backend::store::action_token::mint(
        &mut tx,
        app.clock_now(),
        &app::backend::mail::review_link(instance, 1, alice.id, start.plus_days(14)),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let opened = app::backend::services::links::open(
        &app.state,
        &link,
        Some(&app.person("Morgan Reyes").await),
    )
    .await
    .unwrap();
    assert!(
        matches!(
            opened,
            app::model::links::LinkView::Problem(app::model::links::LinkProblem::SomeoneElse)
        ),
        "{opened:?}"
    );
    let opened = app::backend::services::links::open(&app.state, &link, Some(&alice))
        .await
        .unwrap();
    let app::model::links::LinkView::Review(view) = opened else {
        panic!("{opened:?}")
    };
    assert_eq!(
        (view.instance_id, view.items, view.open_items),
        (instance, 3, 3)
    );
    reviews::decide(
        &app.state,
        &alice,
        instance,
        &[ben_item],
        Decision::Remove,
        "Moved to the data team",
        &link,
    )
    .await
    .unwrap();
    assert_eq!(
        app.scalar(
            "select count(*) from action_token where purpose = 'review' and used_at is not null"
        )
        .await,
        1
    );
    // Morgan cannot decide Alice's items.
    let morgan = app.person("Morgan Reyes").await;
    let foreign = reviews::decide(
        &app.state,
        &morgan,
        instance,
        &[ben_item],
        Decision::Keep,
        "",
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(foreign.code, ErrorCode::NotFound);
    let accepted = reviews::accept_recommendations(&app.state, &alice, instance)
        .await
        .unwrap();
    assert_eq!(accepted.decided, 2);
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_item where id = {ben_item} and decision = 'remove'"
        ))
        .await,
        1,
        "accepting the recommendations leaves decided items alone"
    );
    // Her progress counts what she decided, one at a time and all at once.
    let after = reviews::reviewer_page(&app.state, &alice, instance, GroupBy::Person, "", 1)
        .await
        .unwrap();
    assert_eq!(
        (after.my_items, after.my_decided, after.my_recommended_open),
        (3, 3, 0)
    );

    // Reminders 7 and 1 days before the end, once each, only to those with items left.
    app.clock.set(start.plus_days(7));
    app.drain(&scheduler).await;
    app.drain(&scheduler).await;
    assert_eq!(messages(&app, "review_reminder", "Morgan Reyes").await, 1);
    assert_eq!(messages(&app, "review_reminder", "Alice Anders").await, 0);
    app.clock.set(start.plus_days(13));
    app.drain(&scheduler).await;
    assert_eq!(messages(&app, "review_reminder", "Morgan Reyes").await, 2);

    // The end: nobody answered for Alice's own access (no change); Ben's is removed.
    app.clock.set(start.plus_days(14));
    app.drain(&scheduler).await;
    assert_eq!(
        assignment_status(&app, "Ben Brooks", "GitHub organisation").await,
        ("removed".to_string(), Some("denied_in_review".to_string()))
    );
    assert_eq!(
        assignment_status(&app, "Alice Anders", "GitHub organisation")
            .await
            .0,
        "active"
    );
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_instance where id = {instance} and status = 'applied'"
        ))
        .await,
        1
    );
    assert_eq!(messages(&app, "review_ended", "Alice Anders").await, 1);
    assert_eq!(messages(&app, "access_removed", "Ben Brooks").await, 1);
    // A decision after the end is refused with the reason, and changes nothing.
    let late = reviews::decide(
        &app.state,
        &alice,
        instance,
        &[ben_item],
        Decision::Keep,
        "",
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(late.code, ErrorCode::Conflict);
    assert!(late.message.contains("ended"), "{}", late.message);
    for action in [
        "access_review.created",
        "review_instance.created",
        "review_instance.started",
        "review_item.decided",
        "review_instance.ended",
        "review_instance.applied",
    ] {
        assert!(
            app.scalar(&format!(
                "select count(*) from audit_event where action = '{action}'"
            ))
            .await
                >= 1,
            "{action} audited"
        );
    }
    // The report and the export list every item with its decision.
    let report = reviews::report(&app.state, &ada, instance).await.unwrap();
    assert_eq!((report.kept, report.removed, report.undecided), (1, 2, 1));
    assert_eq!((report.applied, report.verified), (2, 2));
    let csv = reviews::export_csv(&app.state, &ada, instance)
        .await
        .unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.contains("\"Ben Brooks\"")
            && csv.contains("remove")
            && csv.contains("Moved to the data team")
    );
    app.stop().await;
}

async fn stages_carry_on_what_the_definition_says_and_unanswered_items_take_the_default(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let mut form = manager_review(&app, "Two-stage GitHub review", "GitHub organisation");
    form.stages[0] = stage("manager", "3");
    form.stages[1] = ReviewStageForm {
        reviewer_kind: "named".into(),
        reviewers: "ada.admin@example.com".into(),
        duration_days: "4".into(),
        carry: "kept".into(),
        ..Default::default()
    };
    form.duration_days = "7".into();
    form.reminder_days = "1".into();
    form.default_decision = "remove".into();
    form.apply_mode = "confirm".into();
    form.reason_on_remove = None;
    let (_, instance) = start(&app, "Ada Admin", &form).await;
    let scheduler = ReviewScheduler::new(app.state.clone());
    let alice = app.person("Alice Anders").await;
    let items = items_of(&app, instance, "Alice Anders").await;
    let chloe = items.iter().find(|(_, h)| h == "Chloe Chen").unwrap().0;
    let ben = items.iter().find(|(_, h)| h == "Ben Brooks").unwrap().0;
    reviews::decide(
        &app.state,
        &alice,
        instance,
        &[chloe],
        Decision::Keep,
        "On call rota",
        "",
    )
    .await
    .unwrap();
    reviews::decide(
        &app.state,
        &alice,
        instance,
        &[ben],
        Decision::Remove,
        "",
        "",
    )
    .await
    .unwrap();
    // Stage 1 ends: Hana's and Alice's items (unanswered) are removed by default; only
    // Chloe's (kept) goes on to Ada.
    app.clock.advance_days(3);
    app.drain(&scheduler).await;
    assert_eq!(
        app.scalar(&format!("select count(*) from review_item where review_instance_id = {instance} and stage = 1 and decision = 'remove' and decided_by_id is null")).await,
        2
    );
    let ada = app.person("Ada Admin").await;
    let page = reviews::reviewer_page(&app.state, &ada, instance, GroupBy::Package, "", 1)
        .await
        .unwrap();
    assert_eq!(page.stage, 2);
    assert_eq!(page.items.len(), 1);
    let item = &page.items[0];
    assert_eq!(item.holder_name, "Chloe Chen");
    assert_eq!(item.earlier.len(), 1);
    assert_eq!(item.earlier[0].decision, Some(Decision::Keep));
    assert_eq!(item.earlier[0].reason, "On call rota");
    assert_eq!(messages(&app, "review_started", "Ada Admin").await, 1);
    // Alice's decisions are closed now.
    let closed = reviews::decide(&app.state, &alice, instance, &[ben], Decision::Keep, "", "")
        .await
        .unwrap_err();
    assert_eq!(closed.code, ErrorCode::Conflict);
    reviews::decide(
        &app.state,
        &ada,
        instance,
        &[item.item_id],
        Decision::Remove,
        "Not needed after all",
        "",
    )
    .await
    .unwrap();
    app.clock.advance_days(4);
    app.drain(&scheduler).await;
    // Ended; applied only when an administrator confirms.
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_instance where id = {instance} and status = 'ended'"
        ))
        .await,
        1
    );
    assert_eq!(
        assignment_status(&app, "Chloe Chen", "GitHub organisation")
            .await
            .0,
        "active"
    );
    let otto = app.person("Otto Auditor").await;
    let refused = reviews::apply_confirmed(&app.state, &otto, instance)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    reviews::apply_confirmed(&app.state, &ada, instance)
        .await
        .unwrap();
    app.drain(&scheduler).await;
    for holder in ["Chloe Chen", "Ben Brooks", "Hana Hill", "Alice Anders"] {
        assert_eq!(
            assignment_status(&app, holder, "GitHub organisation")
                .await
                .1
                .as_deref(),
            Some("denied_in_review"),
            "{holder}"
        );
    }
    app.stop().await;
}

async fn fallbacks_review_what_nobody_else_may_and_nobody_reviews_their_own_access(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    // Salesforce is held by Sam (its owner), Sofia and Tom.
    let mut form = manager_review(&app, "Salesforce owners' review", "Salesforce");
    form.stages[0] = ReviewStageForm {
        fallbacks: "fiona.fischer@example.com".into(),
        ..stage("package_owners", "14")
    };
    let (_, instance) = start(&app, "Ada Admin", &form).await;
    let mut sams: Vec<String> = items_of(&app, instance, "Sam Sutton")
        .await
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    sams.sort();
    assert_eq!(sams, ["Sofia Silva", "Tom Turner"]);
    let fionas: Vec<String> = items_of(&app, instance, "Fiona Fischer")
        .await
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    assert_eq!(
        fionas,
        ["Sam Sutton"],
        "the owner's own access goes to the fallback"
    );

    // A manager who left: their reports' items go to the fallback.
    let mut form = manager_review(&app, "GitHub with fallback", "GitHub organisation");
    form.stages[0].fallbacks = "ada.admin@example.com".into();
    sqlx::query("update person set status = 'left' where display_name = 'Morgan Reyes'")
        .execute(app.state.db.reader())
        .await
        .unwrap();
    // Fiona owns no Engineering catalog: refused next to the packages, nothing saved.
    let fiona = app.person("Fiona Fischer").await;
    let refused = reviews::save(&app.state, &fiona, None, 0, &form)
        .await
        .unwrap_err();
    assert!(refused.field_message("packages").is_some(), "{refused:?}");
    assert_eq!(app.scalar("select count(*) from access_review").await, 1);
    let (_, instance) = start(&app, "Alice Anders", &form).await;
    let adas: Vec<String> = items_of(&app, instance, "Ada Admin")
        .await
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    assert_eq!(
        adas,
        ["Alice Anders"],
        "Morgan left: Alice's item goes to the fallback"
    );
    app.stop().await;
}

async fn a_reviewer_hands_an_item_on_with_a_reason(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let form = manager_review(&app, "GitHub certification", "GitHub organisation");
    let (_, instance) = start(&app, "Ada Admin", &form).await;
    let alice = app.person("Alice Anders").await;
    let ben = items_of(&app, instance, "Alice Anders")
        .await
        .into_iter()
        .find(|(_, h)| h == "Ben Brooks")
        .unwrap()
        .0;
    let no_reason = reviews::reassign(
        &app.state,
        &alice,
        instance,
        ben,
        "fiona.fischer@example.com",
        "",
    )
    .await
    .unwrap_err();
    assert!(no_reason.field_message("reason").is_some());
    let to_holder = reviews::reassign(
        &app.state,
        &alice,
        instance,
        ben,
        "ben.brooks@example.com",
        "He knows best",
    )
    .await
    .unwrap_err();
    assert!(to_holder
        .field_message("to")
        .unwrap()
        .contains("own access"));
    let nobody = reviews::reassign(&app.state, &alice, instance, ben, "nobody@example.com", "x")
        .await
        .unwrap_err();
    assert!(nobody.field_message("to").is_some());
    let morgan = app.person("Morgan Reyes").await;
    let not_his = reviews::reassign(
        &app.state,
        &morgan,
        instance,
        ben,
        "fiona.fischer@example.com",
        "x",
    )
    .await
    .unwrap_err();
    assert_eq!(not_his.code, ErrorCode::NotFound);
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'review_item.reassigned'")
            .await,
        0
    );
    reviews::reassign(
        &app.state,
        &alice,
        instance,
        ben,
        "fiona.fischer@example.com",
        "Ben works on the finance tools now",
    )
    .await
    .unwrap();
    assert!(!items_of(&app, instance, "Alice Anders")
        .await
        .iter()
        .any(|(id, _)| *id == ben));
    assert_eq!(
        items_of(&app, instance, "Fiona Fischer").await,
        [(ben, "Ben Brooks".to_string())]
    );
    assert_eq!(messages(&app, "review_started", "Fiona Fischer").await, 1);
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'review_item.reassigned'")
            .await,
        1
    );
    let fiona = app.person("Fiona Fischer").await;
    let before = reviews::reviewer_page(&app.state, &fiona, instance, GroupBy::Package, "", 1)
        .await
        .unwrap();
    assert_eq!((before.my_items, before.my_decided), (1, 0));
    reviews::decide(&app.state, &fiona, instance, &[ben], Decision::Keep, "", "")
        .await
        .unwrap();
    let after = reviews::reviewer_page(&app.state, &fiona, instance, GroupBy::Package, "ben", 1)
        .await
        .unwrap();
    assert_eq!(
        (
            after.my_items,
            after.my_decided,
            after.matching,
            after.items.len()
        ),
        (1, 1, 1, 1)
    );
    assert_eq!(after.items[0].holder_name, "Ben Brooks");
    app.stop().await;
}

/// Several Gatehouses share a PostgreSQL database: a second one on the test's database
/// (its workers not running; the test drives them). On SQLite (one process) none: a second
/// scheduler in the same process races the first.
async fn second_gatehouse(
    app: &TestApp,
    backend: &TestBackend,
) -> Option<gatehouse_server::Running> {
    match backend {
        TestBackend::Postgres { .. } => {
            let config = crate::harness::test_config(&app.database, &[]);
            Some(
                gatehouse_server::start(&config, std::sync::Arc::new(app.clock.clone()), false)
                    .await
                    .unwrap(),
            )
        }
        TestBackend::Sqlite => None,
    }
}

async fn a_recurring_review_creates_each_instance_once_with_two_gatehouses(backend: TestBackend) {
    let app = TestApp::spawn(backend.clone()).await;
    app.seed_demo().await;
    let second = second_gatehouse(&app, &backend).await;
    let mut form = manager_review(&app, "Monthly GitHub review", "GitHub organisation");
    form.recurrence = "monthly".into();
    form.duration_days = "7".into();
    form.stages[0].duration_days = "7".into();
    form.reminder_days = "".into();
    let ada = app.person("Ada Admin").await;
    let review_id = reviews::save(&app.state, &ada, None, 0, &form)
        .await
        .unwrap();
    let start = Timestamp::parse_date_time(&form.start_at).unwrap();
    let one = ReviewScheduler::new(app.state.clone());
    let two = ReviewScheduler::new(
        second
            .as_ref()
            .map_or_else(|| app.state.clone(), |second| second.state.clone()),
    );
    for at in [
        start,
        start.plus_days(7),
        start.plus_months(1),
        start.plus_months(1).plus_days(7),
        start.plus_months(2),
    ] {
        app.clock.set(at);
        for _ in 0..5 {
            let (a, b) = tokio::join!(one.step(at), two.step(at));
            a.unwrap();
            b.unwrap();
        }
    }
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_instance where access_review_id = {review_id}"
        ))
        .await,
        3
    );
    assert_eq!(
        app.scalar(&format!("select count(*) from review_instance where access_review_id = {review_id} and status = 'applied'")).await,
        2
    );
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'review_instance.created'")
            .await,
        3
    );
    // Each instance has each assignment once, and each reviewer was told once per instance.
    assert_eq!(
        app.scalar("select count(*) from (select review_instance_id, assignment_id from review_item group by review_instance_id, assignment_id having count(*) > 1) d").await,
        0
    );
    assert_eq!(messages(&app, "review_started", "Alice Anders").await, 3);
    app.stop().await;
}

/// Cuts the snapshot of the instance of `review_id` into batches of `size` assignment ids.
async fn small_batches(app: &TestApp, review_id: i64, size: i64) -> i64 {
    let instance = app
        .scalar(&format!(
            "select id from review_instance where access_review_id = {review_id} and status = 'starting'"
        ))
        .await;
    let until = app
        .scalar(&format!(
            "select snapshot_until_id from review_instance where id = {instance}"
        ))
        .await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    sqlx::query("delete from review_snapshot_batch where review_instance_id = $1")
        .bind(instance)
        .execute(&mut *tx)
        .await
        .unwrap();
    let mut after = 0;
    while after < until {
        sqlx::query("insert into review_snapshot_batch (review_instance_id, after_id, upto_id) values ($1, $2, $3)")
            .bind(instance)
            .bind(after)
            .bind((after + size).min(until))
            .execute(&mut *tx)
            .await
            .unwrap();
        after += size;
    }
    tx.commit().await.unwrap();
    instance
}

async fn a_snapshot_is_filled_once_by_two_gatehouses_and_resumes_after_a_crash(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend.clone()).await;
    app.seed_demo().await;
    more_items_for_alice(&app).await;
    let second = second_gatehouse(&app, &backend).await;
    let mut form = manager_review(&app, "Everything, by managers", "");
    form.scope_kind = "all".into();
    let ada = app.person("Ada Admin").await;
    let review_id = reviews::save(&app.state, &ada, None, 0, &form)
        .await
        .unwrap();
    let start = Timestamp::parse_date_time(&form.start_at).unwrap();
    app.clock.set(start);
    assert_eq!(reviews::start_due(&app.state, start).await.unwrap(), 1);
    let instance = small_batches(&app, review_id, 3).await;
    let batches = app
        .scalar(&format!(
            "select count(*) from review_snapshot_batch where review_instance_id = {instance}"
        ))
        .await;
    assert!(
        batches >= 5,
        "the demo's assignments make several batches of 3 ({batches})"
    );

    // A Gatehouse fills the first batch and dies before committing: nothing of it stays.
    {
        let mut tx = app.state.db.begin_write().await.unwrap();
        let (after, upto) = store::review_instance::claim_batch(&mut tx, instance)
            .await
            .unwrap()
            .expect("a batch to fill");
        assert_eq!(after, 0);
        let row = store::review_instance::find(&mut tx, instance)
            .await
            .unwrap()
            .unwrap();
        let review = store::review::find(&mut tx, review_id)
            .await
            .unwrap()
            .unwrap();
        store::review_instance::snapshot_batch(
            &mut tx, start, &row, &review, "manager", after, upto,
        )
        .await
        .unwrap();
        // What a crash does to an open transaction.
        tx.rollback().await.unwrap();
    }
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_item where review_instance_id = {instance}"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar(&format!("select count(*) from review_snapshot_batch where review_instance_id = {instance} and not done")).await,
        batches
    );

    // On PostgreSQL, a Gatehouse that holds a batch keeps it: the others fill the rest and
    // leave the instance starting until that batch is done.
    let two = second
        .as_ref()
        .map_or_else(|| app.state.clone(), |second| second.state.clone());
    if second.is_some() {
        let mut held = app.state.db.begin_write().await.unwrap();
        let (after, _) = store::review_instance::claim_batch(&mut held, instance)
            .await
            .unwrap()
            .expect("a batch to hold");
        assert_eq!(after, 0);
        reviews::snapshot_starting(&two, start).await.unwrap();
        assert_eq!(
            app.scalar(&format!("select count(*) from review_snapshot_batch where review_instance_id = {instance} and not done")).await,
            1,
            "every batch but the held one is done"
        );
        assert_eq!(
            app.scalar(&format!("select count(*) from review_instance where id = {instance} and status = 'starting'")).await,
            1,
            "the instance waits for the held batch"
        );
        held.rollback().await.unwrap();
    }

    // Two Gatehouses finish it at once: every assignment once, peers counted once, one start.
    let (a, b) = tokio::join!(
        reviews::snapshot_starting(&app.state, start),
        reviews::snapshot_starting(&two, start)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_instance where id = {instance} and status = 'in_progress'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.scalar(&format!("select count(*) from review_item where review_instance_id = {instance}")).await,
        app.scalar(&format!("select count(*) from assignment where status = 'active' and id <= (select snapshot_until_id from review_instance where id = {instance})")).await,
    );
    assert_eq!(
        app.scalar(&format!("select count(*) from (select assignment_id from review_item where review_instance_id = {instance} group by assignment_id having count(*) > 1) d")).await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_peer p where p.review_instance_id = {instance} and p.holders <> \
             (select count(*) from assignment a join person h on h.id = a.person_id \
              where a.access_package_id = p.access_package_id and h.department = p.department \
              and a.status = 'active' and h.status = 'active')"
        )).await,
        0,
        "peers are each package's active holders per department, counted once"
    );
    assert!(
        app.scalar(&format!(
            "select count(*) from review_peer where review_instance_id = {instance}"
        ))
        .await
            > 0
    );
    assert_eq!(
        app.scalar(&format!("select count(*) from audit_event where action = 'review_instance.started' and object_id = '{instance}'")).await,
        1
    );
    // Each manager's items name them, and nobody is left without a reviewer.
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_item i where i.review_instance_id = {instance} and i.reviewer_id is null \
             and not exists (select 1 from review_item_reviewer r where r.review_item_id = i.id)"
        )).await,
        0
    );
    assert_eq!(messages(&app, "review_started", "Alice Anders").await, 1);
    if let Some(second) = second {
        second.stop().await;
    }
    app.stop().await;
}

/// Gives Alice's reports `n` more assignments of the demo packages, active for a year.
async fn more_items_for_alice(app: &TestApp) -> usize {
    let now = app.clock_now();
    let packages: Vec<i64> = sqlx::query_scalar("select id from access_package where catalog_id = (select id from catalog where name = 'Engineering') order by id")
        .fetch_all(app.state.db.reader())
        .await
        .unwrap();
    let reports: Vec<i64> = sqlx::query_scalar("select p.id from person p join person m on m.id = p.manager_id where m.display_name = 'Alice Anders' order by p.id")
        .fetch_all(app.state.db.reader())
        .await
        .unwrap();
    let mut tx = app.state.db.begin_write().await.unwrap();
    let mut made = 0;
    for person in &reports {
        for package in &packages {
            let exists: i64 = sqlx::query_scalar("select count(*) from assignment where person_id = $1 and access_package_id = $2 and status = 'active'")
                .bind(person)
                .bind(package)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            if exists == 0 {
                sqlx::query("insert into assignment (person_id, access_package_id, status, start_at, end_at, created_at, updated_at) values ($1, $2, 'active', $3, $4, $3, $3)")
                    .bind(person)
                    .bind(package)
                    .bind(now.plus_days(-5).millis())
                    .bind(now.plus_days(365).millis())
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                made += 1;
            }
        }
    }
    tx.commit().await.unwrap();
    made
}

async fn a_reviewer_who_decides_too_quickly_is_flagged_and_their_items_looked_at_again(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    more_items_for_alice(&app).await;
    let mut form = manager_review(&app, "Engineering certification", "");
    form.scope_kind = "catalog".into();
    form.catalog = "Engineering".into();
    form.quality_extra_stage = Some("on".into());
    form.default_decision = "keep".into();
    let (_, instance) = start(&app, "Ada Admin", &form).await;
    let alice = app.person("Alice Anders").await;
    let mine = reviews::reviewer_page(&app.state, &alice, instance, GroupBy::Person, "", 1)
        .await
        .unwrap();
    assert!(mine.my_items >= 10, "{} items", mine.my_items);
    // Alice accepts every recommendation in one click; Morgan decides one item slowly.
    let accepted = reviews::accept_recommendations(&app.state, &alice, instance)
        .await
        .unwrap();
    assert_eq!(accepted.decided, mine.my_items);
    let morgan = app.person("Morgan Reyes").await;
    let morgans = items_of(&app, instance, "Morgan Reyes").await;
    reviews::decide(
        &app.state,
        &morgan,
        instance,
        &[morgans[0].0],
        Decision::Keep,
        "",
        "",
    )
    .await
    .unwrap();
    let ada = app.person("Ada Admin").await;
    let report = reviews::report(&app.state, &ada, instance).await.unwrap();
    let alices = report
        .reviewers
        .iter()
        .find(|row| row.reviewer_name == "Alice Anders")
        .unwrap();
    assert!(
        alices
            .flags
            .iter()
            .any(|flag| flag.contains("seconds each")),
        "{:?}",
        alices.flags
    );
    let morgans_row = report
        .reviewers
        .iter()
        .find(|row| row.reviewer_name == "Morgan Reyes")
        .unwrap();
    assert!(morgans_row.flags.is_empty());
    // At the end of the (only) stage, Alice's items go to an extra stage for the owner.
    app.clock.advance_days(14);
    let scheduler = ReviewScheduler::new(app.state.clone());
    app.drain(&scheduler).await;
    assert_eq!(
        app.scalar(&format!(
            "select stage from review_instance where id = {instance}"
        ))
        .await,
        2
    );
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from review_item where review_instance_id = {instance} and stage = 2"
        ))
        .await,
        mine.my_items
    );
    assert_eq!(
        app.scalar(
            "select count(*) from audit_event where action = 'review_instance.reviewer_flagged'"
        )
        .await,
        1
    );
    // The owner, Ada, reviews them, except her own access: nobody reviews their own.
    let extra = reviews::reviewer_page(&app.state, &ada, instance, GroupBy::Person, "", 1)
        .await
        .unwrap();
    assert_eq!(extra.stage, 2);
    let adas_own = app
        .scalar(&format!("select count(*) from review_item i join person p on p.id = i.person_id where i.review_instance_id = {instance} and i.stage = 2 and p.display_name = 'Ada Admin'"))
        .await;
    assert!(adas_own > 0);
    assert_eq!(extra.my_items, mine.my_items - adas_own);
    assert_eq!(
        app.scalar("select count(*) from review_item_reviewer r join review_item i on i.id = r.review_item_id where r.person_id = i.person_id").await,
        0
    );
    assert_eq!(
        app.scalar("select count(*) from review_item where reviewer_id = person_id")
            .await,
        0
    );
    app.stop().await;
}

async fn reviewers_see_and_decide_only_their_own_items_and_auditors_change_nothing(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let form = manager_review(&app, "GitHub certification", "GitHub organisation");
    let (review_id, instance) = start(&app, "Ada Admin", &form).await;
    let before = app.scalar("select count(*) from audit_event").await;
    let otto = app.person("Otto Auditor").await;
    // Auditors read definitions and reports...
    reviews::definition(&app.state, &otto, review_id)
        .await
        .unwrap();
    reviews::report(&app.state, &otto, instance).await.unwrap();
    reviews::export_csv(&app.state, &otto, instance)
        .await
        .unwrap();
    // ...and change nothing, nor see a reviewer's list.
    let refused = reviews::save(&app.state, &otto, Some(review_id), 1, &form)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Forbidden);
    assert_eq!(
        reviews::start_now(&app.state, &otto, review_id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        reviews::reviewer_page(&app.state, &otto, instance, GroupBy::Person, "", 1)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(
        reviews::accept_recommendations(&app.state, &otto, instance)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    // An employee sees nothing of it.
    let dev = app.person("Dev Patel").await;
    assert_eq!(
        reviews::definition(&app.state, &dev, review_id)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(
        reviews::report(&app.state, &dev, instance)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(
        reviews::export_csv(&app.state, &dev, instance)
            .await
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert!(reviews::list(&app.state, &dev, 1)
        .await
        .unwrap()
        .reviews
        .is_empty());
    // Morgan reviews only Alice's item; the page lists only his.
    let morgan = app.person("Morgan Reyes").await;
    let page = reviews::reviewer_page(&app.state, &morgan, instance, GroupBy::Person, "", 1)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].holder_name, "Alice Anders");
    assert_eq!(
        app.scalar("select count(*) from audit_event").await,
        before,
        "nothing changed"
    );
    assert_eq!(
        app.scalar("select count(decision) from review_item").await,
        0
    );
    // The CSV over HTTP: the auditor gets it, an employee gets "not found".
    let client = crate::harness::new_client();
    app.sign_in_as(&client, "Otto Auditor").await;
    let response = client
        .get(app.url(&format!("/manage/reviews/instances/{instance}/items.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(response.text().await.unwrap().contains("Hana Hill"));
    let client = crate::harness::new_client();
    app.sign_in_as(&client, "Dev Patel").await;
    let response = client
        .get(app.url(&format!("/manage/reviews/instances/{instance}/items.csv")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    app.stop().await;
}

async fn downstream_members_no_grant_explains_are_reviewed_kept_as_grants_or_removed(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let now = app.clock_now();
    // A SCIM group of the GitHub package, where reconciliation found Dev and Eli as
    // members without any grant.
    let mut tx = app.state.db.begin_write().await.unwrap();
    let catalog_id: i64 = sqlx::query_scalar("select id from catalog where name = 'Engineering'")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let scim = app::backend::store::connector::insert(&mut tx, now, "Okta SCIM", "scim")
        .await
        .unwrap();
    let group = app::backend::store::resource::insert(
        &mut tx,
        now,
        &app::backend::store::resource::NewResource {
            catalog_id,
            connector_id: scim,
            name: "github-org-members",
            kind: "group",
            external_id: Some("grp-github"),
            description: "",
        },
    )
    .await
    .unwrap();
    let github: i64 =
        sqlx::query_scalar("select id from access_package where name = 'GitHub organisation'")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    app::backend::store::package::add_resource(&mut tx, now, github, group)
        .await
        .unwrap();
    for (who, account) in [("Dev Patel", "acct-dev"), ("Eli Evans", "acct-eli")] {
        sqlx::query(
            "insert into drift (connector_id, resource_id, account_id, person_id, kind, found_at, seen_at) \
             values ($1, $2, $3, (select id from person where display_name = $4), 'unexpected_member', $5, $5)",
        )
        .bind(scim)
        .bind(group)
        .bind(account)
        .bind(who)
        .bind(now.millis())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let mut form = manager_review(
        &app,
        "GitHub with what is really there",
        "GitHub organisation",
    );
    form.include_drift = Some("on".into());
    let (_, instance) = start(&app, "Ada Admin", &form).await;
    let alice = app.person("Alice Anders").await;
    let page = reviews::reviewer_page(&app.state, &alice, instance, GroupBy::Person, "", 1)
        .await
        .unwrap();
    let unexplained: Vec<_> = page.items.iter().filter(|item| item.unexplained).collect();
    assert_eq!(unexplained.len(), 2, "{:?}", page.items);
    for item in &unexplained {
        assert_eq!(item.access_name, "github-org-members");
        assert_eq!(item.recommendation, Some(Decision::Remove));
        assert_eq!(
            item.concerns,
            ["Found downstream without any grant in Gatehouse"]
        );
    }
    let dev = unexplained
        .iter()
        .find(|item| item.holder_name == "Dev Patel")
        .unwrap()
        .item_id;
    let eli = unexplained
        .iter()
        .find(|item| item.holder_name == "Eli Evans")
        .unwrap()
        .item_id;
    reviews::decide(&app.state, &alice, instance, &[dev], Decision::Keep, "", "")
        .await
        .unwrap();
    reviews::decide(
        &app.state,
        &alice,
        instance,
        &[eli],
        Decision::Remove,
        "Not on the team",
        "",
    )
    .await
    .unwrap();
    app.clock.set(app.clock_now().plus_days(14));
    let scheduler = ReviewScheduler::new(app.state.clone());
    app.drain(&scheduler).await;
    // Dev's membership is now a grant with an end; Eli's is queued for removal downstream,
    // without an assignment, and Eli is told why.
    let dev_end = app
        .scalar("select a.end_at from assignment a join person p on p.id = a.person_id join access_package k on k.id = a.access_package_id where p.display_name = 'Dev Patel' and k.name = 'GitHub organisation' and a.status = 'active'")
        .await;
    assert_eq!(dev_end, app.clock_now().plus_days(90).millis());
    assert_eq!(
        app.scalar(&format!("select count(*) from provisioning_job j join person p on p.id = j.person_id where p.display_name = 'Eli Evans' and j.operation = 'remove_member' and j.assignment_id is null and j.resource_id = {group}")).await,
        1
    );
    assert_eq!(messages(&app, "access_removed", "Eli Evans").await, 1);
    let results: Vec<(String,)> = sqlx::query_as(&format!("select applied_result from review_item where review_instance_id = {instance} and drift_id is not null order by applied_result"))
        .fetch_all(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(
        results,
        [("granted".to_string(),), ("removal_queued".to_string(),)]
    );
    app.stop().await;
}

async fn access_that_no_longer_fits_its_policy_is_recommended_for_removal_and_kept_access_is_extended(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    // Grace moved to Sales; Finance reports are for Finance. Both she and Kira signed in
    // yesterday.
    sqlx::query("update person set department = 'Sales' where display_name = 'Grace Green'")
        .execute(app.state.db.reader())
        .await
        .unwrap();
    sqlx::query(
        "update person set last_sign_in_at = $1 where display_name in ('Grace Green', 'Kira Kim')",
    )
    .bind(app.clock_now().plus_days(-1).millis())
    .execute(app.state.db.reader())
    .await
    .unwrap();
    let mut form = manager_review(&app, "Finance reports review", "Finance reports");
    form.extend_kept = Some("on".into());
    let (_, instance) = start(&app, "Fiona Fischer", &form).await;
    let fiona = app.person("Fiona Fischer").await;
    let page = reviews::reviewer_page(&app.state, &fiona, instance, GroupBy::Person, "", 1)
        .await
        .unwrap();
    let grace = page
        .items
        .iter()
        .find(|item| item.holder_name == "Grace Green")
        .unwrap();
    assert_eq!(grace.recommendation, Some(Decision::Remove));
    assert_eq!(
        grace.concerns,
        ["No longer matches the rule of the policy it was granted under"]
    );
    let kira = page
        .items
        .iter()
        .find(|item| item.holder_name == "Kira Kim")
        .unwrap();
    assert_eq!(kira.recommendation, Some(Decision::Keep));
    assert!(kira.concerns.is_empty());
    reviews::accept_recommendations(&app.state, &fiona, instance)
        .await
        .unwrap();
    app.clock.set(app.clock_now().plus_days(14));
    app.drain(&ReviewScheduler::new(app.state.clone())).await;
    assert_eq!(
        assignment_status(&app, "Grace Green", "Finance reports").await,
        ("removed".to_string(), Some("denied_in_review".to_string()))
    );
    // Kept: its end moved out by the policy's 90 days.
    assert_eq!(
        app.scalar("select a.end_at from assignment a join person p on p.id = a.person_id join access_package k on k.id = a.access_package_id where p.display_name = 'Kira Kim' and k.name = 'Finance reports'").await,
        app.clock_now().plus_days(90).millis()
    );
    app.stop().await;
}

crate::on_both_backends!(
    a_manager_review_starts_on_time_reminds_once_and_removes_what_was_denied,
    stages_carry_on_what_the_definition_says_and_unanswered_items_take_the_default,
    fallbacks_review_what_nobody_else_may_and_nobody_reviews_their_own_access,
    a_reviewer_hands_an_item_on_with_a_reason,
    a_recurring_review_creates_each_instance_once_with_two_gatehouses,
    a_snapshot_is_filled_once_by_two_gatehouses_and_resumes_after_a_crash,
    a_reviewer_who_decides_too_quickly_is_flagged_and_their_items_looked_at_again,
    reviewers_see_and_decide_only_their_own_items_and_auditors_change_nothing,
    downstream_members_no_grant_explains_are_reviewed_kept_as_grants_or_removed,
    access_that_no_longer_fits_its_policy_is_recommended_for_removal_and_kept_access_is_extended,
);
