//! `/manage/catalogs/:id`: one catalog with its packages, resources and settings, and the
//! downstream connectors it may use.

use super::catalog_fields;
use crate::api::catalogs::{
    get_catalog, AddResource, AllowCatalogConnector, AllowanceView, CatalogDetail, CreatePackage,
    DisallowCatalogConnector, SaveCatalog,
};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::{Checkbox, ErrorSummary, Field};
use crate::components::route::id_param;
use crate::components::table::DataTable;
use crate::domain::drafts::RESOURCE_KINDS;
use crate::pages::manage::ManageNav;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ManageCatalogPage() -> impl IntoView {
    let catalog_id = id_param();
    let save = ServerAction::<SaveCatalog>::new();
    let add_resource = ServerAction::<AddResource>::new();
    let create_package = ServerAction::<CreatePackage>::new();
    let allow = ServerAction::<AllowCatalogConnector>::new();
    let disallow = ServerAction::<DisallowCatalogConnector>::new();
    let catalog = Resource::new(
        move || {
            (
                catalog_id(),
                save.version().get(),
                add_resource.version().get(),
                allow.version().get() + disallow.version().get(),
            )
        },
        |(id, _, _, _)| get_catalog(id),
    );
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match catalog.await {
                    Ok(detail) => view! {
                        {catalog_view(detail.clone(), save, add_resource, create_package)}
                        {detail.can_edit.then(|| allowances_view(&detail, allow, disallow))}
                    }.into_any(),
                    Err(error) => view! { <Title text="Catalog" /> <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn catalog_view(
    detail: CatalogDetail,
    save: ServerAction<SaveCatalog>,
    add_resource: ServerAction<AddResource>,
    create_package: ServerAction<CreatePackage>,
) -> impl IntoView {
    let save_failure = Signal::derive(move || save.value().get().and_then(Result::err));
    let resource_failure = Signal::derive(move || add_resource.value().get().and_then(Result::err));
    let package_failure =
        Signal::derive(move || create_package.value().get().and_then(Result::err));
    let id = detail.id;
    let resources = detail.resources.clone();
    view! {
        <Title text=detail.form.name.clone() />
        <div class="page-header">
            <h1>{detail.form.name.clone()}</h1>
            <p class="lead">{detail.form.description.clone()}</p>
        </div>
        <ManageNav current="" />
        <section class="card stack" aria-labelledby="packages-heading">
            <h2 id="packages-heading">"Access packages"</h2>
            {if detail.packages.is_empty() {
                view! { <Empty>"No package yet."</Empty> }.into_any()
            } else {
                view! {
                    <ul class="stack">
                        {detail.packages.clone().into_iter().map(|(id, name, hidden)| view! {
                            <li>
                                <a href=format!("/manage/packages/{id}")>{name}</a>
                                {hidden.then(|| view! { " " <span class="badge">"Hidden"</span> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <h3>"New package"</h3>
            {move || package_failure.get().map(|error| view! { <ErrorSummary error prefix="package-" /> })}
            <ActionForm action=create_package attr:class="form" attr:novalidate=true>
                <crate::components::form::FormTokenField />
                <input type="hidden" name="catalog_id" value=id.to_string() />
                <Field failure=package_failure field="name" prefix="package-" label="Name">
                    <input id="package-name" name="package[name]" type="text" maxlength="200" />
                </Field>
                <Field failure=package_failure field="description" prefix="package-" label="Description">
                    <textarea id="package-description" name="package[description]" rows="2" maxlength="2000"></textarea>
                </Field>
                <Field failure=package_failure field="owners" prefix="package-" label="Owners (optional)" hint="Email addresses, separated by commas.">
                    <input id="package-owners" name="package[owners]" type="text" />
                </Field>
                <Checkbox id="package-hidden" name="package[hidden]" label="Hidden: reachable only by its direct link" checked=false />
                <button type="submit" class="button button-primary">"Create package"</button>
            </ActionForm>
        </section>
        <section class="card stack" aria-labelledby="resources-heading">
            <h2 id="resources-heading">"Resources"</h2>
            {if resources.is_empty() {
                view! { <Empty>"No resource yet."</Empty> }.into_any()
            } else {
                view! {
                    <DataTable label="Resources" columns=&["Resource", "Kind", "Connector", "Id downstream"]>
                        {resources.into_iter().map(|resource| view! {
                            <tr>
                                <td>{resource.name}</td>
                                <td>{resource.kind.replace('_', " ")}</td>
                                <td>{resource.connector_name}</td>
                                <td><code>{resource.external_id.unwrap_or_default()}</code></td>
                            </tr>
                        }).collect_view()}
                    </DataTable>
                }.into_any()
            }}
            <h3>"Add a resource"</h3>
            {move || resource_failure.get().map(|error| view! { <ErrorSummary error prefix="resource-" /> })}
            <ActionForm action=add_resource attr:class="form" attr:novalidate=true>
                <crate::components::form::FormTokenField />
                <input type="hidden" name="catalog_id" value=id.to_string() />
                <Field failure=resource_failure field="name" prefix="resource-" label="Name">
                    <input id="resource-name" name="resource[name]" type="text" maxlength="200" />
                </Field>
                <Field failure=resource_failure field="kind" prefix="resource-" label="Kind">
                    <select id="resource-kind" name="resource[kind]">
                        {RESOURCE_KINDS.iter().map(|(value, label)| view! { <option value=*value>{*label}</option> }).collect_view()}
                    </select>
                </Field>
                <Field failure=resource_failure field="connector_id" prefix="resource-" label="Connector" hint="Where the resource lives: Gatehouse itself, or a downstream system.">
                    <select id="resource-connector_id" name="resource[connector_id]">
                        {detail.connectors.clone().into_iter().map(|(id, name, kind)| view! {
                            <option value=id.to_string()>{format!("{name} ({kind})")}</option>
                        }).collect_view()}
                    </select>
                </Field>
                <Field failure=resource_failure field="external_id" prefix="resource-" label="Id downstream" hint="For example the SCIM group id or the LDAP group DN. Empty for Gatehouse's own groups.">
                    <input id="resource-external_id" name="resource[external_id]" type="text" maxlength="1000" />
                </Field>
                <button type="submit" class="button">"Add resource"</button>
            </ActionForm>
        </section>
        {detail.can_edit.then(|| view! {
            <section class="card stack" aria-labelledby="settings-heading">
                <h2 id="settings-heading">"Catalog settings"</h2>
                {move || save_failure.get().map(|error| view! { <ErrorSummary error prefix="catalog-" /> })}
                <ActionForm action=save attr:class="form" attr:novalidate=true>
                    <crate::components::form::FormTokenField />
                    <input type="hidden" name="catalog_id" value=id.to_string() />
                    {catalog_fields(save_failure, detail.form.clone(), "catalog-")}
                    <button type="submit" class="button button-primary">"Save catalog"</button>
                </ActionForm>
            </section>
        })}
    }
}

/// What administrators allowed this catalog of each downstream connector, and the form to
/// allow more. Owners see only the connectors they may use in the resource form.
fn allowances_view(
    detail: &CatalogDetail,
    allow: ServerAction<AllowCatalogConnector>,
    disallow: ServerAction<DisallowCatalogConnector>,
) -> impl IntoView {
    let failure = Signal::derive(move || allow.value().get().and_then(Result::err));
    let id = detail.id;
    let allowances = detail.allowances.clone();
    let all_connectors = detail.all_connectors.clone();
    let no_connector = all_connectors.is_empty();
    let describe = |allowance: &AllowanceView| -> String {
        let mut parts = Vec::new();
        if allowance.groups.iter().any(|group| group == "*") {
            parts.push("every group".to_string());
        } else if !allowance.groups.is_empty() {
            parts.push(allowance.groups.join("; "));
        }
        if let Some(within) = &allowance.within {
            parts.push(if allowance.kind == "ldap" {
                format!("any group below {within}")
            } else {
                format!("any group whose id starts with {within}")
            });
        }
        parts.join(", and ")
    };
    view! {
        <section class="card stack" aria-labelledby="allowances-heading">
            <h2 id="allowances-heading">"Connectors this catalog may use"</h2>
            <p class="muted">"The catalog's owners can add as resources only the downstream groups allowed here. Administrators add any."</p>
            {if allowances.is_empty() {
                view! { <Empty>"No connector yet: the owners can add Gatehouse's own groups only."</Empty> }.into_any()
            } else {
                view! {
                    <DataTable label="Connectors this catalog may use" columns=&["Connector", "Groups allowed", "Change"]>
                        {allowances.into_iter().map(|allowance| {
                            let allowed = describe(&allowance);
                            view! {
                                <tr>
                                    <td>{format!("{} ({})", allowance.connector_name, allowance.kind)}</td>
                                    <td><code>{allowed}</code></td>
                                    <td>
                                        <ActionForm action=disallow>
                                            <crate::components::form::FormTokenField />
                                            <input type="hidden" name="catalog_id" value=id.to_string() />
                                            <input type="hidden" name="connector_id" value=allowance.connector_id.to_string() />
                                            <button type="submit" class="button button-link">{format!("Stop allowing {}", allowance.connector_name)}</button>
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </DataTable>
                }.into_any()
            }}
            <h3>"Allow a connector"</h3>
            {no_connector.then(|| view! {
                <p class="muted">"There is no downstream connector yet: add one under " <a href="/manage/connectors">"Connectors"</a> "."</p>
            })}
            {move || failure.get().map(|error| view! { <ErrorSummary error prefix="allowance-" /> })}
            <ActionForm action=allow attr:class="form" attr:novalidate=true attr:hidden=no_connector>
                <crate::components::form::FormTokenField />
                <input type="hidden" name="catalog_id" value=id.to_string() />
                <Field failure field="connector_id" prefix="allowance-" label="Connector">
                    <select id="allowance-connector_id" name="allowance[connector_id]">
                        {all_connectors.into_iter().map(|(id, name, kind)| view! {
                            <option value=id.to_string()>{format!("{name} ({kind})")}</option>
                        }).collect_view()}
                    </select>
                </Field>
                <Field failure field="groups" prefix="allowance-" label="Groups (optional)" hint="Group ids, one a line: SCIM group ids or LDAP DNs. * alone allows every group.">
                    <textarea id="allowance-groups" name="allowance[groups]" rows="3"></textarea>
                </Field>
                <Field failure field="within" prefix="allowance-" label="Or every group within (optional)" hint="LDAP: a base DN, such as ou=engineering,ou=groups,dc=example,dc=com. SCIM and webhook: the start of the group id, such as eng-.">
                    <input id="allowance-within" name="allowance[within]" type="text" maxlength="1000" />
                </Field>
                <button type="submit" class="button">"Allow"</button>
            </ActionForm>
        </section>
    }
}
