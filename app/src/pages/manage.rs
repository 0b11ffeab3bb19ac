//! Managing packages: the list of packages the person owns (all, for administrators),
//! and per package its holders with Remove, and a form to assign it directly.

use crate::api::manage::{
    get_package_management, list_managed_packages, AssignPackage, PackageManagement,
};
use crate::api::requests::RevokeAccess;
use crate::components::feedback::{Badge, Empty, ErrorAlert, Loading};
use crate::components::form::{field_class, field_error, ErrorSummary};
use crate::components::route::id_param;
use crate::components::table::DataTable;
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ManagePage() -> impl IntoView {
    let packages = Resource::new(|| (), |_| list_managed_packages());
    view! {
        <Title text="Manage packages" />
        <div class="page-header">
            <h1>"Manage packages"</h1>
            <p class="lead">"Packages you own, or whose catalog you own."</p>
        </div>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match packages.await {
                    Ok(list) if list.is_empty() => view! { <Empty>"You manage no packages."</Empty> }.into_any(),
                    Ok(list) => view! {
                        <ul class="grid">
                            {list.into_iter().map(|package| view! {
                                <li class="card">
                                    <h2><a href=format!("/manage/packages/{}", package.package_id)>{package.name}</a></h2>
                                    <p class="muted">{package.catalog_name}</p>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ManagePackagePage() -> impl IntoView {
    let package_id = id_param();
    let assign = ServerAction::<AssignPackage>::new();
    let revoke = ServerAction::<RevokeAccess>::new();
    let management = Resource::new(
        move || (package_id(), assign.version().get(), revoke.version().get()),
        |(id, _, _)| get_package_management(id),
    );
    view! {
        <Title text="Manage package" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match management.await {
                    Ok(management) => package_view(management, assign, revoke).into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn package_view(
    management: PackageManagement,
    assign: ServerAction<AssignPackage>,
    revoke: ServerAction<RevokeAccess>,
) -> impl IntoView {
    let assign_failure = move || assign.value().get().and_then(Result::err);
    let revoke_failure = move || revoke.value().get().and_then(Result::err);
    view! {
        <div class="page-header">
            <h1>{management.name.clone()}</h1>
        </div>
        <section class="card stack" aria-labelledby="holders-heading">
            <h2 id="holders-heading">"Who holds it"</h2>
            {move || revoke_failure().map(|error: AppError| view! { <ErrorSummary error /> })}
            {if management.holders.is_empty() {
                view! { <Empty>"Nobody holds this package."</Empty> }.into_any()
            } else {
                view! {
                    <DataTable label="Holders" columns=&["Person", "Status", "Since", "Ends", "Remove"]>
                        {management.holders.into_iter().map(|holder| {
                            let field = format!("comment-{}", holder.assignment_id);
                            view! {
                                <tr>
                                    <td>{holder.person_name.clone()}</td>
                                    <td><Badge label=holder.status.label() tone=holder.status.tone() /></td>
                                    <td><time>{holder.start_at.date_utc()}</time></td>
                                    <td>{holder.end_at.map_or("No end".to_string(), |end| end.date_utc())}</td>
                                    <td>
                                        <ActionForm action=revoke attr:class="cluster">
                                            <input type="hidden" name="assignment_id" value=holder.assignment_id.to_string() />
                                            <label class="visually-hidden" for=field.clone()>{format!("Reason for removing {}", holder.person_name)}</label>
                                            <input id=field name="comment" type="text" maxlength="2000" placeholder="Reason" required />
                                            <button type="submit" class="button button-danger">"Remove"</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </DataTable>
                }.into_any()
            }}
        </section>
        <section class="card stack" aria-labelledby="assign-heading">
            <h2 id="assign-heading">"Assign directly"</h2>
            {move || assign_failure().map(|error: AppError| view! { <ErrorSummary error /> })}
            <ActionForm action=assign attr:class="form" attr:novalidate=true>
                <input type="hidden" name="package_id" value=management.package_id.to_string() />
                <div class=move || field_class(&assign_failure(), "person_id")>
                    <label for="person_id">"Person"</label>
                    {move || field_error(&assign_failure(), "person_id")}
                    <select id="person_id" name="person_id">
                        {management.people.into_iter().map(|(id, name)| view! {
                            <option value=id.to_string()>{name}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class=move || field_class(&assign_failure(), "end_date")>
                    <label for="end_date">"Until (optional)"</label>
                    {move || field_error(&assign_failure(), "end_date")}
                    <input id="end_date" name="end_date" type="date" />
                </div>
                <div class=move || field_class(&assign_failure(), "reason")>
                    <label for="reason">"Reason"</label>
                    {move || field_error(&assign_failure(), "reason")}
                    <textarea id="reason" name="reason" rows="2" maxlength="2000"></textarea>
                </div>
                <button type="submit" class="button button-primary">"Assign"</button>
            </ActionForm>
        </section>
    }
}
