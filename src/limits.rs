//! Upper bounds on every count an operator, a file or a peer can ask for, with the
//! reason for each. A request above its bound is refused at once with a message
//! that names the bound and what to do; nothing is started.

/// Packs in one batch. A line at 400 packs a minute makes about 576,000 a day, so this
/// is over two weeks of non-stop running: larger is a typing error, not a batch.
pub const MAX_BATCH_QUANTITY: u64 = 10_000_000;

/// Known-bad items in a challenge test. A challenge proves the reject path with a
/// handful of items; every one is a blank that runs the length of the line.
pub const MAX_CHALLENGE_ITEMS: u32 = 100;

/// Serials one `pool generate` adds. One transaction holds them (all or nothing), so
/// its size is bounded; run the command again for more.
pub const MAX_GENERATE_COUNT: u64 = 10_000_000;

/// Serials one `pool request` asks a site server or SerialBox for.
pub const MAX_REQUEST_COUNT: u64 = 1_000_000;

/// Lines one `pool import` file may hold (all or nothing, in one transaction).
pub const MAX_IMPORT_LINES: u64 = 10_000_000;

/// Items of one demo batch.
pub const MAX_DEMO_ITEMS: u64 = 1_000_000;

/// Checks `value` (named `what` on the command line) against `1..=max`.
pub fn check_count(what: &str, value: u64, max: u64, advice: &str) -> Result<(), String> {
    if value == 0 {
        return Err(format!("{what} 0: give at least 1"));
    }
    if value > max {
        return Err(format!(
            "{what} {} is more than the {} allowed at once: {advice}",
            thousands(value),
            thousands(max)
        ));
    }
    Ok(())
}

/// Checks a batch start's quantity and challenge size: the daemon applies it to every
/// request on its socket, the CLI before it sends one.
pub fn check_batch_start(quantity: u64, challenge: u64) -> Result<(), String> {
    check_count(
        "quantity",
        quantity,
        MAX_BATCH_QUANTITY,
        "split the order into several batches",
    )?;
    if challenge > u64::from(MAX_CHALLENGE_ITEMS) {
        return Err(format!(
            "a challenge test of {} items is more than the {MAX_CHALLENGE_ITEMS} allowed: a challenge \
             proves the reject path with a few known-bad items; give --challenge {MAX_CHALLENGE_ITEMS} or fewer",
            thousands(challenge)
        ));
    }
    Ok(())
}

/// A count with thousands separators, as operators read large numbers.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_bounded_with_a_readable_message() {
        assert!(check_count("--count", 1, 10, "x").is_ok());
        assert!(check_count("--count", 10, 10, "x").is_ok());
        let zero = check_count("--count", 0, 10, "x").unwrap_err();
        assert!(zero.contains("at least 1"), "{zero}");
        let big =
            check_count("--count", 4_000_000_000, MAX_GENERATE_COUNT, "run it again").unwrap_err();
        assert_eq!(
            big,
            "--count 4,000,000,000 is more than the 10,000,000 allowed at once: run it again"
        );
    }

    #[test]
    fn batch_starts_are_bounded() {
        assert!(check_batch_start(5000, 10).is_ok());
        assert!(check_batch_start(0, 0).unwrap_err().contains("quantity 0"));
        let challenge = check_batch_start(100, 4_000_000_000).unwrap_err();
        assert!(challenge.contains("4,000,000,000"), "{challenge}");
        assert!(!challenge.contains(".."), "{challenge}");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
