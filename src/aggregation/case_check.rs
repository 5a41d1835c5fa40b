//! The check at case close (pure): the set of pack codes the case camera read in
//! one frame must be exactly the set the tracking put into the case — nothing
//! missing, nothing extra, nothing of another batch, no code twice — and every
//! place must read. Anything else sends the case to rework and its packs stay
//! unaggregated (ARCHITECTURE.md, "Aggregation", invariant 6).
//!
//! The reads come in as [`PlaceRead`]s, one per place of the case's layout (see
//! `serialstation_devices::vision::case_image`); the outcome names every problem
//! with its place and pack, so an operator can find it in the case.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serialstation_devices::vision::case_image::{CaseLayout, CellRead, read_case};

use crate::gs1::{ElementString, Gtin};

/// Reads every place of a case camera's frame of `(rows, cols)` places.
pub fn read_frame(
    frame: &image::GrayImage,
    (rows, cols): (u32, u32),
) -> Result<Vec<PlaceRead>, String> {
    let layout = CaseLayout {
        rows,
        cols,
        width: frame.width(),
        height: frame.height(),
    };
    let reads = read_case(frame, &layout).map_err(|e| e.to_string())?;
    Ok(reads
        .into_iter()
        .map(|read| match read {
            CellRead::Code(symbol) => {
                PlaceRead::of_scan(&format!("{}{}", symbol.symbology_identifier, symbol.text))
            }
            CellRead::Unreadable(why) => PlaceRead::Unreadable(why.to_string()),
            CellRead::Empty => PlaceRead::Empty,
        })
        .collect())
}

/// What the camera saw at one place of the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceRead {
    /// A pack's code: its GTIN, serial and (if the code carries AI 10) lot.
    Pack {
        gtin: Gtin,
        serial: String,
        lot: Option<String>,
    },
    /// A code that read but names no pack (no AI 01 + 21), as read.
    NotAPack(String),
    /// Something is there, but no code could be read (why).
    Unreadable(String),
    /// Nothing at this place.
    Empty,
}

impl PlaceRead {
    /// A decoded code's scan data (`]d2` + data with GS separators) as a place read.
    pub fn of_scan(scan: &str) -> PlaceRead {
        let Ok(element) = ElementString::parse(scan) else {
            return PlaceRead::NotAPack(scan.to_string());
        };
        match (
            element.get("01").and_then(|g| Gtin::parse(g).ok()),
            element.get("21"),
        ) {
            (Some(gtin), Some(serial)) => PlaceRead::Pack {
                gtin,
                serial: serial.to_string(),
                lot: element.get("10").map(str::to_string),
            },
            _ => PlaceRead::NotAPack(element.to_hri()),
        }
    }
}

/// One reason a case cannot be aggregated. Places are numbered from 1, row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseProblem {
    /// Tracked into the case, not in the frame.
    Missing { serial: String },
    /// In the frame, of this batch, but not tracked into this case.
    Extra { place: usize, serial: String },
    /// In the frame, of another product or lot.
    OtherBatch {
        place: usize,
        serial: String,
        gtin: String,
        lot: Option<String>,
    },
    /// The same code at two places or more.
    Duplicate { serial: String, places: Vec<usize> },
    /// A place whose code cannot be read.
    Unreadable { place: usize, why: String },
    /// A place whose code is not a pack's.
    NotAPack { place: usize, read: String },
}

impl fmt::Display for CaseProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaseProblem::Missing { serial } => write!(
                f,
                "pack {serial} was put into the case but is not in the image"
            ),
            CaseProblem::Extra { place, serial } => write!(
                f,
                "place {place}: pack {serial} is in the case but was not put into it"
            ),
            CaseProblem::OtherBatch {
                place,
                serial,
                gtin,
                lot,
            } => write!(
                f,
                "place {place}: pack {serial} is of GTIN {gtin}{}, not of this batch",
                lot.as_ref().map_or(String::new(), |l| format!(" lot {l}"))
            ),
            CaseProblem::Duplicate { serial, places } => write!(
                f,
                "pack {serial} is read at places {}: a code printed twice",
                places
                    .iter()
                    .map(usize::to_string)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
            CaseProblem::Unreadable { place, why } => {
                write!(f, "place {place}: the code cannot be read ({why})")
            }
            CaseProblem::NotAPack { place, read } => {
                write!(f, "place {place}: {read} is not a pack's code")
            }
        }
    }
}

/// The outcome of the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseCheck {
    /// Packs read, each once, in place order.
    pub read: Vec<String>,
    pub problems: Vec<CaseProblem>,
}

impl CaseCheck {
    /// The case may be aggregated: every tracked pack read, nothing else.
    pub fn is_good(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Compares what the camera read (`reads`, one per place) with the packs tracked
/// into the case (`tracked` serials) of the batch's `gtin` and `lot`.
pub fn check_case(tracked: &[String], gtin: &Gtin, lot: &str, reads: &[PlaceRead]) -> CaseCheck {
    let mut problems = Vec::new();
    let mut places_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, read) in reads.iter().enumerate() {
        let place = i + 1;
        match read {
            PlaceRead::Empty => {}
            PlaceRead::Unreadable(why) => problems.push(CaseProblem::Unreadable {
                place,
                why: why.clone(),
            }),
            PlaceRead::NotAPack(text) => problems.push(CaseProblem::NotAPack {
                place,
                read: text.clone(),
            }),
            PlaceRead::Pack {
                gtin: read_gtin,
                serial,
                lot: read_lot,
            } => {
                if read_gtin != gtin || read_lot.as_deref().is_some_and(|l| l != lot) {
                    problems.push(CaseProblem::OtherBatch {
                        place,
                        serial: serial.clone(),
                        gtin: read_gtin.to_string(),
                        lot: read_lot.clone(),
                    });
                } else {
                    places_of.entry(serial).or_default().push(place);
                }
            }
        }
    }
    let tracked_set: BTreeSet<&str> = tracked.iter().map(String::as_str).collect();
    for (serial, places) in &places_of {
        if places.len() > 1 {
            problems.push(CaseProblem::Duplicate {
                serial: serial.to_string(),
                places: places.clone(),
            });
        }
        if !tracked_set.contains(serial) {
            problems.push(CaseProblem::Extra {
                place: places[0],
                serial: serial.to_string(),
            });
        }
    }
    for serial in &tracked_set {
        if !places_of.contains_key(serial) {
            problems.push(CaseProblem::Missing {
                serial: serial.to_string(),
            });
        }
    }
    let mut read: Vec<(usize, String)> = places_of
        .into_iter()
        .map(|(serial, places)| (places[0], serial.to_string()))
        .collect();
    read.sort();
    CaseCheck {
        read: read.into_iter().map(|(_, s)| s).collect(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GTIN: &str = "09506000134352";

    fn pack(serial: &str) -> PlaceRead {
        PlaceRead::of_scan(&format!("(01){GTIN}(17)301231(10)B1(21){serial}"))
    }

    fn tracked(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("S{i}")).collect()
    }

    fn check(reads: &[PlaceRead]) -> CaseCheck {
        check_case(&tracked(4), &Gtin::parse(GTIN).unwrap(), "B1", reads)
    }

    #[test]
    fn the_set_read_equals_the_set_tracked() {
        let reads = [
            pack("S2"),
            pack("S1"),
            PlaceRead::Empty,
            pack("S4"),
            pack("S3"),
        ];
        let outcome = check(&reads);
        assert!(outcome.is_good(), "{:?}", outcome.problems);
        assert_eq!(outcome.read, ["S2", "S1", "S4", "S3"]);
    }

    #[test]
    fn each_fault_is_named_with_its_place() {
        // S4 missing, S9 extra, another lot at place 3, S1 twice, place 6 unreadable.
        let reads = [
            pack("S1"),
            pack("S2"),
            PlaceRead::of_scan(&format!("(01){GTIN}(17)301231(10)B2(21)S3")),
            pack("S9"),
            pack("S1"),
            PlaceRead::Unreadable("no finder pattern".into()),
            PlaceRead::of_scan("(00)095060000000000017"),
        ];
        let outcome = check(&reads);
        let text: Vec<String> = outcome.problems.iter().map(|p| p.to_string()).collect();
        let has = |words: &str| text.iter().any(|t| t.contains(words));
        assert!(
            has("pack S4 was put into the case but is not in the image"),
            "{text:?}"
        );
        assert!(
            has("pack S3 was put into the case but is not in the image"),
            "{text:?}"
        );
        assert!(
            has("place 4: pack S9 is in the case but was not put into it"),
            "{text:?}"
        );
        assert!(
            has("place 3: pack S3 is of GTIN 09506000134352 lot B2"),
            "{text:?}"
        );
        assert!(has("pack S1 is read at places 1 and 5"), "{text:?}");
        assert!(
            has("place 6: the code cannot be read (no finder pattern)"),
            "{text:?}"
        );
        assert!(
            has("place 7: (00)095060000000000017 is not a pack's code"),
            "{text:?}"
        );
        assert!(!outcome.is_good());
    }

    #[test]
    fn another_product_is_another_batch() {
        let reads = [
            pack("S1"),
            pack("S2"),
            pack("S3"),
            PlaceRead::of_scan("(01)00312345678906(21)S4"),
        ];
        let outcome = check(&reads);
        assert_eq!(outcome.problems.len(), 2, "{:?}", outcome.problems);
        assert!(matches!(
            outcome.problems[0],
            CaseProblem::OtherBatch { place: 4, .. }
        ));
        assert!(matches!(outcome.problems[1], CaseProblem::Missing { .. }));
    }
}
