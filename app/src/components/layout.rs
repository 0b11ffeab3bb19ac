//! The frame of every page: development banner, header with navigation by role, main
//! content, footer. The menu button is for narrow screens; until the page is hydrated the
//! navigation is simply shown (the page works without JavaScript).

use crate::api::session::{get_site_info, SignOut, SiteInfo};
use leptos::prelude::*;
use leptos_router::hooks::use_location;

#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let location = use_location();
    // Re-read who is signed in on every navigation (sign-in and sign-out navigate).
    let site = Resource::new(move || location.pathname.get(), |_| get_site_info());
    let menu_open = RwSignal::new(false);
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser, so this marks the page as hydrated.
    Effect::new(move |_| hydrated.set(true));
    let sign_out = ServerAction::<SignOut>::new();

    view! {
        <a class="skip-link" href="#main">"Skip to main content"</a>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let development = site.await.map(|info| info.development).unwrap_or(false);
                development.then(|| view! {
                    <div class="dev-banner" role="note">
                        <strong>"Development mode"</strong>
                        " — demo data, development sign-in and the "
                        <a href="/dev/mail">"development mail page"</a>
                        ". Never use this mode in production."
                    </div>
                })
            })}
        </Suspense>
        <header class="site-header">
            <a class="brand" href="/">"Gatehouse"</a>
            <button
                class="nav-toggle"
                type="button"
                aria-controls="site-nav"
                aria-expanded=move || menu_open.get().to_string()
                data-hydrated=move || hydrated.get().to_string()
                on:click=move |_| menu_open.update(|open| *open = !*open)
            >
                "Menu"
            </button>
            <nav
                id="site-nav"
                class="site-nav"
                aria-label="Main"
                data-open=move || menu_open.get().to_string()
            >
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match site.await {
                            Ok(info) => navigation(info, sign_out).into_any(),
                            Err(_) => view! { <a href="/">"Home"</a> }.into_any(),
                        }
                    })}
                </Suspense>
            </nav>
        </header>
        <main id="main" class="container" tabindex="-1">
            {children()}
        </main>
        <footer class="site-footer">
            <p class="muted">"Gatehouse — access requests and reviews, self-hosted."</p>
        </footer>
    }
}

fn navigation(info: SiteInfo, sign_out: ServerAction<SignOut>) -> impl IntoView {
    let location = use_location();
    let current =
        move |path: &'static str| move || (location.pathname.get() == path).then_some("page");
    let viewer = info.viewer.clone();
    let signed_in = viewer.is_some();
    let sees_audit = viewer
        .as_ref()
        .is_some_and(|viewer| viewer.is_admin || viewer.is_auditor);
    view! {
        <ul class="nav-links">
            <li>
                <a href="/" aria-current=current("/")>"Home"</a>
            </li>
            {signed_in.then(|| view! {
                <li>
                    <a href="/catalog" aria-current=current("/catalog")>"Request access"</a>
                </li>
                <li>
                    <a href="/approvals" aria-current=current("/approvals")>"Approvals"</a>
                </li>
                <li>
                    <a href="/reviews" aria-current=current("/reviews")>"Reviews"</a>
                </li>
                <li>
                    <a href="/manage" aria-current=current("/manage")>"Manage"</a>
                </li>
            })}
            {sees_audit.then(|| view! {
                <li>
                    <a href="/audit" aria-current=current("/audit")>"Audit trail"</a>
                </li>
            })}
            {info.development.then(|| view! {
                <li>
                    <a href="/dev/mail" aria-current=current("/dev/mail")>"Mail"</a>
                </li>
            })}
        </ul>
        <div class="user-menu">
            {match viewer {
                Some(viewer) => view! {
                    <span class="muted">"Signed in as " <strong>{viewer.display_name}</strong></span>
                    {viewer.roles_to_confirm.then(|| view! {
                        // Roles from the identity provider lapse after a few minutes until
                        // it confirms them: one click signs in again and comes back here.
                        <form method="post" action="/auth/login">
                            <crate::components::form::FormTokenField />
                            <input type="hidden" name="next" value=move || location.pathname.get() />
                            <button type="submit" class="button button-secondary">"Confirm your roles"</button>
                        </form>
                    })}
                    <a href="/settings" aria-current=current("/settings")>"Settings"</a>
                    <ActionForm action=sign_out>
                        <crate::components::form::FormTokenField />
                        <button type="submit" class="button button-link">"Sign out"</button>
                    </ActionForm>
                }.into_any(),
                None => {
                    // Back to this page after signing in (the server follows same-origin paths only).
                    let href = move || {
                        let path = location.pathname.get();
                        if path == "/sign-in" || path == "/" {
                            "/sign-in".to_string()
                        } else {
                            let search = location.search.get();
                            let here = if search.is_empty() { path } else { format!("{path}?{search}") };
                            format!("/sign-in?next={}", urlencoding(&here))
                        }
                    };
                    view! { <a class="button button-secondary" href=href>"Sign in"</a> }.into_any()
                }
            }}
        </div>
    }
}

/// Percent-encodes a path or any text for a query value.
pub fn urlencoding(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
