//! The clock is read once at the edge and passed down as `now` (ARCHITECTURE.md, Time).
//! Tests drive time with [`ManualClock`] instead of sleeping.

use crate::domain::Timestamp;
use std::sync::{
    atomic::{AtomicI64, Ordering},
    Arc,
};
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;
    /// Whether deadlines ("due") are decided by the database's clock rather than this
    /// one: true for the real clock, so that several instances agree whatever their own
    /// clocks say; false for a test's clock, which drives time itself.
    fn defers_to_database(&self) -> bool {
        false
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        // A system clock before 1970 is a broken machine; treat it as the epoch rather
        // than failing every request.
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(millis)
    }

    fn defers_to_database(&self) -> bool {
        true
    }
}

/// A clock that only moves when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self {
            millis: Arc::new(AtomicI64::new(start.millis())),
        }
    }

    pub fn set(&self, to: Timestamp) {
        self.millis.store(to.millis(), Ordering::SeqCst);
    }

    pub fn advance_minutes(&self, minutes: i64) {
        self.millis.fetch_add(
            minutes * crate::domain::time::MILLIS_PER_MINUTE,
            Ordering::SeqCst,
        );
    }

    pub fn advance_days(&self, days: i64) {
        self.millis
            .fetch_add(days * crate::domain::time::MILLIS_PER_DAY, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.millis.load(Ordering::SeqCst))
    }
}
