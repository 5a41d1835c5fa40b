//! The engine's tuning: printer buffer depth, serial block size and low-water mark,
//! the decision point and the line geometry it needs. Loaded from the line
//! configuration by the daemon; plain values here.

/// Where the decision point is: how long after the camera trigger a verdict may
/// still be written. A result after it is `late` and the item is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionWindow {
    /// Encoder counts travelled since the item's camera trigger (follows the belt,
    /// so a stopped line never turns a pending result late).
    EncoderCounts(u32),
    /// Milliseconds since the engine learned of the item at the camera.
    Millis(u64),
}

/// Engine settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Messages kept in the printer's buffer while running.
    pub printer_queue_depth: usize,
    /// Serials asked for per allocation request.
    pub serial_block_size: u32,
    /// Ask for the next block when fewer unsent serials than this remain.
    pub serial_low_water: usize,
    pub decision_window: DecisionWindow,
    /// Encoder counts from the print head to the reject gate. A printed serial not
    /// verified good once the belt has moved this far (plus the margin) since its
    /// print acknowledgement is on an item that has passed the gate: it is scrapped.
    pub printer_to_gate_counts: u32,
    /// Extra counts allowed for polling lag before an unverified print is given up.
    pub gate_margin_counts: u32,
    /// A camera result may name a seq at most this far ahead of the last item the PLC
    /// reported at the camera (the PLC is polled, the camera pushes).
    pub max_result_lead: u32,
    /// Encoder counts from the print head to the camera. Items that passed the print
    /// head before a start or resume may be blank or carry an old print: their rejects
    /// do not count toward the consecutive-reject stop (the PLC still rejects them).
    pub printer_to_camera_counts: u32,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            printer_queue_depth: 8,
            serial_block_size: 256,
            serial_low_water: 64,
            decision_window: DecisionWindow::EncoderCounts(400),
            printer_to_gate_counts: 1_000,
            gate_margin_counts: 200,
            max_result_lead: 64,
            printer_to_camera_counts: 0,
        }
    }
}
