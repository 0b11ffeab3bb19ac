//! `/manage/conflicts`: the separation-of-duties report, people who hold two packages that
//! may not be held together.

use crate::api::catalogs::list_conflicts;
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::table::DataTable;
use crate::pages::manage::ManageNav;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ConflictsPage() -> impl IntoView {
    let conflicts = Resource::new(|| (), |_| list_conflicts());
    view! {
        <Title text="Separation of duties" />
        <div class="page-header">
            <h1>"Separation of duties"</h1>
            <p class="lead">"People who hold two packages that may not be held together. New requests that would create such a pair are refused; these pairs existed before the rule, or were assigned directly."</p>
        </div>
        <ManageNav current="/manage/conflicts" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match conflicts.await {
                    Ok(list) if list.is_empty() => view! { <Empty>"Nobody holds a conflicting pair."</Empty> }.into_any(),
                    Ok(list) => view! {
                        <p class="alert alert-warning">{format!("{} conflicting pair(s). Remove one package of each pair, or record why it is accepted.", list.len())}</p>
                        <DataTable label="Conflicting pairs" columns=&["Person", "Holds", "And also", "Both since"]>
                            {list.into_iter().map(|conflict| view! {
                                <tr>
                                    <td>{conflict.person_name}</td>
                                    <td><a href=format!("/manage/packages/{}", conflict.first_package_id)>{conflict.first_package}</a></td>
                                    <td><a href=format!("/manage/packages/{}", conflict.second_package_id)>{conflict.second_package}</a></td>
                                    <td><time>{conflict.since.date_utc()}</time></td>
                                </tr>
                            }).collect_view()}
                        </DataTable>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
