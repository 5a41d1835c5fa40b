//! Reading pool files, streaming: either one serial per line, or CSV with a header
//! row and a named column. Yields each serial with its 1-based line number, or a
//! problem with the line number; it checks the file's form only (encoding, empty
//! lines, CSV structure). What a serial may contain is checked by the store on
//! import ([`super::check_serial_text`]).
//!
//! Lines end in `\n` or `\r\n`; a UTF-8 byte-order mark at the start is ignored; a
//! final line without a newline counts. Nothing is trimmed: a stray space is reported,
//! never silently removed.

use std::io::BufRead;

use super::{LineProblem, SerialLine};

/// A pool file that cannot be read at all (as opposed to problems on single lines).
#[derive(Debug, thiserror::Error)]
pub enum SerialFileError {
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty: a CSV pool file needs a header row naming the column {0:?}")]
    NoHeader(String),
    #[error("the CSV header (line 1) has no column {wanted:?}; its columns are: {found}")]
    NoSuchColumn { wanted: String, found: String },
    #[error("the CSV header (line 1) cannot be read: {0}")]
    BadHeader(String),
}

enum Layout {
    Plain,
    Csv { column: usize, delimiter: u8 },
}

/// Streams the serials of a pool file; see the module documentation.
pub struct SerialFileReader<R> {
    input: R,
    layout: Layout,
    line_no: u64,
    buf: Vec<u8>,
    finished: bool,
}

impl<R: BufRead> SerialFileReader<R> {
    /// One serial per line.
    pub fn plain(input: R) -> SerialFileReader<R> {
        SerialFileReader {
            input,
            layout: Layout::Plain,
            line_no: 0,
            buf: Vec::with_capacity(64),
            finished: false,
        }
    }

    /// CSV with a header row; serials are taken from the column named `column`.
    pub fn csv(
        mut input: R,
        column: &str,
        delimiter: u8,
    ) -> Result<SerialFileReader<R>, SerialFileError> {
        let mut buf = Vec::new();
        if input.read_until(b'\n', &mut buf)? == 0 {
            return Err(SerialFileError::NoHeader(column.to_string()));
        }
        let header = std::str::from_utf8(strip_line_end(strip_bom(&buf)))
            .map_err(|_| SerialFileError::BadHeader("it is not valid UTF-8".to_string()))?;
        let names = split_csv_record(header, delimiter).map_err(SerialFileError::BadHeader)?;
        let index = names.iter().position(|n| n == column).ok_or_else(|| {
            SerialFileError::NoSuchColumn {
                wanted: column.to_string(),
                found: names
                    .iter()
                    .map(|n| format!("{n:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            }
        })?;
        Ok(SerialFileReader {
            input,
            layout: Layout::Csv {
                column: index,
                delimiter,
            },
            line_no: 1,
            buf,
            finished: false,
        })
    }

    fn problem(&self, reason: impl Into<String>) -> LineProblem {
        LineProblem {
            line: self.line_no,
            reason: reason.into(),
        }
    }
}

impl<R: BufRead> Iterator for SerialFileReader<R> {
    type Item = Result<SerialLine, LineProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        self.buf.clear();
        match self.input.read_until(b'\n', &mut self.buf) {
            Ok(0) => {
                self.finished = true;
                return None;
            }
            Ok(_) => self.line_no += 1,
            Err(e) => {
                self.finished = true;
                self.line_no += 1;
                return Some(Err(self.problem(format!("cannot read the file here: {e}"))));
            }
        }
        let raw = if self.line_no == 1 {
            strip_bom(&self.buf)
        } else {
            &self.buf[..]
        };
        let line = match std::str::from_utf8(strip_line_end(raw)) {
            Ok(line) => line,
            Err(_) => return Some(Err(self.problem("the line is not valid UTF-8 text"))),
        };
        if line.is_empty() {
            return Some(Err(self.problem("empty line")));
        }
        let serial = match self.layout {
            Layout::Plain => line.to_string(),
            Layout::Csv { column, delimiter } => match split_csv_record(line, delimiter) {
                Err(reason) => return Some(Err(self.problem(reason))),
                Ok(mut fields) if column < fields.len() => fields.swap_remove(column),
                Ok(fields) => {
                    return Some(Err(self.problem(format!(
                        "the row has {} field(s); the serial column is number {}",
                        fields.len(),
                        column + 1
                    ))));
                }
            },
        };
        Some(Ok(SerialLine {
            line: self.line_no,
            serial,
        }))
    }
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

fn strip_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// Splits one CSV record (RFC 4180 quoting: `"a,b"`, `"say ""hi"""`).
pub fn split_csv_record(line: &str, delimiter: u8) -> Result<Vec<String>, String> {
    let delimiter = char::from(delimiter);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut at_field_start = true;
    let mut in_quotes = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    in_quotes = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        if c == delimiter {
            fields.push(std::mem::take(&mut field));
            at_field_start = true;
            was_quoted = false;
        } else if c == '"' && at_field_start {
            in_quotes = true;
            was_quoted = true;
            at_field_start = false;
        } else if was_quoted {
            return Err(format!(
                "unexpected {c:?} after a closing quote in field {}",
                fields.len() + 1
            ));
        } else {
            field.push(c);
            at_field_start = false;
        }
    }
    if in_quotes {
        return Err(format!(
            "field {} opens a quote that is never closed",
            fields.len() + 1
        ));
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_plain(text: &str) -> Vec<Result<(u64, String), (u64, String)>> {
        SerialFileReader::plain(text.as_bytes())
            .map(|r| {
                r.map(|s| (s.line, s.serial))
                    .map_err(|p| (p.line, p.reason))
            })
            .collect()
    }

    #[test]
    fn plain_lines_keep_numbers_and_report_empty_lines() {
        let got = read_plain("\u{feff}A1\r\nB2\n\nC3");
        assert_eq!(got[0], Ok((1, "A1".to_string())));
        assert_eq!(got[1], Ok((2, "B2".to_string())));
        assert_eq!(got[2], Err((3, "empty line".to_string())));
        assert_eq!(got[3], Ok((4, "C3".to_string())));
        assert_eq!(got.len(), 4);
        assert!(read_plain("").is_empty());
        assert_eq!(read_plain("X\n").len(), 1);
    }

    #[test]
    fn invalid_utf8_is_a_line_problem() {
        let bytes: &[u8] = b"OK1\n\xff\xfe\nOK3\n";
        let got: Vec<_> = SerialFileReader::plain(bytes).collect();
        assert!(got[0].is_ok());
        assert_eq!(got[1].as_ref().map_err(|p| p.line), Err(2));
        assert!(got[2].is_ok());
    }

    #[test]
    fn csv_takes_the_named_column_with_quoting() {
        let text = "gtin,serial,note\n09506000134352,\"A,1\",x\n09506000134352,\"B\"\"2\",\n09506000134352\n";
        let reader =
            SerialFileReader::csv(text.as_bytes(), "serial", b',').map_err(|e| e.to_string());
        let got: Vec<_> = match reader {
            Ok(r) => r.collect(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            got[0].as_ref().map(|s| (s.line, s.serial.as_str())),
            Ok((2, "A,1"))
        );
        assert_eq!(
            got[1].as_ref().map(|s| (s.line, s.serial.as_str())),
            Ok((3, "B\"2"))
        );
        assert_eq!(got[2].as_ref().map_err(|p| p.line), Err(4));
    }

    #[test]
    fn csv_header_without_the_column_names_the_columns() {
        let err = SerialFileReader::csv("a;b\n1;2\n".as_bytes(), "serial", b';')
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("the CSV header (line 1) has no column \"serial\"; its columns are: \"a\", \"b\"")
        );
    }

    #[test]
    fn csv_quote_errors() {
        assert!(split_csv_record("\"abc", b',').is_err());
        assert!(split_csv_record("\"a\"b", b',').is_err());
        assert_eq!(
            split_csv_record("a,,b", b','),
            Ok(vec!["a".into(), "".into(), "b".into()])
        );
    }
}
