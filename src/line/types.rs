//! The small value types the line engine speaks in: item sequence numbers, printer
//! message ids, print-quality grades, verdicts, reject reasons, item fates, devices
//! and symbology identifiers.

use std::fmt;

/// The PLC's item sequence number, assigned at product detect (before the printer),
/// +1 per item, wrapping at `u32::MAX`. Every comparison uses wrapping arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Seq(pub u32);

impl Seq {
    /// True if `self` comes strictly before `other` on the conveyor (wrapping, within
    /// half the sequence space).
    pub fn is_before(self, other: Seq) -> bool {
        let distance = other.0.wrapping_sub(self.0);
        distance != 0 && distance < (1 << 31)
    }

    /// How many items `self` is ahead of `other` (wrapping); negative if behind.
    pub fn distance_from(self, other: Seq) -> i64 {
        i64::from(self.0.wrapping_sub(other.0) as i32)
    }

    pub fn next(self) -> Seq {
        Seq(self.0.wrapping_add(1))
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A host-chosen printer message id; the printer's print-complete notification and
/// its buffer-clear report carry it. Unique within a station (the daemon passes the
/// first id of a batch so that ids never repeat across batches and restarts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub u64);

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The batch's identity in the store (chosen by the daemon).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub u64);

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An ISO/IEC 15415 print-quality grade in tenths: 40 = 4.0 (A) down to 0 = 0.0 (F).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grade(u8);

impl Grade {
    pub const A: Grade = Grade(40);
    pub const B: Grade = Grade(30);
    pub const C: Grade = Grade(20);
    pub const D: Grade = Grade(10);
    pub const F: Grade = Grade(0);

    /// A grade from tenths (0..=40); `None` above 4.0.
    pub fn from_tenths(tenths: u8) -> Option<Grade> {
        (tenths <= 40).then_some(Grade(tenths))
    }

    /// A grade from its decimal value as a verifier reports it (`1.5`); `None` if it
    /// is not within 0.0..=4.0.
    pub fn from_decimal(value: f32) -> Option<Grade> {
        if !(0.0..=4.0).contains(&value) {
            return None;
        }
        Grade::from_tenths((value * 10.0).round() as u8)
    }

    pub fn tenths(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 / 10, self.0 % 10)
    }
}

/// A symbology identifier (ISO/IEC 15424) as the camera reports it, e.g. `]d2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbologyId {
    pub code: u8,
    pub modifier: u8,
}

impl SymbologyId {
    /// GS1 DataMatrix (Data Matrix in GS1 mode, FNC1 in first position).
    pub const GS1_DATAMATRIX: SymbologyId = SymbologyId {
        code: b'd',
        modifier: b'2',
    };
    /// Plain Data Matrix (no GS1 mode).
    pub const PLAIN_DATAMATRIX: SymbologyId = SymbologyId {
        code: b'd',
        modifier: b'1',
    };

    /// Reads a three-character identifier such as `]d2`.
    pub fn parse(text: &str) -> Option<SymbologyId> {
        match text.as_bytes() {
            [b']', code, modifier]
                if code.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() =>
            {
                Some(SymbologyId {
                    code: *code,
                    modifier: *modifier,
                })
            }
            _ => None,
        }
    }
}

impl fmt::Display for SymbologyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "]{}{}", self.code as char, self.modifier as char)
    }
}

/// What the controller writes to the PLC's verdict table for one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    Good,
    Reject,
}

/// Why an item was rejected; the names are the ones ARCHITECTURE.md and the reports use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// The camera could not read a code.
    NoRead,
    /// The print-quality grade is below the product's minimum.
    Grade,
    /// The data is not what was sent for an acknowledged, unverified print of this batch.
    Mismatch,
    /// The serial was already verified in this batch.
    Duplicate,
    /// The symbol is not a GS1 DataMatrix (`]d2`).
    NotGs1,
    /// The data is not a valid GS1 element string.
    InvalidData,
    /// No result before the item passed the decision point.
    Late,
}

impl RejectReason {
    pub const ALL: [RejectReason; 7] = [
        RejectReason::NoRead,
        RejectReason::Grade,
        RejectReason::Mismatch,
        RejectReason::Duplicate,
        RejectReason::NotGs1,
        RejectReason::InvalidData,
        RejectReason::Late,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::NoRead => "no_read",
            RejectReason::Grade => "grade",
            RejectReason::Mismatch => "mismatch",
            RejectReason::Duplicate => "duplicate",
            RejectReason::NotGs1 => "not_gs1",
            RejectReason::InvalidData => "invalid_data",
            RejectReason::Late => "late",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to an item at the reject gate, as the PLC reports it per seq.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemFate {
    ExitedGood,
    RejectedConfirmed,
    RejectedUnconfirmed,
}

impl ItemFate {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemFate::ExitedGood => "exited_good",
            ItemFate::RejectedConfirmed => "rejected_confirmed",
            ItemFate::RejectedUnconfirmed => "rejected_unconfirmed",
        }
    }
}

/// The devices the engine needs online to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Printer,
    Camera,
    Plc,
}

impl Device {
    pub const ALL: [Device; 3] = [Device::Printer, Device::Camera, Device::Plc];

    pub fn as_str(self) -> &'static str {
        match self {
            Device::Printer => "printer",
            Device::Camera => "camera",
            Device::Plc => "PLC",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
