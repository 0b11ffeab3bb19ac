//! What each message says, as plain text and HTML. Pure: the caller passes names, dates
//! and the portal's address. Links that act (approve, deny, extend, review) are written as
//! placeholders, `%ACTION_URL_<i>%`; the mailer replaces them with a freshly minted token
//! link at delivery, so no raw token is ever stored.

use crate::domain::Timestamp;

/// Where a message's button leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// An action link: the message's `i`-th action, minted at delivery.
    Action(usize),
    /// A page of the portal, by path (`/requests/12`).
    Page(String),
}

/// One thing that happened, for one person: what, what to do, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Stable name of the message kind (`approval_needed`, ...); stored with the message.
    pub template: &'static str,
    pub subject: String,
    /// Paragraphs of plain text.
    pub paragraphs: Vec<String>,
    /// The button: its label and where it leads.
    pub call: Option<(String, Link)>,
}

/// A message ready to store: subject, plain text and HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The placeholder for the `index`-th action link of a message.
pub fn action_placeholder(index: usize) -> String {
    format!("%ACTION_URL_{index}%")
}

impl Notice {
    fn new(template: &'static str, subject: String, paragraphs: Vec<String>) -> Self {
        Self {
            template,
            // A subject is one header line, whatever a package name holds.
            subject: one_line(&subject),
            paragraphs,
            call: None,
        }
    }

    fn with_call(mut self, label: &str, link: Link) -> Self {
        self.call = Some((label.to_string(), link));
        self
    }

    /// To each approver of the stage that opened.
    pub fn approval_needed(
        requester: &str,
        package: &str,
        justification: &str,
        due: Timestamp,
    ) -> Self {
        Self::new(
            "approval_needed",
            format!("Approval needed: {requester} requests {package}"),
            vec![
                format!("{requester} asks for \"{package}\"."),
                quote_or(justification, "No justification was given."),
                format!(
                    "Please approve or deny it before {}. Otherwise the request times out.",
                    due.date_time_utc()
                ),
            ],
        )
        .with_call("Approve or deny", Link::Action(0))
    }

    /// To an approver who has not decided yet, before the decision deadline.
    pub fn approval_reminder(requester: &str, package: &str, due: Timestamp) -> Self {
        Self::new(
            "approval_reminder",
            format!("Reminder: {requester} still waits for {package}"),
            vec![
                format!(
                    "The request of {requester} for \"{package}\" still waits for your decision."
                ),
                format!(
                    "It times out at {} unless someone decides.",
                    due.date_time_utc()
                ),
            ],
        )
        .with_call("Approve or deny", Link::Action(0))
    }

    /// To the alternates of a stage that escalated.
    pub fn approval_escalated(
        requester: &str,
        package: &str,
        waited_days: i64,
        due: Timestamp,
    ) -> Self {
        Self::new(
            "approval_escalated",
            format!("Escalated to you: {requester} requests {package}"),
            vec![
                format!(
                    "The request of {requester} for \"{package}\" has waited {waited_days} days without a decision and was escalated to you."
                ),
                format!("Please approve or deny it before {}.", due.date_time_utc()),
            ],
        )
        .with_call("Approve or deny", Link::Action(0))
    }

    /// To the requester (and the person it was for) when the last stage approved.
    pub fn request_approved(package: &str, by: &str, ready: bool, request_id: i64) -> Self {
        let next = if ready {
            "Your access is ready now."
        } else {
            "Your access is being set up in the connected systems; you will hear when it is ready."
        };
        Self::new(
            "request_approved",
            format!("Approved: {package}"),
            vec![
                format!("{by} approved the request for \"{package}\"."),
                next.to_string(),
            ],
        )
        .with_call(
            "See the request",
            Link::Page(format!("/requests/{request_id}")),
        )
    }

    pub fn request_denied(package: &str, by: &str, reason: &str, request_id: i64) -> Self {
        Self::new(
            "request_denied",
            format!("Denied: {package}"),
            vec![
                format!("{by} denied the request for \"{package}\"."),
                quote_or(reason, "No reason was given."),
            ],
        )
        .with_call(
            "See the request",
            Link::Page(format!("/requests/{request_id}")),
        )
    }

    pub fn request_timed_out(package: &str, request_id: i64) -> Self {
        Self::new(
            "request_timed_out",
            format!("Timed out: {package}"),
            vec![
                format!("Nobody decided the request for \"{package}\" in time, so it was closed."),
                "You can request it again.".to_string(),
            ],
        )
        .with_call(
            "See the request",
            Link::Page(format!("/requests/{request_id}")),
        )
    }

    /// Access given directly by an owner or administrator, or delivered downstream.
    pub fn access_granted(package: &str, by: &str, reason: &str, until: Option<Timestamp>) -> Self {
        Self::new(
            "access_granted",
            format!("You now have {package}"),
            vec![
                format!("{by} gave you \"{package}\"."),
                quote_or(reason, ""),
                until_sentence(until),
            ],
        )
        .with_call("See your access", Link::Page("/".to_string()))
    }

    pub fn access_extended(package: &str, until: Option<Timestamp>) -> Self {
        Self::new(
            "access_extended",
            format!("Extended: {package}"),
            vec![
                format!("Your access to \"{package}\" was extended."),
                until_sentence(until),
            ],
        )
        .with_call("See your access", Link::Page("/".to_string()))
    }

    /// To the holder, some days before the end; `extendable` adds the extend link.
    pub fn access_ending(package: &str, end: Timestamp, now: Timestamp, extendable: bool) -> Self {
        // Whole days, rounded: the sweep runs a little after the warning's instant.
        let left_ms = end.millis().saturating_sub(now.millis());
        let day = crate::domain::time::MILLIS_PER_DAY;
        let when = match (left_ms + day / 2) / day {
            _ if left_ms < day => "in less than a day".to_string(),
            1 => "in 1 day".to_string(),
            days => format!("in {days} days"),
        };
        let notice = Self::new(
            "access_ending",
            format!("{package} ends {when}"),
            vec![
                format!(
                    "Your access to \"{package}\" ends at {} ({when}).",
                    end.date_time_utc()
                ),
                if extendable {
                    "If you still need it, ask to extend it before then.".to_string()
                } else {
                    "Its policy does not allow extensions; request it again if you still need it after that.".to_string()
                },
            ],
        );
        if extendable {
            notice.with_call("Ask to extend", Link::Action(0))
        } else {
            notice.with_call("See your access", Link::Page("/".to_string()))
        }
    }

    pub fn access_removed(package: &str, reason: &str, comment: &str) -> Self {
        Self::new(
            "access_removed",
            format!("Removed: {package}"),
            vec![
                format!("Your access to \"{package}\" was removed: {reason}."),
                quote_or(comment, ""),
            ],
        )
        .with_call("See your access", Link::Page("/".to_string()))
    }

    /// For access reviews (the reviews issue sends these).
    pub fn review_started(review: &str, items: usize, due: Timestamp) -> Self {
        Self::new(
            "review_started",
            format!("Access review: {review}"),
            vec![
                format!("You are asked to review {items} access assignments in \"{review}\": keep what is still needed, remove the rest."),
                format!("The review ends at {}.", due.date_time_utc()),
            ],
        )
        .with_call("Start reviewing", Link::Action(0))
    }

    pub fn review_reminder(review: &str, open: usize, due: Timestamp) -> Self {
        Self::new(
            "review_reminder",
            format!("Reminder: {open} decisions left in {review}"),
            vec![
                format!("{open} assignments in \"{review}\" still wait for your decision."),
                format!("The review ends at {}.", due.date_time_utc()),
            ],
        )
        .with_call("Continue reviewing", Link::Action(0))
    }

    pub fn review_ended(review: &str, kept: usize, removed: usize) -> Self {
        Self::new(
            "review_ended",
            format!("Access review ended: {review}"),
            vec![format!(
                "\"{review}\" has ended: {kept} kept, {removed} removed."
            )],
        )
    }
}

fn quote_or(text: &str, otherwise: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        otherwise.to_string()
    } else {
        format!("“{text}”")
    }
}

fn until_sentence(until: Option<Timestamp>) -> String {
    match until {
        Some(end) => format!("It lasts until {}.", end.date_time_utc()),
        None => "It has no end date.".to_string(),
    }
}

fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

fn url_of(link: &Link, base_url: &str) -> String {
    match link {
        Link::Action(index) => action_placeholder(*index),
        Link::Page(path) => format!("{}{path}", base_url.trim_end_matches('/')),
    }
}

/// The notice without greeting or footer: one message's core, or one digest entry.
pub fn render_item(notice: &Notice, base_url: &str) -> Rendered {
    let paragraphs: Vec<&String> = notice.paragraphs.iter().filter(|p| !p.is_empty()).collect();
    let mut text = paragraphs
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut html = format!(
        "<h2 style=\"font-size:18px;margin:0 0 12px\">{}</h2>\n",
        escape_html(&notice.subject)
    );
    for paragraph in &paragraphs {
        html.push_str(&format!(
            "<p style=\"margin:0 0 12px\">{}</p>\n",
            escape_html(paragraph)
        ));
    }
    if let Some((label, link)) = &notice.call {
        let url = url_of(link, base_url);
        text.push_str(&format!("\n\n{label}: {url}"));
        html.push_str(&format!(
            "<p style=\"margin:16px 0\"><a href=\"{}\" style=\"background:#1d4ed8;color:#ffffff;padding:10px 16px;border-radius:6px;text-decoration:none;display:inline-block\">{}</a></p>\n",
            escape_html(&url),
            escape_html(label)
        ));
    }
    Rendered {
        subject: notice.subject.clone(),
        text,
        html,
    }
}

fn footer(base_url: &str) -> (String, String) {
    let settings = format!("{}/settings", base_url.trim_end_matches('/'));
    (
        format!("--\nGatehouse, your company's access portal. Choose one message per item or a daily digest: {settings}"),
        format!(
            "<p style=\"color:#6b7280;font-size:12px;margin-top:24px\">Gatehouse, your company's access portal. <a href=\"{}\">Choose one message per item or a daily digest</a>.</p>",
            escape_html(&settings)
        ),
    )
}

fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body style=\"font-family:system-ui,sans-serif;color:#111827;line-height:1.5;max-width:600px;margin:0 auto;padding:16px\">\n{body}</body></html>\n",
        escape_html(title)
    )
}

/// One message to one person: greeting, the item, footer.
pub fn render_message(item: &Rendered, recipient: &str, base_url: &str) -> Rendered {
    let (footer_text, footer_html) = footer(base_url);
    Rendered {
        subject: item.subject.clone(),
        text: format!("Hello {recipient},\n\n{}\n\n{footer_text}\n", item.text),
        html: html_page(
            &item.subject,
            &format!(
                "<p style=\"margin:0 0 12px\">Hello {},</p>\n{}{footer_html}\n",
                escape_html(recipient),
                item.html
            ),
        ),
    }
}

/// The daily digest: every held item of one person in one message. Each item's action
/// placeholders are renumbered after those of the items before it; `actions_per_item` says
/// how many each has.
pub fn render_digest(
    items: &[(Rendered, usize)],
    recipient: &str,
    day: Timestamp,
    base_url: &str,
) -> Rendered {
    let subject = format!(
        "Your Gatehouse digest for {}: {} item{}",
        day.date_utc(),
        items.len(),
        if items.len() == 1 { "" } else { "s" }
    );
    let mut text = String::new();
    let mut html = String::new();
    let mut offset = 0;
    for (index, (item, actions)) in items.iter().enumerate() {
        let (item_text, item_html) = (
            renumber(&item.text, offset, *actions),
            renumber(&item.html, offset, *actions),
        );
        offset += actions;
        text.push_str(&format!(
            "{}. {}\n\n{item_text}\n\n",
            index + 1,
            item.subject
        ));
        html.push_str(&format!(
            "<section style=\"border-top:1px solid #e5e7eb;padding-top:12px;margin-top:12px\">\n{item_html}</section>\n"
        ));
    }
    let intro = "Here is what happened in Gatehouse since your last digest.";
    let item = Rendered {
        subject,
        text: format!("{intro}\n\n{}", text.trim_end()),
        html: format!("<p style=\"margin:0 0 12px\">{intro}</p>\n{html}"),
    };
    render_message(&item, recipient, base_url)
}

/// Moves `%ACTION_URL_<i>%` to `%ACTION_URL_<offset + i>%`, in one pass.
fn renumber(body: &str, offset: usize, actions: usize) -> String {
    if offset == 0 {
        return body.to_string();
    }
    let mut out = body.to_string();
    for index in (0..actions).rev() {
        out = out.replace(
            &action_placeholder(index),
            &format!("%ACTION_TMP_{}%", offset + index),
        );
    }
    out.replace("%ACTION_TMP_", "%ACTION_URL_")
}

/// Puts each action's URL in place of its placeholder.
pub fn fill_actions(body: &str, urls: &[String]) -> String {
    let mut out = body.to_string();
    for (index, url) in urls.iter().enumerate().rev() {
        out = out.replace(&action_placeholder(index), url);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://gatehouse.example.com";

    #[test]
    fn a_message_has_greeting_paragraphs_the_link_and_a_footer_in_both_parts() {
        let due = Timestamp(1_796_029_200_000);
        let item = render_item(
            &Notice::approval_needed("Ivy Ito", "Production DB", "On call", due),
            BASE,
        );
        let message = render_message(&item, "Mia Manager", BASE);
        assert_eq!(
            message.subject,
            "Approval needed: Ivy Ito requests Production DB"
        );
        assert!(message.text.starts_with("Hello Mia Manager,\n\n"));
        assert!(message.text.contains("“On call”"));
        assert!(message.text.contains("before 2026-11-30 09:00 UTC"));
        assert!(message.text.contains("Approve or deny: %ACTION_URL_0%"));
        assert!(message
            .text
            .contains("https://gatehouse.example.com/settings"));
        assert!(message.html.contains("<a href=\"%ACTION_URL_0%\""));
        assert!(message.html.contains("Hello Mia Manager,"));
        assert!(message.html.starts_with("<!DOCTYPE html>"));
    }

    #[test]
    fn html_escapes_names_and_subjects_are_one_line() {
        let notice =
            Notice::request_denied("<b>Ops</b>\r\nBcc: x@evil", "O'Brien & Co", "no \"way\"", 7);
        assert!(!notice.subject.contains('\n') && !notice.subject.contains('\r'));
        let item = render_item(&notice, BASE);
        assert!(item.html.contains("&lt;b&gt;Ops&lt;/b&gt;"));
        assert!(item.html.contains("O&#39;Brien &amp; Co"));
        assert!(!item.html.contains("<b>"));
        let message = render_message(&item, "<script>", BASE);
        assert!(message.html.contains("Hello &lt;script&gt;,"));
        assert!(item
            .text
            .contains("https://gatehouse.example.com/requests/7"));
    }

    #[test]
    fn an_ending_notice_offers_the_extend_link_only_when_extensions_are_allowed() {
        let now = Timestamp(0);
        let end = now.plus_days(14);
        let yes = Notice::access_ending("VPN", end, now, true);
        assert_eq!(yes.subject, "VPN ends in 14 days");
        assert_eq!(
            yes.call,
            Some(("Ask to extend".to_string(), Link::Action(0)))
        );
        let almost = Notice::access_ending("VPN", end, now.plus_minutes(5), true);
        assert_eq!(
            almost.subject, "VPN ends in 14 days",
            "a sweep a few minutes late"
        );
        let no = Notice::access_ending("VPN", now.plus_minutes(90), now, false);
        assert_eq!(no.subject, "VPN ends in less than a day");
        assert_eq!(
            no.call.map(|(_, link)| link),
            Some(Link::Page("/".to_string()))
        );
    }

    #[test]
    fn a_digest_renumbers_each_items_action_links() {
        let due = Timestamp(0);
        let first = render_item(&Notice::approval_needed("A", "P1", "", due), BASE);
        let second = render_item(&Notice::request_timed_out("P2", 3), BASE);
        let third = render_item(&Notice::approval_needed("B", "P3", "", due), BASE);
        let digest = render_digest(&[(first, 1), (second, 0), (third, 1)], "Mia", due, BASE);
        assert_eq!(
            digest.subject,
            "Your Gatehouse digest for 1970-01-01: 3 items"
        );
        assert!(digest.text.contains("1. Approval needed: A requests P1"));
        assert!(digest.text.contains("3. Approval needed: B requests P3"));
        let filled = fill_actions(
            &digest.text,
            &["https://x/act/one".into(), "https://x/act/two".into()],
        );
        let one = filled.find("https://x/act/one").expect("first link");
        let two = filled.find("https://x/act/two").expect("second link");
        assert!(one < two, "links stay with their items");
        assert!(!filled.contains("%ACTION"));
    }

    #[test]
    fn fill_actions_does_not_confuse_placeholder_1_with_10() {
        let body = format!("{} {}", action_placeholder(1), action_placeholder(10));
        let urls: Vec<String> = (0..11).map(|i| format!("u{i}")).collect();
        assert_eq!(fill_actions(&body, &urls), "u1 u10");
    }
}
