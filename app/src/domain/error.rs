//! The one application error type. It carries a stable code (for API clients and tests), a
//! message fit for a person, and optional per-field messages for forms. The cause chain of
//! an internal failure is logged on the server and never serialized to the browser.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Input failed validation; see the field errors.
    Invalid,
    /// The person is not signed in.
    Unauthenticated,
    /// Signed in, but not allowed. Objects one may not see answer `NotFound` instead.
    Forbidden,
    NotFound,
    /// The object changed or was decided meanwhile.
    Conflict,
    /// A feature switched off by configuration (for example development sign-in).
    Disabled,
    /// Something failed on the server; details are in the server log only.
    Internal,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Invalid => "invalid",
            ErrorCode::Unauthenticated => "unauthenticated",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Disabled => "disabled",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::Invalid => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::Disabled => 403,
            ErrorCode::Internal => 500,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The form field's `name`, so the page can put the message next to it.
    pub field: String,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code: ErrorCode::Invalid,
            message: "Please correct the highlighted field.".to_string(),
            fields: vec![FieldError {
                field: field.to_string(),
                message,
            }],
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(ErrorCode::Unauthenticated, "Please sign in to continue.")
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("No such {what}."))
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "Something went wrong on our side. It has been logged; please try again.",
        )
    }

    /// The message for one field, if any, for rendering next to it.
    pub fn field_message(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|error| error.field == field)
            .map(|error| error.message.as_str())
    }
}

/// Collects field errors so a form reports every problem at once, not one per submit.
#[derive(Default, Debug)]
pub struct Validation {
    fields: Vec<FieldError>,
}

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of a parse, returning the value when it parsed.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.fields.push(FieldError {
                    field: field.to_string(),
                    message,
                });
                None
            }
        }
    }

    /// No problem recorded so far.
    pub fn is_clean(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn finish(self) -> Result<(), AppError> {
        if self.fields.is_empty() {
            Ok(())
        } else {
            Err(AppError {
                code: ErrorCode::Invalid,
                message: if self.fields.len() == 1 {
                    "There is a problem with one field.".to_string()
                } else {
                    format!("There are problems with {} fields.", self.fields.len())
                },
                fields: self.fields,
            })
        }
    }
}

mod server_fn_support {
    use super::{AppError, ErrorCode};
    use leptos::server_fn::{
        codec::JsonEncoding,
        error::{FromServerFnError, ServerFnErrorErr},
    };

    impl FromServerFnError for AppError {
        type Encoder = JsonEncoding;

        fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
            match value {
                // Malformed arguments are the caller's mistake; say so without echoing input.
                ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => AppError::new(
                    ErrorCode::Invalid,
                    "The form was incomplete or malformed. Please reload the page and try again.",
                ),
                ServerFnErrorErr::Request(_) => AppError::new(
                    ErrorCode::Internal,
                    "Could not reach the server. Check your connection and try again.",
                ),
                _ => AppError::internal(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_reports_every_failing_field() {
        let mut validation = Validation::new();
        assert_eq!(validation.check("a", Ok::<_, String>(1)), Some(1));
        assert_eq!(validation.check::<i32>("b", Err("bad b".into())), None);
        assert_eq!(validation.check::<i32>("c", Err("bad c".into())), None);
        let error = validation.finish().unwrap_err();
        assert_eq!(error.code, ErrorCode::Invalid);
        assert_eq!(error.field_message("b"), Some("bad b"));
        assert_eq!(error.field_message("c"), Some("bad c"));
        assert_eq!(error.field_message("a"), None);
        assert_eq!(error.message, "There are problems with 2 fields.");
    }

    #[test]
    fn error_codes_have_stable_names_and_statuses() {
        let error = AppError::not_found("request");
        let json = serde_json::to_string(&error).unwrap();
        assert_eq!(json, r#"{"code":"not_found","message":"No such request."}"#);
        assert_eq!(ErrorCode::Unauthenticated.http_status(), 401);
        assert_eq!(ErrorCode::Conflict.http_status(), 409);
    }
}
