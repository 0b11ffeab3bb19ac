//! `/audit`: the audit trail, for administrators and auditors.

use crate::api::audit::get_audit_trail;
use crate::components::feedback::{ErrorAlert, Loading};
use crate::components::table::DataTable;
use crate::domain::ErrorCode;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AuditPage() -> impl IntoView {
    let trail = Resource::new(|| (), |_| get_audit_trail());
    view! {
        <Title text="Audit trail" />
        <div class="page-header">
            <h1>"Audit trail"</h1>
        </div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match trail.await {
                    Ok(trail) => view! {
                        {match trail.chain_break {
                            None => view! {
                                <p class="alert alert-success" role="status">
                                    "The hash chain is intact: " {trail.verified_events} " events verified."
                                </p>
                            }.into_any(),
                            Some(chain_break) => view! {
                                <p class="alert alert-danger" role="alert">
                                    "The hash chain is broken: " {chain_break}
                                </p>
                            }.into_any(),
                        }}
                        <DataTable label="Audit events" columns=&["#", "When", "Who", "What", "Object"]>
                                    {trail.events.into_iter().map(|event| view! {
                                        <tr>
                                            <td>{event.id}</td>
                                            <td><time>{event.occurred_at.date_time_utc()}</time></td>
                                            <td>{event.actor}</td>
                                            <td><code>{event.action}</code></td>
                                            <td>{event.object}</td>
                                        </tr>
                                    }).collect_view()}
                                </DataTable>
                    }.into_any(),
                    Err(error) if error.code == ErrorCode::Unauthenticated => view! {
                        <p class="alert alert-info">"Please " <a href="/sign-in">"sign in"</a> " to continue."</p>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
