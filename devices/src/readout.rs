//! What a camera reports for one triggered item, whichever camera produced it:
//! the item's seq (the trigger index), and either a read (symbology identifier,
//! data bytes, ISO/IEC 15415 grade) or a no-read. Plain data, shared by the
//! smart-camera codec, the image-camera driver and the line engine.

use std::fmt;

/// An AIM symbology identifier such as `]d2` (GS1 DataMatrix) or `]d1` (plain DataMatrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbologyId([u8; 3]);

impl SymbologyId {
    /// GS1 DataMatrix (FNC1 in first position).
    pub const GS1_DATAMATRIX: SymbologyId = SymbologyId(*b"]d2");
    /// DataMatrix without FNC1 (not a GS1 symbol).
    pub const DATAMATRIX: SymbologyId = SymbologyId(*b"]d1");

    /// Parses `]` + a letter + a letter or digit.
    pub fn parse(text: &str) -> Option<SymbologyId> {
        match text.as_bytes() {
            [b']', code, modifier]
                if code.is_ascii_alphabetic() && modifier.is_ascii_alphanumeric() =>
            {
                Some(SymbologyId([b']', *code, *modifier]))
            }
            _ => None,
        }
    }

    pub fn as_str(&self) -> &str {
        // Always ASCII by construction.
        std::str::from_utf8(&self.0).unwrap_or("]??")
    }

    /// True for a GS1 DataMatrix.
    pub fn is_gs1_datamatrix(&self) -> bool {
        *self == Self::GS1_DATAMATRIX
    }
}

impl fmt::Display for SymbologyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ISO/IEC 15415 overall symbol grade with its measurement conditions,
/// written formally as `grade/aperture/wavelength/angle` (e.g. `3.5/10/660/45`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Grade {
    /// Overall grade in tenths, 0..=40 (4.0 = A).
    pub tenths: u8,
    /// Measuring aperture in mils (thousandths of an inch).
    pub aperture_mils: u8,
    /// Light wavelength in nm (0 = white light).
    pub wavelength_nm: u16,
    /// Illumination angle in degrees.
    pub angle_deg: u8,
}

impl Grade {
    /// Highest grade value, in tenths.
    pub const MAX_TENTHS: u8 = 40;

    /// Letter grade per ISO/IEC 15415: A >= 3.5, B >= 2.5, C >= 1.5, D >= 0.5, else F.
    pub fn letter(&self) -> char {
        match self.tenths {
            35.. => 'A',
            25..=34 => 'B',
            15..=24 => 'C',
            5..=14 => 'D',
            _ => 'F',
        }
    }

    /// The numeric grade as text, e.g. `3.5`.
    pub fn value_text(&self) -> String {
        format!("{}.{}", self.tenths / 10, self.tenths % 10)
    }

    /// `grade/aperture/wavelength/angle`, e.g. `3.5/10/660/45`.
    pub fn formal(&self) -> String {
        format!(
            "{}/{:02}/{}/{}",
            self.value_text(),
            self.aperture_mils,
            self.wavelength_nm,
            self.angle_deg
        )
    }

    /// Parses a numeric grade `d.d` (0.0..=4.0) into tenths.
    pub fn parse_value(text: &str) -> Option<u8> {
        match text.as_bytes() {
            [whole @ b'0'..=b'4', b'.', tenth @ b'0'..=b'9'] => {
                let tenths = (whole - b'0') * 10 + (tenth - b'0');
                (tenths <= Self::MAX_TENTHS).then_some(tenths)
            }
            _ => None,
        }
    }

    /// Parses the formal notation `grade/aperture/wavelength/angle`.
    pub fn parse_formal(text: &str) -> Option<Grade> {
        let mut parts = text.split('/');
        let tenths = Self::parse_value(parts.next()?)?;
        let small = |s: &str| {
            (!s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let aperture_mils = small(parts.next()?)?;
        let wavelength = parts.next()?;
        let wavelength_nm = (!wavelength.is_empty()
            && wavelength.len() <= 4
            && wavelength.bytes().all(|b| b.is_ascii_digit()))
        .then(|| wavelength.parse().ok())
        .flatten()?;
        let angle_deg = small(parts.next()?)?;
        if parts.next().is_some() {
            return None;
        }
        Some(Grade {
            tenths,
            aperture_mils,
            wavelength_nm,
            angle_deg,
        })
    }
}

impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.letter(), self.formal())
    }
}

/// The camera's verdict on one triggered item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    /// A symbol was decoded. `data` is the decoded text as bytes: for GS1 the
    /// element string with GS (0x1D) where FNC1 separators were, no leading FNC1.
    Read {
        symbology: SymbologyId,
        data: Vec<u8>,
        grade: Grade,
    },
    /// Nothing could be decoded.
    NoRead,
}

/// One camera result, keyed by the item's seq (the trigger index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraReadout {
    pub seq: u32,
    pub outcome: ReadOutcome,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grades() {
        let grade = Grade {
            tenths: 35,
            aperture_mils: 8,
            wavelength_nm: 660,
            angle_deg: 45,
        };
        assert_eq!(grade.letter(), 'A');
        assert_eq!(grade.formal(), "3.5/08/660/45");
        assert_eq!(Grade::parse_formal("3.5/08/660/45"), Some(grade));
        assert_eq!(Grade::parse_value("4.1"), None);
        assert_eq!(Grade { tenths: 4, ..grade }.letter(), 'F');
        assert_eq!(SymbologyId::parse("]d2"), Some(SymbologyId::GS1_DATAMATRIX));
        assert_eq!(SymbologyId::parse("d2"), None);
    }
}
