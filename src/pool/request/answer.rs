//! Reading a serial source's answer (pure): the simulated / OPEN-SCS style site
//! server's `{"gtin": …, "serials": […]}` and QU4RTET SerialBox's allocation answer,
//! whose `numbers` field is a JSON list inside a string (`[first, last]` inclusive for
//! sequential pools, every number for randomized and list-based ones).
//!
//! Anything unexpected is refused with a message saying what was wrong; the serials
//! themselves are checked by the store's import.

use serde_json::Value;

/// Longest answer text quoted in a message.
const QUOTED: usize = 200;

/// Shortens an answer for a message.
pub fn quote(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(QUOTED) {
        Some((cut, _)) => format!("{:?}…", &text[..cut]),
        None => format!("{text:?}"),
    }
}

fn json(body: &str) -> Result<Value, String> {
    serde_json::from_str(body).map_err(|e| format!("the answer is not JSON ({e}): {}", quote(body)))
}

/// The serials of a site server's answer to a request for `asked` serials of `gtin`:
/// between 1 and `asked` of them, all strings, for that GTIN.
pub fn site_server_serials(body: &str, gtin: &str, asked: u64) -> Result<Vec<String>, String> {
    let value = json(body)?;
    let Some(object) = value.as_object() else {
        return Err(format!("expected a JSON object, got {}", quote(body)));
    };
    match object.get("gtin").and_then(Value::as_str) {
        Some(answered) if answered == gtin => {}
        Some(other) => {
            return Err(format!(
                "the answer is for GTIN {other}, not for the requested GTIN {gtin}"
            ));
        }
        None => return Err(format!("the answer has no \"gtin\": {}", quote(body))),
    }
    let Some(list) = object.get("serials").and_then(Value::as_array) else {
        return Err(format!(
            "the answer has no \"serials\" list: {}",
            quote(body)
        ));
    };
    let serials = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("serial {} of the answer is not a string: {v}", i + 1))
        })
        .collect::<Result<Vec<String>, String>>()?;
    check_count(serials.len() as u64, asked)?;
    Ok(serials)
}

/// The SSCCs of a site server's answer to a request for `asked` SSCCs under
/// `company_prefix`: `{"company_prefix": …, "ssccs": [18-digit strings]}`, between 1
/// and `asked` of them (each is checked by the store's import).
pub fn site_server_ssccs(
    body: &str,
    company_prefix: &str,
    asked: u64,
) -> Result<Vec<String>, String> {
    let value = json(body)?;
    let Some(object) = value.as_object() else {
        return Err(format!("expected a JSON object, got {}", quote(body)));
    };
    match object.get("company_prefix").and_then(Value::as_str) {
        Some(answered) if answered == company_prefix => {}
        Some(other) => {
            return Err(format!(
                "the answer is for company prefix {other}, not for the requested {company_prefix}"
            ));
        }
        None => {
            return Err(format!(
                "the answer has no \"company_prefix\": {}",
                quote(body)
            ));
        }
    }
    let Some(list) = object.get("ssccs").and_then(Value::as_array) else {
        return Err(format!("the answer has no \"ssccs\" list: {}", quote(body)));
    };
    let ssccs = list
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("SSCC {} of the answer is not a string: {v}", i + 1))
        })
        .collect::<Result<Vec<String>, String>>()?;
    check_count(ssccs.len() as u64, asked)?;
    Ok(ssccs)
}

/// The serials of a SerialBox allocation answer to a request for `asked` numbers.
pub fn serialbox_serials(body: &str, asked: u64) -> Result<Vec<String>, String> {
    let value = json(body)?;
    let Some(object) = value.as_object() else {
        return Err(format!("expected a JSON object, got {}", quote(body)));
    };
    // `numbers` is a string holding a JSON list; accept a plain list as well.
    let numbers = match object.get("numbers") {
        Some(Value::String(text)) => serde_json::from_str::<Value>(text).map_err(|e| {
            format!(
                "\"numbers\" does not hold a JSON list ({e}): {}",
                quote(text)
            )
        })?,
        Some(list @ Value::Array(_)) => list.clone(),
        Some(other) => {
            return Err(format!(
                "\"numbers\" is neither a list nor a string holding one: {}",
                quote(&other.to_string())
            ));
        }
        None => return Err(format!("the answer has no \"numbers\": {}", quote(body))),
    };
    let Value::Array(numbers) = numbers else {
        return Err(format!(
            "\"numbers\" does not hold a JSON list: {}",
            quote(&numbers.to_string())
        ));
    };
    let encoding = object
        .get("encoding")
        .and_then(Value::as_str)
        .unwrap_or("decimal");
    let kind = object.get("type").and_then(Value::as_str).unwrap_or("");
    let serials = match kind {
        "sequential" => sequential_range(&numbers, encoding, asked)?,
        "random" | "list" => numbers
            .iter()
            .enumerate()
            .map(|(i, n)| number_text(n, encoding).map_err(|e| format!("number {}: {e}", i + 1)))
            .collect::<Result<Vec<String>, String>>()?,
        other => {
            return Err(format!(
                "unknown allocation type {other:?}: expected \"sequential\", \"random\" or \"list\""
            ));
        }
    };
    if let Some(granted) = object.get("size_granted").filter(|v| !v.is_null()) {
        match granted.as_u64() {
            Some(g) if g == serials.len() as u64 => {}
            _ => {
                return Err(format!(
                    "\"size_granted\" is {granted} but \"numbers\" holds {} serials",
                    serials.len()
                ));
            }
        }
    }
    check_count(serials.len() as u64, asked)?;
    Ok(serials)
}

/// `[first, last]`, inclusive, decimal.
fn sequential_range(numbers: &[Value], encoding: &str, asked: u64) -> Result<Vec<String>, String> {
    if encoding != "decimal" {
        return Err(format!(
            "a sequential range in {encoding:?} encoding is not supported: configure the pool for decimal numbers"
        ));
    }
    let [first, last] = numbers else {
        return Err(format!(
            "a sequential allocation holds [first, last], not {} numbers",
            numbers.len()
        ));
    };
    let bound = |v: &Value, name: &str| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse::<u64>().ok()))
            .ok_or_else(|| format!("the {name} number of the range is not a whole number: {v}"))
    };
    let (first, last) = (bound(first, "first")?, bound(last, "last")?);
    if last < first {
        return Err(format!("the range [{first}, {last}] ends before it starts"));
    }
    // Checked before anything is expanded: a wild range must not exhaust memory.
    let count = (last - first).saturating_add(1);
    if count > asked {
        return Err(format!(
            "asked for {asked} serials but the range [{first}, {last}] holds {count}"
        ));
    }
    Ok((first..=last).map(|n| n.to_string()).collect())
}

fn number_text(value: &Value, encoding: &str) -> Result<String, String> {
    match value {
        Value::Number(n) if encoding == "decimal" => n
            .as_u64()
            .map(|n| n.to_string())
            .ok_or_else(|| format!("{n} is not a whole, non-negative number")),
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        other => Err(format!("{other} is not a {encoding} serial number")),
    }
}

fn check_count(got: u64, asked: u64) -> Result<(), String> {
    if got == 0 {
        return Err("the answer holds no serials (is the pool exhausted?)".to_string());
    }
    if got > asked {
        return Err(format!(
            "asked for {asked} serials but the answer holds {got}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_server_answer() {
        let body = r#"{"gtin":"09506000134352","serials":["100000001","100000002"]}"#;
        assert_eq!(
            site_server_serials(body, "09506000134352", 2).unwrap(),
            ["100000001", "100000002"]
        );
        assert!(site_server_serials(body, "09506000134352", 1).is_err());
        assert!(
            site_server_serials(body, "00312345678906", 2)
                .unwrap_err()
                .contains("GTIN")
        );
        assert!(site_server_serials("<html>", "09506000134352", 2).is_err());
        assert!(
            site_server_serials(
                r#"{"gtin":"09506000134352","serials":[1]}"#,
                "09506000134352",
                2
            )
            .unwrap_err()
            .contains("not a string")
        );
        assert!(
            site_server_serials(
                r#"{"gtin":"09506000134352","serials":[]}"#,
                "09506000134352",
                2
            )
            .is_err()
        );
    }

    #[test]
    fn site_server_sscc_answer() {
        let body =
            r#"{"company_prefix":"0614141","ssccs":["106141410000000013","106141410000000020"]}"#;
        assert_eq!(site_server_ssccs(body, "0614141", 2).unwrap().len(), 2);
        assert!(site_server_ssccs(body, "0614141", 1).is_err());
        let e = site_server_ssccs(body, "9506000", 2).unwrap_err();
        assert!(e.contains("company prefix 0614141"), "{e}");
        assert!(site_server_ssccs(r#"{"company_prefix":"0614141"}"#, "0614141", 2).is_err());
        assert!(
            site_server_ssccs(r#"{"company_prefix":"0614141","ssccs":[]}"#, "0614141", 2).is_err()
        );
    }

    #[test]
    fn serialbox_sequential_and_random() {
        let seq = r#"{"numbers":"[395, 404]","fulfilled":true,"type":"sequential","encoding":"decimal","size_granted":10}"#;
        let serials = serialbox_serials(seq, 10).unwrap();
        assert_eq!(serials.len(), 10);
        assert_eq!(serials.first().map(String::as_str), Some("395"));
        assert_eq!(serials.last().map(String::as_str), Some("404"));
        assert!(serialbox_serials(seq, 9).is_err());
        let rnd = r#"{"numbers":"[123456789012, 798922375433]","fulfilled":true,"type":"random","encoding":"decimal","size_granted":2}"#;
        assert_eq!(
            serialbox_serials(rnd, 5).unwrap(),
            ["123456789012", "798922375433"]
        );
    }

    #[test]
    fn serialbox_nonsense_is_refused() {
        for body in [
            r#"{"numbers":"[404, 395]","type":"sequential"}"#,
            r#"{"numbers":"[1, 2, 3]","type":"sequential"}"#,
            r#"{"numbers":"not a list","type":"random"}"#,
            r#"{"numbers":"[1, -2]","type":"random"}"#,
            r#"{"numbers":"[1, 2]","type":"random","size_granted":3}"#,
            r#"{"numbers":"[1, 2]","type":"mystery"}"#,
            r#"{"numbers":"[1, 18446744073709551615]","type":"sequential"}"#,
            r#"{"detail":"nope"}"#,
            "[]",
        ] {
            assert!(serialbox_serials(body, 1000).is_err(), "{body}");
        }
    }
}
