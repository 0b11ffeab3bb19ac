//! The HTML shell and the route table.

use crate::components::layout::Layout;
use crate::pages::{
    AccessDetailPage, ActionLinkPage, ApprovalsPage, AuditPage, CatalogPage, ConflictsPage,
    ConnectorsPage, DevMailPage, ExtendAccessPage, HomePage, MailQueuePage, ManageCatalogPage,
    ManageCatalogsPage, ManagePackagePage, ManagePage, ManageReviewPage, ManageReviewsPage,
    MyReviewsPage, NotFound, PolicyPage, RequestDetailPage, RequestPackagePage, ReviewItemsPage,
    ReviewReportPage, ScimPage, SettingsPage, SignInPage,
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode,
};

/// The document around the app. On the server it also sets the page's Content Security
/// Policy with this response's nonce, so the only inline script allowed is Leptos' own
/// hydration loader.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="csrf-token" content=crate::components::form::form_token() />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use leptos::nonce::use_nonce;
    let (Some(nonce), Some(response)) =
        (use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    // Sign-in and sign-out forms may lead to the identity provider.
    let provider = use_context::<crate::backend::AppState>()
        .and_then(|state| state.settings.oidc_origin.clone())
        .map(|origin| format!(" {origin}"))
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'{provider}; \
         frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Title formatter=|page: String| format!("{page} · Gatehouse") />
        <Router>
            <Layout>
                <Routes fallback=|| view! { <NotFound /> }>
                    // Async: the whole page is rendered before it is sent, so it reads
                    // the same without JavaScript.
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("sign-in") view=SignInPage ssr=SsrMode::Async />
                    <Route path=path!("catalog") view=CatalogPage ssr=SsrMode::Async />
                    <Route path=path!("catalog/:id") view=RequestPackagePage ssr=SsrMode::Async />
                    <Route path=path!("approvals") view=ApprovalsPage ssr=SsrMode::Async />
                    <Route path=path!("requests/:id") view=RequestDetailPage ssr=SsrMode::Async />
                    <Route path=path!("reviews") view=MyReviewsPage ssr=SsrMode::Async />
                    <Route path=path!("reviews/:id") view=ReviewItemsPage ssr=SsrMode::Async />
                    <Route path=path!("access/:id") view=AccessDetailPage ssr=SsrMode::Async />
                    <Route path=path!("access/:id/extend") view=ExtendAccessPage ssr=SsrMode::Async />
                    <Route path=path!("manage") view=ManagePage ssr=SsrMode::Async />
                    <Route path=path!("manage/packages/:id") view=ManagePackagePage ssr=SsrMode::Async />
                    <Route path=path!("manage/packages/:id/policies/new") view=PolicyPage ssr=SsrMode::Async />
                    <Route path=path!("manage/packages/:id/policies/:policy_id") view=PolicyPage ssr=SsrMode::Async />
                    <Route path=path!("manage/catalogs") view=ManageCatalogsPage ssr=SsrMode::Async />
                    <Route path=path!("manage/catalogs/:id") view=ManageCatalogPage ssr=SsrMode::Async />
                    <Route path=path!("manage/conflicts") view=ConflictsPage ssr=SsrMode::Async />
                    <Route path=path!("manage/reviews") view=ManageReviewsPage ssr=SsrMode::Async />
                    <Route path=path!("manage/reviews/new") view=ManageReviewPage ssr=SsrMode::Async />
                    <Route path=path!("manage/reviews/:id") view=ManageReviewPage ssr=SsrMode::Async />
                    <Route path=path!("manage/reviews/instances/:id") view=ReviewReportPage ssr=SsrMode::Async />
                    <Route path=path!("audit") view=AuditPage ssr=SsrMode::Async />
                    <Route path=path!("dev/mail") view=DevMailPage ssr=SsrMode::Async />
                    <Route path=path!("act/:token") view=ActionLinkPage ssr=SsrMode::Async />
                    <Route path=path!("settings") view=SettingsPage ssr=SsrMode::Async />
                    <Route path=path!("manage/mail") view=MailQueuePage ssr=SsrMode::Async />
                    <Route path=path!("manage/scim") view=ScimPage ssr=SsrMode::Async />
                    <Route path=path!("manage/connectors") view=ConnectorsPage ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}
