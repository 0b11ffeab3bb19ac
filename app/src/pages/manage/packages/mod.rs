//! `/manage/packages/:id`: one package's holders with Remove, a form to assign it
//! directly, its assignment policies, incompatible packages and settings.

pub mod policy;

use crate::api::catalogs::{
    get_package_setup, AddIncompatibility, PackageSetup, RemoveIncompatibility, UpdatePackage,
};
use crate::api::manage::{get_package_management, AssignPackage, PackageManagement};
use crate::api::requests::RevokeAccess;
use crate::components::feedback::{Badge, Empty, ErrorAlert, Loading};
use crate::components::form::{field_class, field_error, ErrorSummary};
use crate::components::form::{ticked, Checkbox, Field};
use crate::components::route::id_param;
use crate::components::table::DataTable;
use crate::domain::drafts::RESOURCE_ROLES;
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ManagePackagePage() -> impl IntoView {
    let package_id = id_param();
    let assign = ServerAction::<AssignPackage>::new();
    let revoke = ServerAction::<RevokeAccess>::new();
    let management = Resource::new(
        move || (package_id(), assign.version().get(), revoke.version().get()),
        |(id, _, _)| get_package_management(id),
    );
    let update = ServerAction::<UpdatePackage>::new();
    let add_incompatible = ServerAction::<AddIncompatibility>::new();
    let remove_incompatible = ServerAction::<RemoveIncompatibility>::new();
    let setup = Resource::new(
        move || {
            (
                package_id(),
                update.version().get(),
                add_incompatible.version().get(),
                remove_incompatible.version().get(),
            )
        },
        |(id, _, _, _)| get_package_setup(id),
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
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                setup.await.ok().map(|setup| setup_view(setup, update, add_incompatible, remove_incompatible))
            })}
        </Suspense>
    }
}

/// The package's settings, its assignment policies and its incompatible packages.
fn setup_view(
    setup: PackageSetup,
    update: ServerAction<UpdatePackage>,
    add_incompatible: ServerAction<AddIncompatibility>,
    remove_incompatible: ServerAction<RemoveIncompatibility>,
) -> impl IntoView {
    let update_failure = Signal::derive(move || update.value().get().and_then(Result::err));
    let sod_failure = Signal::derive(move || {
        add_incompatible
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| remove_incompatible.value().get().and_then(Result::err))
    });
    let id = setup.id;
    let form = setup.form.clone();
    view! {
        <section class="card stack" aria-labelledby="policies-heading">
            <h2 id="policies-heading">"Assignment policies"</h2>
            {if setup.policies.is_empty() {
                view! { <Empty>"No policy: nobody can request this package yet."</Empty> }.into_any()
            } else {
                view! {
                    <DataTable label="Assignment policies" columns=&["Policy", "Who may request", "Duration", "Approval", "State"]>
                        {setup.policies.clone().into_iter().map(|policy| view! {
                            <tr>
                                <td><a href=format!("/manage/packages/{}/policies/{}", setup.id, policy.id)>{policy.name.clone()}</a></td>
                                <td>{policy.who.clone()}</td>
                                <td>{policy.duration.clone()}</td>
                                <td>{match policy.stage_count { 0 => "Granted at once".to_string(), 1 => "1 stage".to_string(), n => format!("{n} stages") }}</td>
                                <td>{if policy.enabled { "Enabled" } else { "Disabled" }}</td>
                            </tr>
                        }).collect_view()}
                    </DataTable>
                }.into_any()
            }}
            <p><a class="button" href=format!("/manage/packages/{}/policies/new", setup.id)>"Add a policy"</a></p>
        </section>
        <section class="card stack" aria-labelledby="sod-heading">
            <h2 id="sod-heading">"Incompatible packages"</h2>
            <p class="hint">"Nobody may hold this package together with these. Requests that would create such a pair are refused."</p>
            {move || sod_failure.get().map(|error| view! { <ErrorSummary error prefix="sod-" /> })}
            {if setup.incompatible.is_empty() {
                view! { <Empty>"None."</Empty> }.into_any()
            } else {
                view! {
                    <ul class="stack">
                        {setup.incompatible.clone().into_iter().map(|(other, name, catalog)| view! {
                            <li class="cluster">
                                <span>{format!("{name} ({catalog})")}</span>
                                <ActionForm action=remove_incompatible>
                                    <crate::components::form::FormTokenField />
                                    <input type="hidden" name="package_id" value=id.to_string() />
                                    <input type="hidden" name="other_package_id" value=other.to_string() />
                                    <button type="submit" class="button">{format!("Remove the rule with {name}")}</button>
                                </ActionForm>
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(!setup.candidates.is_empty()).then(|| view! {
                <ActionForm action=add_incompatible attr:class="form">
                    <crate::components::form::FormTokenField />
                    <input type="hidden" name="package_id" value=id.to_string() />
                    <Field failure=sod_failure field="other_package_id" prefix="sod-" label="May not be held together with">
                        <select id="sod-other_package_id" name="other_package_id">
                            {setup.candidates.clone().into_iter().map(|(other, label)| view! {
                                <option value=other.to_string()>{label}</option>
                            }).collect_view()}
                        </select>
                    </Field>
                    <button type="submit" class="button">"Add incompatibility"</button>
                </ActionForm>
            })}
        </section>
        <section class="card stack" aria-labelledby="package-settings-heading">
            <h2 id="package-settings-heading">"Package settings"</h2>
            <p class="muted">"Catalog: " <a href=format!("/manage/catalogs/{}", setup.catalog_id)>{setup.catalog_name.clone()}</a></p>
            {move || update_failure.get().map(|error| view! { <ErrorSummary error prefix="package-" /> })}
            {move || update.value().get().and_then(Result::ok).map(|_| view! { <p class="alert alert-success" role="status">"Saved."</p> })}
            <ActionForm action=update attr:class="form" attr:novalidate=true>
                <crate::components::form::FormTokenField />
                <input type="hidden" name="package_id" value=id.to_string() />
                <Field failure=update_failure field="name" prefix="package-" label="Name">
                    <input id="package-name" name="package[name]" type="text" maxlength="200" value=form.name.clone() />
                </Field>
                <Field failure=update_failure field="description" prefix="package-" label="Description">
                    <textarea id="package-description" name="package[description]" rows="3" maxlength="2000">{form.description.clone()}</textarea>
                </Field>
                <Field failure=update_failure field="owners" prefix="package-" label="Owners" hint=if setup.may_set_owners { "Email addresses, separated by commas." } else { "Only the catalog's owners and administrators change the owners." }>
                    <input id="package-owners" name="package[owners]" type="text" value=form.owners.clone() readonly=!setup.may_set_owners />
                </Field>
                <Checkbox id="package-hidden" name="package[hidden]" label="Hidden: reachable only by its direct link" checked=ticked(&form.hidden) />
                <fieldset id="package-resources" class=move || crate::components::form::field_class(&update_failure.get(), "resources")>
                    <legend>"Resources it grants, and the role in each"</legend>
                    {move || crate::components::form::field_error(&update_failure.get(), "resources")}
                    {if setup.resources.is_empty() {
                        view! { <p class="muted">"The catalog has no resources yet."</p> }.into_any()
                    } else {
                        setup.resources.clone().into_iter().map(|(resource, label)| {
                            let current = form.resources.get(&resource.to_string()).cloned().unwrap_or_default();
                            let field_id = format!("resource-{resource}");
                            view! {
                                <div class="field field-inline">
                                    <label for=field_id.clone()>{label}</label>
                                    <select id=field_id name=format!("package[resources][{resource}]")>
                                        <option value="" selected=current.is_empty()>"Not granted"</option>
                                        {RESOURCE_ROLES.iter().map(|(role, role_label)| view! {
                                            <option value=*role selected=current == *role>{*role_label}</option>
                                        }).collect_view()}
                                    </select>
                                </div>
                            }
                        }).collect_view().into_any()
                    }}
                </fieldset>
                <button type="submit" class="button button-primary">"Save package"</button>
            </ActionForm>
        </section>
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
                                    <td><a href=format!("/access/{}", holder.assignment_id)>{holder.person_name.clone()}</a></td>
                                    <td><Badge label=holder.status.label() tone=holder.status.tone() /></td>
                                    <td><time>{holder.start_at.date_utc()}</time></td>
                                    <td>{holder.end_at.map_or("No end".to_string(), |end| end.date_utc())}</td>
                                    <td>
                                        <ActionForm action=revoke attr:class="cluster">
                                            <crate::components::form::FormTokenField />
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
                <crate::components::form::FormTokenField />
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
