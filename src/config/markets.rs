//! The markets the station knows, and what each market's regulation asks of the code
//! on the pack. Data only.
//!
//! - EU FMD (Delegated Regulation (EU) 2016/161): EU member states, Iceland,
//!   Liechtenstein, Norway and Northern Ireland (`XI`). The unique identifier carries
//!   product code, serial, batch and expiry; serials must be randomised so that the
//!   chance of guessing one is below 1 in 10,000.
//! - US DSCSA: GTIN, serial, lot and expiry.
//! - Others: the station's own minimum (GTIN and serial).

/// The regulation a market's packs follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Regime {
    EuFmd,
    UsDscsa,
    Other,
}

impl Regime {
    /// AIs the code template must contain for this regime.
    pub fn required_ais(self) -> &'static [&'static str] {
        match self {
            Regime::EuFmd | Regime::UsDscsa => &["01", "21", "10", "17"],
            Regime::Other => &["01", "21"],
        }
    }

    /// True if serials must be randomised (not sequential).
    pub fn requires_random_serials(self) -> bool {
        self == Regime::EuFmd
    }

    pub fn name(self) -> &'static str {
        match self {
            Regime::EuFmd => "EU FMD",
            Regime::UsDscsa => "US DSCSA",
            Regime::Other => "no serialization regulation known to the station",
        }
    }
}

const EU_FMD: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "XI",
];

const OTHER: &[&str] = &[
    "CH", "GB", "BR", "CN", "KR", "SA", "AE", "TR", "RU", "KZ", "IN", "JO", "EG", "AR", "CA", "AU",
    "JP",
];

/// The regime of a market code (upper-case ISO 3166 alpha-2, or `XI`), if known.
pub fn regime(market: &str) -> Option<Regime> {
    if EU_FMD.contains(&market) {
        Some(Regime::EuFmd)
    } else if market == "US" {
        Some(Regime::UsDscsa)
    } else if OTHER.contains(&market) {
        Some(Regime::Other)
    } else {
        None
    }
}

/// Every known market code, for messages.
pub fn known_markets() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = EU_FMD.iter().chain(OTHER).copied().chain(["US"]).collect();
    all.sort_unstable();
    all
}

/// The country a national healthcare reimbursement number AI belongs to, if one.
pub fn nhrn_market(ai: &str) -> Option<(&'static str, &'static str)> {
    match ai {
        "710" => Some(("DE", "PZN")),
        "711" => Some(("FR", "CIP")),
        "712" => Some(("ES", "CN")),
        "713" => Some(("BR", "DRN")),
        "714" => Some(("PT", "AIM")),
        "715" => Some(("US", "NDC")),
        "716" => Some(("IT", "AIC")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regimes() {
        assert_eq!(regime("DE"), Some(Regime::EuFmd));
        assert_eq!(regime("US"), Some(Regime::UsDscsa));
        assert_eq!(regime("CH"), Some(Regime::Other));
        assert_eq!(regime("de"), None);
        assert_eq!(regime("ZZ"), None);
        assert!(known_markets().contains(&"XI"));
    }
}
