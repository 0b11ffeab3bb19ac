//! The audit trail's hash chain. Each event's hash covers the previous event's hash and the
//! event's own fields, so removing, reordering or editing any stored event breaks every
//! later link. The first event links to [`GENESIS_HASH`].

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an audit event that its hash covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub occurred_at: i64,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<String>,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
}

/// SHA-256, hex, over a JSON array of the previous hash and the record's fields. A JSON
/// array is an unambiguous encoding: no choice of field values can make two different
/// records serialize to the same bytes.
pub fn chain_hash(previous_hash: &str, record: &AuditRecord) -> String {
    let canonical = serde_json::json!([
        previous_hash,
        record.occurred_at,
        record.actor_id,
        record.actor_label,
        record.action,
        record.object_kind,
        record.object_id,
        record.before_json,
        record.after_json,
    ]);
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

/// One stored event as read back for verification.
#[derive(Clone, Debug)]
pub struct StoredAuditEvent {
    pub id: i64,
    pub prev_hash: String,
    pub hash: String,
    pub record: AuditRecord,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainBreak {
    /// The event does not point at the hash of the event before it (one was removed,
    /// inserted or reordered).
    BrokenLink {
        event_id: i64,
        expected_prev: String,
        found_prev: String,
    },
    /// The event's fields no longer produce its stored hash (it was edited).
    AlteredEvent { event_id: i64 },
    /// The chain head does not point at the last event (events were removed at the end).
    TruncatedTail {
        head_hash: String,
        last_hash: String,
    },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::BrokenLink { event_id, .. } => write!(
                f,
                "audit event {event_id} does not link to the event before it (an event was removed, inserted or reordered)"
            ),
            ChainBreak::AlteredEvent { event_id } => {
                write!(f, "audit event {event_id} was altered after it was written")
            }
            ChainBreak::TruncatedTail { .. } => write!(
                f,
                "the chain head does not match the last audit event (events were removed at the end)"
            ),
        }
    }
}

/// Walks events in id order, carrying the previous hash. Feed events with [`Verifier::next`]
/// and close with [`Verifier::finish`]; the first break is returned and the walk stops.
pub struct Verifier {
    previous_hash: String,
    checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            previous_hash: GENESIS_HASH.to_string(),
            checked: 0,
        }
    }
}

impl Verifier {
    pub fn next(&mut self, event: &StoredAuditEvent) -> Result<(), ChainBreak> {
        if event.prev_hash != self.previous_hash {
            return Err(ChainBreak::BrokenLink {
                event_id: event.id,
                expected_prev: self.previous_hash.clone(),
                found_prev: event.prev_hash.clone(),
            });
        }
        if chain_hash(&event.prev_hash, &event.record) != event.hash {
            return Err(ChainBreak::AlteredEvent { event_id: event.id });
        }
        self.previous_hash = event.hash.clone();
        self.checked += 1;
        Ok(())
    }

    /// Checks the stored chain head against the last event seen; returns how many events
    /// were verified.
    pub fn finish(self, head_hash: &str) -> Result<u64, ChainBreak> {
        if head_hash != self.previous_hash {
            return Err(ChainBreak::TruncatedTail {
                head_hash: head_hash.to_string(),
                last_hash: self.previous_hash,
            });
        }
        Ok(self.checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(action: &str, at: i64) -> AuditRecord {
        AuditRecord {
            occurred_at: at,
            actor_id: Some(7),
            actor_label: "person:7".into(),
            action: action.into(),
            object_kind: "access_request".into(),
            object_id: Some("1".into()),
            before_json: None,
            after_json: Some(r#"{"status":"approved"}"#.into()),
        }
    }

    fn chain(actions: &[&str]) -> Vec<StoredAuditEvent> {
        let mut previous = GENESIS_HASH.to_string();
        actions
            .iter()
            .enumerate()
            .map(|(index, action)| {
                let record = record(action, index as i64);
                let hash = chain_hash(&previous, &record);
                let event = StoredAuditEvent {
                    id: index as i64 + 1,
                    prev_hash: previous.clone(),
                    hash: hash.clone(),
                    record,
                };
                previous = hash;
                event
            })
            .collect()
    }

    fn verify(events: &[StoredAuditEvent], head: &str) -> Result<u64, ChainBreak> {
        let mut verifier = Verifier::default();
        for event in events {
            verifier.next(event)?;
        }
        verifier.finish(head)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let events = chain(&["a", "b", "c"]);
        assert_eq!(verify(&events, &events[2].hash), Ok(3));
        assert_eq!(verify(&[], GENESIS_HASH), Ok(0));
    }

    #[test]
    fn editing_an_event_is_named_as_altered() {
        let mut events = chain(&["a", "b", "c"]);
        events[1].record.after_json = Some(r#"{"status":"denied"}"#.into());
        let head = events[2].hash.clone();
        assert_eq!(
            verify(&events, &head),
            Err(ChainBreak::AlteredEvent { event_id: 2 })
        );
    }

    #[test]
    fn removing_an_event_breaks_the_next_link() {
        let mut events = chain(&["a", "b", "c"]);
        let head = events[2].hash.clone();
        events.remove(1);
        assert!(matches!(
            verify(&events, &head),
            Err(ChainBreak::BrokenLink { event_id: 3, .. })
        ));
    }

    #[test]
    fn removing_the_last_event_is_caught_by_the_head() {
        let mut events = chain(&["a", "b", "c"]);
        let head = events[2].hash.clone();
        events.pop();
        assert!(matches!(
            verify(&events, &head),
            Err(ChainBreak::TruncatedTail { .. })
        ));
    }

    #[test]
    fn field_boundaries_cannot_be_shifted_to_forge_a_hash() {
        let mut first = record("ab", 1);
        first.object_kind = "c".into();
        let mut second = record("a", 1);
        second.object_kind = "bc".into();
        assert_ne!(
            chain_hash(GENESIS_HASH, &first),
            chain_hash(GENESIS_HASH, &second)
        );
    }
}
