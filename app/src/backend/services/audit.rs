//! Verifying the audit trail, and the signed checkpoints of it kept outside the database.
//!
//! A keyed chain shows an edited event and a chain computed again without the key. It
//! cannot show the last events deleted and the head moved back to the new last one: every
//! remaining hash is genuine. So the head is written, signed with the audit key, to a
//! checkpoint file (one JSON line each time it moved) and to the log, both of which the
//! database does not hold; verification then requires the database to still hold the last
//! checkpoint's event, as it was.
//!
//! The audit page verifies incrementally: from a signed mark of how far the chain was
//! verified, only what came after. `gatehouse audit-verify` checks every event.

use crate::backend::store::audit::{self as trail, VerifiedMark, VerifyOutcome};
use crate::backend::Db;
use crate::domain::audit::{verified_mark_mac, ChainBreak, Checkpoint, Verifier};
use crate::domain::{AppError, Timestamp};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrailCheck {
    /// The first break, if any.
    pub chain_break: Option<ChainBreak>,
    /// Events verified (in all, for an incremental check).
    pub events: i64,
    /// Events this check read and verified (all of them for a full check; those after the
    /// last mark for an incremental one).
    pub walked: u64,
    /// Of the events this check walked, those written before the chain was keyed.
    pub unkeyed: u64,
    /// The last checkpoint found outside the database, if any.
    pub checkpoint: Option<Checkpoint>,
}

impl TrailCheck {
    fn broken(chain_break: ChainBreak) -> Self {
        Self {
            chain_break: Some(chain_break),
            events: 0,
            walked: 0,
            unkeyed: 0,
            checkpoint: None,
        }
    }
}

fn file_error(path: &Path, error: std::io::Error) -> AppError {
    tracing::error!(path = %path.display(), %error, "audit checkpoint file");
    AppError::internal()
}

/// The last line of the checkpoint file (read from its end: the file grows by a line each
/// time the chain moved), with its line number counted from the end's point of view as
/// "last". `None` when there is no file or no line yet.
fn last_checkpoint(path: &Path) -> Result<Option<Result<Checkpoint, ()>>, AppError> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(file_error(path, error)),
    };
    let length = file
        .metadata()
        .map_err(|error| file_error(path, error))?
        .len();
    let start = length.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start))
        .map_err(|error| file_error(path, error))?;
    let mut tail = String::new();
    file.read_to_string(&mut tail)
        .map_err(|error| file_error(path, error))?;
    Ok(tail
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str::<Checkpoint>(line).map_err(|_| ())))
}

/// Checks the database against the last checkpoint kept outside it.
async fn check_against_checkpoint(
    db: &Db,
    path: Option<&Path>,
) -> Result<(Option<ChainBreak>, Option<Checkpoint>), AppError> {
    let Some(path) = path else {
        return Ok((None, None));
    };
    let key = trail::key()?;
    let checkpoint = match last_checkpoint(path)? {
        None => return Ok((None, None)),
        Some(Err(())) => return Ok((Some(ChainBreak::ForgedCheckpoint { line: 0 }), None)),
        Some(Ok(checkpoint)) if !checkpoint.is_signed_by(key) => {
            return Ok((Some(ChainBreak::ForgedCheckpoint { line: 0 }), None))
        }
        Some(Ok(checkpoint)) => checkpoint,
    };
    let held = trail::hash_of(db.reader(), checkpoint.event_id).await?;
    let intact = held.is_some_and(|(hash, _)| hash == checkpoint.hash);
    let chain_break = (!intact).then_some(ChainBreak::CheckpointMismatch {
        event_id: checkpoint.event_id,
        at: checkpoint.at,
    });
    Ok((chain_break, Some(checkpoint)))
}

/// Checks every event of the chain, its head, and the last checkpoint.
#[tracing::instrument(skip_all)]
pub async fn verify_full(db: &Db, checkpoints: Option<&Path>) -> Result<TrailCheck, AppError> {
    let verified = match trail::verify(db.reader()).await? {
        VerifyOutcome::Broken(chain_break) => return Ok(TrailCheck::broken(chain_break)),
        VerifyOutcome::Intact(verified) => verified,
    };
    let (chain_break, checkpoint) = check_against_checkpoint(db, checkpoints).await?;
    Ok(TrailCheck {
        chain_break,
        events: i64::try_from(verified.events).unwrap_or(i64::MAX),
        walked: verified.events,
        unkeyed: verified.unkeyed,
        checkpoint,
    })
}

/// Checks only what came after the last verified mark (the whole chain the first time),
/// then moves the mark. A mark that is not signed with the key, or whose event is no
/// longer stored as it was, is a break in itself.
#[tracing::instrument(skip_all)]
pub async fn verify_incremental(
    db: &Db,
    checkpoints: Option<&Path>,
    now: Timestamp,
) -> Result<TrailCheck, AppError> {
    let key = trail::key()?.clone();
    let mark = trail::verified_mark(db.reader()).await?;
    let (verifier, after, before) = match mark {
        None => (Verifier::new(key.clone()), 0, 0),
        Some(mark) => {
            let held = trail::hash_of(db.reader(), mark.event_id).await?;
            match held {
                Some((hash, keyed))
                    if hash == mark.hash
                        && mark.mac == verified_mark_mac(&key, mark.event_id, &mark.hash) =>
                {
                    (
                        Verifier::resume(key.clone(), mark.event_id, hash, keyed),
                        mark.event_id,
                        mark.events,
                    )
                }
                _ => {
                    return Ok(TrailCheck::broken(ChainBreak::CheckpointMismatch {
                        event_id: mark.event_id,
                        at: mark.verified_at,
                    }))
                }
            }
        }
    };
    let verified = match trail::walk(db.reader(), verifier, after).await? {
        VerifyOutcome::Broken(chain_break) => return Ok(TrailCheck::broken(chain_break)),
        VerifyOutcome::Intact(verified) => verified,
    };
    let events = before + i64::try_from(verified.events).unwrap_or(i64::MAX);
    if verified.last_event_id > after {
        trail::save_verified_mark(
            db.writer(),
            &VerifiedMark {
                event_id: verified.last_event_id,
                mac: verified_mark_mac(&key, verified.last_event_id, &verified.last_hash),
                hash: verified.last_hash,
                events,
                verified_at: now.millis(),
            },
        )
        .await?;
    }
    let (chain_break, checkpoint) = check_against_checkpoint(db, checkpoints).await?;
    Ok(TrailCheck {
        chain_break,
        events,
        walked: verified.events,
        unkeyed: verified.unkeyed,
        checkpoint,
    })
}

/// Appends a signed checkpoint of the chain head to the file, and says it in the log,
/// when the head moved since the last one. Returns whether one was written.
#[tracing::instrument(skip_all)]
pub async fn write_checkpoint(db: &Db, path: &Path, now: Timestamp) -> Result<bool, AppError> {
    let key = trail::key()?;
    let head = trail::head(db.reader()).await?;
    let Some(event_id) = head.last_event_id else {
        return Ok(false);
    };
    if let Some(Ok(last)) = last_checkpoint(path)? {
        if last.event_id == event_id && last.hash == head.last_hash {
            return Ok(false);
        }
    }
    let checkpoint = Checkpoint::sign(key, event_id, &head.last_hash, now.millis());
    let line = serde_json::to_string(&checkpoint).map_err(|_| AppError::internal())?;
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|error| file_error(path, error))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| file_error(path, error))?;
    writeln!(file, "{line}").map_err(|error| file_error(path, error))?;
    file.sync_data().map_err(|error| file_error(path, error))?;
    tracing::info!(
        target: "gatehouse::audit_checkpoint",
        event_id = checkpoint.event_id,
        hash = %checkpoint.hash,
        at = checkpoint.at,
        mac = %checkpoint.mac,
        "audit checkpoint"
    );
    Ok(true)
}
