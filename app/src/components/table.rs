//! A data table: a labelled, keyboard-scrollable region (narrow screens scroll it
//! sideways) with column headers.

use leptos::prelude::*;

#[component]
pub fn DataTable(
    /// Names the region for screen readers, e.g. "My access".
    label: &'static str,
    columns: &'static [&'static str],
    /// The rows (`<tr>` elements).
    children: Children,
) -> impl IntoView {
    view! {
        <div class="table-wrap" role="region" aria-label=label tabindex="0">
            <table class="table">
                <thead>
                    <tr>
                        {columns.iter().map(|column| view! { <th scope="col">{*column}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
