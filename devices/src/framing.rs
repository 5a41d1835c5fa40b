//! Shared pieces of every incremental wire decoder: the `Decoded` result of one
//! decoding step, bounded line framing with resynchronisation, and a helper that
//! drains a buffer into complete messages. Pure functions, no I/O.

/// Result of one step of an incremental decoder over a byte buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded<T, E> {
    /// The buffer holds no complete message yet; read more bytes and try again.
    Incomplete,
    /// A complete message, which used the first `consumed` bytes.
    Message { message: T, consumed: usize },
    /// The first `consumed` bytes are not a valid message; drop them (this is the resync).
    Garbage { error: E, consumed: usize },
    /// The first `consumed` bytes carry nothing (e.g. an empty line used to flush); drop them.
    Ignored { consumed: usize },
}

/// Finds the next line ending in `terminator` (a 1- or 2-byte sequence) within
/// `max_line` bytes. Returns `Message` with the line (terminator removed),
/// `Garbage` with `LineTooLong` when no terminator appears in time (dropping
/// everything up to and including the next terminator, or the whole buffer),
/// or `Incomplete`.
pub fn next_line<'a>(
    buf: &'a [u8],
    terminator: &[u8],
    max_line: usize,
) -> Decoded<&'a [u8], LineTooLong> {
    let limit = buf.len().min(max_line + terminator.len());
    if let Some(end) = find(&buf[..limit], terminator) {
        return Decoded::Message {
            message: &buf[..end],
            consumed: end + terminator.len(),
        };
    }
    if buf.len() < max_line + terminator.len() {
        return Decoded::Incomplete;
    }
    let consumed = find(buf, terminator).map_or(buf.len(), |end| end + terminator.len());
    Decoded::Garbage {
        error: LineTooLong { max_line },
        consumed,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A line exceeded the bound of its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    pub max_line: usize,
}

/// Runs a one-step decoder over `buf` until it needs more bytes. Returns every
/// message or error in order, and how many bytes were consumed (drop them from
/// the front of the buffer; keep the rest for the next read).
pub fn decode_all<T, E>(
    buf: &[u8],
    mut step: impl FnMut(&[u8]) -> Decoded<T, E>,
) -> (Vec<Result<T, E>>, usize) {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < buf.len() {
        match step(&buf[offset..]) {
            Decoded::Incomplete => break,
            Decoded::Message { message, consumed } => {
                out.push(Ok(message));
                offset += consumed.max(1);
            }
            Decoded::Garbage { error, consumed } => {
                out.push(Err(error));
                offset += consumed.max(1);
            }
            Decoded::Ignored { consumed } => offset += consumed.max(1),
        }
    }
    (out, offset.min(buf.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_resync() {
        assert_eq!(
            next_line(b"AB\rC", b"\r", 8),
            Decoded::Message {
                message: &b"AB"[..],
                consumed: 3
            }
        );
        assert_eq!(next_line(b"ABC", b"\r", 8), Decoded::Incomplete);
        assert_eq!(
            next_line(b"0123456789\rX", b"\r", 8),
            Decoded::Garbage {
                error: LineTooLong { max_line: 8 },
                consumed: 11
            }
        );
        assert_eq!(
            next_line(b"x\r\n", b"\r\n", 8),
            Decoded::Message {
                message: &b"x"[..],
                consumed: 3
            }
        );
    }
}
