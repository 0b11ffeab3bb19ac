//! People: validated names and addresses, and the statuses a person passes through.

use serde::{Deserialize, Serialize};

/// An email address, trimmed and lower-cased. Deliberately simple: one `@`, a dotted domain,
/// no spaces; the mail server is the final judge.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("Enter an email address.".into());
        }
        if trimmed.len() > 254 {
            return Err("An email address has at most 254 characters.".into());
        }
        let Some((local, domain)) = trimmed.split_once('@') else {
            return Err("Enter an email address like name@example.com.".into());
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@');
        if local.is_empty() || !domain_ok || trimmed.chars().any(char::is_whitespace) {
            return Err("Enter an email address like name@example.com.".into());
        }
        Ok(Self(trimmed.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's display name: 1 to 200 characters after trimming, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(input: &str) -> Result<Self, String> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err("Enter a name.".into());
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "A name has at most {} characters.",
                Self::MAX_CHARS
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err("A name cannot contain control characters.".into());
        }
        Ok(Self(trimmed.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        assert_eq!(
            Email::parse("  Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
    }

    #[test]
    fn malformed_emails_are_refused_with_a_reason() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "a@b",
            "a b@example.com",
            "a@.com",
            "a@b@c.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn display_names_must_be_present_short_and_printable() {
        assert_eq!(
            DisplayName::parse(" Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"x".repeat(201)).is_err());
        assert!(DisplayName::parse(&"é".repeat(200)).is_ok());
        assert!(DisplayName::parse("bad\u{7}name").is_err());
    }
}
