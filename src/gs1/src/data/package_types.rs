//! Package type codes for AI 7041: UN/ECE Recommendation 21 codes and the GS1
//! additions for pallets and returnable assets.

/// Sorted codes.
pub const PACKAGE_TYPES: &[&str] = &[
    "1A", "1B", "1D", "1F", "1G", "1W", "200", "201", "202", "203", "204", "205", "206", "210",
    "211", "212", "2C", "3A", "3H", "43", "44", "4A", "4B", "4C", "4D", "4F", "4G", "4H", "5H",
    "5L", "5M", "6H", "6P", "7A", "7B", "8A", "8B", "8C", "AA", "AB", "AC", "AD", "AE", "AF", "AG",
    "AH", "AI", "AJ", "AL", "AM", "AP", "APE", "AT", "AV", "B4", "BA", "BB", "BC", "BD", "BE",
    "BF", "BG", "BGE", "BH", "BI", "BJ", "BK", "BL", "BM", "BME", "BN", "BO", "BP", "BQ", "BR",
    "BRI", "BS", "BT", "BU", "BV", "BW", "BX", "BY", "BZ", "CA", "CB", "CBL", "CC", "CCE", "CD",
    "CE", "CF", "CG", "CH", "CI", "CJ", "CK", "CL", "CM", "CN", "CO", "CP", "CQ", "CR", "CS", "CT",
    "CU", "CV", "CW", "CX", "CY", "CZ", "DA", "DB", "DC", "DG", "DH", "DI", "DJ", "DK", "DL", "DM",
    "DN", "DP", "DPE", "DR", "DS", "DT", "DU", "DV", "DW", "DX", "DY", "EC", "ED", "EE", "EF",
    "EG", "EH", "EI", "EN", "FB", "FC", "FD", "FE", "FI", "FL", "FO", "FP", "FPE", "FR", "FT",
    "FW", "FX", "GB", "GI", "GL", "GR", "GU", "GY", "GZ", "HA", "HB", "HC", "HG", "HN", "HR", "IA",
    "IB", "IC", "ID", "IE", "IF", "IG", "IH", "IK", "IL", "IN", "IZ", "JB", "JC", "JG", "JR", "JT",
    "JY", "KG", "KI", "LAB", "LE", "LG", "LT", "LU", "LV", "LZ", "MA", "MB", "MC", "ME", "MPE",
    "MR", "MS", "MT", "MW", "MX", "NA", "NE", "NF", "NG", "NS", "NT", "NU", "NV", "OA", "OB", "OC",
    "OD", "OE", "OF", "OK", "OPE", "OT", "OU", "P2", "PA", "PAE", "PB", "PC", "PD", "PE", "PF",
    "PG", "PH", "PI", "PJ", "PK", "PL", "PLP", "PN", "PO", "PP", "PR", "PT", "PU", "PV", "PX",
    "PY", "PZ", "QA", "QB", "QC", "QD", "QF", "QG", "QH", "QJ", "QK", "QL", "QM", "QN", "QP", "QQ",
    "QR", "QS", "RD", "RG", "RJ", "RK", "RL", "RO", "RO1", "RO2", "RO3", "RT", "RUE", "RZ", "SA",
    "SB", "SC", "SD", "SE", "SEC", "SH", "SI", "SK", "SL", "SM", "SO", "SP", "SS", "ST", "STL",
    "SU", "SV", "SW", "SX", "SY", "SZ", "T1", "TB", "TC", "TD", "TE", "TEU", "TG", "TI", "TK",
    "TKE", "TL", "TN", "TO", "TR", "TRE", "TS", "TT", "TTE", "TU", "TV", "TW", "TWE", "TY", "TZ",
    "UC", "UN", "UUE", "VA", "VG", "VI", "VK", "VL", "VN", "VO", "VP", "VQ", "VR", "VS", "VY",
    "WA", "WB", "WC", "WD", "WF", "WG", "WH", "WJ", "WK", "WL", "WM", "WN", "WP", "WQ", "WR",
    "WRP", "WS", "WT", "WU", "WV", "WW", "WX", "WY", "WZ", "XA", "XB", "XC", "XD", "XF", "XG",
    "XH", "XJ", "XK", "YA", "YB", "YC", "YD", "YF", "YG", "YH", "YJ", "YK", "YL", "YM", "YN", "YP",
    "YQ", "YR", "YS", "YT", "YV", "YW", "YX", "YY", "YZ", "ZA", "ZB", "ZC", "ZD", "ZF", "ZG", "ZH",
    "ZJ", "ZK", "ZL", "ZM", "ZN", "ZP", "ZQ", "ZR", "ZS", "ZT", "ZU", "ZV", "ZW", "ZX", "ZY", "ZZ",
];

/// True if `code` is a known package type code.
pub fn is_package_type(code: &str) -> bool {
    PACKAGE_TYPES.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sorted() {
        assert!(
            super::PACKAGE_TYPES.windows(2).all(|w| w[0] < w[1]),
            "list must stay sorted"
        );
        assert!(super::is_package_type("CT"));
        assert!(super::is_package_type("PX"));
        assert!(!super::is_package_type("Q9"));
    }
}
