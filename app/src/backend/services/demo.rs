//! The demo organisation `make run` loads into an empty database: about thirty people in
//! three departments with a manager chain, two catalogs, six access packages with different
//! policies, pending requests waiting for approvers and active assignments. Everything is
//! written the way the product writes it: one transaction, an audit event per change and
//! an outbox message per approver.

use crate::backend::store::{
    self, assignment::NewAssignment, audit, catalog, person::NewPerson, request::NewRequest,
};
use crate::backend::AppState;
use crate::domain::status::{AssignmentStatus, RequestStatus};
use crate::domain::{AppError, ErrorCode};
use std::collections::HashMap;

/// (key, name, department, job title, manager key, admin, auditor)
type PersonSeed = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
    bool,
);

#[rustfmt::skip]
const PEOPLE: &[PersonSeed] = &[
    ("morgan", "Morgan Reyes", "Executive", "Chief Executive Officer", None, false, false),
    ("alice", "Alice Anders", "Engineering", "Head of Engineering", Some("morgan"), false, false),
    ("ben", "Ben Brooks", "Engineering", "Engineering Team Lead", Some("alice"), false, false),
    ("chloe", "Chloe Chen", "Engineering", "Site Reliability Engineer", Some("alice"), false, false),
    ("dev", "Dev Patel", "Engineering", "Software Engineer", Some("alice"), false, false),
    ("eli", "Eli Evans", "Engineering", "Software Engineer", Some("alice"), false, false),
    ("fatima", "Fatima Farouk", "Engineering", "Security Engineer", Some("alice"), false, false),
    ("george", "George Gray", "Engineering", "Data Engineer", Some("alice"), false, false),
    ("hana", "Hana Hill", "Engineering", "Software Engineer", Some("alice"), false, false),
    ("ada", "Ada Admin", "Engineering", "IT Administrator", Some("alice"), true, false),
    ("ian", "Ian Irwin", "Engineering", "Junior Engineer", Some("ben"), false, false),
    ("julia", "Julia James", "Engineering", "Junior Engineer", Some("ben"), false, false),
    ("sam", "Sam Sutton", "Sales", "Head of Sales", Some("morgan"), false, false),
    ("sofia", "Sofia Silva", "Sales", "Sales Team Lead", Some("sam"), false, false),
    ("tom", "Tom Turner", "Sales", "Account Executive", Some("sam"), false, false),
    ("uma", "Uma Usman", "Sales", "Account Executive", Some("sam"), false, false),
    ("victor", "Victor Vance", "Sales", "Sales Engineer", Some("sam"), false, false),
    ("wendy", "Wendy Wu", "Sales", "Account Manager", Some("sam"), false, false),
    ("xavier", "Xavier Xu", "Sales", "Account Manager", Some("sam"), false, false),
    ("yara", "Yara Young", "Sales", "Sales Operations", Some("sam"), false, false),
    ("nina", "Nina Novak", "Sales", "Sales Development Rep", Some("sofia"), false, false),
    ("oscar", "Oscar Ortiz", "Sales", "Sales Development Rep", Some("sofia"), false, false),
    ("fiona", "Fiona Fischer", "Finance", "Head of Finance", Some("morgan"), false, false),
    ("grace", "Grace Green", "Finance", "Financial Analyst", Some("fiona"), false, false),
    ("henry", "Henry Hall", "Finance", "Accountant", Some("fiona"), false, false),
    ("ivy", "Ivy Ito", "Finance", "Accountant", Some("fiona"), false, false),
    ("jack", "Jack Jones", "Finance", "Payroll Specialist", Some("fiona"), false, false),
    ("kira", "Kira Kim", "Finance", "Controller", Some("fiona"), false, false),
    ("liam", "Liam Lee", "Finance", "Financial Analyst", Some("fiona"), false, false),
    ("otto", "Otto Auditor", "Finance", "Internal Auditor", Some("fiona"), false, true),
];

/// One demo access package with its single assignment policy.
struct PackageSeed {
    key: &'static str,
    catalog: &'static str,
    name: &'static str,
    description: &'static str,
    hidden: bool,
    scope: &'static str,
    department: Option<&'static str>,
    duration_kind: &'static str,
    duration_value: Option<i64>,
    stages: &'static [&'static str],
    owners: &'static [&'static str],
}

const PACKAGES: &[PackageSeed] = &[
    PackageSeed {
        key: "github",
        catalog: "engineering",
        name: "GitHub organisation",
        description:
            "Membership of the company GitHub organisation with access to internal repositories.",
        hidden: false,
        scope: "attribute_rule",
        department: Some("Engineering"),
        duration_kind: "max_days",
        duration_value: Some(365),
        stages: &["manager"],
        owners: &["ben"],
    },
    PackageSeed {
        key: "proddb",
        catalog: "engineering",
        name: "Production database (read-only)",
        description: "Read-only access to the production PostgreSQL replicas, for incident work.",
        hidden: false,
        scope: "attribute_rule",
        department: Some("Engineering"),
        duration_kind: "max_days",
        duration_value: Some(7),
        stages: &["manager", "package_owners"],
        owners: &["ada"],
    },
    PackageSeed {
        key: "sandbox",
        catalog: "engineering",
        name: "AWS sandbox account",
        description: "A personal sandbox account for experiments; granted at once, for 30 days.",
        hidden: false,
        scope: "everyone",
        department: None,
        duration_kind: "max_days",
        duration_value: Some(30),
        stages: &[],
        owners: &["ada"],
    },
    PackageSeed {
        key: "salesforce",
        catalog: "business",
        name: "Salesforce",
        description: "A Salesforce user licence with the Sales profile.",
        hidden: false,
        scope: "attribute_rule",
        department: Some("Sales"),
        duration_kind: "no_end",
        duration_value: None,
        stages: &["manager"],
        owners: &["sam"],
    },
    PackageSeed {
        key: "finance_reports",
        catalog: "business",
        name: "Finance reports",
        description: "Read access to monthly financial statements and forecasts.",
        hidden: false,
        scope: "attribute_rule",
        department: Some("Finance"),
        duration_kind: "max_days",
        duration_value: Some(90),
        stages: &["manager", "package_owners"],
        owners: &["fiona"],
    },
    PackageSeed {
        key: "expense_approver",
        catalog: "business",
        name: "Expense approver",
        description: "May approve expense claims. Assigned by the package owners only.",
        hidden: true,
        scope: "none",
        department: None,
        duration_kind: "no_end",
        duration_value: None,
        stages: &[],
        owners: &["fiona"],
    },
];

/// Active and scheduled access: (holder, package, days since start, days until end).
#[rustfmt::skip]
const HELD: &[(&str, &str, i64, Option<i64>)] = &[
    ("alice", "github", 165, Some(200)),
    ("alice", "sandbox", 25, Some(5)),
    ("ben", "github", 300, Some(65)),
    ("chloe", "github", 100, Some(265)),
    ("chloe", "proddb", 4, Some(3)),
    ("hana", "github", 30, Some(335)),
    ("sam", "salesforce", 380, None),
    ("sofia", "salesforce", 200, None),
    ("tom", "salesforce", 90, None),
    ("grace", "finance_reports", 50, Some(40)),
    ("fiona", "expense_approver", 300, None),
    // Held together since before the separation-of-duties rule: the conflicts report shows it.
    ("kira", "finance_reports", 400, Some(20)),
    ("kira", "expense_approver", 120, None),
    ("dev", "sandbox", -2, Some(28)),
];

/// A request waiting at some approval stage in the demo.
struct PendingSeed {
    requester: &'static str,
    package: &'static str,
    /// The stage waiting for a decision.
    stage: i64,
    approver: &'static str,
    /// Who approved the stage before, if the request is past stage 1.
    earlier: Option<&'static str>,
    justification: &'static str,
    days_ago: i64,
}

#[rustfmt::skip]
const PENDING: &[PendingSeed] = &[
    PendingSeed { requester: "dev", package: "github", stage: 1, approver: "alice", earlier: None, justification: "Joining the payments team's repositories.", days_ago: 1 },
    PendingSeed { requester: "eli", package: "proddb", stage: 1, approver: "alice", earlier: None, justification: "On call next week; need to read replica lag metrics.", days_ago: 2 },
    PendingSeed { requester: "hana", package: "proddb", stage: 2, approver: "ada", earlier: Some("alice"), justification: "Investigating the invoice export incident INC-2041.", days_ago: 3 },
    PendingSeed { requester: "tom", package: "salesforce", stage: 1, approver: "sam", earlier: None, justification: "", days_ago: 1 },
    PendingSeed { requester: "ivy", package: "finance_reports", stage: 1, approver: "fiona", earlier: None, justification: "Preparing the quarterly close.", days_ago: 0 },
    PendingSeed { requester: "alice", package: "proddb", stage: 1, approver: "morgan", earlier: None, justification: "Reviewing the database migration plan.", days_ago: 1 },
];

/// What the demo loaded, for the command's report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoSummary {
    pub people: usize,
    pub packages: usize,
    pub pending_requests: usize,
    pub assignments: usize,
}

const SEEDER: audit::Actor = audit::Actor::System("seed-demo");

/// Loads the demo organisation into an empty database. Refuses (and changes nothing) when
/// the database already has people.
pub async fn seed(state: &AppState) -> Result<DemoSummary, AppError> {
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let existing = store::person::count(&mut *tx).await?;
    if existing > 0 {
        return Err(AppError::new(
            ErrorCode::Conflict,
            "The database already has people in it; the demo is loaded only into an empty database.",
        ));
    }

    let mut people = HashMap::new();
    for (key, name, department, title, manager, is_admin, is_auditor) in PEOPLE {
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let person = NewPerson {
            employee_id: Some(format!("E{:04}", people.len() + 1)),
            email,
            display_name: (*name).to_string(),
            department: Some((*department).to_string()),
            job_title: Some((*title).to_string()),
            manager_id: manager.and_then(|key| people.get(key).copied()),
            hire_at: Some(now.plus_days(-400 + 10 * people.len() as i64)),
            is_admin: *is_admin,
            is_auditor: *is_auditor,
        };
        let id = store::person::insert(&mut tx, now, &person).await?;
        audit::append(
            &mut tx,
            now,
            &SEEDER,
            audit::Change::new("person.created", "person", id).after(serde_json::json!({
                "email": person.email, "display_name": person.display_name,
                "department": person.department, "manager_id": person.manager_id,
            })),
        )
        .await?;
        people.insert(*key, id);
    }
    let person = |key: &str| {
        people
            .get(key)
            .copied()
            .ok_or_else(|| AppError::new(ErrorCode::Internal, format!("demo person {key} missing")))
    };

    let connector = store::connector::insert(&mut tx, now, "Gatehouse groups", "builtin").await?;
    audit::append(
        &mut tx,
        now,
        &SEEDER,
        audit::Change::new("connector.created", "connector", connector),
    )
    .await?;

    let mut catalogs = HashMap::new();
    for (key, name, description, owners) in [
        (
            "engineering",
            "Engineering",
            "Developer tools and infrastructure.",
            &["alice"][..],
        ),
        (
            "business",
            "Business applications",
            "Sales and finance applications.",
            &["sam", "fiona"][..],
        ),
    ] {
        let id = catalog::insert_catalog(&mut tx, now, name, description).await?;
        for owner in owners {
            catalog::add_catalog_owner(&mut tx, now, id, person(owner)?).await?;
        }
        audit::append(
            &mut tx,
            now,
            &SEEDER,
            audit::Change::new("catalog.created", "catalog", id)
                .after(serde_json::json!({ "name": name, "owners": owners })),
        )
        .await?;
        catalogs.insert(key, id);
    }

    let mut packages = HashMap::new();
    let mut policies = HashMap::new();
    for seed in PACKAGES {
        let catalog_id = catalogs.get(seed.catalog).copied().unwrap_or_default();
        let package_id = store::package::insert(
            &mut tx,
            now,
            &store::package::NewPackage {
                catalog_id,
                name: seed.name,
                description: seed.description,
                is_hidden: seed.hidden,
            },
        )
        .await?;
        let resource_id = store::resource::insert(
            &mut tx,
            now,
            &store::resource::NewResource {
                catalog_id,
                connector_id: connector,
                name: seed.name,
                kind: "group",
                external_id: Some(seed.key),
                description: "",
            },
        )
        .await?;
        store::package::add_resource(&mut tx, now, package_id, resource_id).await?;
        for owner in seed.owners {
            store::package::add_owner(&mut tx, now, package_id, person(owner)?).await?;
        }
        let rule = match seed.department {
            Some(department) => serde_json::json!({ "equals": { "department": department } }),
            None => serde_json::json!({}),
        };
        let policy_id = store::policy::insert_policy(
            &mut tx,
            now,
            &store::policy::NewPolicy {
                package_id,
                name: if seed.stages.is_empty() {
                    "Granted at once"
                } else {
                    "With approval"
                },
                requestor_scope: seed.scope,
                requestor_rule_json: rule.to_string(),
                justification_required: seed.stages.len() > 1,
                duration_kind: seed.duration_kind,
                duration_value: seed.duration_value,
                extension_allowed: seed.duration_kind != "no_end",
                questions_json: if seed.key == "proddb" {
                    r#"[{"text":"Which replica region?","choices":["EU","US"],"required":false}]"#
                } else {
                    "[]"
                },
            },
        )
        .await?;
        for (index, approver_kind) in seed.stages.iter().enumerate() {
            store::policy::insert_stage(
                &mut tx,
                now,
                &store::policy::NewStage {
                    policy_id,
                    position: index as i64 + 1,
                    approver_kind,
                    decision_timeout_days: 14,
                },
            )
            .await?;
        }
        audit::append(
            &mut tx,
            now,
            &SEEDER,
            audit::Change::new("access_package.created", "access_package", package_id).after(
                serde_json::json!({
                    "name": seed.name, "hidden": seed.hidden, "scope": seed.scope,
                    "duration": seed.duration_kind, "stages": seed.stages,
                }),
            ),
        )
        .await?;
        packages.insert(seed.key, (package_id, seed.name));
        policies.insert(seed.key, (policy_id, seed.stages.len() as i64));
    }
    let package = |key: &str| {
        packages.get(key).copied().ok_or_else(|| {
            AppError::new(ErrorCode::Internal, format!("demo package {key} missing"))
        })
    };
    let policy = |key: &str| {
        policies
            .get(key)
            .copied()
            .ok_or_else(|| AppError::new(ErrorCode::Internal, format!("demo policy {key} missing")))
    };

    let (finance_reports, _) = package("finance_reports")?;
    let (expense_approver, _) = package("expense_approver")?;
    store::package::add_incompatibility(&mut tx, now, finance_reports, expense_approver).await?;
    audit::append(
        &mut tx,
        now,
        &SEEDER,
        audit::Change::new("incompatibility.created", "access_package", finance_reports)
            .after(serde_json::json!({ "incompatible_with": expense_approver })),
    )
    .await?;

    for (holder, package_key, days_since_start, days_until_end) in HELD {
        let (package_id, _) = package(package_key)?;
        let (policy_id, _) = policy(package_key)?;
        let start_at = now.plus_days(-days_since_start);
        let status = if start_at > now {
            AssignmentStatus::Scheduled
        } else {
            AssignmentStatus::Active
        };
        let assignment_id = store::assignment::insert(
            &mut tx,
            now,
            &NewAssignment {
                person_id: person(holder)?,
                package_id,
                policy_id: Some(policy_id),
                request_id: None,
                status,
                start_at,
                end_at: days_until_end.map(|days| now.plus_days(days)),
            },
        )
        .await?;
        audit::append(
            &mut tx,
            now,
            &SEEDER,
            audit::Change::new("assignment.created", "assignment", assignment_id).after(
                serde_json::json!({ "person_id": person(holder)?, "access_package_id": package_id, "status": status.as_str() }),
            ),
        )
        .await?;
    }

    for PendingSeed {
        requester,
        package: package_key,
        stage,
        approver,
        earlier,
        justification,
        days_ago,
    } in PENDING
    {
        let (package_id, package_name) = package(package_key)?;
        let (policy_id, _) = policy(package_key)?;
        let requester_id = person(requester)?;
        let approver_id = person(approver)?;
        let created = now.plus_days(-days_ago);
        let request_id = store::request::insert(
            &mut tx,
            created,
            &NewRequest {
                kind: "assign",
                assignment_id: None,
                person_id: requester_id,
                requested_by_id: requester_id,
                package_id,
                policy_id,
                status: RequestStatus::PendingApproval,
                current_stage: Some(*stage),
                justification,
                answers_json: "[]",
                start_at: created,
                end_at: Some(created.plus_days(7)),
            },
        )
        .await?;
        audit::append(
            &mut tx,
            now,
            &SEEDER,
            audit::Change::new("access_request.submitted", "access_request", request_id).after(
                serde_json::json!({ "person_id": requester_id, "access_package_id": package_id, "status": "pending_approval" }),
            ),
        )
        .await?;
        if let Some(earlier) = earlier {
            let earlier_id = person(earlier)?;
            let decision_id = store::request::insert_decision(
                &mut tx,
                created,
                request_id,
                stage - 1,
                earlier_id,
                "Needed for the incident.",
            )
            .await?;
            audit::append(
                &mut tx,
                now,
                &SEEDER,
                audit::Change::new("decision.recorded", "access_request", request_id).after(
                    serde_json::json!({ "decision_id": decision_id, "stage": stage - 1, "approver_id": earlier_id, "outcome": "approve" }),
                ),
            )
            .await?;
        }
        store::request::insert_approval_task(
            &mut tx,
            created,
            request_id,
            *stage,
            approver_id,
            created.plus_days(14),
            "primary",
        )
        .await?;
        // The approver's message, with its action link, as a real submission writes it.
        let requester_name = PEOPLE
            .iter()
            .find(|seed| seed.0 == *requester)
            .map_or("", |seed| seed.1);
        let due = created.plus_days(14);
        crate::backend::mail::notify(
            &mut tx,
            created,
            approver_id,
            &crate::backend::mail::render::Notice::approval_needed(
                requester_name,
                package_name,
                justification,
                due,
            ),
            &[crate::backend::mail::decide_link(
                request_id,
                1,
                approver_id,
                due,
            )],
        )
        .await?;
    }

    tx.commit().await?;
    Ok(DemoSummary {
        people: PEOPLE.len(),
        packages: PACKAGES.len(),
        pending_requests: PENDING.len(),
        assignments: HELD.len(),
    })
}
