//! The engine's tuning for a line: [`StationConfig::engine_config`] derives the
//! decision window, the printer-to-gate distance and the printer queue depth from
//! the line configuration's geometry (read and checked in [`crate::config::line`]).
//! Pure.

use crate::config::line::StationConfig;
use crate::line::{DecisionWindow, EngineConfig};

impl StationConfig {
    /// The engine's tuning for this line: the decision point at 80 % of the way from
    /// the camera to the gate (room for the verdict write), the print-to-gate distance,
    /// and a printer buffer that covers at least half a second of production.
    pub fn engine_config(&self) -> EngineConfig {
        let camera_to_gate = counts(self, self.line.reject_gate_mm - self.line.camera_mm);
        let printer_to_gate = counts(self, self.line.reject_gate_mm - self.line.print_head_mm);
        let pitch = counts(self, self.line.pitch_mm).max(1);
        let items_per_second = self.line.rate_per_min / 60.0;
        // At most the printer's buffer (which may hold fewer than 4 messages).
        let most = self.printer.buffer_capacity.min(64);
        let depth = ((items_per_second * 0.5).ceil() as usize).clamp(most.min(4), most);
        let (serial_block_size, serial_low_water) = serial_supply(items_per_second);
        EngineConfig {
            printer_queue_depth: depth,
            serial_block_size,
            serial_low_water,
            decision_window: DecisionWindow::EncoderCounts(camera_to_gate / 5 * 4),
            printer_to_gate_counts: printer_to_gate,
            gate_margin_counts: pitch * 4,
            max_result_lead: 64,
            printer_to_camera_counts: counts(self, self.line.camera_mm - self.line.print_head_mm),
        }
    }
}

/// The serial supply held ahead of the printer: ask for more when about a second of
/// production is left (an allocation is one store commit, a few milliseconds), and
/// ask for about four seconds' worth at a time. Every restart returns what was
/// allocated and not yet sent to the printer, so the supply is sized by the line's
/// rate instead of a fixed 256 (which at 1,200 items/min returned about 220 serials
/// per restart). Pure.
fn serial_supply(items_per_second: f64) -> (u32, usize) {
    let low_water = (items_per_second.ceil() as usize).clamp(16, 64);
    let block = ((items_per_second * 4.0).ceil() as u32).clamp(32, 256);
    (block, low_water)
}

/// Encoder counts over `mm` of belt travel, rounded, never negative and far from
/// overflowing when added up.
fn counts(config: &StationConfig, mm: f64) -> u32 {
    (mm * config.line.counts_per_mm)
        .round()
        .clamp(0.0, f64::from(u32::MAX / 4)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = include_str!("../../config/line.toml");

    fn example() -> StationConfig {
        StationConfig::parse(LINE, "line.toml").expect("example config")
    }

    #[test]
    fn the_example_line_configuration_loads_and_gives_a_sane_engine() {
        let engine = example().engine_config();
        assert_eq!(engine.printer_to_gate_counts, 8_500);
        assert_eq!(engine.decision_window, DecisionWindow::EncoderCounts(4_000));
        assert!(engine.printer_queue_depth >= 4);
    }

    #[test]
    fn distances_become_counts_and_the_queue_covers_half_a_second() {
        // Example: 10 counts/mm; print head 50, camera 400, gate 900 mm; pitch 100 mm.
        let engine = example().engine_config();
        assert_eq!(engine.printer_to_camera_counts, 3_500);
        assert_eq!(engine.gate_margin_counts, 4_000);
        // 300 items/min = 5/s: half a second is 3 items, raised to the least of 4.
        assert_eq!(engine.printer_queue_depth, 4);

        let mut fast = example();
        fast.line.rate_per_min = 6_000.0;
        assert_eq!(fast.engine_config().printer_queue_depth, 50);
        fast.line.rate_per_min = 60_000.0;
        assert_eq!(fast.engine_config().printer_queue_depth, 64);
        // Never more than the printer's buffer holds.
        fast.printer.buffer_capacity = 2;
        assert_eq!(fast.engine_config().printer_queue_depth, 2);
    }

    #[test]
    fn the_serial_supply_follows_the_rate() {
        // 400 items/min: the floors; 1,200/min: a second and four seconds' worth.
        assert_eq!(serial_supply(400.0 / 60.0), (32, 16));
        assert_eq!(serial_supply(20.0), (80, 20));
        // Fast lines keep the old ceiling of 256 per request.
        assert_eq!(serial_supply(1_000.0), (256, 64));
        let engine = example().engine_config();
        assert!(engine.serial_block_size as usize > engine.serial_low_water);
    }

    #[test]
    fn counts_are_rounded_and_never_negative() {
        let config = example();
        assert_eq!(counts(&config, 0.04), 0);
        assert_eq!(counts(&config, 0.06), 1);
        assert_eq!(counts(&config, -5.0), 0);
        assert_eq!(counts(&config, f64::MAX), u32::MAX / 4);
    }
}
