//! Fault injection: the catalogue of faults the simulated line can suffer, how each
//! one is scheduled (a rate per opportunity, a list of item numbers, a list of times),
//! and the seeded decision of whether a fault fires. Pure logic, no I/O.

use std::collections::BTreeMap;

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Every fault the simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// A print defect (kind chosen from `kinds`, strength from `severity`).
    PrintDefect,
    /// The printer misses its product-detect trigger: the item stays blank and the
    /// message stays in the buffer for the next item.
    SkippedPrint,
    /// The printer prints the same message on this item and, silently, on the next.
    DoublePrint,
    /// The printer corrupts the data it prints (one character of the last field).
    WrongData,
    /// The camera reports a no-read whatever it sees.
    CameraNoRead,
    /// The camera's result is delayed by a random time up to `max_ms`.
    CameraLatency,
    /// The printer closes the host's socket.
    PrinterDisconnect,
    /// The camera closes the host's socket.
    CameraDisconnect,
    /// The PLC closes the host's socket.
    PlcDisconnect,
    /// The printer answers a command late (`max_ms`).
    PrinterSlowReply,
    /// The camera answers late (`max_ms`).
    CameraSlowReply,
    /// The PLC answers a Modbus request late (`max_ms`).
    PlcSlowReply,
    /// The printer sends garbage bytes instead of a reply.
    PrinterGarbage,
    /// The camera sends garbage bytes before a result.
    CameraGarbage,
    /// The PLC sends a corrupted Modbus frame.
    PlcGarbage,
    /// The PLC answers a request with exception 04 (server device failure).
    ModbusException,
    /// The reject gate does not fire: the item travels on to the good exit.
    GateNoFire,
    /// The gate fires but the reject-confirm sensor does not see the item.
    ConfirmMiss,
    /// The reject bin reports full.
    BinFull,
    /// The conveyor jams and stops.
    LineJam,
}

impl FaultKind {
    pub const ALL: [FaultKind; 20] = [
        FaultKind::PrintDefect,
        FaultKind::SkippedPrint,
        FaultKind::DoublePrint,
        FaultKind::WrongData,
        FaultKind::CameraNoRead,
        FaultKind::CameraLatency,
        FaultKind::PrinterDisconnect,
        FaultKind::CameraDisconnect,
        FaultKind::PlcDisconnect,
        FaultKind::PrinterSlowReply,
        FaultKind::CameraSlowReply,
        FaultKind::PlcSlowReply,
        FaultKind::PrinterGarbage,
        FaultKind::CameraGarbage,
        FaultKind::PlcGarbage,
        FaultKind::ModbusException,
        FaultKind::GateNoFire,
        FaultKind::ConfirmMiss,
        FaultKind::BinFull,
        FaultKind::LineJam,
    ];

    /// The snake_case name used in the config and on the control endpoint.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PrintDefect => "print_defect",
            FaultKind::SkippedPrint => "skipped_print",
            FaultKind::DoublePrint => "double_print",
            FaultKind::WrongData => "wrong_data",
            FaultKind::CameraNoRead => "camera_no_read",
            FaultKind::CameraLatency => "camera_latency",
            FaultKind::PrinterDisconnect => "printer_disconnect",
            FaultKind::CameraDisconnect => "camera_disconnect",
            FaultKind::PlcDisconnect => "plc_disconnect",
            FaultKind::PrinterSlowReply => "printer_slow_reply",
            FaultKind::CameraSlowReply => "camera_slow_reply",
            FaultKind::PlcSlowReply => "plc_slow_reply",
            FaultKind::PrinterGarbage => "printer_garbage",
            FaultKind::CameraGarbage => "camera_garbage",
            FaultKind::PlcGarbage => "plc_garbage",
            FaultKind::ModbusException => "modbus_exception",
            FaultKind::GateNoFire => "gate_no_fire",
            FaultKind::ConfirmMiss => "confirm_miss",
            FaultKind::BinFull => "bin_full",
            FaultKind::LineJam => "line_jam",
        }
    }

    pub fn from_name(name: &str) -> Option<FaultKind> {
        FaultKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Faults whose opportunity is one physical item (the rest fire per request,
    /// per reply, or on a schedule in time).
    pub fn is_per_item(self) -> bool {
        matches!(
            self,
            FaultKind::PrintDefect
                | FaultKind::SkippedPrint
                | FaultKind::DoublePrint
                | FaultKind::WrongData
                | FaultKind::CameraNoRead
                | FaultKind::CameraLatency
                | FaultKind::GateNoFire
                | FaultKind::ConfirmMiss
                | FaultKind::BinFull
                | FaultKind::LineJam
        )
    }
}

/// How often one fault fires.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// Probability per opportunity (per item, per request or per reply), 0..=1.
    #[serde(default)]
    pub rate: f64,
    /// Item numbers (1 = first item of the run) on which the fault fires for sure.
    #[serde(default)]
    pub at_items: Vec<u64>,
    /// Strength of a print defect, 0..=1.
    #[serde(default)]
    pub severity: Option<f64>,
    /// Print defect kinds to choose from (empty = every kind the vision module has).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Upper bound of a random delay in milliseconds (latency, slow replies).
    #[serde(default)]
    pub max_ms: Option<u64>,
}

impl FaultSpec {
    /// Checks ranges; returns the name of the bad field and why.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(0.0..=1.0).contains(&self.rate) || self.rate.is_nan() {
            return Err((
                "rate",
                format!("must be between 0 and 1, got {}", self.rate),
            ));
        }
        if let Some(s) = self.severity
            && !(0.0..=1.0).contains(&s)
        {
            return Err(("severity", format!("must be between 0 and 1, got {s}")));
        }
        if let Some(ms) = self.max_ms
            && ms > 60_000
        {
            return Err(("max_ms", format!("must be at most 60000, got {ms}")));
        }
        Ok(())
    }

    pub fn is_active(&self) -> bool {
        self.rate > 0.0 || !self.at_items.is_empty()
    }
}

/// The set of configured faults, with one seeded random stream per fault kind so
/// that changing one fault's rate does not reshuffle the decisions of the others,
/// and one more stream for a run's other random choices ([`FaultTable::choose_below`]).
#[derive(Debug, Clone)]
pub struct FaultTable {
    specs: BTreeMap<FaultKind, FaultSpec>,
    streams: BTreeMap<FaultKind, Xoshiro256PlusPlus>,
    choices: Xoshiro256PlusPlus,
}

/// Mixed into the seed of the choices stream, so that it differs from every fault's.
const CHOICES_SALT: u64 = 0xA076_1D64_78BD_642F;

impl FaultTable {
    pub fn new(seed: u64, specs: BTreeMap<FaultKind, FaultSpec>) -> FaultTable {
        let streams = FaultKind::ALL
            .into_iter()
            .enumerate()
            .map(|(i, k)| {
                let stream_seed = seed ^ (0x9E37_79B9_7F4A_7C15_u64.wrapping_mul(i as u64 + 1));
                (k, Xoshiro256PlusPlus::seed_from_u64(stream_seed))
            })
            .collect();
        FaultTable {
            specs,
            streams,
            choices: Xoshiro256PlusPlus::seed_from_u64(seed ^ CHOICES_SALT),
        }
    }

    pub fn set(&mut self, kind: FaultKind, spec: FaultSpec) {
        self.specs.insert(kind, spec);
    }

    pub fn clear(&mut self, kind: FaultKind) {
        self.specs.remove(&kind);
    }

    pub fn clear_all(&mut self) {
        self.specs.clear();
    }

    pub fn spec(&self, kind: FaultKind) -> Option<&FaultSpec> {
        self.specs.get(&kind)
    }

    pub fn specs(&self) -> &BTreeMap<FaultKind, FaultSpec> {
        &self.specs
    }

    /// Decides whether `kind` fires for item number `item_no` (per-item faults).
    /// Always draws from the stream so the sequence is independent of the schedule.
    pub fn fires_for_item(&mut self, kind: FaultKind, item_no: u64) -> bool {
        let draw = self.draw(kind);
        match self.specs.get(&kind) {
            None => false,
            Some(spec) => spec.at_items.contains(&item_no) || draw < spec.rate,
        }
    }

    /// Decides whether `kind` fires on one request or reply (per-message faults).
    pub fn fires(&mut self, kind: FaultKind) -> bool {
        let draw = self.draw(kind);
        self.specs.get(&kind).is_some_and(|spec| draw < spec.rate)
    }

    /// A uniform value in 0..=max for a fault's delay (0 when not configured).
    pub fn delay_ms(&mut self, kind: FaultKind) -> u64 {
        let max = self.specs.get(&kind).and_then(|s| s.max_ms).unwrap_or(0);
        if max == 0 {
            return 0;
        }
        self.stream(kind).random_range(0..=max)
    }

    /// Picks one element of `choices` with this fault's stream.
    pub fn pick<'a, T>(&mut self, kind: FaultKind, choices: &'a [T]) -> Option<&'a T> {
        if choices.is_empty() {
            return None;
        }
        let i = self.stream(kind).random_range(0..choices.len());
        choices.get(i)
    }

    /// A uniform value in `0..bound` (0 when `bound` is 0) for a run's other random
    /// choices: what an operator or a test scenario decides, never a fault. It has a
    /// stream of its own, so these choices never shift the faults' decisions and the
    /// faults never shift them.
    pub fn choose_below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        self.choices.random_range(0..bound)
    }

    fn draw(&mut self, kind: FaultKind) -> f64 {
        self.stream(kind).random::<f64>()
    }

    fn stream(&mut self, kind: FaultKind) -> &mut Xoshiro256PlusPlus {
        self.streams
            .entry(kind)
            .or_insert_with(|| Xoshiro256PlusPlus::seed_from_u64(kind as u64))
    }
}

/// Reads a cell's fault rates, `name=rate,…` (each 0.0 to 1.0), into `fields`
/// (name, rate); a rate not named stays as it is. The errors name the fault and
/// list the names there are.
pub fn parse_rates(text: &str, fields: &mut [(&str, &mut f64)]) -> Result<(), String> {
    let names: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    let example = names.first().copied().unwrap_or("name");
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, rate) = part
            .split_once('=')
            .ok_or_else(|| format!("fault {part:?}: write name=rate, e.g. {example}=0.1"))?;
        let rate: f64 = rate
            .trim()
            .parse()
            .ok()
            .filter(|r: &f64| (0.0..=1.0).contains(r))
            .ok_or_else(|| format!("fault {name}: the rate must be 0.0 to 1.0, not {rate:?}"))?;
        let name = name.trim();
        let Some((_, field)) = fields.iter_mut().find(|(known, _)| *known == name) else {
            let (last, rest) = names.split_last().unwrap_or((&"", &[]));
            return Err(format!(
                "unknown fault {name:?}: {} or {last}",
                rest.join(", ")
            ));
        };
        **field = rate;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in FaultKind::ALL {
            assert_eq!(FaultKind::from_name(k.name()), Some(k));
        }
    }

    #[test]
    fn same_seed_same_decisions() {
        let mut specs = BTreeMap::new();
        specs.insert(
            FaultKind::CameraNoRead,
            FaultSpec {
                rate: 0.3,
                ..Default::default()
            },
        );
        let mut a = FaultTable::new(7, specs.clone());
        let mut b = FaultTable::new(7, specs);
        let da: Vec<bool> = (1..200)
            .map(|i| a.fires_for_item(FaultKind::CameraNoRead, i))
            .collect();
        let db: Vec<bool> = (1..200)
            .map(|i| b.fires_for_item(FaultKind::CameraNoRead, i))
            .collect();
        assert_eq!(da, db);
        assert!(da.iter().any(|x| *x) && da.iter().any(|x| !*x));
    }

    #[test]
    fn choices_replay_with_the_seed_and_stay_below_the_bound() {
        let mut a = FaultTable::new(11, BTreeMap::new());
        let mut b = FaultTable::new(11, BTreeMap::new());
        let da: Vec<u64> = (0..200).map(|_| a.choose_below(7)).collect();
        let db: Vec<u64> = (0..200).map(|_| b.choose_below(7)).collect();
        assert_eq!(da, db);
        assert!(da.iter().all(|x| *x < 7));
        assert!(
            (0..7).all(|x| da.contains(&x)),
            "every value comes up: {da:?}"
        );
        assert_eq!(a.choose_below(0), 0);
        assert_eq!(a.choose_below(1), 0);
        let mut c = FaultTable::new(12, BTreeMap::new());
        let dc: Vec<u64> = (0..200).map(|_| c.choose_below(7)).collect();
        assert_ne!(da, dc, "another seed, other choices");
    }

    #[test]
    fn choices_and_fault_decisions_do_not_shift_each_other() {
        let mut specs = BTreeMap::new();
        specs.insert(
            FaultKind::CameraNoRead,
            FaultSpec {
                rate: 0.5,
                ..Default::default()
            },
        );
        let mut plain = FaultTable::new(5, specs.clone());
        let mut mixed = FaultTable::new(5, specs);
        let mut plain_faults = Vec::new();
        let mut mixed_faults = Vec::new();
        let mut mixed_choices = Vec::new();
        for item in 1..100 {
            plain_faults.push(plain.fires_for_item(FaultKind::CameraNoRead, item));
            mixed_choices.push(mixed.choose_below(1_000));
            mixed_faults.push(mixed.fires_for_item(FaultKind::CameraNoRead, item));
        }
        assert_eq!(plain_faults, mixed_faults);
        let mut fresh = FaultTable::new(5, BTreeMap::new());
        let fresh_choices: Vec<u64> = (1..100).map(|_| fresh.choose_below(1_000)).collect();
        assert_eq!(mixed_choices, fresh_choices);
    }

    #[test]
    fn scheduled_items_always_fire() {
        let mut specs = BTreeMap::new();
        specs.insert(
            FaultKind::GateNoFire,
            FaultSpec {
                at_items: vec![3, 5],
                ..Default::default()
            },
        );
        let mut t = FaultTable::new(1, specs);
        let fired: Vec<u64> = (1..10)
            .filter(|i| t.fires_for_item(FaultKind::GateNoFire, *i))
            .collect();
        assert_eq!(fired, vec![3, 5]);
    }
}
