//! The audit trail's hash chain. Each event's hash covers the previous event's hash and the
//! event's own fields, so removing, reordering or editing any stored event breaks every
//! later link. The first event links to [`GENESIS_HASH`].
//!
//! The hash is keyed (HMAC-SHA-256 with [`AuditKey`], a secret from configuration that the
//! database never holds), so that someone who can write to the database cannot edit an
//! event and compute the chain again. Events written before the chain was keyed carry a
//! plain SHA-256 and are verified as such; none may follow a keyed one. What a keyed chain
//! alone cannot show, the last events deleted and the head moved back, is caught by
//! signed checkpoints kept outside the database ([`Checkpoint`]).

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The secret that keys the audit chain and signs its checkpoints. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey(Vec<u8>);

impl AuditKey {
    /// At least 32 bytes (a random 256-bit value, as `openssl rand -hex 32` prints).
    pub const MIN_LENGTH: usize = 32;

    pub fn new(secret: &str) -> Result<Self, String> {
        let secret = secret.trim();
        if secret.len() < Self::MIN_LENGTH {
            return Err(format!(
                "the audit key must be at least {} characters (for example the output of `openssl rand -hex 32`)",
                Self::MIN_LENGTH
            ));
        }
        Ok(Self(secret.as_bytes().to_vec()))
    }

    fn mac(&self, message: &[u8]) -> String {
        // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(***)")
    }
}

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

/// A JSON array of the previous hash and the record's fields: an unambiguous encoding, so
/// no choice of field values can make two different records serialize to the same bytes.
fn canonical(previous_hash: &str, record: &AuditRecord) -> String {
    serde_json::json!([
        previous_hash,
        record.occurred_at,
        record.actor_id,
        record.actor_label,
        record.action,
        record.object_kind,
        record.object_id,
        record.before_json,
        record.after_json,
    ])
    .to_string()
}

/// The keyed hash of an event: HMAC-SHA-256, hex.
pub fn chain_hash(key: &AuditKey, previous_hash: &str, record: &AuditRecord) -> String {
    key.mac(canonical(previous_hash, record).as_bytes())
}

/// The hash of an event written before the chain was keyed: SHA-256, hex.
pub fn unkeyed_chain_hash(previous_hash: &str, record: &AuditRecord) -> String {
    hex::encode(Sha256::digest(canonical(previous_hash, record).as_bytes()))
}

/// One stored event as read back for verification.
#[derive(Clone, Debug)]
pub struct StoredAuditEvent {
    pub id: i64,
    pub prev_hash: String,
    pub hash: String,
    /// Written with the keyed hash.
    pub keyed: bool,
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
    /// The event's fields no longer produce its stored hash under the key (it was edited,
    /// or the chain was computed again without the key).
    AlteredEvent { event_id: i64 },
    /// An event with the old, unkeyed hash after keyed ones: written by someone without
    /// the key.
    UnkeyedEvent { event_id: i64 },
    /// The chain head does not point at the last event (events were removed at the end).
    TruncatedTail {
        head_hash: String,
        last_hash: String,
    },
    /// The chain head names a later event than the last one stored.
    MissingTail {
        head_event_id: i64,
        last_event_id: i64,
    },
    /// A signed checkpoint kept outside the database names an event the database no
    /// longer has, or has with another hash.
    CheckpointMismatch { event_id: i64, at: i64 },
    /// A checkpoint line whose signature does not verify.
    ForgedCheckpoint { line: usize },
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainBreak::BrokenLink { event_id, .. } => write!(
                f,
                "audit event {event_id} does not link to the event before it (an event was removed, inserted or reordered)"
            ),
            ChainBreak::AlteredEvent { event_id } => write!(
                f,
                "audit event {event_id} was altered after it was written (or the chain was computed again without the key)"
            ),
            ChainBreak::UnkeyedEvent { event_id } => write!(
                f,
                "audit event {event_id} was written without the audit key, after keyed events"
            ),
            ChainBreak::TruncatedTail { .. } => write!(
                f,
                "the chain head does not match the last audit event (events were removed at the end)"
            ),
            ChainBreak::MissingTail {
                head_event_id,
                last_event_id,
            } => write!(
                f,
                "the chain head names audit event {head_event_id}, but the last one stored is {last_event_id} (events were removed at the end)"
            ),
            ChainBreak::CheckpointMismatch { event_id, at } => write!(
                f,
                "the signed checkpoint of {} names audit event {event_id}, which the database no longer holds as it was (events were removed or rewritten)",
                crate::domain::Timestamp(*at).date_time_utc()
            ),
            ChainBreak::ForgedCheckpoint { line } => write!(
                f,
                "line {line} of the checkpoint file is not signed with the audit key"
            ),
        }
    }
}

/// Walks events in id order, carrying the previous hash. Feed events with [`Verifier::next`]
/// and close with [`Verifier::finish`]; the first break is returned and the walk stops.
pub struct Verifier {
    key: AuditKey,
    previous_hash: String,
    last_event_id: i64,
    seen_keyed: bool,
    checked: u64,
    unkeyed: u64,
}

impl Verifier {
    /// A walk from the first event.
    pub fn new(key: AuditKey) -> Self {
        Self::resume(key, 0, GENESIS_HASH.to_string(), false)
    }

    /// A walk that continues after an event already verified (incremental verification);
    /// `after_keyed` says whether that event was keyed.
    pub fn resume(
        key: AuditKey,
        after_event_id: i64,
        after_hash: String,
        after_keyed: bool,
    ) -> Self {
        Self {
            key,
            previous_hash: after_hash,
            last_event_id: after_event_id,
            seen_keyed: after_keyed,
            checked: 0,
            unkeyed: 0,
        }
    }

    pub fn next(&mut self, event: &StoredAuditEvent) -> Result<(), ChainBreak> {
        if event.prev_hash != self.previous_hash {
            return Err(ChainBreak::BrokenLink {
                event_id: event.id,
                expected_prev: self.previous_hash.clone(),
                found_prev: event.prev_hash.clone(),
            });
        }
        let expected = if event.keyed {
            self.seen_keyed = true;
            chain_hash(&self.key, &event.prev_hash, &event.record)
        } else if self.seen_keyed {
            return Err(ChainBreak::UnkeyedEvent { event_id: event.id });
        } else {
            self.unkeyed += 1;
            unkeyed_chain_hash(&event.prev_hash, &event.record)
        };
        if expected != event.hash {
            return Err(ChainBreak::AlteredEvent { event_id: event.id });
        }
        self.previous_hash = event.hash.clone();
        self.last_event_id = event.id;
        self.checked += 1;
        Ok(())
    }

    /// Checks the stored chain head against the last event seen.
    pub fn finish(self, head: &ChainHead) -> Result<Verified, ChainBreak> {
        if head.last_event_id.unwrap_or(0) != self.last_event_id {
            return Err(ChainBreak::MissingTail {
                head_event_id: head.last_event_id.unwrap_or(0),
                last_event_id: self.last_event_id,
            });
        }
        if head.last_hash != self.previous_hash {
            return Err(ChainBreak::TruncatedTail {
                head_hash: head.last_hash.clone(),
                last_hash: self.previous_hash,
            });
        }
        Ok(Verified {
            events: self.checked,
            unkeyed: self.unkeyed,
            last_event_id: self.last_event_id,
            last_hash: self.previous_hash,
        })
    }
}

/// The stored chain head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    pub last_event_id: Option<i64>,
    pub last_hash: String,
}

/// What a verification walk covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// Events checked by this walk.
    pub events: u64,
    /// Of those, events written before the chain was keyed.
    pub unkeyed: u64,
    pub last_event_id: i64,
    pub last_hash: String,
}

/// A signed statement, kept outside the database, that the chain reached `event_id` with
/// `hash` at `at`. A later database without that event (or with another hash for it) has
/// lost events, whatever its head says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub event_id: i64,
    pub hash: String,
    pub at: i64,
    pub mac: String,
}

impl Checkpoint {
    fn message(event_id: i64, hash: &str, at: i64) -> String {
        format!("gatehouse-audit-checkpoint|{event_id}|{hash}|{at}")
    }

    pub fn sign(key: &AuditKey, event_id: i64, hash: &str, at: i64) -> Self {
        Self {
            event_id,
            hash: hash.to_string(),
            at,
            mac: key.mac(Self::message(event_id, hash, at).as_bytes()),
        }
    }

    pub fn is_signed_by(&self, key: &AuditKey) -> bool {
        let expected = key.mac(Self::message(self.event_id, &self.hash, self.at).as_bytes());
        // Comparing digests keeps the time independent of where the strings differ.
        Sha256::digest(expected.as_bytes()) == Sha256::digest(self.mac.as_bytes())
    }
}

/// The verified-up-to mark that lets the audit page check only what came after it,
/// signed so that it cannot be moved forward over unverified events.
pub fn verified_mark_mac(key: &AuditKey, event_id: i64, hash: &str) -> String {
    key.mac(format!("gatehouse-audit-verified|{event_id}|{hash}").as_bytes())
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

    fn key() -> AuditKey {
        AuditKey::new("an audit key of at least thirty-two characters").unwrap()
    }

    fn chain(actions: &[&str]) -> Vec<StoredAuditEvent> {
        let mut previous = GENESIS_HASH.to_string();
        actions
            .iter()
            .enumerate()
            .map(|(index, action)| {
                let record = record(action, index as i64);
                let hash = chain_hash(&key(), &previous, &record);
                let event = StoredAuditEvent {
                    id: index as i64 + 1,
                    prev_hash: previous.clone(),
                    hash: hash.clone(),
                    keyed: true,
                    record,
                };
                previous = hash;
                event
            })
            .collect()
    }

    fn verify_with(
        key: AuditKey,
        events: &[StoredAuditEvent],
        head: &str,
    ) -> Result<u64, ChainBreak> {
        let mut verifier = Verifier::new(key);
        for event in events {
            verifier.next(event)?;
        }
        let last_event_id = events.last().map(|event| event.id);
        verifier
            .finish(&ChainHead {
                last_event_id,
                last_hash: head.to_string(),
            })
            .map(|verified| verified.events)
    }

    fn verify(events: &[StoredAuditEvent], head: &str) -> Result<u64, ChainBreak> {
        verify_with(key(), events, head)
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let events = chain(&["a", "b", "c"]);
        assert_eq!(verify(&events, &events[2].hash), Ok(3));
        assert_eq!(verify(&[], GENESIS_HASH), Ok(0));
    }

    #[test]
    fn a_chain_computed_again_without_the_key_is_caught() {
        let mut events = chain(&["a", "b", "c"]);
        events[1].record.after_json = Some(r#"{"status":"denied"}"#.into());
        // The forger recomputes every hash from the edited event on, without the key.
        let mut previous = events[0].hash.clone();
        for event in events.iter_mut().skip(1) {
            event.prev_hash = previous.clone();
            event.hash = unkeyed_chain_hash(&previous, &event.record);
            event.keyed = false;
            previous = event.hash.clone();
        }
        assert_eq!(
            verify(&events, &previous),
            Err(ChainBreak::UnkeyedEvent { event_id: 2 })
        );
        // Marked as keyed, the hashes do not match the key.
        for event in events.iter_mut() {
            event.keyed = true;
        }
        assert_eq!(
            verify(&events, &previous),
            Err(ChainBreak::AlteredEvent { event_id: 2 })
        );
        // With another key, nothing verifies.
        let honest = chain(&["a", "b"]);
        let other = AuditKey::new("another audit key, also thirty-two characters").unwrap();
        assert_eq!(
            verify_with(other, &honest, &honest[1].hash),
            Err(ChainBreak::AlteredEvent { event_id: 1 })
        );
    }

    #[test]
    fn an_unkeyed_prefix_verifies_and_is_counted() {
        let mut events = chain(&["a", "b"]);
        events[0].keyed = false;
        events[0].hash = unkeyed_chain_hash(GENESIS_HASH, &events[0].record);
        events[1].prev_hash = events[0].hash.clone();
        events[1].hash = chain_hash(&key(), &events[0].hash, &events[1].record);
        let mut verifier = Verifier::new(key());
        for event in &events {
            verifier.next(event).unwrap();
        }
        let verified = verifier
            .finish(&ChainHead {
                last_event_id: Some(2),
                last_hash: events[1].hash.clone(),
            })
            .unwrap();
        assert_eq!((verified.events, verified.unkeyed), (2, 1));
    }

    #[test]
    fn a_head_that_names_a_later_event_shows_the_tail_was_removed() {
        let events = chain(&["a", "b", "c"]);
        let mut verifier = Verifier::new(key());
        for event in &events[..2] {
            verifier.next(event).unwrap();
        }
        // The head's hash was set to the new last event; its id still says 3.
        assert_eq!(
            verifier.finish(&ChainHead {
                last_event_id: Some(3),
                last_hash: events[1].hash.clone(),
            }),
            Err(ChainBreak::MissingTail {
                head_event_id: 3,
                last_event_id: 2
            })
        );
    }

    #[test]
    fn checkpoints_are_signed_with_the_key() {
        let checkpoint = Checkpoint::sign(&key(), 61, "ab", 1_000);
        assert!(checkpoint.is_signed_by(&key()));
        let other = AuditKey::new("another audit key, also thirty-two characters").unwrap();
        assert!(!checkpoint.is_signed_by(&other));
        let moved = Checkpoint {
            event_id: 56,
            ..checkpoint
        };
        assert!(!moved.is_signed_by(&key()));
        assert!(AuditKey::new("short").is_err());
        assert_eq!(format!("{:?}", key()), "AuditKey(***)");
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
        let mut verifier = Verifier::new(key());
        assert!(verifier.next(&events[0]).is_ok());
        assert!(matches!(
            verifier.next(&events[1]),
            Err(ChainBreak::BrokenLink { event_id: 3, .. })
        ));
        let _ = head;
    }

    #[test]
    fn removing_the_last_event_is_caught_by_the_head() {
        let mut events = chain(&["a", "b", "c"]);
        let head = events[2].hash.clone();
        events.pop();
        // The head still names event 3 and its hash.
        let mut verifier = Verifier::new(key());
        for event in &events {
            verifier.next(event).unwrap();
        }
        assert!(matches!(
            verifier.finish(&ChainHead {
                last_event_id: Some(2),
                last_hash: head,
            }),
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
            chain_hash(&key(), GENESIS_HASH, &first),
            chain_hash(&key(), GENESIS_HASH, &second)
        );
    }
}
