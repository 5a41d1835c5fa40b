//! How durable a group commit must be before the commands that follow it go out
//! (pure). The rule: nothing leaves the process before the records it depends on
//! are on disk. A print, a verdict, a buffer clear or a start cannot be called back
//! once sent, so the commit before them is synced. When the engine asks for no such
//! command in the same wake-up (a print acknowledged, an item's fate at the gate, a
//! serial returned with its proof), no one outside waits on the records: their
//! commit goes to the WAL without a sync of its own, survives a crash of the process
//! at once, and survives a power loss from the next synced commit on, whose sync
//! covers every frame written before it. See ARCHITECTURE.md, "Durability".

use crate::line::Command;
use crate::store::Durability;

/// The durability the records committed before `actions` need.
pub fn durability_before(actions: &[Command]) -> Durability {
    let leaves_the_process = |command: &Command| match command {
        Command::QueuePrint { .. }
        | Command::WriteVerdict { .. }
        | Command::ClearPrinterBuffer
        | Command::StartLine => true,
        // Stopping never waits for the disk; allocating commits (synced) on its own;
        // an alarm is the station's own account.
        Command::StopLine { .. }
        | Command::RequestSerials { .. }
        | Command::RaiseAlarm(_)
        | Command::Persist(_) => false,
    };
    if actions.iter().any(leaves_the_process) {
        Durability::Synced
    } else {
        Durability::Deferred
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::{Seq, Verdict};

    #[test]
    fn a_verdict_or_a_print_waits_for_the_sync() {
        assert_eq!(durability_before(&[]), Durability::Deferred);
        assert_eq!(
            durability_before(&[Command::RequestSerials {
                count: 10,
                batch: crate::line::BatchId(1)
            }]),
            Durability::Deferred
        );
        assert_eq!(
            durability_before(&[Command::WriteVerdict {
                seq: Seq(4),
                verdict: Verdict::Good
            }]),
            Durability::Synced
        );
        assert_eq!(
            durability_before(&[Command::ClearPrinterBuffer]),
            Durability::Synced
        );
        assert_eq!(durability_before(&[Command::StartLine]), Durability::Synced);
    }
}
