//! Which item fates the PLC driver reports next. The PLC writes every final fate
//! into a ring of [`FATE_RING_SLOTS`] slots, and its gate count says that every seq
//! below it has its final fate there. [`FateCursor`] remembers the first seq not
//! yet reported. Given the gate count of a status poll, it answers with the ring
//! reads to make and with what to report at once (fates overwritten before they
//! could be read, a gate count that went backwards). Given the slots of one read,
//! it answers with the `ItemFate` events, in seq order. Pure: the Modbus I/O is in
//! `driver.rs`; the ring's layout is in `register_map.rs`.

use super::register_map::{
    self, FATE_RING_SLOTS, FateCode, FateSlot, MAX_READ_REGISTERS, SLOT_LEN,
};
use crate::traits::DeviceEventKind;

/// One read of contiguous fate-ring slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FateRead {
    /// Seq of the first slot read.
    pub first_seq: u32,
    /// Number of slots read.
    pub slots: u16,
}

impl FateRead {
    /// Wire address of the first input register to read.
    pub fn address(&self) -> u16 {
        register_map::fate_slot_address(self.first_seq)
    }

    /// Number of input registers to read.
    pub fn register_count(&self) -> u16 {
        self.slots.saturating_mul(SLOT_LEN)
    }

    /// The slots of this read that hold exactly the seqs asked for and a fate. A
    /// missing seq has no fate yet, or its slot was overwritten by a later item.
    pub fn held_fates(&self, decoded: &[FateSlot]) -> Vec<FateSlot> {
        decoded
            .iter()
            .zip(0u32..)
            .filter(|(slot, offset)| {
                slot.seq == self.first_seq.wrapping_add(*offset) && slot.fate != FateCode::None
            })
            .map(|(slot, _)| *slot)
            .collect()
    }
}

/// Splits the `count` seqs from `first_seq` (wrapping) into reads of contiguous
/// slots: never across the ring's end, and at most `MAX_READ_REGISTERS / SLOT_LEN`
/// slots (41 slots = 123 registers) each.
pub fn read_plan(first_seq: u32, count: u32) -> Vec<FateRead> {
    let max_slots = u32::from(MAX_READ_REGISTERS / SLOT_LEN);
    let ring = u32::from(FATE_RING_SLOTS);
    let mut plan = Vec::new();
    let mut done = 0;
    while done < count {
        let seq = first_seq.wrapping_add(done);
        let to_ring_end = ring - seq % ring;
        let slots = (count - done).min(max_slots).min(to_ring_end);
        plan.push(FateRead {
            first_seq: seq,
            slots: slots as u16,
        });
        done += slots;
    }
    plan
}

/// What to do after a status poll.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FatePlan {
    /// To report before any read: fates lost to an overrun, or a gate count that
    /// went backwards.
    pub notice: Option<DeviceEventKind>,
    /// Reads to make, in this order. Hand each one's slots to [`FateCursor::accept`]
    /// and stop at the first that is not complete.
    pub reads: Vec<FateRead>,
}

/// What the slots of one read gave.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptedFates {
    /// `ItemFate` events to report, in seq order.
    pub events: Vec<DeviceEventKind>,
    /// False when a slot did not yet hold its seq's fate: make no further read
    /// this poll; the next poll starts again at that seq.
    pub complete: bool,
}

/// The first seq whose fate has not been reported yet. It lives as long as the
/// driver, so a reconnect carries on where the last connection stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FateCursor {
    next: Option<u32>,
}

impl FateCursor {
    /// A cursor at `start`; `None` adopts the gate count of the first poll, so
    /// history from before the driver started is not replayed.
    pub fn new(start: Option<u32>) -> Self {
        FateCursor { next: start }
    }

    /// The first seq not reported yet (`None` until the first poll when started
    /// without a seq).
    pub fn next_seq(&self) -> Option<u32> {
        self.next
    }

    /// The PLC's gate count from a status poll: which slots to read, and what to
    /// report at once.
    pub fn on_gate_count(&mut self, gate_count: u32) -> FatePlan {
        let cursor = *self.next.get_or_insert(gate_count);
        let behind = gate_count.wrapping_sub(cursor);
        if behind == 0 {
            return FatePlan::default();
        }
        if behind > u32::MAX / 2 {
            // The count went backwards: the PLC program restarted or was reset.
            self.next = Some(gate_count);
            return FatePlan {
                notice: Some(DeviceEventKind::ProtocolError(format!(
                    "PLC gate count went back from {cursor} to {gate_count} (PLC restarted?): fates of earlier items \
                     must be resolved from the line's records; reporting resumes at seq {gate_count}"
                ))),
                reads: Vec::new(),
            };
        }
        let ring = u32::from(FATE_RING_SLOTS);
        let mut notice = None;
        let mut first = cursor;
        if behind > ring {
            // The ring only holds the newest `ring` fates; older ones are overwritten.
            notice = Some(DeviceEventKind::FatesLost {
                first_seq: cursor,
                count: behind - ring,
            });
            first = gate_count.wrapping_sub(ring);
            self.next = Some(first);
        }
        FatePlan {
            notice,
            reads: read_plan(first, gate_count.wrapping_sub(first)),
        }
    }

    /// The decoded slots of one planned read, in ring order: the fates to report.
    /// Stops at the first slot that does not hold its seq's fate.
    pub fn accept(&mut self, read: FateRead, slots: &[FateSlot]) -> AcceptedFates {
        let mut events = Vec::new();
        if self.next != Some(read.first_seq) {
            // Not the read that follows the last reported seq (an earlier one stopped).
            return AcceptedFates {
                events,
                complete: false,
            };
        }
        for (offset, slot) in (0..u32::from(read.slots)).zip(slots) {
            let seq = read.first_seq.wrapping_add(offset);
            if slot.seq != seq || slot.fate == FateCode::None {
                // Not in the ring as the gate count claims (or already overwritten):
                // retry next poll; if it never appears, the gap grows past the ring and
                // is reported as lost.
                return AcceptedFates {
                    events,
                    complete: false,
                };
            }
            self.next = Some(seq.wrapping_add(1));
            events.push(DeviceEventKind::ItemFate {
                seq,
                fate: slot.fate,
            });
        }
        // A short answer leaves seqs unread: they are read again next poll.
        let end = read.first_seq.wrapping_add(u32::from(read.slots));
        AcceptedFates {
            events,
            complete: self.next == Some(end),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: u32 = FATE_RING_SLOTS as u32;

    fn read(first_seq: u32, slots: u16) -> FateRead {
        FateRead { first_seq, slots }
    }

    /// What the ring holds for `read` when every seq in it has a final fate.
    fn final_slots(read: FateRead) -> Vec<FateSlot> {
        (0..u32::from(read.slots))
            .map(|offset| FateSlot {
                seq: read.first_seq.wrapping_add(offset),
                fate: fate_of(read.first_seq.wrapping_add(offset)),
            })
            .collect()
    }

    fn fate_of(seq: u32) -> FateCode {
        if seq.is_multiple_of(3) {
            FateCode::RejectedConfirmed
        } else {
            FateCode::ExitedGood
        }
    }

    /// Runs every planned read against a ring where every seq is final; returns the
    /// reported seqs.
    fn report_all(cursor: &mut FateCursor, plan: &FatePlan) -> Vec<u32> {
        let mut seen = Vec::new();
        for planned in &plan.reads {
            let accepted = cursor.accept(*planned, &final_slots(*planned));
            assert!(accepted.complete, "{planned:?}");
            for event in accepted.events {
                match event {
                    DeviceEventKind::ItemFate { seq, fate } => {
                        assert_eq!(fate, fate_of(seq));
                        seen.push(seq);
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        seen
    }

    #[test]
    fn reads_split_at_the_ring_end_and_the_modbus_limit() {
        assert_eq!(read_plan(250, 10), vec![read(250, 6), read(256, 4)]);
        assert_eq!(
            read_plan(0, 100),
            vec![read(0, 41), read(41, 41), read(82, 18)]
        );
        assert_eq!(read_plan(u32::MAX, 2), vec![read(u32::MAX, 1), read(0, 1)]);
        assert!(read_plan(7, 0).is_empty());
        assert_eq!(
            read(255, 2).address(),
            register_map::FATE_RING_START + 255 * 3
        );
        assert_eq!(read(255, 2).register_count(), 6);
    }

    #[test]
    fn the_first_poll_without_a_start_adopts_the_gate_count() {
        let mut cursor = FateCursor::new(None);
        assert_eq!(cursor.next_seq(), None);
        assert_eq!(cursor.on_gate_count(1000), FatePlan::default());
        assert_eq!(cursor.next_seq(), Some(1000));
        let plan = cursor.on_gate_count(1003);
        assert_eq!(plan.notice, None);
        assert_eq!(plan.reads, vec![read(1000, 3)]);
    }

    #[test]
    fn the_first_poll_with_a_start_reports_from_it() {
        let mut cursor = FateCursor::new(Some(990));
        let plan = cursor.on_gate_count(1000);
        assert_eq!(plan.notice, None);
        assert_eq!(
            report_all(&mut cursor, &plan),
            (990..1000).collect::<Vec<_>>()
        );
        assert_eq!(cursor.next_seq(), Some(1000));
        assert_eq!(cursor.on_gate_count(1000), FatePlan::default());
    }

    #[test]
    fn normal_advance_reports_each_fate_once_in_seq_order() {
        let mut cursor = FateCursor::new(Some(10));
        let plan = cursor.on_gate_count(12);
        assert_eq!(plan.reads, vec![read(10, 2)]);
        let accepted = cursor.accept(plan.reads[0], &final_slots(plan.reads[0]));
        assert_eq!(
            accepted,
            AcceptedFates {
                events: vec![
                    DeviceEventKind::ItemFate {
                        seq: 10,
                        fate: FateCode::ExitedGood
                    },
                    DeviceEventKind::ItemFate {
                        seq: 11,
                        fate: FateCode::ExitedGood
                    },
                ],
                complete: true,
            }
        );
        let plan = cursor.on_gate_count(13);
        assert_eq!(plan.reads, vec![read(12, 1)]);
        assert_eq!(report_all(&mut cursor, &plan), vec![12]);
        assert_eq!(cursor.next_seq(), Some(13));
    }

    #[test]
    fn reading_wraps_around_the_ring_and_the_seq_counter() {
        let mut cursor = FateCursor::new(Some(250));
        let plan = cursor.on_gate_count(262);
        assert_eq!(plan.reads, vec![read(250, 6), read(256, 6)]);
        assert_eq!(
            report_all(&mut cursor, &plan),
            (250..262).collect::<Vec<_>>()
        );

        let mut cursor = FateCursor::new(Some(u32::MAX - 1));
        let plan = cursor.on_gate_count(2);
        assert_eq!(plan.notice, None);
        assert_eq!(plan.reads, vec![read(u32::MAX - 1, 2), read(0, 2)]);
        assert_eq!(
            report_all(&mut cursor, &plan),
            vec![u32::MAX - 1, u32::MAX, 0, 1]
        );
        assert_eq!(cursor.next_seq(), Some(2));
    }

    #[test]
    fn after_a_reconnect_the_cursor_catches_up_where_it_stopped() {
        let mut cursor = FateCursor::new(Some(0));
        let plan = cursor.on_gate_count(50);
        assert_eq!(report_all(&mut cursor, &plan), (0..50).collect::<Vec<_>>());
        // The link was down while 100 more items reached their fates.
        let plan = cursor.on_gate_count(150);
        assert_eq!(plan.notice, None);
        assert_eq!(plan.reads, vec![read(50, 41), read(91, 41), read(132, 18)]);
        assert_eq!(
            report_all(&mut cursor, &plan),
            (50..150).collect::<Vec<_>>()
        );
    }

    #[test]
    fn exactly_one_ring_behind_loses_nothing() {
        let mut cursor = FateCursor::new(Some(0));
        let plan = cursor.on_gate_count(RING);
        assert_eq!(plan.notice, None);
        assert_eq!(
            report_all(&mut cursor, &plan),
            (0..RING).collect::<Vec<_>>()
        );
    }

    #[test]
    fn an_overrun_reports_the_overwritten_fates_lost_and_reads_the_rest() {
        let mut cursor = FateCursor::new(Some(0));
        let plan = cursor.on_gate_count(300);
        assert_eq!(
            plan.notice,
            Some(DeviceEventKind::FatesLost {
                first_seq: 0,
                count: 300 - RING
            })
        );
        assert_eq!(cursor.next_seq(), Some(300 - RING));
        assert_eq!(
            plan.reads.iter().map(|r| u32::from(r.slots)).sum::<u32>(),
            RING
        );
        assert_eq!(
            report_all(&mut cursor, &plan),
            (300 - RING..300).collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_gate_count_that_goes_back_restarts_reporting_there() {
        let mut cursor = FateCursor::new(Some(500));
        let plan = cursor.on_gate_count(100);
        assert!(plan.reads.is_empty());
        match plan.notice {
            Some(DeviceEventKind::ProtocolError(text)) => {
                assert!(text.contains("went back from 500 to 100"), "{text}")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(cursor.next_seq(), Some(100));
        assert_eq!(cursor.on_gate_count(100), FatePlan::default());
    }

    #[test]
    fn a_slot_not_yet_final_stops_the_poll_and_is_retried() {
        let mut cursor = FateCursor::new(Some(20));
        let plan = cursor.on_gate_count(25);
        let mut slots = final_slots(plan.reads[0]);
        // Seq 22's slot still holds the item one ring earlier.
        slots[2] = FateSlot {
            seq: 22u32.wrapping_sub(RING),
            fate: FateCode::ExitedGood,
        };
        let accepted = cursor.accept(plan.reads[0], &slots);
        assert!(!accepted.complete);
        assert_eq!(accepted.events.len(), 2);
        assert_eq!(cursor.next_seq(), Some(22));
        // An empty slot stops it the same way.
        let plan = cursor.on_gate_count(25);
        assert_eq!(plan.reads, vec![read(22, 3)]);
        let mut slots = final_slots(plan.reads[0]);
        slots[0].fate = FateCode::None;
        let accepted = cursor.accept(plan.reads[0], &slots);
        assert!(accepted.events.is_empty());
        assert!(!accepted.complete);
        assert_eq!(cursor.next_seq(), Some(22));
    }

    #[test]
    fn a_short_answer_or_a_read_out_of_turn_reports_nothing_past_the_gap() {
        let mut cursor = FateCursor::new(Some(0));
        let plan = cursor.on_gate_count(60);
        assert_eq!(plan.reads, vec![read(0, 41), read(41, 19)]);
        let short = &final_slots(plan.reads[0])[..40];
        let accepted = cursor.accept(plan.reads[0], short);
        assert!(!accepted.complete);
        assert_eq!(accepted.events.len(), 40);
        // The next planned read no longer follows the cursor: nothing is skipped.
        let accepted = cursor.accept(plan.reads[1], &final_slots(plan.reads[1]));
        assert!(accepted.events.is_empty());
        assert!(!accepted.complete);
        assert_eq!(cursor.next_seq(), Some(40));
    }

    #[test]
    fn held_fates_keep_only_the_seqs_asked_for_with_a_fate() {
        let asked = read(140, 4);
        let decoded = [
            FateSlot {
                seq: 140,
                fate: FateCode::ExitedGood,
            },
            FateSlot {
                seq: 141u32.wrapping_sub(RING),
                fate: FateCode::ExitedGood,
            },
            FateSlot {
                seq: 142,
                fate: FateCode::None,
            },
            FateSlot {
                seq: 143,
                fate: FateCode::RejectedUnconfirmed,
            },
        ];
        assert_eq!(asked.held_fates(&decoded), vec![decoded[0], decoded[3]]);
    }
}
