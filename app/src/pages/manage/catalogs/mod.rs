//! `/manage/catalogs`: the catalogs the person owns (all, for administrators), where
//! administrators create catalogs; and the catalog form's fields, shared with one catalog's
//! page (`detail`).

pub mod detail;

use crate::api::catalogs::{list_catalogs, SaveCatalog};
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use crate::components::form::{ticked, Checkbox, ErrorSummary, Field};
use crate::components::table::DataTable;
use crate::domain::drafts::CatalogForm;
use crate::domain::AppError;
use crate::pages::manage::ManageNav;
use leptos::prelude::*;
use leptos_meta::Title;

/// The catalog form's fields (name, description, owners, enabled), for creating and editing.
fn catalog_fields(
    failure: Signal<Option<AppError>>,
    form: CatalogForm,
    prefix: &'static str,
) -> impl IntoView {
    view! {
        <Field failure field="name" prefix label="Name">
            <input id=format!("{prefix}name") name="catalog[name]" type="text" maxlength="200" value=form.name />
        </Field>
        <Field failure field="description" prefix label="Description (optional)">
            <textarea id=format!("{prefix}description") name="catalog[description]" rows="2" maxlength="2000">{form.description}</textarea>
        </Field>
        <Field failure field="owners" prefix label="Owners (optional)" hint="Email addresses, separated by commas. Owners manage the catalog's resources and packages.">
            <input id=format!("{prefix}owners") name="catalog[owners]" type="text" value=form.owners />
        </Field>
        <Checkbox id=format!("{prefix}enabled") name="catalog[enabled]" label="Enabled: its packages appear in the request catalog" checked=ticked(&form.enabled) />
    }
}

#[component]
pub fn ManageCatalogsPage() -> impl IntoView {
    let create = ServerAction::<SaveCatalog>::new();
    let catalogs = Resource::new(move || create.version().get(), |_| list_catalogs());
    let failure = Signal::derive(move || create.value().get().and_then(Result::err));
    view! {
        <Title text="Catalogs" />
        <div class="page-header">
            <h1>"Catalogs"</h1>
            <p class="lead">"Catalogs group resources and the access packages that grant them."</p>
        </div>
        <ManageNav current="/manage/catalogs" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match catalogs.await {
                    Ok(list) => view! {
                        {if list.catalogs.is_empty() {
                            view! { <Empty>"You own no catalog."</Empty> }.into_any()
                        } else {
                            view! {
                                <DataTable label="Catalogs" columns=&["Catalog", "Packages", "Resources", "State"]>
                                    {list.catalogs.into_iter().map(|catalog| view! {
                                        <tr>
                                            <td>
                                                <a href=format!("/manage/catalogs/{}", catalog.id)>{catalog.name}</a>
                                                <p class="muted">{catalog.description}</p>
                                            </td>
                                            <td>{catalog.package_count}</td>
                                            <td>{catalog.resource_count}</td>
                                            <td>{if catalog.enabled { "Enabled" } else { "Disabled" }}</td>
                                        </tr>
                                    }).collect_view()}
                                </DataTable>
                            }.into_any()
                        }}
                        {list.can_create.then(|| view! {
                            <section class="card stack" aria-labelledby="new-catalog-heading">
                                <h2 id="new-catalog-heading">"New catalog"</h2>
                                {move || failure.get().map(|error| view! { <ErrorSummary error prefix="new-" /> })}
                                <ActionForm action=create attr:class="form" attr:novalidate=true>
                                    <crate::components::form::FormTokenField />
                                    <input type="hidden" name="catalog_id" value="0" />
                                    {catalog_fields(failure, CatalogForm { enabled: Some("on".into()), ..CatalogForm::default() }, "new-")}
                                    <button type="submit" class="button button-primary">"Create catalog"</button>
                                </ActionForm>
                            </section>
                        })}
                    }.into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
