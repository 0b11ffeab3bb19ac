//! Access in the connected systems: per resource, a timeline of its grant and its removal
//! (granted, removed and verified, or retrying).

use crate::components::feedback::Badge;
use crate::domain::provisioning::{describe, StepRecord};
use leptos::prelude::*;

/// One timeline per resource: its grant, then its removal.
pub fn provisioning_section(steps: Vec<StepRecord>) -> impl IntoView {
    let mut resources: Vec<(String, String, Vec<StepRecord>)> = Vec::new();
    for step in steps {
        match resources.last_mut() {
            Some((name, _, list)) if *name == step.resource => list.push(step),
            _ => resources.push((step.resource.clone(), step.system.clone(), vec![step])),
        }
    }
    view! {
        <section class="card stack" aria-labelledby="provisioning-heading">
            <h2 id="provisioning-heading">"In connected systems"</h2>
            {resources.into_iter().map(|(resource, system, steps)| view! {
                <h3>{resource} <span class="muted">{format!(" in {system}")}</span></h3>
                <ol class="timeline">
                    {steps.into_iter().map(|step| {
                        let (label, tone, text) = describe(&step);
                        let class = if step.status == "succeeded" { "done" } else { "current" };
                        let what = if step.operation == "remove_member" { "Removal" } else { "Grant" };
                        view! {
                            <li class=class>
                                <p>{what} " " <Badge label tone /></p>
                                <p class="muted">{text}</p>
                            </li>
                        }
                    }).collect_view()}
                </ol>
            }).collect_view()}
        </section>
    }
}
