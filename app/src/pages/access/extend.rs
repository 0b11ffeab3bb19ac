//! `/access/:id/extend`: asking to keep access longer, before it ends. Granted access keeps
//! running while the extension waits, so there is no gap when it is approved.

use crate::api::requests::{get_extension_form, ExtensionFormView, RequestExtension};
use crate::components::feedback::{ErrorAlert, Loading};
use crate::components::form::{field_class, field_error, ErrorSummary};
use crate::components::route::id_param;
use crate::domain::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ExtendAccessPage() -> impl IntoView {
    let assignment_id = id_param();
    let form = Resource::new(assignment_id, get_extension_form);
    let extend = ServerAction::<RequestExtension>::new();
    view! {
        <Title text="Extend access" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match form.await {
                    Ok(form) => extension_form(form, extend).into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn extension_form(
    form: ExtensionFormView,
    extend: ServerAction<RequestExtension>,
) -> impl IntoView {
    let failure = move || extend.value().get().and_then(Result::err);
    let current = form
        .current_end
        .map_or("no end date".to_string(), |end| end.date_utc());
    let Some(needs_approval) = form.needs_approval else {
        return view! {
            <div class="page-header"><h1>{format!("Extend {}", form.package_name)}</h1></div>
            <p class="alert alert-info">"This access cannot be extended. Request it again when it ends."</p>
        }
        .into_any();
    };
    view! {
        <div class="page-header">
            <h1>{format!("Extend {}", form.package_name)}</h1>
            <p class="lead">
                {format!("Your access ends on {current}. An extension adds at most {}", form.step)}
                {if needs_approval { " and needs approval; your access continues meanwhile." } else { " and is granted at once." }}
            </p>
        </div>
        <section class="card stack" aria-labelledby="extend-heading">
            <h2 id="extend-heading">"New end"</h2>
            {move || failure().map(|error: AppError| view! { <ErrorSummary error /> })}
            <ActionForm action=extend attr:class="form" attr:novalidate=true>
                <crate::components::form::FormTokenField />
                <input type="hidden" name="assignment_id" value=form.assignment_id.to_string() />
                <div class=move || field_class(&failure(), "end_date")>
                    <label for="end_date">"Keep access until"</label>
                    {move || field_error(&failure(), "end_date")}
                    <input id="end_date" name="end_date" type="date" />
                </div>
                <div class=move || field_class(&failure(), "justification")>
                    <label for="justification">
                        {if form.justification_required { "Why do you need it longer?" } else { "Why do you need it longer? (optional)" }}
                    </label>
                    {move || field_error(&failure(), "justification")}
                    <textarea id="justification" name="justification" rows="3" maxlength="2000"></textarea>
                </div>
                <button type="submit" class="button button-primary">"Ask for the extension"</button>
            </ActionForm>
        </section>
    }
    .into_any()
}
