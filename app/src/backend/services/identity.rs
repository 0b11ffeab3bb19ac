//! Who a sign-in through the company identity provider is: the claims of a verified ID
//! token are matched to a person known from HR data (by the provider's subject, employee
//! id or email), or a new person is created when configuration allows it. Roles come from
//! configuration (groups claim values or emails) at every sign-in.
//!
//! Linking an account to a person is the moment an account could be taken over: anyone
//! who can set an email address at the provider would become whoever has that address
//! here. So an account is linked by email only when the provider says it verified the
//! address (`email_verified`), or when configuration declares the claim managed by the
//! provider (people cannot set it themselves) and restricts sign-in to one tenant (`tid`)
//! or Workspace domain (`hd`). The employee id links only when declared managed, the same
//! way. Every first link is audited.

use crate::backend::store::{self, audit};
use crate::backend::AppState;
use crate::domain::person::{DisplayName, Email};
use crate::domain::status::PersonStatus;
use crate::domain::{AppError, ErrorCode};

/// What a verified ID token (and userinfo) says about the person.
#[derive(Clone, Debug, Default)]
pub struct IdentityClaims {
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub employee_id: Option<String>,
    /// The provider's word that it verified `email` (the `email_verified` claim).
    pub email_verified: bool,
    /// The tenant the account belongs to (Entra's `tid`), when sent.
    pub tenant: Option<String>,
    /// The Workspace domain the account belongs to (Google's `hd`), when sent.
    pub hosted_domain: Option<String>,
}

/// How claims become a person and their roles.
#[derive(Clone, Debug, Default)]
pub struct IdentityPolicy {
    /// Create people the HR data does not know (otherwise they are refused).
    pub allow_unknown: bool,
    pub admin_groups: Vec<String>,
    pub auditor_groups: Vec<String>,
    pub admin_emails: Vec<String>,
    pub auditor_emails: Vec<String>,
    /// The email claim is managed by the provider (trusted without `email_verified`).
    pub email_managed: bool,
    /// The employee id claim is managed by the provider (it may link accounts).
    pub employee_id_managed: bool,
    /// Only accounts of this tenant (`tid`) sign in.
    pub required_tenant: Option<String>,
    /// Only accounts of this Workspace domain (`hd`) sign in.
    pub required_hosted_domain: Option<String>,
}

impl IdentityPolicy {
    fn grants(groups: &[String], emails: &[String], claims: &IdentityClaims, email: &str) -> bool {
        claims.groups.iter().any(|group| groups.contains(group))
            || emails.iter().any(|known| known.eq_ignore_ascii_case(email))
    }
}

fn refused(message: &str) -> AppError {
    AppError::new(ErrorCode::Forbidden, message)
}

/// The id of the active person these claims belong to, linking or creating them, in one
/// transaction with its audit events. The caller then starts the session.
#[tracing::instrument(skip_all)]
pub async fn person_for(
    state: &AppState,
    claims: &IdentityClaims,
    policy: &IdentityPolicy,
) -> Result<i64, AppError> {
    if claims.subject.is_empty() {
        return Err(refused("The identity provider sent no subject."));
    }
    let email = claims
        .email
        .as_deref()
        .map(Email::parse)
        .transpose()
        .map_err(|_| {
            refused("The identity provider sent an email address Gatehouse cannot use.")
        })?;
    if let Some(required) = &policy.required_tenant {
        if claims.tenant.as_deref() != Some(required.as_str()) {
            return Err(refused(
                "This account belongs to another organisation than the one Gatehouse accepts.",
            ));
        }
    }
    if let Some(required) = &policy.required_hosted_domain {
        if claims.hosted_domain.as_deref() != Some(required.as_str()) {
            return Err(refused(
                "This account belongs to another domain than the one Gatehouse accepts.",
            ));
        }
    }
    // Only what the provider vouches for may link an account to a person.
    let trusted_email = email
        .clone()
        .filter(|_| claims.email_verified || policy.email_managed);
    let trusted_employee_id = claims
        .employee_id
        .as_deref()
        .filter(|_| policy.employee_id_managed);
    let now = state.clock.now();
    let mut tx = state.db.begin_write().await?;
    let found = store::person::find_for_identity(
        &mut tx,
        &claims.subject,
        trusted_employee_id,
        trusted_email.as_ref().map(Email::as_str),
    )
    .await?;
    if found.is_none() && email.is_some() && trusted_email.is_none() {
        return Err(refused(
            "Your identity provider has not verified your email address, so Gatehouse cannot tell which person you are. Ask your administrator.",
        ));
    }
    let first_link = found
        .as_ref()
        .filter(|found| found.oidc_subject.is_none())
        .map(|found| {
            if trusted_employee_id.is_some()
                && trusted_email
                    .as_ref()
                    .is_none_or(|email| !email.as_str().eq_ignore_ascii_case(&found.person.email))
            {
                "employee_id"
            } else {
                "email"
            }
        });
    let (person_id, display_name, stored_email, was_admin, was_auditor) = match found {
        Some(found) => {
            if found
                .oidc_subject
                .as_deref()
                .is_some_and(|linked| linked != claims.subject)
            {
                return Err(refused(
                    "This person is already linked to another account of the identity provider. Ask an administrator.",
                ));
            }
            if found.person.status != PersonStatus::Active {
                return Err(refused("Your access to Gatehouse has been disabled."));
            }
            (
                found.person.id,
                found.person.display_name,
                found.person.email,
                found.person.is_admin,
                found.person.is_auditor,
            )
        }
        None => {
            if !policy.allow_unknown {
                return Err(refused(
                    "Gatehouse does not know you yet. Ask an administrator to add you.",
                ));
            }
            let Some(email) = &trusted_email else {
                return Err(refused("The identity provider sent no email address."));
            };
            let name = claims
                .name
                .as_deref()
                .and_then(|name| DisplayName::parse(name).ok())
                .map_or_else(
                    || email.as_str().to_string(),
                    |name| name.as_str().to_string(),
                );
            let id = store::person::insert_from_identity(
                &mut tx,
                now,
                email.as_str(),
                &name,
                claims.employee_id.as_deref(),
            )
            .await?;
            audit::append(
                &mut tx,
                now,
                &audit::Actor::System("sign-in"),
                audit::Change::new("person.created", "person", id).after(serde_json::json!({
                    "email": email.as_str(), "display_name": name, "source": "oidc",
                    "subject": claims.subject,
                })),
            )
            .await?;
            (id, name, email.as_str().to_string(), false, false)
        }
    };
    let is_admin = IdentityPolicy::grants(
        &policy.admin_groups,
        &policy.admin_emails,
        claims,
        &stored_email,
    );
    let is_auditor = IdentityPolicy::grants(
        &policy.auditor_groups,
        &policy.auditor_emails,
        claims,
        &stored_email,
    );
    store::person::link_identity(
        &mut tx,
        now,
        person_id,
        &claims.subject,
        is_admin,
        is_auditor,
    )
    .await?;
    if let Some(matched_by) = first_link {
        audit::append(
            &mut tx,
            now,
            &audit::Actor::System("sign-in"),
            audit::Change::new("person.identity_linked", "person", person_id).after(
                serde_json::json!({
                    "subject": claims.subject, "matched_by": matched_by,
                    "email_verified": claims.email_verified, "tenant": claims.tenant,
                }),
            ),
        )
        .await?;
    }
    if (is_admin, is_auditor) != (was_admin, was_auditor) {
        audit::append(
            &mut tx,
            now,
            &audit::Actor::System("sign-in"),
            audit::Change::new("person.roles_changed", "person", person_id)
                .before(serde_json::json!({ "is_admin": was_admin, "is_auditor": was_auditor }))
                .after(serde_json::json!({
                    "is_admin": is_admin, "is_auditor": is_auditor, "display_name": display_name,
                })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(person_id)
}
