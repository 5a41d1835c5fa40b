//! The station's line configuration (`config/line.toml`): where the printer, camera
//! and PLC are, and the line geometry. Parsing and checking are pure;
//! [`StationConfig::load`] only reads the file. The engine's tuning derived from the
//! geometry is the station's own (`StationConfig::engine_config` in
//! `src/station/tuning.rs`).

use std::path::Path;

use serde::Deserialize;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = include_str!("../../config/line.toml");

    /// The message a changed copy of the example is refused with.
    fn refused(from: &str, to: &str) -> String {
        assert!(LINE.contains(from), "the example has no {from:?}");
        let text = LINE.replace(from, to);
        let error = StationConfig::parse(&text, "line.toml").expect_err("refused");
        assert_eq!(error.file, "line.toml");
        error.message
    }

    #[test]
    fn the_example_line_configuration_loads_ignoring_the_simulators_keys() {
        let config = StationConfig::parse(LINE, "line.toml").expect("example config");
        assert_eq!(config.printer.kind, PrinterKind::Tij);
        assert_eq!(config.camera.kind, CameraKind::Smart);
        assert_eq!(config.plc.consecutive_reject_limit, 5);
    }

    #[test]
    fn buffer_capacity_and_unit_id_have_defaults() {
        let text = LINE
            .replace("buffer_capacity = 100", "")
            .replace("unit_id = 1", "");
        let config = StationConfig::parse(&text, "line.toml").expect("parses");
        assert_eq!(config.printer.buffer_capacity, 100);
        assert_eq!(config.plc.unit_id, 1);
    }

    #[test]
    fn stations_out_of_order_are_refused_with_what_to_fix() {
        let message = refused("camera_mm = 400.0", "camera_mm = 1000.0");
        assert_eq!(
            message,
            "[line] the stations must be in order: print_head_mm < camera_mm < reject_gate_mm"
        );
        let text = LINE.replace("camera_mm = 400.0", "camera_mm = 1000.0");
        let error = StationConfig::parse(&text, "line.toml").expect_err("refused");
        assert!(
            error.to_string().starts_with("line.toml: [line] "),
            "{error}"
        );
    }

    #[test]
    fn rates_and_distances_must_be_positive_numbers() {
        assert_eq!(
            refused("rate_per_min = 300.0", "rate_per_min = 0.0"),
            "[line] rate_per_min must be a positive number, got 0"
        );
        assert_eq!(
            refused("pitch_mm = 100.0", "pitch_mm = -1.0"),
            "[line] pitch_mm must be a positive number, got -1"
        );
        assert_eq!(
            refused("counts_per_mm = 10.0", "counts_per_mm = nan"),
            "[line] counts_per_mm must be a positive number, got NaN"
        );
        assert_eq!(
            refused("counts_per_mm = 10.0", "counts_per_mm = inf"),
            "[line] counts_per_mm must be a positive number, got inf"
        );
    }

    #[test]
    fn plc_and_printer_limits_are_checked() {
        assert_eq!(
            refused(
                "consecutive_reject_limit = 5",
                "consecutive_reject_limit = 0"
            ),
            "[plc] consecutive_reject_limit must be between 1 and 1000"
        );
        assert_eq!(
            refused(
                "consecutive_reject_limit = 5",
                "consecutive_reject_limit = 1001"
            ),
            "[plc] consecutive_reject_limit must be between 1 and 1000"
        );
        assert_eq!(
            refused("buffer_capacity = 100", "buffer_capacity = 1"),
            "[printer] buffer_capacity must be at least 2"
        );
    }

    #[test]
    fn toml_errors_and_unreadable_files_name_the_file() {
        let message = refused("kind = \"tij\"", "kind = \"laser\"");
        assert!(message.contains("laser"), "{message}");
        let error = StationConfig::parse("[line]\n", "line.toml").expect_err("refused");
        assert!(error.to_string().starts_with("line.toml: "), "{error}");

        let missing = Path::new("/nonexistent/serialstation/line.toml");
        let error = StationConfig::load(missing).expect_err("refused");
        assert_eq!(error.file, "/nonexistent/serialstation/line.toml");
        assert!(
            error
                .message
                .starts_with("cannot read the line configuration ("),
            "{error}"
        );
        assert!(
            error
                .message
                .ends_with("): check the path given to --config"),
            "{error}"
        );
    }
}
