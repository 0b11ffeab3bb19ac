//! HR inbound over SCIM 2.0: a plain HTTP client creates, reads, filters, pages, patches,
//! replaces, deactivates and removes people, and sends Bulk requests, with a bearer token
//! an administrator made; every bad request gets the RFC's error and changes nothing.

use crate::harness::{TestApp, TestBackend};
use app::backend::services::scim;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GATEHOUSE: &str = "urn:ietf:params:scim:schemas:extension:gatehouse:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

struct Hr<'a> {
    app: &'a TestApp,
    token: String,
}

/// What a SCIM call answered.
struct Answer {
    status: StatusCode,
    etag: Option<String>,
    location: Option<String>,
    body: Value,
}

impl Hr<'_> {
    async fn new(app: &TestApp) -> Hr<'_> {
        let ada = app.person("Ada Admin").await;
        let (_, token) = scim::create_token(&app.state, &ada, "Workday")
            .await
            .unwrap();
        Hr { app, token }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(&format!("/scim/v2{path}")))
            .bearer_auth(&self.token);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let (status, etag, location) = (response.status(), header("etag"), header("location"));
        if status != StatusCode::NO_CONTENT && status != StatusCode::NOT_MODIFIED {
            assert_eq!(
                header("content-type").as_deref(),
                Some("application/scim+json"),
                "{path}"
            );
        }
        let text = response.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        Answer {
            status,
            etag,
            location,
            body,
        }
    }

    async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, None, &[]).await
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body), &[]).await
    }

    async fn patch(&self, id: &str, operations: Value, headers: &[(&str, &str)]) -> Answer {
        self.send(
            Method::PATCH,
            &format!("/Users/{id}"),
            Some(json!({"schemas": [PATCH], "Operations": operations})),
            headers,
        )
        .await
    }

    async fn list(&self, query: &str) -> Value {
        let answer = self.get(&format!("/Users?{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.body);
        answer.body
    }

    async fn create(&self, user: Value) -> Value {
        let answer = self.post("/Users", user).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.body
    }
}

fn person(user_name: &str, given: &str, family: &str, department: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE, GATEHOUSE],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "name": {"givenName": given, "familyName": family},
        "title": "Engineer",
        "userType": "Employee",
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        ENTERPRISE: {"employeeNumber": format!("E-{given}"), "department": department},
        GATEHOUSE: {"hireDate": "2026-03-01"}
    })
}

fn names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["userName"].as_str().unwrap().to_string())
        .collect()
}

fn scim_type(answer: &Answer) -> Option<&str> {
    answer.body["scimType"].as_str()
}

async fn an_hr_system_creates_reads_filters_sorts_and_pages_people(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let hr = Hr::new(&app).await;
    let events_before = app
        .scalar("select count(*) from audit_event where action = 'person.created'")
        .await;

    let answer = hr
        .post(
            "/Users",
            person("grace@example.test", "Grace", "Hopper", "Research"),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    let grace = answer.body.clone();
    let id = grace["id"].as_str().unwrap().to_string();
    assert_eq!(
        answer.location.as_deref(),
        grace["meta"]["location"].as_str()
    );
    assert_eq!(answer.etag.as_deref(), Some("W/\"1\""));
    assert_eq!(grace["displayName"], "Grace Hopper");
    assert_eq!(grace["active"], true);
    assert_eq!(grace["userType"], "Employee");
    assert_eq!(grace[ENTERPRISE]["department"], "Research");
    assert_eq!(grace[GATEHOUSE]["hireDate"], "2026-03-01T00:00:00.000Z");
    let manager = hr
        .create(
            json!({"schemas": [USER, ENTERPRISE], "userName": "linus@example.test",
                       ENTERPRISE: {"department": "Sales", "manager": {"value": id}}}),
        )
        .await;
    assert_eq!(manager[ENTERPRISE]["manager"]["value"], id.as_str());
    assert_eq!(
        manager[ENTERPRISE]["manager"]["displayName"],
        "Grace Hopper"
    );
    hr.create(person("ada.b@example.test", "Ada", "Byron", "Research"))
        .await;
    assert_eq!(
        app.scalar("select count(*) from audit_event where action = 'person.created'")
            .await,
        events_before + 3
    );

    let read = hr.get(&format!("/Users/{id}")).await;
    assert_eq!(
        (read.status, read.body.clone()),
        (StatusCode::OK, grace.clone())
    );
    let unchanged = hr
        .send(
            Method::GET,
            &format!("/Users/{id}"),
            None,
            &[("if-none-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);

    // Filters: every operator, and/or/not, value paths, dates and the extension.
    let cases = [
        ("filter=userName eq \"GRACE@example.test\"", vec!["grace@example.test"]),
        ("filter=userName ne \"grace@example.test\" and userName ew \"@example.test\"", vec!["linus@example.test", "ada.b@example.test"]),
        ("filter=name.familyName co \"opp\"", vec!["grace@example.test"]),
        ("filter=userName sw \"ada.b\" or externalId eq \"ext-grace@example.test\"", vec!["grace@example.test", "ada.b@example.test"]),
        ("filter=emails[type eq \"work\" and value co \"linus\"]", vec!["linus@example.test"]),
        ("filter=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"research\" and not (name.givenName eq \"Ada\")", vec!["grace@example.test"]),
        ("filter=hireDate ge \"2026-03-01\" and hireDate lt \"2026-03-02T00:00:00Z\"", vec!["grace@example.test", "ada.b@example.test"]),
        (&format!("filter=manager.value eq \"{id}\""), vec!["linus@example.test"]),
        ("filter=userType eq \"employee\" and title pr", vec!["grace@example.test", "ada.b@example.test"]),
        ("filter=meta.created gt \"2000-01-01T00:00:00Z\" and externalId pr", vec!["grace@example.test", "ada.b@example.test"]),
    ];
    for (query, expected) in cases {
        let list = hr.list(query).await;
        assert_eq!(names(&list), expected, "{query}");
        assert_eq!(list["totalResults"], expected.len(), "{query}");
    }

    // Sorting and paging: the demo's people and these three, 2 per page, by userName.
    let everyone = app.scalar("select count(*) from person").await;
    let first = hr
        .list("sortBy=userName&sortOrder=descending&startIndex=1&count=2")
        .await;
    let second = hr
        .list("sortBy=userName&sortOrder=descending&startIndex=3&count=2")
        .await;
    assert_eq!(first["totalResults"], everyone);
    assert_eq!(
        (first["startIndex"].clone(), first["itemsPerPage"].clone()),
        (json!(1), json!(2))
    );
    let mut seen = names(&first);
    seen.extend(names(&second));
    let mut sorted = seen.clone();
    sorted.sort_by_key(|name| std::cmp::Reverse(name.to_lowercase()));
    assert_eq!(seen, sorted);
    assert_eq!(
        seen.iter().collect::<std::collections::HashSet<_>>().len(),
        4
    );
    let empty = hr.list("count=0").await;
    assert_eq!(
        (empty["totalResults"].clone(), empty["Resources"].clone()),
        (json!(everyone), json!([]))
    );

    // attributes / excludedAttributes.
    let slim = hr
        .list("filter=userName eq \"grace@example.test\"&attributes=userName,name.familyName")
        .await;
    assert_eq!(
        slim["Resources"][0],
        json!({"schemas": [USER, ENTERPRISE, GATEHOUSE], "id": id, "userName": "grace@example.test",
               "name": {"familyName": "Hopper"}})
    );
    let without = hr
        .get(&format!(
            "/Users/{id}?excludedAttributes=emails,{ENTERPRISE}:department"
        ))
        .await;
    assert!(without.body.get("emails").is_none());
    assert!(without.body[ENTERPRISE].get("department").is_none());
    assert_eq!(without.body[ENTERPRISE]["employeeNumber"], "E-Grace");

    // POST .search takes the same parameters in a body.
    let found = hr
        .post("/Users/.search", json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                                         "filter": "userName eq \"linus@example.test\"", "count": 5}))
        .await;
    assert_eq!(names(&found.body), vec!["linus@example.test"]);

    // Discovery.
    let config = hr.get("/ServiceProviderConfig").await;
    assert_eq!(config.body["bulk"]["maxOperations"], 10_000);
    assert_eq!(config.body["filter"]["supported"], true);
    let schemas = hr.get("/Schemas").await;
    assert_eq!(schemas.body["totalResults"], 3);
    let user_schema = hr.get(&format!("/Schemas/{USER}")).await;
    assert!(user_schema.body["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["name"] == "userName" && a["uniqueness"] == "server"));
    let types = hr.get("/ResourceTypes").await;
    assert_eq!(types.body["Resources"][0]["endpoint"], "/Users");
    app.stop().await;
}

async fn patches_and_replacements_keep_versions_and_refuse_stale_ones(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let hr = Hr::new(&app).await;
    let grace = hr
        .create(person("grace@example.test", "Grace", "Hopper", "Research"))
        .await;
    let id = grace["id"].as_str().unwrap();

    let answer = hr
        .patch(
            id,
            json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "g.hopper@example.test"},
                {"op": "add", "path": "name.familyName", "value": "Murray Hopper"},
                {"op": "remove", "path": "title"},
                {"op": "Replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "Navy",
                                           "displayName": "Grace M. Hopper"}}
            ]),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.etag.as_deref(), Some("W/\"2\""));
    let patched = answer.body;
    assert_eq!(patched["emails"][0]["value"], "g.hopper@example.test");
    assert_eq!(patched["name"]["familyName"], "Murray Hopper");
    assert!(patched.get("title").is_none());
    assert_eq!(patched[ENTERPRISE]["department"], "Navy");
    assert_eq!(patched["displayName"], "Grace M. Hopper");
    let stored: String = sqlx::query_scalar("select email from person where id = $1")
        .bind(id.parse::<i64>().unwrap())
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(stored, "g.hopper@example.test");
    let (before, after): (String, String) = sqlx::query_as(
        "select before_json, after_json from audit_event where action = 'person.updated' and object_id = $1",
    )
    .bind(id)
    .fetch_one(app.state.db.reader())
    .await
    .unwrap();
    assert!(
        before.contains("\"department\":\"Research\"") && after.contains("\"department\":\"Navy\""),
        "{before} {after}"
    );

    // A client that read version 1 cannot overwrite version 2.
    let events = app.scalar("select count(*) from audit_event").await;
    let stale = hr
        .patch(
            id,
            json!([{"op": "replace", "path": "title", "value": "Admiral"}]),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.body["status"], "412");
    let mut replacement = person("grace@example.test", "Grace", "Hopper", "Research");
    replacement["title"] = json!("Admiral");
    let stale = hr
        .send(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(replacement.clone()),
            &[("if-match", "W/\"1\"")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(app.scalar("select count(*) from audit_event").await, events);
    assert_eq!(hr.get(&format!("/Users/{id}")).await.body, patched);

    // PUT replaces everything sent (an attribute left out is cleared).
    let replaced = hr
        .send(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(replacement),
            &[("if-match", "W/\"2\"")],
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    assert_eq!(replaced.body["title"], "Admiral");
    assert_eq!(replaced.body["displayName"], "Grace Hopper");
    assert_eq!(replaced.etag.as_deref(), Some("W/\"3\""));
    // The same again changes nothing: no new version, no audit event.
    let events = app.scalar("select count(*) from audit_event").await;
    let again = hr
        .send(
            Method::PUT,
            &format!("/Users/{id}"),
            Some(replaced.body.clone()),
            &[],
        )
        .await;
    assert_eq!(
        (again.status, again.etag.as_deref()),
        (StatusCode::OK, Some("W/\"3\""))
    );
    assert_eq!(app.scalar("select count(*) from audit_event").await, events);
    app.stop().await;
}

async fn bad_requests_get_the_rfcs_errors_and_change_nothing(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let hr = Hr::new(&app).await;
    let grace = hr
        .create(person("grace@example.test", "Grace", "Hopper", "Research"))
        .await;
    let id = grace["id"].as_str().unwrap().to_string();
    let report = hr
        .create(json!({"schemas": [USER, ENTERPRISE], "userName": "r@example.test", ENTERPRISE: {"manager": {"value": id}}}))
        .await;
    let report_id = report["id"].as_str().unwrap().to_string();
    let people = app.scalar("select count(*) from person").await;
    let events = app.scalar("select count(*) from audit_event").await;

    // Tokens: none, wrong, revoked.
    for authorization in [None, Some("Bearer nope"), Some("Basic abc")] {
        let mut request = app.client.get(app.url("/scim/v2/Users"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "401");
    }

    let bad_json = hr
        .send(
            Method::POST,
            "/Users",
            None,
            &[("content-type", "application/scim+json")],
        )
        .await;
    assert_eq!(
        (bad_json.status, scim_type(&bad_json)),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"))
    );
    let mut unknown = person("x@example.test", "X", "Y", "Z");
    unknown["nickName"] = json!("x");
    let mut wrong_type = person("x@example.test", "X", "Y", "Z");
    wrong_type["active"] = json!(3);
    let mut bad_date = person("x@example.test", "X", "Y", "Z");
    bad_date[GATEHOUSE]["hireDate"] = json!("next tuesday");
    let mut duplicate = person("GRACE@example.test", "G", "H", "R");
    duplicate["emails"] = json!([{"value": "other@example.test", "type": "work"}]);
    let mut duplicate_email = person("someone@example.test", "G", "H", "R");
    duplicate_email["emails"] = json!([{"value": "grace@example.test"}]);
    let cases = [
        (unknown, 400, Some("invalidSyntax")),
        (
            json!({"schemas": ["urn:example:Other"], "userName": "x@example.test"}),
            400,
            Some("invalidSyntax"),
        ),
        (json!({"schemas": [USER]}), 400, Some("invalidValue")),
        (
            json!({"schemas": [USER], "userName": "not-an-address"}),
            400,
            Some("invalidValue"),
        ),
        (wrong_type, 400, Some("invalidValue")),
        (bad_date, 400, Some("invalidValue")),
        (
            json!({"schemas": [USER, ENTERPRISE], "userName": "m@example.test", ENTERPRISE: {"manager": {"value": "999999"}}}),
            400,
            Some("invalidValue"),
        ),
        (duplicate, 409, Some("uniqueness")),
        (duplicate_email, 409, Some("uniqueness")),
    ];
    for (body, status, kind) in cases {
        let answer = hr.post("/Users", body.clone()).await;
        assert_eq!(
            (answer.status.as_u16(), scim_type(&answer)),
            (status, kind),
            "{body}: {}",
            answer.body
        );
        assert_eq!(
            answer.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }

    for (query, kind) in [
        ("filter=userName eq", "invalidFilter"),
        ("filter=nickName eq \"x\"", "invalidFilter"),
        ("filter=userName eq \"a\" and (", "invalidFilter"),
        ("filter=active eq \"yes\"", "invalidFilter"),
        ("sortBy=nickName", "invalidValue"),
        ("count=many", "invalidValue"),
        ("attributes=nickName", "invalidValue"),
    ] {
        let answer = hr.get(&format!("/Users?{query}")).await;
        assert_eq!(
            (answer.status, scim_type(&answer)),
            (StatusCode::BAD_REQUEST, Some(kind)),
            "{query}"
        );
    }

    let patch_cases = [
        (
            json!([{"op": "replace", "path": "nickName", "value": "x"}]),
            Some("invalidPath"),
        ),
        (
            json!([{"op": "replace", "path": "emails[type eq \"home\"].value", "value": "x@example.test"}]),
            Some("noTarget"),
        ),
        (json!([{"op": "remove"}]), Some("noTarget")),
        (
            json!([{"op": "replace", "path": "id", "value": "5"}]),
            Some("mutability"),
        ),
        (
            json!([{"op": "remove", "path": "userName"}, {"op": "add", "path": "title", "value": "x"}]),
            Some("invalidValue"),
        ),
        // A manager loop: Grace's report cannot become her manager.
        (
            json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": report_id}}]),
            Some("invalidValue"),
        ),
        (
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            Some("invalidValue"),
        ),
    ];
    for (operations, kind) in patch_cases {
        let answer = hr.patch(&id, operations.clone(), &[]).await;
        assert_eq!(
            (answer.status, scim_type(&answer)),
            (StatusCode::BAD_REQUEST, kind),
            "{operations}: {}",
            answer.body
        );
    }
    let missing = hr.get("/Users/424242").await;
    assert_eq!(
        (missing.status, missing.body["status"].as_str()),
        (StatusCode::NOT_FOUND, Some("404"))
    );
    let not_a_number = hr
        .patch("abc", json!([{"op": "remove", "path": "title"}]), &[])
        .await;
    assert_eq!(not_a_number.status, StatusCode::NOT_FOUND);
    let groups = hr.get("/Groups").await;
    assert_eq!(groups.status, StatusCode::NOT_FOUND);

    assert_eq!(app.scalar("select count(*) from person").await, people);
    assert_eq!(app.scalar("select count(*) from audit_event").await, events);
    assert_eq!(hr.get(&format!("/Users/{id}")).await.body, grace);

    // A revoked token is refused from the next request on.
    let ada = app.person("Ada Admin").await;
    let token_id = app.scalar("select max(id) from scim_token").await;
    scim::revoke_token(&app.state, &ada, token_id)
        .await
        .unwrap();
    assert_eq!(hr.get("/Users").await.status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn switching_a_person_off_ends_their_access_and_removal_hides_them(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let hr = Hr::new(&app).await;
    let holder = app
        .scalar("select person_id from assignment where status = 'active' group by person_id order by count(*) desc, person_id limit 1")
        .await;
    let held = app
        .scalar(&format!(
            "select count(*) from assignment where person_id = {holder} and status = 'active'"
        ))
        .await;
    assert!(held > 0);

    let answer = hr
        .patch(
            &holder.to_string(),
            json!([{"op": "replace", "path": "active", "value": "False"}]),
            &[],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["active"], false);
    assert_eq!(answer.body[GATEHOUSE]["status"], "disabled");
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from assignment where person_id = {holder} and status = 'active'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.scalar(&format!(
            "select count(*) from audit_event where action = 'assignment.ended' and object_id in \
             (select cast(id as text) from assignment where person_id = {holder})"
        ))
        .await,
        held
    );
    let inactive = hr.list("filter=active eq false").await;
    assert!(names(&inactive).contains(&answer.body["userName"].as_str().unwrap().to_string()));

    // Removal: the person stays (as left) for the audit trail; SCIM no longer knows them.
    let removed = hr
        .send(Method::DELETE, &format!("/Users/{holder}"), None, &[])
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        hr.get(&format!("/Users/{holder}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        hr.send(Method::DELETE, &format!("/Users/{holder}"), None, &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let status: String = sqlx::query_scalar("select status from person where id = $1")
        .bind(holder)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_eq!(status, "left");
    assert_eq!(app.scalar(&format!("select count(*) from audit_event where action = 'person.removed' and object_id = '{holder}'")).await, 1);
    let everyone = hr.list("count=0").await;
    assert_eq!(
        everyone["totalResults"],
        app.scalar("select count(*) from person").await - 1
    );
    app.stop().await;
}

async fn bulk_applies_each_operation_alone_and_honours_fail_on_errors(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let hr = Hr::new(&app).await;
    let mut report = person("report@example.test", "Rea", "Port", "Sales");
    report[ENTERPRISE]["manager"] = json!({"value": "bulkId:boss"});
    let answer = hr
        .post(
            "/Bulk",
            json!({"schemas": [BULK], "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "boss", "data": person("boss@example.test", "Bo", "Ss", "Sales")},
                {"method": "POST", "path": "/Users", "bulkId": "bad", "data": {"schemas": [USER], "userName": "no"}},
                {"method": "POST", "path": "/Users", "bulkId": "report", "data": report},
                {"method": "PATCH", "path": "/Users/999999", "data": {"schemas": [PATCH], "Operations": [{"op": "remove", "path": "title"}]}}
            ]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let results = answer.body["Operations"].as_array().unwrap().clone();
    let statuses: Vec<&str> = results
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["201", "400", "201", "404"]);
    assert_eq!(results[1]["response"]["scimType"], "invalidValue");
    let boss_location = results[0]["location"].as_str().unwrap();
    let boss_id = boss_location.rsplit('/').next().unwrap();
    let report_user = hr
        .get(&format!(
            "/Users/{}",
            results[2]["location"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
        ))
        .await;
    assert_eq!(report_user.body[ENTERPRISE]["manager"]["value"], boss_id);

    // failOnErrors: 1 stops after the first error; what came after it is not tried.
    let people = app.scalar("select count(*) from person").await;
    let answer = hr
        .post(
            "/Bulk",
            json!({"schemas": [BULK], "failOnErrors": 1, "Operations": [
                {"method": "POST", "path": "/Users", "bulkId": "a", "data": person("a@example.test", "A", "A", "X")},
                {"method": "POST", "path": "/Users", "bulkId": "dup", "data": person("a@example.test", "A", "A", "X")},
                {"method": "POST", "path": "/Users", "bulkId": "c", "data": person("c@example.test", "C", "C", "X")}
            ]}),
        )
        .await;
    let statuses: Vec<String> = answer.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, vec!["201", "409"]);
    assert_eq!(app.scalar("select count(*) from person").await, people + 1);
    assert_eq!(
        hr.list("filter=userName eq \"c@example.test\"").await["totalResults"],
        0
    );

    let bad = hr.post("/Bulk", json!({"Operations": []})).await;
    assert_eq!(
        (bad.status, scim_type(&bad)),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"))
    );
    app.stop().await;
}

async fn only_administrators_make_and_revoke_tokens_and_only_their_hash_is_kept(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.seed_demo().await;
    let ada = app.person("Ada Admin").await;
    let alice = app.person("Alice Anders").await;
    let auditor = app
        .scalar("select id from person where is_auditor = true and is_admin = false order by id limit 1")
        .await;
    let auditor = app::backend::store::person::find(app.state.db.reader(), auditor)
        .await
        .unwrap()
        .unwrap();
    let tokens = app.scalar("select count(*) from scim_token").await;
    let events = app.scalar("select count(*) from audit_event").await;
    for someone in [&alice, &auditor] {
        let refused = scim::create_token(&app.state, someone, "HR")
            .await
            .unwrap_err();
        assert_eq!(refused.code, app::domain::ErrorCode::Forbidden);
    }
    assert!(scim::tokens(&app.state, &alice).await.is_err());
    assert_eq!(scim::tokens(&app.state, &auditor).await.unwrap().len(), 0);
    let blank = scim::create_token(&app.state, &ada, "  ")
        .await
        .unwrap_err();
    assert_eq!(blank.fields[0].field, "name");
    assert_eq!(app.scalar("select count(*) from scim_token").await, tokens);
    assert_eq!(app.scalar("select count(*) from audit_event").await, events);

    let (id, token) = scim::create_token(&app.state, &ada, "Workday")
        .await
        .unwrap();
    assert_eq!(token.len(), 64);
    let stored: String = sqlx::query_scalar("select token_hash from scim_token where id = $1")
        .bind(id)
        .fetch_one(app.state.db.reader())
        .await
        .unwrap();
    assert_ne!(stored, token);
    assert_eq!(stored, app::backend::store::action_token::hash(&token));
    assert!(scim::revoke_token(&app.state, &auditor, id).await.is_err());
    scim::revoke_token(&app.state, &ada, id).await.unwrap();
    assert!(scim::revoke_token(&app.state, &ada, id).await.is_err());
    assert_eq!(
        app.scalar("select count(*) from audit_event where object_kind = 'scim_token'")
            .await,
        2
    );
    let listed = scim::tokens(&app.state, &auditor).await.unwrap();
    assert_eq!(
        (listed[0].name.as_str(), listed[0].revoked_at.is_some()),
        ("Workday", true)
    );
    app.stop().await;
}

crate::on_both_backends!(
    an_hr_system_creates_reads_filters_sorts_and_pages_people,
    patches_and_replacements_keep_versions_and_refuse_stale_ones,
    bad_requests_get_the_rfcs_errors_and_change_nothing,
    switching_a_person_off_ends_their_access_and_removal_hides_them,
    bulk_applies_each_operation_alone_and_honours_fail_on_errors,
    only_administrators_make_and_revoke_tokens_and_only_their_hash_is_kept,
);
