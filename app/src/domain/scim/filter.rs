//! The filter grammar of RFC 7644 section 3.4.2.2, and the PATCH path of section 3.5.2.
//!
//! `and` binds tighter than `or`; `not` applies to a parenthesised filter; keywords,
//! operators and attribute names are read in any case.

use super::ScimError;
use serde_json::Value;

/// `[uri ":"] name ["." sub]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrPath {
    pub uri: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "co" => Self::Co,
            "sw" => Self::Sw,
            "ew" => Self::Ew,
            "gt" => Self::Gt,
            "ge" => Self::Ge,
            "lt" => Self::Lt,
            "le" => Self::Le,
            _ => return None,
        })
    }
}

/// A literal compared with: a JSON string, number, boolean or null.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Present(AttrPath),
    Compare(AttrPath, CompareOp, Literal),
    /// `emails[type eq "work"]`: some value of the multi-valued attribute matches the inner
    /// filter, whose paths are the value's sub-attributes.
    ValuePath(AttrPath, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

/// A PATCH operation's target: `attrPath`, or `attrPath[filter]` optionally followed by
/// `.sub`.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchPath {
    pub attribute: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after a value filter (`emails[type eq "work"].value`).
    pub sub_after_filter: Option<String>,
}

/// Filters nest at most this deep (a filter is input from the network).
const MAX_DEPTH: usize = 32;

/// Parses a filter.
pub fn parse_filter(text: &str) -> Result<Filter, ScimError> {
    let mut parser = Parser::new(text, ScimError::invalid_filter);
    let filter = parser.or(0)?;
    parser.skip_spaces();
    if !parser.at_end() {
        return Err(parser.error("unexpected text"));
    }
    Ok(filter)
}

/// Parses a PATCH path.
pub fn parse_patch_path(text: &str) -> Result<PatchPath, ScimError> {
    let mut parser = Parser::new(text, ScimError::invalid_path);
    parser.skip_spaces();
    let attribute = parser.attr_path()?;
    let mut path = PatchPath {
        attribute,
        filter: None,
        sub_after_filter: None,
    };
    if parser.eat('[') {
        if path.attribute.sub.is_some() {
            return Err(parser.error("a value filter follows an attribute, not a sub-attribute"));
        }
        path.filter = Some(parser.or(0)?);
        parser.skip_spaces();
        if !parser.eat(']') {
            return Err(parser.error("expected ']'"));
        }
        if parser.eat('.') {
            let sub = parser.name();
            if sub.is_empty() {
                return Err(parser.error("expected a sub-attribute after '.'"));
            }
            path.sub_after_filter = Some(sub);
        }
    }
    parser.skip_spaces();
    if !parser.at_end() {
        return Err(parser.error("unexpected text"));
    }
    Ok(path)
}

struct Parser<'a> {
    text: &'a str,
    at: usize,
    error: fn(String) -> ScimError,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str, error: fn(String) -> ScimError) -> Self {
        Self { text, at: 0, error }
    }

    fn error(&self, what: &str) -> ScimError {
        (self.error)(format!(
            "{what} at character {} of {:?}",
            self.at + 1,
            self.text
        ))
    }

    fn rest(&self) -> &'a str {
        self.text.get(self.at..).unwrap_or("")
    }

    fn at_end(&self) -> bool {
        self.rest().is_empty()
    }

    fn skip_spaces(&mut self) {
        let rest = self.rest();
        self.at += rest.len() - rest.trim_start().len();
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// The next word (up to a space or bracket), not consumed.
    fn peek_word(&self) -> &'a str {
        let rest = self.rest();
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']'))
            .unwrap_or(rest.len());
        rest.get(..end).unwrap_or("")
    }

    /// Consumes `keyword` (any case) when it is the next word.
    fn keyword(&mut self, keyword: &str) -> bool {
        self.skip_spaces();
        if self.peek_word().eq_ignore_ascii_case(keyword) {
            self.at += keyword.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.and(depth)?;
        while self.keyword("or") {
            let right = self.and(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.unary(depth)?;
        while self.keyword("and") {
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth >= MAX_DEPTH {
            return Err(self.error("the filter nests too deep"));
        }
        self.skip_spaces();
        let word = self.peek_word();
        if word.eq_ignore_ascii_case("not") {
            self.at += word.len();
            self.skip_spaces();
            if !self.eat('(') {
                return Err(self.error("expected '(' after 'not'"));
            }
            let inner = self.or(depth + 1)?;
            self.skip_spaces();
            if !self.eat(')') {
                return Err(self.error("expected ')'"));
            }
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.eat('(') {
            let inner = self.or(depth + 1)?;
            self.skip_spaces();
            if !self.eat(')') {
                return Err(self.error("expected ')'"));
            }
            return Ok(inner);
        }
        let path = self.attr_path()?;
        if self.eat('[') {
            if path.sub.is_some() {
                return Err(self.error("a value filter follows an attribute, not a sub-attribute"));
            }
            let inner = self.or(depth + 1)?;
            self.skip_spaces();
            if !self.eat(']') {
                return Err(self.error("expected ']'"));
            }
            return Ok(Filter::ValuePath(path, Box::new(inner)));
        }
        self.skip_spaces();
        let operator = self.peek_word();
        if operator.eq_ignore_ascii_case("pr") {
            self.at += operator.len();
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(operator) else {
            return Err(self.error(&format!(
                "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr), not {operator:?}"
            )));
        };
        self.at += operator.len();
        self.skip_spaces();
        let value = self.literal()?;
        Ok(Filter::Compare(path, op, value))
    }

    fn name(&mut self) -> String {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$')))
            .unwrap_or(rest.len());
        self.at += end;
        rest.get(..end).unwrap_or("").to_string()
    }

    /// `[uri ":"] name ["." sub]`; a URI holds ':' and '.', so it is everything up to the
    /// last ':' of the path's word.
    fn attr_path(&mut self) -> Result<AttrPath, ScimError> {
        self.skip_spaces();
        let rest = self.rest();
        let word_end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']'))
            .unwrap_or(rest.len());
        let word = rest.get(..word_end).unwrap_or("");
        let uri = match word.rfind(':') {
            Some(colon) => {
                let uri = word.get(..colon).unwrap_or("");
                if !uri.to_ascii_lowercase().starts_with("urn:") {
                    return Err(self.error("an attribute's schema must be a URN"));
                }
                self.at += colon + 1;
                Some(uri.to_string())
            }
            None => None,
        };
        let starts_with_letter = self
            .peek()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '$');
        let name = self.name();
        if name.is_empty() || !starts_with_letter {
            return Err(self.error("expected an attribute name"));
        }
        let sub = if self.eat('.') {
            let sub = self.name();
            if sub.is_empty() {
                return Err(self.error("expected a sub-attribute after '.'"));
            }
            Some(sub)
        } else {
            None
        };
        Ok(AttrPath { uri, name, sub })
    }

    fn literal(&mut self) -> Result<Literal, ScimError> {
        if self.peek() == Some('"') {
            // A JSON string: find its closing quote, skipping escaped characters.
            let rest = self.rest();
            let mut escaped = false;
            let mut end = None;
            for (index, c) in rest.char_indices().skip(1) {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == '"' {
                    end = Some(index);
                    break;
                }
            }
            let Some(end) = end else {
                return Err(self.error("a string is not closed"));
            };
            let quoted = rest.get(..=end).unwrap_or("");
            let text: String = serde_json::from_str(quoted)
                .map_err(|_| self.error("a string has an invalid escape"))?;
            self.at += end + 1;
            return Ok(Literal::Text(text));
        }
        let word = self.peek_word();
        let literal = match word.to_ascii_lowercase().as_str() {
            "true" => Literal::Bool(true),
            "false" => Literal::Bool(false),
            "null" => Literal::Null,
            _ => match word.parse::<f64>() {
                Ok(number) if number.is_finite() => Literal::Number(number),
                _ => {
                    return Err(self.error(&format!(
                    "expected a value (a \"string\", a number, true, false or null), not {word:?}"
                )))
                }
            },
        };
        self.at += word.len();
        Ok(literal)
    }
}

/// Whether a JSON value (one value of a multi-valued attribute, such as an email) matches
/// a value filter, whose paths name its sub-attributes. Text compares in any case (the
/// sub-attributes Gatehouse keeps are not case-exact).
pub fn matches(filter: &Filter, value: &Value) -> bool {
    match filter {
        Filter::And(left, right) => matches(left, value) && matches(right, value),
        Filter::Or(left, right) => matches(left, value) || matches(right, value),
        Filter::Not(inner) => !matches(inner, value),
        Filter::ValuePath(..) => false,
        Filter::Present(path) => {
            field(path, value).is_some_and(|v| !v.is_null() && v != &Value::String(String::new()))
        }
        Filter::Compare(path, op, literal) => {
            let found = field(path, value);
            compare(found, *op, literal)
        }
    }
}

fn field<'v>(path: &AttrPath, value: &'v Value) -> Option<&'v Value> {
    let object = value.as_object()?;
    let found = super::get_ignore_case(object, &path.name)?;
    match &path.sub {
        Some(sub) => super::get_ignore_case(found.as_object()?, sub),
        None => Some(found),
    }
}

fn compare(found: Option<&Value>, op: CompareOp, literal: &Literal) -> bool {
    let Some(found) = found else {
        // Absent equals null; every other comparison with an absent value is false.
        return match (op, literal) {
            (CompareOp::Eq, Literal::Null) => true,
            (CompareOp::Ne, Literal::Null) => false,
            (CompareOp::Ne, _) => true,
            _ => false,
        };
    };
    match (found, literal) {
        (Value::String(have), Literal::Text(want)) => {
            let have = have.to_lowercase();
            let want = want.to_lowercase();
            match op {
                CompareOp::Eq => have == want,
                CompareOp::Ne => have != want,
                CompareOp::Co => have.contains(&want),
                CompareOp::Sw => have.starts_with(&want),
                CompareOp::Ew => have.ends_with(&want),
                CompareOp::Gt => have > want,
                CompareOp::Ge => have >= want,
                CompareOp::Lt => have < want,
                CompareOp::Le => have <= want,
            }
        }
        (Value::Bool(have), Literal::Bool(want)) => match op {
            CompareOp::Eq => have == want,
            CompareOp::Ne => have != want,
            _ => false,
        },
        (Value::Number(have), Literal::Number(want)) => {
            let have = have.as_f64().unwrap_or(f64::NAN);
            match op {
                CompareOp::Eq => have == *want,
                CompareOp::Ne => have != *want,
                CompareOp::Gt => have > *want,
                CompareOp::Ge => have >= *want,
                CompareOp::Lt => have < *want,
                CompareOp::Le => have <= *want,
                _ => false,
            }
        }
        (Value::Null, Literal::Null) => op == CompareOp::Eq,
        (_, Literal::Null) => op == CompareOp::Ne,
        _ => op == CompareOp::Ne,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> AttrPath {
        AttrPath {
            uri: None,
            name: name.into(),
            sub: None,
        }
    }

    fn text(value: &str) -> Literal {
        Literal::Text(value.into())
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let parsed = parse_filter(r#"userName eq "a" or title pr and active eq true"#).unwrap();
        assert_eq!(
            parsed,
            Filter::Or(
                Box::new(Filter::Compare(path("userName"), CompareOp::Eq, text("a"))),
                Box::new(Filter::And(
                    Box::new(Filter::Present(path("title"))),
                    Box::new(Filter::Compare(
                        path("active"),
                        CompareOp::Eq,
                        Literal::Bool(true)
                    )),
                )),
            )
        );
    }

    #[test]
    fn parentheses_and_not_group_filters() {
        let parsed =
            parse_filter(r#"NOT (title SW "Eng" Or title ew "ops") and userName co "x""#).unwrap();
        let Filter::And(left, _) = parsed else {
            panic!("expected and: {parsed:?}");
        };
        assert!(matches!(*left, Filter::Not(inner) if matches!(*inner, Filter::Or(..))));
    }

    #[test]
    fn a_path_may_carry_its_schema_uri_and_a_sub_attribute() {
        let parsed = parse_filter(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq \"7\"",
        )
        .unwrap();
        assert_eq!(
            parsed,
            Filter::Compare(
                AttrPath {
                    uri: Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into()),
                    name: "manager".into(),
                    sub: Some("value".into()),
                },
                CompareOp::Eq,
                text("7")
            )
        );
    }

    #[test]
    fn value_paths_and_escaped_strings_parse() {
        let parsed = parse_filter(r#"emails[type eq "work" and value co "a\"b"]"#).unwrap();
        let Filter::ValuePath(attribute, inner) = parsed else {
            panic!("expected a value path");
        };
        assert_eq!(attribute, path("emails"));
        assert_eq!(
            *inner,
            Filter::And(
                Box::new(Filter::Compare(path("type"), CompareOp::Eq, text("work"))),
                Box::new(Filter::Compare(path("value"), CompareOp::Co, text("a\"b"))),
            )
        );
    }

    #[test]
    fn malformed_filters_are_refused_as_invalid_filter() {
        for bad in [
            "",
            "userName",
            "userName eq",
            "userName is \"a\"",
            "userName eq \"a",
            "userName eq a",
            "(userName eq \"a\"",
            "userName eq \"a\" and",
            "not userName eq \"a\"",
            "emails[type eq \"work\"",
            "userName eq \"a\" extra",
            "1abc eq \"a\"",
            "http://x:name eq \"a\"",
        ] {
            let error = parse_filter(bad).unwrap_err();
            assert_eq!(
                (error.status, error.scim_type),
                (400, Some("invalidFilter")),
                "{bad:?}"
            );
        }
        let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(
            parse_filter(&deep).unwrap_err().scim_type,
            Some("invalidFilter")
        );
    }

    #[test]
    fn patch_paths_parse_with_value_filters_and_sub_attributes() {
        let parsed = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
        assert_eq!(parsed.attribute, path("emails"));
        assert_eq!(parsed.sub_after_filter.as_deref(), Some("value"));
        assert!(parsed.filter.is_some());
        let parsed = parse_patch_path("name.givenName").unwrap();
        assert_eq!(parsed.attribute.sub.as_deref(), Some("givenName"));
        for bad in ["", "emails[", "emails[type eq \"work\"]x", "name.", "a b"] {
            assert_eq!(
                parse_patch_path(bad).unwrap_err().scim_type,
                Some("invalidPath"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn value_filters_match_values_in_any_case() {
        let filter = parse_filter(r#"type eq "WORK" and not (primary eq false)"#).unwrap();
        assert!(matches(
            &filter,
            &serde_json::json!({"type": "work", "primary": true})
        ));
        assert!(!matches(
            &filter,
            &serde_json::json!({"type": "work", "primary": false})
        ));
        assert!(!matches(&filter, &serde_json::json!({"type": "home"})));
        assert!(matches(
            &parse_filter("display pr").unwrap(),
            &serde_json::json!({"display": "x"})
        ));
        assert!(!matches(
            &parse_filter("display pr").unwrap(),
            &serde_json::json!({"display": ""})
        ));
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "\\PC{0,60}") {
            let _ = parse_filter(&text);
            let _ = parse_patch_path(&text);
        }
    }
}
