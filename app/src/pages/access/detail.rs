//! `/access/:id`: one person's access to a package, its life drawn as a timeline (granted,
//! ends or ended and why, removal verified) and its state in each connected system.

use crate::api::access::{get_access, AccessDetail};
use crate::components::feedback::{Badge, ErrorAlert, Loading};
use crate::components::provisioning::provisioning_section;
use crate::components::route::id_param;
use crate::domain::status::AssignmentStatus;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccessDetailPage() -> impl IntoView {
    let assignment_id = id_param();
    let detail = Resource::new(assignment_id, get_access);
    view! {
        <Title text="Access" />
        <Suspense fallback=|| view! { <Loading /> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => access_view(detail).into_any(),
                    Err(error) => view! { <ErrorAlert error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One step of the assignment's life: done, where it stands now, or still to come.
struct Step {
    class: &'static str,
    title: String,
    text: String,
}

fn life(detail: &AccessDetail) -> Vec<Step> {
    let started = detail.status != AssignmentStatus::Scheduled;
    let mut steps = vec![Step {
        class: if started { "done" } else { "pending" },
        title: if started { "Granted" } else { "Starts" }.to_string(),
        text: detail.start_at.date_time_utc(),
    }];
    match &detail.ended {
        Some((at, why)) => steps.push(Step {
            class: "done",
            title: "Ended".to_string(),
            text: format!("{} — {why}", at.date_time_utc()),
        }),
        // Ended before its reason was kept (or without an event): say only that it did.
        None if matches!(
            detail.status,
            AssignmentStatus::Ending | AssignmentStatus::Removed
        ) =>
        {
            steps.push(Step {
                class: "done",
                title: "Ended".to_string(),
                text: detail.end_at.map_or(String::new(), |end| {
                    format!("Due to end {}", end.date_time_utc())
                }),
            })
        }
        None => steps.push(Step {
            class: if started { "current" } else { "pending" },
            title: "Ends".to_string(),
            text: detail
                .end_at
                .map_or("No end date".to_string(), |end| end.date_time_utc()),
        }),
    }
    steps.push(match (detail.status, detail.removed_at) {
        (AssignmentStatus::Removed, Some(at)) => Step {
            class: "done",
            title: "Removed everywhere".to_string(),
            text: format!("Verified {}", at.date_time_utc()),
        },
        (AssignmentStatus::Ending, _) => Step {
            class: "current",
            title: "Being removed".to_string(),
            text: "Waiting until every connected system confirms the removal.".to_string(),
        },
        _ => Step {
            class: "pending",
            title: "Removed everywhere".to_string(),
            text: "After it ends, each connected system is read back to verify.".to_string(),
        },
    });
    steps
}

fn access_view(detail: AccessDetail) -> impl IntoView {
    let steps = life(&detail);
    view! {
        <div class="page-header">
            <h1>{format!("{}: {}", detail.package_name, detail.holder_name)}</h1>
            <Badge label=detail.status.label() tone=detail.status.tone() />
        </div>
        <section class="card stack" aria-labelledby="life-heading">
            <h2 id="life-heading">"Timeline"</h2>
            <ol class="timeline">
                {steps.into_iter().map(|step| view! {
                    <li class=step.class aria-current=(step.class == "current").then_some("step")>
                        <h3>{step.title}</h3>
                        <p class="muted">{step.text}</p>
                    </li>
                }).collect_view()}
            </ol>
            {detail.request_id.map(|id| view! {
                <p><a href=format!("/requests/{id}")>"The request that granted it"</a></p>
            })}
            {detail.can_extend.then(|| view! {
                <p><a class="button" href=format!("/access/{}/extend", detail.assignment_id)>"Ask for more time"</a></p>
            })}
        </section>
        {if detail.provisioning.is_empty() {
            view! {
                <section class="card stack" aria-labelledby="provisioning-heading">
                    <h2 id="provisioning-heading">"In connected systems"</h2>
                    <p>"This package grants nothing outside Gatehouse."</p>
                </section>
            }.into_any()
        } else {
            provisioning_section(detail.provisioning).into_any()
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Timestamp;

    fn detail(status: AssignmentStatus) -> AccessDetail {
        AccessDetail {
            assignment_id: 1,
            package_name: "AWS sandbox account".to_string(),
            holder_name: "Eli Evans".to_string(),
            status,
            start_at: Timestamp(1_000),
            end_at: Some(Timestamp(86_400_000)),
            ended: None,
            removed_at: None,
            request_id: None,
            provisioning: Vec::new(),
            can_extend: false,
        }
    }

    fn titles(detail: &AccessDetail) -> Vec<(String, &'static str)> {
        life(detail)
            .into_iter()
            .map(|step| (step.title, step.class))
            .collect()
    }

    #[test]
    fn held_access_stands_before_its_end() {
        assert_eq!(
            titles(&detail(AssignmentStatus::Active)),
            vec![
                ("Granted".to_string(), "done"),
                ("Ends".to_string(), "current"),
                ("Removed everywhere".to_string(), "pending"),
            ]
        );
        assert_eq!(
            titles(&detail(AssignmentStatus::Scheduled))[0],
            ("Starts".to_string(), "pending")
        );
    }

    #[test]
    fn ended_access_says_why_and_when_its_removal_was_verified() {
        let mut ending = detail(AssignmentStatus::Ending);
        ending.ended = Some((Timestamp(86_400_000), "Its end date passed".to_string()));
        let steps = life(&ending);
        assert_eq!(steps[1].title, "Ended");
        assert!(steps[1].text.contains("Its end date passed"));
        assert_eq!(
            (steps[2].title.as_str(), steps[2].class),
            ("Being removed", "current")
        );

        let mut removed = ending.clone();
        removed.status = AssignmentStatus::Removed;
        removed.removed_at = Some(Timestamp(86_401_000));
        let steps = life(&removed);
        assert_eq!(
            (steps[2].title.as_str(), steps[2].class),
            ("Removed everywhere", "done")
        );
        assert!(steps[2].text.starts_with("Verified "));
    }

    #[test]
    fn removed_access_without_a_recorded_reason_still_shows_as_ended() {
        let steps = life(&detail(AssignmentStatus::Removed));
        assert_eq!((steps[1].title.as_str(), steps[1].class), ("Ended", "done"));
    }
}
