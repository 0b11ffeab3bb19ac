//! `/manage`: the packages the person manages (those they own or whose catalog they own;
//! all, for administrators), and the links between the Manage pages.

pub mod catalogs;
pub mod conflicts;
pub mod connectors;
pub mod mail;
pub mod packages;
pub mod reviews;
pub mod scim;

use crate::api::manage::list_managed_packages;
use crate::components::feedback::{Empty, ErrorAlert, Loading};
use leptos::prelude::*;
use leptos_meta::Title;

/// Links between the Manage pages.
#[component]
pub fn ManageNav(current: &'static str) -> impl IntoView {
    let links = [
        ("/manage", "Packages"),
        ("/manage/catalogs", "Catalogs"),
        ("/manage/conflicts", "Separation of duties"),
        ("/manage/reviews", "Access reviews"),
        ("/manage/connectors", "Connectors"),
        ("/manage/mail", "Mail queue"),
        ("/manage/scim", "HR inbound"),
    ];
    view! {
        <nav class="subnav cluster" aria-label="Manage">
            {links.into_iter().map(|(href, label)| view! {
                <a href=href aria-current=(href == current).then_some("page")>{label}</a>
            }).collect_view()}
        </nav>
    }
}

#[component]
pub fn ManagePage() -> impl IntoView {
    let packages = Resource::new(|| (), |_| list_managed_packages());
    view! {
        <Title text="Manage packages" />
        <div class="page-header">
            <h1>"Manage packages"</h1>
            <p class="lead">"Packages you own, or whose catalog you own."</p>
        </div>
        <ManageNav current="/manage" />
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
