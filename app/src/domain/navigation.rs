//! Where the browser may be sent after signing in.

/// Same-origin paths only: `/x`, never `//host`, `/\host` or an absolute URL; anything
/// else becomes `/`.
pub fn safe_next(next: &str) -> String {
    let next = next.trim();
    let safe = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.chars().any(|c| c.is_control() || c == '\\');
    if safe {
        next.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_same_origin_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/approvals?x=1"), "/approvals?x=1");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "",
            "approvals",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
    }
}
