//! Codec of the ZPL host status (`~HS`) answer, both directions: three lines,
//! each `<STX>fields<ETX><CR><LF>`. The printer's side encodes a [`HostStatus`];
//! the host's side decodes it. Pure functions.
//!
//! Line 1 `aaa,b,c,dddd,eee,f,g,h,iii,j,k,l`: communication settings, paper out,
//! pause, label length (dots), formats in buffer, buffer full, diagnostic mode,
//! partial format, unused, corrupt RAM, under temperature, over temperature.
//! Line 2 `mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www`: function settings, unused, head up,
//! ribbon out, thermal transfer, print mode, print width mode, label waiting,
//! labels remaining in batch, format while printing, graphics stored.
//! Line 3 `xxxx,y`: password, static RAM installed.

use crate::framing::Decoded;

const STX: u8 = 0x02;
const ETX: u8 = 0x03;
/// Longest status line accepted (STX to LF).
pub const MAX_STATUS_LINE: usize = 128;

/// The fields of `~HS` that matter to the station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostStatus {
    pub paper_out: bool,
    pub paused: bool,
    pub label_length_dots: u16,
    pub formats_in_buffer: u16,
    pub buffer_full: bool,
    pub partial_format: bool,
    pub corrupt_ram: bool,
    pub under_temperature: bool,
    pub over_temperature: bool,
    pub head_up: bool,
    pub ribbon_out: bool,
    pub thermal_transfer: bool,
    pub print_mode: u8,
    pub label_waiting: bool,
    pub labels_remaining: u32,
    pub graphics_stored: u16,
}

impl HostStatus {
    /// Conditions that stop printing, in plain words (empty when the printer can print).
    pub fn faults(&self) -> Vec<&'static str> {
        [
            (self.paper_out, "paper out: load labels"),
            (self.head_up, "printhead open: close it"),
            (self.ribbon_out, "ribbon out: load ribbon"),
            (self.paused, "printer paused: press pause or resume it"),
            (self.corrupt_ram, "printer RAM corrupt: restart the printer"),
            (
                self.over_temperature,
                "printhead over temperature: let it cool down",
            ),
            (self.under_temperature, "printhead under temperature"),
            (self.buffer_full, "receive buffer full"),
        ]
        .into_iter()
        .filter_map(|(on, text)| on.then_some(text))
        .collect()
    }

    /// Bytes the printer sends (three framed lines).
    pub fn encode(&self) -> Vec<u8> {
        let b = |flag: bool| u8::from(flag);
        let line1 = format!(
            "030,{},{},{:04},{:03},{},0,{},000,{},{},{}",
            b(self.paper_out),
            b(self.paused),
            self.label_length_dots,
            self.formats_in_buffer,
            b(self.buffer_full),
            b(self.partial_format),
            b(self.corrupt_ram),
            b(self.under_temperature),
            b(self.over_temperature)
        );
        let line2 = format!(
            "001,0,{},{},{},{},0,{},{:08},1,{:03}",
            b(self.head_up),
            b(self.ribbon_out),
            b(self.thermal_transfer),
            self.print_mode,
            b(self.label_waiting),
            self.labels_remaining,
            self.graphics_stored
        );
        let line3 = "1234,0";
        let mut out = Vec::with_capacity(96);
        for line in [line1.as_str(), line2.as_str(), line3] {
            out.push(STX);
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(&[ETX, b'\r', b'\n']);
        }
        out
    }

    /// Decodes one three-line answer from the front of `buf`.
    pub fn decode(buf: &[u8]) -> Decoded<HostStatus, HostStatusError> {
        let mut lines: Vec<&[u8]> = Vec::with_capacity(3);
        let mut offset = 0;
        while lines.len() < 3 {
            let rest = &buf[offset..];
            if rest.is_empty() {
                return Decoded::Incomplete;
            }
            if rest[0] != STX {
                let skip = rest.iter().position(|b| *b == STX).unwrap_or(rest.len());
                return Decoded::Garbage {
                    error: HostStatusError::Framing,
                    consumed: offset + skip,
                };
            }
            let window = &rest[..rest.len().min(MAX_STATUS_LINE)];
            match window.windows(3).position(|w| w == [ETX, b'\r', b'\n']) {
                Some(end) => {
                    lines.push(&rest[1..end]);
                    offset += end + 3;
                }
                None if rest.len() >= MAX_STATUS_LINE => {
                    return Decoded::Garbage {
                        error: HostStatusError::LineTooLong,
                        consumed: offset + 1,
                    };
                }
                None => return Decoded::Incomplete,
            }
        }
        match parse_lines(lines[0], lines[1], lines[2]) {
            Ok(status) => Decoded::Message {
                message: status,
                consumed: offset,
            },
            Err(error) => Decoded::Garbage {
                error,
                consumed: offset,
            },
        }
    }
}

/// What is wrong with a `~HS` answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostStatusError {
    #[error("host status line does not start with STX or does not end with ETX CR LF")]
    Framing,
    #[error("host status line longer than {MAX_STATUS_LINE} bytes")]
    LineTooLong,
    #[error("host status line {line} should have {expected} fields, has {got}")]
    FieldCount {
        line: u8,
        expected: usize,
        got: usize,
    },
    #[error("host status line {line}, field {field} is not a number: {text:?}")]
    BadField {
        line: u8,
        field: usize,
        text: String,
    },
}

fn fields(line: &[u8], number: u8, expected: usize) -> Result<Vec<u32>, HostStatusError> {
    let parts: Vec<&[u8]> = line.split(|b| *b == b',').collect();
    if parts.len() != expected {
        return Err(HostStatusError::FieldCount {
            line: number,
            expected,
            got: parts.len(),
        });
    }
    parts
        .iter()
        .enumerate()
        .map(|(index, part)| {
            let valid = !part.is_empty() && part.len() <= 9 && part.iter().all(u8::is_ascii_digit);
            valid
                .then(|| std::str::from_utf8(part).ok()?.parse::<u32>().ok())
                .flatten()
                .ok_or_else(|| HostStatusError::BadField {
                    line: number,
                    field: index + 1,
                    text: String::from_utf8_lossy(part).into_owned(),
                })
        })
        .collect()
}

fn parse_lines(line1: &[u8], line2: &[u8], line3: &[u8]) -> Result<HostStatus, HostStatusError> {
    let one = fields(line1, 1, 12)?;
    let two = fields(line2, 2, 11)?;
    fields(line3, 3, 2)?;
    let flag = |value: u32| value != 0;
    let clamp16 = |value: u32| u16::try_from(value).unwrap_or(u16::MAX);
    Ok(HostStatus {
        paper_out: flag(one[1]),
        paused: flag(one[2]),
        label_length_dots: clamp16(one[3]),
        formats_in_buffer: clamp16(one[4]),
        buffer_full: flag(one[5]),
        partial_format: flag(one[7]),
        corrupt_ram: flag(one[9]),
        under_temperature: flag(one[10]),
        over_temperature: flag(one[11]),
        head_up: flag(two[2]),
        ribbon_out: flag(two[3]),
        thermal_transfer: flag(two[4]),
        print_mode: u8::try_from(two[5]).unwrap_or(u8::MAX),
        label_waiting: flag(two[7]),
        labels_remaining: two[8],
        graphics_stored: clamp16(two[10]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_exact_and_round_trip() {
        let status = HostStatus {
            paused: true,
            label_length_dots: 1245,
            formats_in_buffer: 3,
            labels_remaining: 12,
            ..Default::default()
        };
        let bytes = status.encode();
        assert_eq!(
            bytes,
            b"\x02030,0,1,1245,003,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,0,0,0,0,00000012,1,000\x03\r\n\x021234,0\x03\r\n".to_vec()
        );
        assert_eq!(
            HostStatus::decode(&bytes),
            Decoded::Message {
                message: status,
                consumed: bytes.len()
            }
        );
        assert_eq!(
            status.faults(),
            vec!["printer paused: press pause or resume it"]
        );
        for cut in 0..bytes.len() {
            assert_eq!(HostStatus::decode(&bytes[..cut]), Decoded::Incomplete);
        }
    }
}
