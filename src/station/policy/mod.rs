//! The station's own decisions, apart from the I/O that carries them out: the
//! supervision of an unattended batch (holds counted, automatic resume, stall stop),
//! the PLC's consecutive-reject limit around a batch's tail, the PackML walk that
//! starts the line, the printer's suspect latch, the durability a group commit needs
//! before the commands that follow it, and the clock arithmetic of the loop.
//!
//! Pure: no tokio, no store, no drivers, and no clock of its own (time comes in as
//! `Instant`s the runtime reads). The runtime (`super::runtime`) observes the engine
//! and the devices, asks these modules what to do, and does it. The per-item rules
//! live in the engine (`crate::line`); these are the station's rules around it. See
//! ARCHITECTURE.md, "Pure logic is kept apart from I/O".

pub mod auto_resume;
pub mod durability;
pub mod printer_watch;
pub mod reject_limit;
pub mod stall;
pub mod start_walk;
pub mod supervision;
pub mod timing;

pub use auto_resume::{AutoResume, RESUME_RETRY, ResumeStep, may_auto_resume, resume_step};
pub use durability::durability_before;
pub use printer_watch::PrinterWatch;
pub use reject_limit::{RejectLimitChange, TAIL_REJECT_LIMIT, TailRejectLimit};
pub use stall::{StallStop, StallWatch};
pub use start_walk::{LOOK_INTERVAL, MAX_LOOKS, StartStep, alarm_reset_command, start_step};
pub use supervision::{Observation, SupervisionOptions, Supervisor, Watch};
pub use timing::{DEVICES_TIMEOUT, Deadline, poll_interval, tick_ms};
