//! Ground truth: a log of every physical item (what was printed, what the camera
//! said, the verdict the PLC held and when it came, where the item went, which
//! faults hit it), kept in SQLite so tests can judge a controller from it alone;
//! and the decision latency of each item ([`latency`]).

pub mod latency;
pub mod record;
pub mod store;

pub use latency::{DecisionLatency, LatencyTracker};
pub use record::{
    CameraReport, ItemRecord, LineNote, PhysicalExit, PrintOutcome, Recorder, Row, VerdictArrival,
};
pub use store::{GroundTruth, GroundTruthError, GroundTruthWriter, Summary};
