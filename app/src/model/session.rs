//! Who is signed in, development sign-in, and sign-out.

use serde::{Deserialize, Serialize};

/// The signed-in person as the browser may see them: no secrets, no internal flags beyond
/// the roles that shape the navigation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub id: i64,
    pub display_name: String,
    pub email: String,
    pub is_admin: bool,
    pub is_auditor: bool,
    /// The identity provider must confirm the person's roles again (sign in again).
    pub roles_to_confirm: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteInfo {
    /// Development mode: every page shows the development banner.
    pub development: bool,
    pub dev_sign_in: bool,
    /// Sign-in through the company identity provider is configured.
    pub oidc_sign_in: bool,
    pub viewer: Option<Viewer>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInChoice {
    pub id: i64,
    pub label: String,
}
