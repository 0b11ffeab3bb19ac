//! `/manage/connectors`: the systems Gatehouse provisions into, their queues, the jobs that
//! failed (with Retry), an alarm when removals are late, and a form to add a SCIM, LDAP
//! or webhook connector. Administrators only.

use crate::api::connectors::{
    get_provisioning, CreateConnector, ProvisioningView, ReconcileNow, RetryJob,
};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::{ErrorSummary, Field, FormTokenField};
use crate::components::table::DataTable;
use crate::domain::AppError;
use crate::pages::manage::ManageNav;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ConnectorsPage() -> impl IntoView {
    let create = ServerAction::<CreateConnector>::new();
    let retry = ServerAction::<RetryJob>::new();
    let reconcile = ServerAction::<ReconcileNow>::new();
    let view_data = Resource::new(
        move || {
            (
                create.version().get(),
                retry.version().get(),
                reconcile.version().get(),
            )
        },
        |_| get_provisioning(),
    );
    let create_failure = Signal::derive(move || create.value().get().and_then(Result::err));
    let retry_failure = move || {
        retry
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| reconcile.value().get().and_then(Result::err))
    };
    view! {
        <Title text="Connectors" />
        <div class="page-header">
            <h1>"Connectors"</h1>
            <p class="lead">"The systems Gatehouse grants and removes access in, and what it is doing there."</p>
        </div>
        <ManageNav current="/manage/connectors" />
        {move || retry_failure().map(|error: AppError| view! { <ErrorSummary error /> })}
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(data) => view! {
                        <div class="stack">
                            {overview(data, retry, reconcile)}
                            {new_connector_form(create, create_failure)}
                        </div>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn count(jobs: &[(String, i64)], state: &str) -> i64 {
    jobs.iter()
        .find(|(name, _)| name == state)
        .map_or(0, |(_, n)| *n)
}

fn overview(
    data: ProvisioningView,
    retry: ServerAction<RetryJob>,
    reconcile: ServerAction<ReconcileNow>,
) -> impl IntoView {
    let late = data.late_removals;
    let alarm_after = crate::domain::time::describe_seconds(data.alarm_seconds);
    let dead: i64 = data.connectors.iter().map(|c| count(&c.jobs, "dead")).sum();
    view! {
        {(late > 0).then(|| view! {
            <p class="alert alert-danger" role="alert">
                {format!("{late} removal{} late: access ended more than {alarm_after} ago and is not yet verified removed downstream.", if late == 1 { " is" } else { "s are" })}
            </p>
        })}
        {(dead > 0).then(|| view! {
            <p class="alert alert-danger" role="alert">
                {format!("{dead} job{} gave up after every retry. Fix the cause, then retry below.", if dead == 1 { "" } else { "s" })}
            </p>
        })}
        <ul class="stack">
            {data.connectors.into_iter().map(|connector| {
                let done = count(&connector.jobs, "succeeded");
                let waiting = count(&connector.jobs, "pending") + count(&connector.jobs, "running") + count(&connector.jobs, "failed");
                let dead = count(&connector.jobs, "dead");
                let total = (done + waiting + dead).max(1);
                view! {
                    <li class="card stack">
                        <h2>{connector.name}</h2>
                        <p class="muted">
                            {format!("{} · {}", connector.kind, if connector.enabled { "on" } else { "off" })}
                            {(!connector.target.is_empty()).then(|| format!(" · {}", connector.target))}
                        </p>
                        {connector.secret_variable.map(|variable| view! {
                            <p class=if connector.secret_present { "muted" } else { "alert alert-warning" }>
                                {if connector.secret_present { format!("Secret from {variable} (set).") } else { format!("{variable} is not set: calls go without credentials.") }}
                            </p>
                        })}
                        <svg class="queue-bar" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" aria-label=format!("{done} done, {waiting} waiting, {dead} given up")>
                            <rect class="queue-bar-done" x="0" y="0" height="6" width=(done * 100 / total).to_string() />
                            <rect class="queue-bar-waiting" x=(done * 100 / total).to_string() y="0" height="6" width=(waiting * 100 / total).to_string() />
                            <rect class="queue-bar-dead" x=((done + waiting) * 100 / total).to_string() y="0" height="6" width=(dead * 100 / total).to_string() />
                        </svg>
                        <p class="muted">{format!("{done} done · {waiting} waiting · {dead} given up")}</p>
                        {matches!(connector.kind.as_str(), "scim" | "ldap").then(|| view! {
                            <p class=if connector.health == "failing" { "alert alert-warning" } else { "muted" }>
                                {match connector.last_reconciled_at {
                                    Some(at) => format!(
                                        "Reconciled {} ({}){}",
                                        at.date_time_utc(),
                                        if connector.authoritative { "repairs drift" } else { "reports drift" },
                                        if connector.health_message.is_empty() { String::new() } else { format!(": {}", connector.health_message) },
                                    ),
                                    None => "Not reconciled yet.".to_string(),
                                }}
                            </p>
                            <ActionForm action=reconcile>
                                <FormTokenField />
                                <input type="hidden" name="connector_id" value=connector.id.to_string() />
                                <button type="submit" class="button button-secondary">"Reconcile now"</button>
                            </ActionForm>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
        <section class="stack" aria-labelledby="drift-heading">
            <h2 id="drift-heading">"Drift"</h2>
            {if data.drift.is_empty() {
                view! { <Empty>"No drift: every system holds what Gatehouse grants."</Empty> }.into_any()
            } else {
                view! {
                    <DataTable label="Open drift" columns=&["System", "Group", "Who", "What", "Since"]>
                        {data.drift.into_iter().map(|drift| view! {
                            <tr>
                                <td>{drift.connector}</td>
                                <td>{drift.resource}</td>
                                <td>{if drift.person.is_empty() { drift.account.clone() } else { drift.person.clone() }}</td>
                                <td>{if drift.kind == "unexpected_member" { "Member without a grant (added out of band, or a removal that did not stick)" } else { "Granted but missing downstream" }}</td>
                                <td>{drift.found_at.date_time_utc()}</td>
                            </tr>
                        }).collect_view()}
                    </DataTable>
                }.into_any()
            }}
        </section>
        <section class="stack" aria-labelledby="jobs-heading">
            <h2 id="jobs-heading">"Failed jobs"</h2>
            {if data.troubled.is_empty() {
                view! { <Empty>"No job has failed."</Empty> }.into_any()
            } else {
                view! {
                    <ul class="stack">
                        {data.troubled.into_iter().map(|job| view! {
                            <li class="card stack">
                                <h3>{format!("{} {} in {} ({})", job.operation.replace('_', " "), job.person, job.resource, job.connector)}</h3>
                                <p class="muted">
                                    {crate::components::detail::attempts_line(job.attempts, &job.status, job.next_attempt_at)}
                                </p>
                                <pre class="mail-body">{job.last_error}</pre>
                                <ActionForm action=retry>
                                    <FormTokenField />
                                    <input type="hidden" name="job_id" value=job.id.to_string() />
                                    <button type="submit" class="button button-secondary">"Retry now"</button>
                                </ActionForm>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

fn new_connector_form(
    create: ServerAction<CreateConnector>,
    create_failure: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <section class="card stack" aria-labelledby="new-connector-heading">
            <h2 id="new-connector-heading">"Add a connector"</h2>
            {move || create_failure.get().map(|error| view! { <ErrorSummary error prefix="connector-" /> })}
            <ActionForm action=create attr:class="form" attr:novalidate=true>
                <FormTokenField />
                <Field failure=create_failure field="kind" prefix="connector-" label="Kind">
                    <select id="connector-kind" name="connector[kind]">
                        <option value="scim">"SCIM 2.0"</option>
                        <option value="ldap">"LDAP directory"</option>
                        <option value="webhook">"Webhook (signed events)"</option>
                    </select>
                </Field>
                <Field failure=create_failure field="name" prefix="connector-" label="Name">
                    <input id="connector-name" name="connector[name]" type="text" maxlength="200" />
                </Field>
                <Field failure=create_failure field="url" prefix="connector-" label="URL" hint="SCIM: the base URL (https://scim.example.com/v2). LDAP: ldaps://ldap.example.com. Webhook: where events are posted.">
                    <input id="connector-url" name="connector[url]" type="text" />
                </Field>
                <fieldset class="stack">
                    <legend>"SCIM only"</legend>
                    <Field failure=create_failure field="auth" prefix="connector-" label="Authentication">
                        <select id="connector-auth" name="connector[auth]">
                            <option value="bearer">"Bearer token"</option>
                            <option value="basic">"User name and password"</option>
                        </select>
                    </Field>
                    <Field failure=create_failure field="username" prefix="connector-" label="User name (basic authentication)">
                        <input id="connector-username" name="connector[username]" type="text" autocomplete="off" />
                    </Field>
                </fieldset>
                <fieldset class="stack">
                    <legend>"LDAP only"</legend>
                    <Field failure=create_failure field="bind_dn" prefix="connector-" label="Bind DN" hint="Who Gatehouse signs in to the directory as.">
                        <input id="connector-bind_dn" name="connector[bind_dn]" type="text" autocomplete="off" />
                    </Field>
                    <Field failure=create_failure field="users_base" prefix="connector-" label="People base DN" hint="Where people are found by their email (mail attribute).">
                        <input id="connector-users_base" name="connector[users_base]" type="text" />
                    </Field>
                    <div class="checkbox">
                        <input id="connector-starttls" name="connector[starttls]" type="checkbox" value="on" />
                        <label for="connector-starttls">"Use StartTLS (for an ldap:// URL that is not on this machine)"</label>
                    </div>
                </fieldset>
                <Field failure=create_failure field="secret_name" prefix="connector-" label="Secret name" hint="The token, password or signing secret is read from the environment variable GATEHOUSE_SECRET_<name> when Gatehouse starts. It is never stored or shown, and goes to this connector only; GATEHOUSE_SECRET_<name>_URL pins the one URL it may be sent to.">
                    <input id="connector-secret_name" name="connector[secret_name]" type="text" autocomplete="off" />
                </Field>
                <button type="submit" class="button button-primary">"Add connector"</button>
            </ActionForm>
        </section>
    }
}
