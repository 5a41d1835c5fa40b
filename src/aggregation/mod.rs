//! Aggregation's own vocabulary, pure: the packaging levels (pack, bundle, case,
//! pallet), the container states, and what a handheld or fixed scanner's read names
//! (a pack by GTIN and serial, or a container by SSCC). The store keeps containers
//! and their children (`src/store/containers.rs`); ARCHITECTURE.md, "Aggregation",
//! has the states and the rules. [`case_check`] is the check at case close: the
//! codes read in the case camera's frame against the packs tracked into the case.

pub mod case_check;
pub mod logistic_label;

use std::fmt;

use crate::gs1::{ElementString, Gtin, Sscc};

/// A packaging level. A pack carries a serial; every other level is a container
/// identified by an SSCC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Pack,
    Bundle,
    Case,
    Pallet,
}

impl Level {
    pub const CONTAINERS: [Level; 3] = [Level::Bundle, Level::Case, Level::Pallet];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Pack => "pack",
            Level::Bundle => "bundle",
            Level::Case => "case",
            Level::Pallet => "pallet",
        }
    }

    /// Reads a level's name as an operator or a file writes it.
    pub fn parse(word: &str) -> Result<Level, String> {
        match word.trim().to_ascii_lowercase().as_str() {
            "pack" | "packs" | "item" => Ok(Level::Pack),
            "bundle" | "bundles" => Ok(Level::Bundle),
            "case" | "cases" | "shipper" => Ok(Level::Case),
            "pallet" | "pallets" => Ok(Level::Pallet),
            other => Err(format!(
                "level {other:?} is not a packaging level: use pack, bundle, case or pallet"
            )),
        }
    }

    /// Whether this level is a container (has an SSCC and children).
    pub fn is_container(self) -> bool {
        self != Level::Pack
    }

    /// The level a container of this level holds when the hierarchy has no bundles
    /// (cases hold packs, pallets hold cases); `None` for a pack.
    pub fn default_child(self) -> Option<Level> {
        match self {
            Level::Pack => None,
            Level::Bundle | Level::Case => Some(Level::Pack),
            Level::Pallet => Some(Level::Case),
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a container is in its life. `Open` → `Closed` (contents final) →
/// `Labelled` (label printed with the count) → `Verified` (label read back as its
/// own SSCC). Any change of contents after closing reopens it; `Rework` is final:
/// its children were released and its SSCC is never used again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContainerState {
    Open,
    Closed,
    Labelled,
    Verified,
    Rework,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Open => "open",
            ContainerState::Closed => "closed",
            ContainerState::Labelled => "labelled",
            ContainerState::Verified => "verified",
            ContainerState::Rework => "rework",
        }
    }

    pub fn from_str_opt(text: &str) -> Option<ContainerState> {
        Some(match text {
            "open" => ContainerState::Open,
            "closed" => ContainerState::Closed,
            "labelled" => ContainerState::Labelled,
            "verified" => ContainerState::Verified,
            "rework" => ContainerState::Rework,
            _ => return None,
        })
    }
}

impl fmt::Display for ContainerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one scan names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scanned {
    /// A pack: its GTIN (AI 01) and serial (AI 21).
    Pack { gtin: Gtin, serial: String },
    /// A container: its SSCC (AI 00).
    Container(Sscc),
}

impl fmt::Display for Scanned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scanned::Pack { gtin, serial } => write!(f, "pack (01){gtin}(21){serial}"),
            Scanned::Container(sscc) => write!(f, "container (00){sscc}"),
        }
    }
}

/// Reads what a scanner sent: any GS1 read form (scan data with a symbology
/// identifier, GS-separated element string, bracketed HRI, Digital Link), or a bare
/// 18-digit SSCC as keyed in. A pack needs AI 01 and 21; a container needs AI 00.
pub fn read_scan(text: &str) -> Result<Scanned, String> {
    let text = text.trim_matches(|c: char| c == '\r' || c == '\n' || c == ' ');
    if text.is_empty() {
        return Err("the scan is empty: scan the code again".to_string());
    }
    if text.len() == 18 && text.bytes().all(|b| b.is_ascii_digit()) {
        return Sscc::parse(text)
            .map(Scanned::Container)
            .map_err(|e| format!("SSCC {text}: {}", e.message));
    }
    let element = ElementString::parse(text)
        .map_err(|e| format!("{}: not a GS1 code this station reads ({e})", shown(text)))?;
    if let Some(sscc) = element.get("00") {
        return Sscc::parse(sscc)
            .map(Scanned::Container)
            .map_err(|e| format!("SSCC {sscc}: {}", e.message));
    }
    match (element.get("01"), element.get("21")) {
        (Some(gtin), Some(serial)) => Ok(Scanned::Pack {
            gtin: Gtin::parse(gtin).map_err(|e| e.message)?,
            serial: serial.to_string(),
        }),
        (Some(_), None) => Err(format!(
            "{} has a GTIN but no serial (AI 21): scan the pack's DataMatrix, not its linear barcode",
            element.to_hri()
        )),
        _ => Err(format!(
            "{} names neither a pack (AI 01 + 21) nor a container (AI 00)",
            element.to_hri()
        )),
    }
}

/// The scan as it may be shown: control characters made visible.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '·' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_and_nest() {
        assert_eq!(Level::parse("Case"), Ok(Level::Case));
        assert_eq!(Level::parse("pallets"), Ok(Level::Pallet));
        assert!(
            Level::parse("crate")
                .unwrap_err()
                .contains("pack, bundle, case or pallet")
        );
        assert_eq!(Level::Case.default_child(), Some(Level::Pack));
        assert_eq!(Level::Pallet.default_child(), Some(Level::Case));
        assert_eq!(Level::Pack.default_child(), None);
        assert!(Level::Pack < Level::Bundle && Level::Case < Level::Pallet);
    }

    #[test]
    fn scans_name_packs_and_containers_in_every_read_form() {
        let pack = read_scan("]d2010950600013435221ABC123\u{1d}10LOT1").unwrap();
        assert_eq!(
            pack,
            Scanned::Pack {
                gtin: Gtin::parse("09506000134352").unwrap(),
                serial: "ABC123".into()
            }
        );
        assert_eq!(read_scan("(01)09506000134352(21)ABC123").unwrap(), pack);
        let case = Scanned::Container(Sscc::parse("106141411234567897").unwrap());
        assert_eq!(read_scan("]C100106141411234567897").unwrap(), case);
        assert_eq!(read_scan("106141411234567897\r\n").unwrap(), case);
        assert_eq!(read_scan("(00)106141411234567897").unwrap(), case);
    }

    #[test]
    fn a_scan_that_names_nothing_usable_says_why() {
        assert!(read_scan("").unwrap_err().contains("empty"));
        let wrong = read_scan("106141411234567898").unwrap_err();
        assert!(wrong.contains("check digit should be 7"), "{wrong}");
        assert!(
            read_scan("(01)09506000134352")
                .unwrap_err()
                .contains("no serial")
        );
        assert!(
            read_scan("(400)ORDER1")
                .unwrap_err()
                .contains("neither a pack")
        );
        assert!(read_scan("hello").unwrap_err().contains("not a GS1 code"));
    }
}
