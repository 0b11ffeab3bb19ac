//! What the HR inbound (SCIM) page shows: the endpoint, and the tokens by name (never the
//! token itself, except the one just made, once).

use crate::domain::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScimTokenView {
    pub id: i64,
    pub name: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A token just made: shown this once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewScimToken {
    pub name: String,
    pub token: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScimSettings {
    /// The service's URL: `<public URL>/scim/v2`.
    pub endpoint: String,
    /// Administrators make and revoke tokens; auditors only read.
    pub can_manage: bool,
    pub tokens: Vec<ScimTokenView>,
    /// The token made by a form posted without JavaScript, taken from the session once.
    pub new_token: Option<NewScimToken>,
}
