//! `/catalog`: the request catalog, packages the person may request, with a search that
//! works as a plain GET form.

pub mod package;

use crate::api::requests::list_requestable;
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let catalog = move || query.read().get("catalog").unwrap_or_default();
    let approval = move || query.read().get("approval").unwrap_or_default();
    let packages = Resource::new(
        move || (search(), catalog(), approval()),
        |(search, catalog, approval)| list_requestable(search, catalog, approval),
    );
    // Every requestable package, for the catalog filter's choices.
    let everything = Resource::new(
        || (),
        |_| list_requestable(String::new(), String::new(), String::new()),
    );
    view! {
        <Title text="Request access" />
        <div class="page-header">
            <h1>"Request access"</h1>
            <p class="lead">"Access packages you may request. Hidden packages are reached by their direct link."</p>
        </div>
        <form class="search-form" method="get" action="/catalog" role="search">
            <div class="field">
                <label for="q">"Search packages"</label>
                <input id="q" name="q" type="search" maxlength="200" value=search />
            </div>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let mut names: Vec<String> = everything.await.unwrap_or_default().into_iter().map(|entry| entry.catalog_name).collect();
                    names.dedup();
                    view! {
                        <div class="field">
                            <label for="catalog">"Catalog"</label>
                            <select id="catalog" name="catalog">
                                <option value="">"All catalogs"</option>
                                {names.into_iter().map(|name| {
                                    let selected = catalog().eq_ignore_ascii_case(&name);
                                    let label = name.clone();
                                    view! { <option value=name selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                    }
                })}
            </Suspense>
            <div class="field">
                <label for="approval">"Approval"</label>
                <select id="approval" name="approval">
                    {[("", "Any"), ("needs_approval", "Needs approval"), ("at_once", "Granted at once")].into_iter().map(|(value, label)| {
                        view! { <option value=value selected=move || approval() == value>{label}</option> }
                    }).collect_view()}
                </select>
            </div>
            <button type="submit" class="button button-secondary">"Search"</button>
            <a class="button" href="/catalog">"Clear"</a>
        </form>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match packages.await {
                    Ok(entries) if entries.is_empty() => view! { <Empty>"No package matches."</Empty> }.into_any(),
                    Ok(entries) => view! {
                        <ul class="grid">
                            {entries.into_iter().map(|entry| view! {
                                <li class="card stack">
                                    <h2><a href=format!("/catalog/{}", entry.package_id)>{entry.name.clone()}</a></h2>
                                    <p class="muted">{entry.catalog_name}</p>
                                    <p>{entry.description}</p>
                                    <p class="cluster">
                                        <span class="badge badge-neutral">{entry.duration}</span>
                                        {if entry.needs_approval {
                                            view! { <span class="badge badge-info">"Needs approval"</span> }.into_any()
                                        } else {
                                            view! { <span class="badge badge-success">"Granted at once"</span> }.into_any()
                                        }}
                                    </p>
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
