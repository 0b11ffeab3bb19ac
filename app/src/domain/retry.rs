//! How long to wait before trying again (mail delivery, provisioning).

/// Seconds to wait after failed attempt number `attempt` (1-based): `base` doubled per
/// attempt, at most `cap`, then lowered by up to a fifth at random (`jitter` in 0..1) so
/// that messages failing together do not retry together.
pub fn retry_delay_seconds(attempt: i64, base: i64, cap: i64, jitter: f64) -> i64 {
    let exponent = u32::try_from((attempt - 1).clamp(0, 30)).unwrap_or(30);
    let delay = base
        .max(1)
        .saturating_mul(1_i64 << exponent)
        .min(cap.max(1));
    let lowered = (delay as f64) * (1.0 - 0.2 * jitter.clamp(0.0, 1.0));
    (lowered.round() as i64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_only_lowers_it() {
        assert_eq!(retry_delay_seconds(1, 30, 3600, 0.0), 30);
        assert_eq!(retry_delay_seconds(2, 30, 3600, 0.0), 60);
        assert_eq!(retry_delay_seconds(5, 30, 3600, 0.0), 480);
        assert_eq!(retry_delay_seconds(8, 30, 3600, 0.0), 3600);
        assert_eq!(retry_delay_seconds(60, 30, 3600, 0.0), 3600);
        assert_eq!(retry_delay_seconds(8, 30, 3600, 1.0), 2880);
        let jittered = retry_delay_seconds(3, 30, 3600, 0.5);
        assert!((96..=120).contains(&jittered), "{jittered}");
    }
}
