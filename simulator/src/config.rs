//! The simulator's configuration: the line geometry and rate, the devices it serves
//! (kind and listening address), the run settings (seed, images, ground truth, control
//! endpoint) and the faults. Read from TOML with errors that name the file, the line
//! and the field; validated before anything is started.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::faults::{FaultKind, FaultSpec};
use crate::imaging::DEFECT_KINDS;

/// The whole simulator configuration (`simulator/line.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    #[serde(default)]
    pub simulator: SimulatorSection,
    pub line: LineSection,
    pub printer: PrinterSection,
    pub camera: CameraSection,
    pub plc: PlcSection,
    /// Fault name -> schedule. Names are those of [`FaultKind::name`].
    #[serde(default)]
    pub faults: BTreeMap<FaultKind, FaultSpec>,
}

/// Run settings of the simulator itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulatorSection {
    /// Seed of every random decision: the same seed and config reproduce a run.
    pub seed: u64,
    /// Render every print to a real DataMatrix image and decode it in the camera.
    /// `false` = throughput mode: the camera reports the printed data without an image.
    pub images: bool,
    /// Address of the control endpoint (newline-delimited JSON over TCP).
    pub control: String,
    /// SQLite file of the ground truth (created or truncated at start).
    pub ground_truth: PathBuf,
    /// Put the line in Execute at start instead of Idle.
    pub autostart: bool,
    /// Period of the real-time clock of the line model, in milliseconds.
    pub tick_ms: u64,
}

impl Default for SimulatorSection {
    fn default() -> Self {
        SimulatorSection {
            seed: 1,
            images: true,
            control: "127.0.0.1:0".into(),
            ground_truth: PathBuf::from("sim-ground-truth.sqlite"),
            autostart: false,
            tick_ms: 2,
        }
    }
}

/// Conveyor geometry and speed. Distances are from the product-detect eye, in mm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSection {
    /// Items per minute the product generator feeds.
    pub rate_per_min: f64,
    /// Distance between two items, mm.
    pub pitch_mm: f64,
    /// Encoder resolution, counts per mm.
    pub counts_per_mm: f64,
    /// Print head (its product-detect trigger fires here).
    pub print_head_mm: f64,
    /// Camera trigger.
    pub camera_mm: f64,
    /// Reject gate.
    pub reject_gate_mm: f64,
    /// Reject-confirm sensor, after the gate, on the reject chute.
    pub reject_confirm_mm: f64,
    /// The confirm sensor must see a rejected item within this distance after the gate.
    pub reject_confirm_window_mm: f64,
    /// Good-exit counting sensor.
    pub good_exit_mm: f64,
    /// Encoder value at start (to exercise the u32 wrap).
    #[serde(default)]
    pub encoder_start: u32,
    /// Sequence number of the first item (u32, wrapping).
    #[serde(default)]
    pub first_seq: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterKind {
    Tij,
    Zpl,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrinterSection {
    pub kind: PrinterKind,
    pub address: String,
    /// Messages the serialization buffer holds at most.
    #[serde(default = "default_buffer_capacity")]
    pub buffer_capacity: usize,
    /// Rendered module size in pixels.
    #[serde(default = "default_module_px")]
    pub module_px: u32,
}

fn default_buffer_capacity() -> usize {
    100
}
fn default_module_px() -> u32 {
    4
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraKind {
    /// Decodes and grades itself, sends result lines (DMCC style).
    Smart,
    /// Streams framed grayscale images; the host decodes.
    Image,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSection {
    pub kind: CameraKind,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlcSection {
    pub address: String,
    #[serde(default = "default_unit_id")]
    pub unit_id: u8,
    /// Consecutive rejects that stop the line (1..=1000; the controller may change it).
    pub consecutive_reject_limit: u16,
    /// Items the reject bin holds before it reports full.
    #[serde(default = "default_bin_capacity")]
    pub bin_capacity: u32,
}

fn default_unit_id() -> u8 {
    1
}
fn default_bin_capacity() -> u32 {
    500
}

/// A configuration error: file, line (when known), field, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(
                f,
                "{}:{}: {}: {}",
                self.file, line, self.field, self.message
            ),
            None => write!(f, "{}: {}: {}", self.file, self.field, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Line geometry converted to encoder counts, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub pitch: u64,
    pub print_head: u64,
    pub camera: u64,
    pub reject_gate: u64,
    pub reject_confirm: u64,
    pub reject_confirm_window: u64,
    pub good_exit: u64,
}

impl LineSection {
    /// Encoder counts per second at the configured rate and pitch.
    pub fn counts_per_second(&self) -> f64 {
        self.rate_per_min / 60.0 * self.pitch_mm * self.counts_per_mm
    }

    pub fn geometry(&self) -> Geometry {
        let c = |mm: f64| (mm * self.counts_per_mm).round() as u64;
        Geometry {
            pitch: c(self.pitch_mm).max(1),
            print_head: c(self.print_head_mm),
            camera: c(self.camera_mm),
            reject_gate: c(self.reject_gate_mm),
            reject_confirm: c(self.reject_confirm_mm),
            reject_confirm_window: c(self.reject_confirm_window_mm),
            good_exit: c(self.good_exit_mm),
        }
    }
}

impl SimConfig {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<SimConfig, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: None,
            field: "file".into(),
            message: format!("cannot read the config file ({e}); check the path given to --config"),
        })?;
        SimConfig::parse(&text, &file)
    }

    /// Parses and validates config text; `file` is only used in error messages.
    pub fn parse(text: &str, file: &str) -> Result<SimConfig, ConfigError> {
        let config: SimConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            let field = line
                .and_then(|l| text.lines().nth(l - 1))
                .map(|l| l.trim().to_string())
                .unwrap_or_else(|| "toml".into());
            ConfigError {
                file: file.to_string(),
                line,
                field,
                message: e.message().trim().to_string(),
            }
        })?;
        config
            .validate()
            .map_err(|(section, key, message)| ConfigError {
                file: file.to_string(),
                line: locate_key(text, section, key),
                field: format!("[{section}] {key}"),
                message,
            })?;
        Ok(config)
    }

    /// Checks every value; returns (section, key, message) of the first bad one.
    pub fn validate(&self) -> Result<(), (&'static str, &'static str, String)> {
        let l = &self.line;
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if !positive(l.rate_per_min) || l.rate_per_min > 120_000.0 {
            return Err((
                "line",
                "rate_per_min",
                format!(
                    "must be between 0 and 120000 items/min, got {}",
                    l.rate_per_min
                ),
            ));
        }
        if !positive(l.pitch_mm) {
            return Err((
                "line",
                "pitch_mm",
                format!("must be greater than 0, got {}", l.pitch_mm),
            ));
        }
        if !positive(l.counts_per_mm) || l.pitch_mm * l.counts_per_mm < 1.0 {
            return Err((
                "line",
                "counts_per_mm",
                "must be > 0 and give at least 1 count per pitch".into(),
            ));
        }
        let order = [
            ("print_head_mm", l.print_head_mm),
            ("camera_mm", l.camera_mm),
            ("reject_gate_mm", l.reject_gate_mm),
            ("good_exit_mm", l.good_exit_mm),
        ];
        if !(l.print_head_mm.is_finite() && l.print_head_mm >= 0.0) {
            return Err((
                "line",
                "print_head_mm",
                "must be 0 or more (distance from the product-detect eye)".into(),
            ));
        }
        for pair in order.windows(2) {
            let [(_, before), (name, after)] = pair else {
                continue;
            };
            if !(after.is_finite() && after > before) {
                return Err((
                    "line",
                    name,
                    format!(
                        "stations must be in order print head < camera < reject gate < good exit; {name} = {after} is not after {before}"
                    ),
                ));
            }
        }
        if !(positive(l.reject_confirm_window_mm)
            && positive(l.reject_confirm_mm)
            && l.reject_confirm_mm < l.reject_confirm_window_mm)
        {
            return Err(("line", "reject_confirm_mm", "the confirm sensor must be after the gate (> 0) and inside reject_confirm_window_mm".into()));
        }
        if l.reject_gate_mm + l.reject_confirm_window_mm > l.good_exit_mm {
            return Err((
                "line",
                "reject_confirm_window_mm",
                "the confirm window must end before the good exit".into(),
            ));
        }
        let g = l.geometry();
        if g.camera <= g.print_head
            || g.reject_gate <= g.camera
            || g.good_exit <= g.reject_gate
            || g.reject_confirm == 0
        {
            return Err((
                "line",
                "counts_per_mm",
                "too coarse: two stations fall on the same encoder count".into(),
            ));
        }
        for (section, key, addr) in [
            ("printer", "address", &self.printer.address),
            ("camera", "address", &self.camera.address),
            ("plc", "address", &self.plc.address),
            ("simulator", "control", &self.simulator.control),
        ] {
            if addr.parse::<SocketAddr>().is_err() {
                return Err((
                    section,
                    key,
                    format!(
                        "`{addr}` is not an IP address and port such as 127.0.0.1:5020 (port 0 = pick a free port)"
                    ),
                ));
            }
        }
        let max_buffer = match self.printer.kind {
            // A clear-buffer reply must be able to list every unprinted id.
            PrinterKind::Tij => serialstation_devices::tij::codec::MAX_CLEARED_IDS,
            PrinterKind::Zpl => 999,
        };
        if self.printer.buffer_capacity == 0 || self.printer.buffer_capacity > max_buffer {
            return Err((
                "printer",
                "buffer_capacity",
                format!("must be between 1 and {max_buffer} for this printer kind"),
            ));
        }
        if !(1..=40).contains(&self.printer.module_px) {
            return Err(("printer", "module_px", "must be between 1 and 40".into()));
        }
        if self.camera.kind == CameraKind::Image && !self.simulator.images {
            return Err((
                "camera",
                "kind",
                "an image camera needs images = true in [simulator]".into(),
            ));
        }
        if self.simulator.tick_ms == 0 || self.simulator.tick_ms > 1000 {
            return Err(("simulator", "tick_ms", "must be between 1 and 1000".into()));
        }
        if !(1..=1000).contains(&self.plc.consecutive_reject_limit) {
            return Err((
                "plc",
                "consecutive_reject_limit",
                format!(
                    "must be between 1 and 1000, got {}",
                    self.plc.consecutive_reject_limit
                ),
            ));
        }
        if self.plc.bin_capacity == 0 {
            return Err(("plc", "bin_capacity", "must be at least 1".into()));
        }
        for (kind, spec) in &self.faults {
            if let Err((key, msg)) = spec.validate() {
                return Err(("faults", key, format!("{}: {msg}", kind.name())));
            }
            if let Some(bad) = spec
                .kinds
                .iter()
                .find(|k| !DEFECT_KINDS.contains(&k.as_str()))
            {
                return Err((
                    "faults",
                    "kinds",
                    format!(
                        "{}: unknown defect `{bad}`; known: {}",
                        kind.name(),
                        DEFECT_KINDS.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The default configuration: the same devices and addresses as `config/line.toml`.
    pub fn default_line() -> SimConfig {
        SimConfig {
            simulator: SimulatorSection::default(),
            line: LineSection {
                rate_per_min: 300.0,
                pitch_mm: 100.0,
                counts_per_mm: 10.0,
                print_head_mm: 50.0,
                camera_mm: 400.0,
                reject_gate_mm: 900.0,
                reject_confirm_mm: 150.0,
                reject_confirm_window_mm: 300.0,
                good_exit_mm: 1400.0,
                encoder_start: 0,
                first_seq: 0,
            },
            printer: PrinterSection {
                kind: PrinterKind::Tij,
                address: "127.0.0.1:3002".into(),
                buffer_capacity: default_buffer_capacity(),
                module_px: default_module_px(),
            },
            camera: CameraSection {
                kind: CameraKind::Smart,
                address: "127.0.0.1:2323".into(),
            },
            plc: PlcSection {
                address: "127.0.0.1:5020".into(),
                unit_id: 1,
                consecutive_reject_limit: 5,
                bin_capacity: default_bin_capacity(),
            },
            faults: BTreeMap::new(),
        }
    }

    /// Same as [`SimConfig::default_line`] with every port 0 (free ports), for tests.
    pub fn loopback_any_port(ground_truth: PathBuf) -> SimConfig {
        let mut c = SimConfig::default_line();
        c.printer.address = "127.0.0.1:0".into();
        c.camera.address = "127.0.0.1:0".into();
        c.plc.address = "127.0.0.1:0".into();
        c.simulator.control = "127.0.0.1:0".into();
        c.simulator.ground_truth = ground_truth;
        c
    }
}

fn line_of(text: &str, byte: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(byte)
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Line number of `key = ...` inside `[section]`, when the key is written in the file.
fn locate_key(text: &str, section: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.split(']').next()) {
            current = name.trim().to_string();
            continue;
        }
        let in_section = current == section || current.starts_with(&format!("{section}."));
        if in_section && line.split('=').next().map(str::trim) == Some(key) {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_line_is_valid() {
        assert_eq!(SimConfig::default_line().validate(), Ok(()));
    }

    #[test]
    fn syntax_error_names_file_and_line() {
        let text = "[line]\nrate_per_min = \"fast\"\n";
        let err = SimConfig::parse(text, "x.toml").unwrap_err();
        assert_eq!(err.file, "x.toml");
        assert_eq!(err.line, Some(2));
        assert!(err.to_string().contains("rate_per_min"), "{err}");
    }

    #[test]
    fn validation_error_names_field_and_line() {
        let mut text = toml::to_string(&SimConfig::default_line()).unwrap();
        text = text.replace("camera_mm = 400.0", "camera_mm = 10.0");
        let err = SimConfig::parse(&text, "line.toml").unwrap_err();
        assert_eq!(err.field, "[line] camera_mm");
        let line = err.line.unwrap();
        assert!(text.lines().nth(line - 1).unwrap().starts_with("camera_mm"));
    }

    #[test]
    fn unknown_fault_is_refused() {
        let mut text = toml::to_string(&SimConfig::default_line()).unwrap();
        text.push_str("\n[faults.printer_on_fire]\nrate = 0.1\n");
        let err = SimConfig::parse(&text, "line.toml").unwrap_err();
        assert!(
            err.message.contains("printer_on_fire") || err.field.contains("printer_on_fire"),
            "{err}"
        );
    }
}
