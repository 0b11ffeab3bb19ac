//! LDAP directories (OpenLDAP, or Active Directory style groups) with the `ldap3` crate:
//! people are found by their email under a base DN (the directory owns its accounts: an
//! unknown person is retried until the directory knows them); membership is the group's
//! `member` attribute (configurable), added and removed with modify, read back with a
//! base search on the group.

use super::{Account, Connector, Failure};
use ldap3::{
    ldap_escape, Ldap, LdapConnAsync, LdapConnSettings, LdapError, Mod, Scope, SearchEntry,
};
use serde::Deserialize;
use std::collections::HashSet;
use std::time::Duration;

/// Result codes (RFC 4511): an attribute value already there, not there, no such entry.
const ATTRIBUTE_OR_VALUE_EXISTS: u32 = 20;
const NO_SUCH_ATTRIBUTE: u32 = 16;
const NO_SUCH_OBJECT: u32 = 32;
const INVALID_CREDENTIALS: u32 = 49;
const BUSY: u32 = 51;
const UNAVAILABLE: u32 = 52;
const UNWILLING_TO_PERFORM: u32 = 53;
const OBJECT_CLASS_VIOLATION: u32 = 65;

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct LdapConfig {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    pub bind_dn: String,
    /// Where people are, searched with `(<mail_attribute>=<email>)`.
    pub users_base: String,
    #[serde(default = "mail")]
    pub mail_attribute: String,
    #[serde(default = "member")]
    pub member_attribute: String,
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
}

fn mail() -> String {
    "mail".to_string()
}

fn member() -> String {
    "member".to_string()
}

fn default_timeout() -> u64 {
    10
}

impl LdapConfig {
    pub fn parse(json: &str) -> Result<Self, String> {
        let config: LdapConfig =
            serde_json::from_str(json).map_err(|error| format!("LDAP settings: {error}"))?;
        if !(config.url.starts_with("ldap://") || config.url.starts_with("ldaps://")) {
            return Err("the LDAP URL must start with ldap:// or ldaps://".to_string());
        }
        let plain = config.url.starts_with("ldap://") && !config.starttls;
        let local = url::Url::parse(&config.url)
            .map(|url| super::is_loopback(&url))
            .unwrap_or(false);
        if plain && !local {
            return Err(
                "use ldaps://, or ldap:// with StartTLS: a plain ldap:// connection would send the bind password unencrypted (allowed to this machine only)"
                    .to_string(),
            );
        }
        if config.bind_dn.trim().is_empty() || config.users_base.trim().is_empty() {
            return Err("the LDAP bind DN and users base are required".to_string());
        }
        Ok(config)
    }
}

pub struct Directory {
    config: LdapConfig,
    password: String,
}

fn failed(error: LdapError) -> Failure {
    match error {
        LdapError::LdapResult { result } => {
            let message = format!("the directory answered {}: {}", result.rc, result.text);
            match result.rc {
                INVALID_CREDENTIALS | BUSY | UNAVAILABLE | UNWILLING_TO_PERFORM => Failure::Retry { message, after: None },
                OBJECT_CLASS_VIOLATION => Failure::GiveUp {
                    message: format!("{message} (a groupOfNames cannot lose its last member; give the group a placeholder member)"),
                },
                _ => Failure::GiveUp { message },
            }
        }
        other => Failure::Retry {
            message: format!("the directory is unreachable: {other}"),
            after: None,
        },
    }
}

fn code(error: &LdapError) -> Option<u32> {
    match error {
        LdapError::LdapResult { result } => Some(result.rc),
        _ => None,
    }
}

impl Directory {
    pub fn new(config: LdapConfig, secret: Option<&str>) -> Self {
        Self {
            config,
            password: secret.unwrap_or_default().to_string(),
        }
    }

    async fn connect(&self) -> Result<Ldap, Failure> {
        let timeout = Duration::from_secs(self.config.timeout_seconds.max(1));
        let settings = LdapConnSettings::new()
            .set_conn_timeout(timeout)
            .set_starttls(self.config.starttls);
        let (connection, mut ldap) = LdapConnAsync::with_settings(settings, &self.config.url)
            .await
            .map_err(failed)?;
        ldap3::drive!(connection);
        ldap.with_timeout(timeout);
        ldap.simple_bind(&self.config.bind_dn, &self.password)
            .await
            .and_then(|result| result.success())
            .map_err(failed)?;
        Ok(ldap)
    }

    /// Changes the group; the result codes in `tolerated` mean it is already as wanted.
    async fn modify(
        &self,
        group: &str,
        change: Mod<String>,
        tolerated: &[u32],
    ) -> Result<(), Failure> {
        let mut ldap = self.connect().await?;
        let outcome = ldap
            .modify(group, vec![change])
            .await
            .and_then(|result| result.success());
        let _ = ldap.unbind().await;
        match outcome {
            Ok(_) => Ok(()),
            Err(error) if code(&error).is_some_and(|rc| tolerated.contains(&rc)) => Ok(()),
            Err(error) => Err(failed(error)),
        }
    }
}

#[async_trait::async_trait]
impl Connector for Directory {
    async fn find_user(&self, account: &Account) -> Result<Option<String>, Failure> {
        let mut ldap = self.connect().await?;
        let filter = format!(
            "({}={})",
            self.config.mail_attribute,
            ldap_escape(account.email.as_str())
        );
        let found = ldap
            .search(
                &self.config.users_base,
                Scope::Subtree,
                &filter,
                vec!["1.1"],
            )
            .await
            .and_then(|result| result.success());
        let _ = ldap.unbind().await;
        let (entries, _) = found.map_err(failed)?;
        Ok(entries
            .into_iter()
            .next()
            .map(|entry| SearchEntry::construct(entry).dn))
    }

    async fn ensure_user(&self, account: &Account) -> Result<String, Failure> {
        self.find_user(account)
            .await?
            .ok_or_else(|| Failure::Retry {
                message: format!(
                    "the directory has no entry with {} {}",
                    self.config.mail_attribute, account.email
                ),
                after: None,
            })
    }

    async fn add_member(&self, group: &str, user: &str) -> Result<(), Failure> {
        let change = Mod::Add(
            self.config.member_attribute.clone(),
            HashSet::from([user.to_string()]),
        );
        self.modify(group, change, &[ATTRIBUTE_OR_VALUE_EXISTS])
            .await
    }

    async fn remove_member(&self, group: &str, user: &str) -> Result<(), Failure> {
        let change = Mod::Delete(
            self.config.member_attribute.clone(),
            HashSet::from([user.to_string()]),
        );
        // Not a member any more, or the group is gone: so is the membership.
        self.modify(group, change, &[NO_SUCH_ATTRIBUTE, NO_SUCH_OBJECT])
            .await
    }

    /// LDAP has no standard switch for an account (OpenLDAP has none; Active Directory's
    /// `userAccountControl` is its own): the person's group memberships are removed, and
    /// the entry is left to the directory's own leaver process.
    async fn deactivate_user(&self, _user: &str) -> Result<(), Failure> {
        Ok(())
    }

    async fn remove_members(&self, group: &str, users: &[String]) -> Result<(), Failure> {
        if users.is_empty() {
            return Ok(());
        }
        let attribute = self.config.member_attribute.clone();
        let all = Mod::Delete(attribute.clone(), users.iter().cloned().collect());
        // A delete of several values fails whole when one is absent: then delete only the
        // ones present (none present, or the group gone: nothing to remove).
        match self.modify(group, all, &[NO_SUCH_OBJECT]).await {
            Err(_) => {
                let present: HashSet<String> = self.members_among(group, users).await?;
                if present.is_empty() {
                    return Ok(());
                }
                self.modify(
                    group,
                    Mod::Delete(attribute, present),
                    &[NO_SUCH_ATTRIBUTE, NO_SUCH_OBJECT],
                )
                .await
            }
            Ok(()) => Ok(()),
        }
    }

    fn account_key(&self, id: &str) -> String {
        id.to_ascii_lowercase()
    }

    async fn is_member(&self, group: &str, user: &str) -> Result<bool, Failure> {
        let members = self.members(group).await?;
        Ok(members
            .iter()
            .any(|member| member.eq_ignore_ascii_case(user)))
    }

    async fn members(&self, group: &str) -> Result<Vec<String>, Failure> {
        let mut ldap = self.connect().await?;
        let attribute = self.config.member_attribute.as_str();
        let found = ldap
            .search(group, Scope::Base, "(objectClass=*)", vec![attribute])
            .await
            .and_then(|result| result.success());
        let _ = ldap.unbind().await;
        match found {
            Ok((entries, _)) => Ok(entries
                .into_iter()
                .next()
                .map(|entry| {
                    SearchEntry::construct(entry)
                        .attrs
                        .remove(attribute)
                        .unwrap_or_default()
                })
                .unwrap_or_default()),
            Err(error) if code(&error) == Some(NO_SUCH_OBJECT) => Ok(Vec::new()),
            Err(error) => Err(failed(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        let good = r#"{"url":"ldap://127.0.0.1:389","bind_dn":"cn=admin,dc=x","users_base":"ou=people,dc=x"}"#;
        let config = LdapConfig::parse(good).unwrap();
        assert_eq!(
            (
                config.mail_attribute.as_str(),
                config.member_attribute.as_str()
            ),
            ("mail", "member")
        );
        assert!(LdapConfig::parse(r#"{"url":"http://x","bind_dn":"a","users_base":"b"}"#).is_err());
        assert!(LdapConfig::parse(r#"{"url":"ldap://x","bind_dn":"","users_base":"b"}"#).is_err());
    }
}
