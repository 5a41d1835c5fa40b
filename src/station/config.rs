//! The station's line configuration (`config/line.toml`): where the printer, camera
//! and PLC are, and the line geometry from which the engine's tuning is derived.
//! Parsing and derivation are pure; [`StationConfig::load`] only reads the file.

use std::path::Path;

use serde::Deserialize;

use crate::line::{DecisionWindow, EngineConfig};

/// Printer protocols the station speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterKind {
    Tij,
    Zpl,
}

/// Camera kinds the station speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraKind {
    Smart,
    Image,
}

/// Line geometry, in mm from the product-detect eye.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LineGeometry {
    pub rate_per_min: f64,
    pub pitch_mm: f64,
    pub counts_per_mm: f64,
    pub print_head_mm: f64,
    pub camera_mm: f64,
    pub reject_gate_mm: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PrinterSettings {
    pub kind: PrinterKind,
    pub address: String,
    #[serde(default = "default_buffer_capacity")]
    pub buffer_capacity: usize,
}

fn default_buffer_capacity() -> usize {
    100
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CameraSettings {
    pub kind: CameraKind,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PlcSettings {
    pub address: String,
    #[serde(default = "default_unit_id")]
    pub unit_id: u8,
    pub consecutive_reject_limit: u16,
}

fn default_unit_id() -> u8 {
    1
}

/// The station's view of `config/line.toml`. Keys it does not use (the simulator's
/// own settings) are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StationConfig {
    pub line: LineGeometry,
    pub printer: PrinterSettings,
    pub camera: CameraSettings,
    pub plc: PlcSettings,
}

/// A line configuration that cannot be used, with what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct StationConfigError {
    pub file: String,
    pub message: String,
}

impl StationConfig {
    /// Reads and checks a line configuration file.
    pub fn load(path: &Path) -> Result<StationConfig, StationConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StationConfigError {
            file: file.clone(),
            message: format!(
                "cannot read the line configuration ({e}): check the path given to --config"
            ),
        })?;
        StationConfig::parse(&text, &file)
    }

    /// Parses and checks a line configuration.
    pub fn parse(text: &str, file: &str) -> Result<StationConfig, StationConfigError> {
        let config: StationConfig = toml::from_str(text).map_err(|e| StationConfigError {
            file: file.to_string(),
            message: e.message().to_string(),
        })?;
        config.check().map_err(|message| StationConfigError {
            file: file.to_string(),
            message,
        })?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        let l = &self.line;
        let positive = [
            ("rate_per_min", l.rate_per_min),
            ("pitch_mm", l.pitch_mm),
            ("counts_per_mm", l.counts_per_mm),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(format!(
                    "[line] {name} must be a positive number, got {value}"
                ));
            }
        }
        if !(l.print_head_mm < l.camera_mm && l.camera_mm < l.reject_gate_mm) {
            return Err(
                "[line] the stations must be in order: print_head_mm < camera_mm < reject_gate_mm"
                    .to_string(),
            );
        }
        if !(1..=1000).contains(&self.plc.consecutive_reject_limit) {
            return Err("[plc] consecutive_reject_limit must be between 1 and 1000".to_string());
        }
        if self.printer.buffer_capacity < 2 {
            return Err("[printer] buffer_capacity must be at least 2".to_string());
        }
        Ok(())
    }

    fn counts(&self, mm: f64) -> u32 {
        (mm * self.line.counts_per_mm)
            .round()
            .clamp(0.0, f64::from(u32::MAX / 4)) as u32
    }

    /// The engine's tuning for this line: the decision point at 80 % of the way from
    /// the camera to the gate (room for the verdict write), the print-to-gate distance,
    /// and a printer buffer that covers at least half a second of production.
    pub fn engine_config(&self) -> EngineConfig {
        let camera_to_gate = self.counts(self.line.reject_gate_mm - self.line.camera_mm);
        let printer_to_gate = self.counts(self.line.reject_gate_mm - self.line.print_head_mm);
        let pitch = self.counts(self.line.pitch_mm).max(1);
        let items_per_second = self.line.rate_per_min / 60.0;
        // At most the printer's buffer (which may hold fewer than 4 messages).
        let most = self.printer.buffer_capacity.min(64);
        let depth = ((items_per_second * 0.5).ceil() as usize).clamp(most.min(4), most);
        EngineConfig {
            printer_queue_depth: depth,
            serial_block_size: 256,
            serial_low_water: 64,
            decision_window: DecisionWindow::EncoderCounts(camera_to_gate / 5 * 4),
            printer_to_gate_counts: printer_to_gate,
            gate_margin_counts: pitch * 4,
            max_result_lead: 64,
            printer_to_camera_counts: self.counts(self.line.camera_mm - self.line.print_head_mm),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = include_str!("../../config/line.toml");

    #[test]
    fn the_example_line_configuration_loads_and_gives_a_sane_engine() {
        let config = StationConfig::parse(LINE, "line.toml").expect("example config");
        let engine = config.engine_config();
        assert_eq!(engine.printer_to_gate_counts, 8_500);
        assert_eq!(engine.decision_window, DecisionWindow::EncoderCounts(4_000));
        assert!(engine.printer_queue_depth >= 4);
    }

    #[test]
    fn stations_out_of_order_are_refused_with_what_to_fix() {
        let text = LINE.replace("camera_mm = 400.0", "camera_mm = 1000.0");
        let error = StationConfig::parse(&text, "line.toml").expect_err("refused");
        assert!(error.message.contains("in order"), "{error}");
    }
}
