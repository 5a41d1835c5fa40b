//! Checks across the client files loaded together (`config check` and `config load`
//! with several files or a folder): one client, or one product GTIN, defined in two
//! files must be defined identically there. Otherwise the file read last would
//! silently win, and which one that is depends on file names.

use std::collections::BTreeMap;

use crate::config::file::ConfigReport;
use crate::config::located::{ConfigIssue, Severity};
use crate::config::model::{Client, Product};

/// A definition seen in an earlier file: where, and what.
#[derive(Debug, Clone)]
struct Seen<T> {
    file: String,
    line: usize,
    value: T,
}

impl<T> Seen<T> {
    fn place(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }
}

/// The clients and products of the files checked so far.
#[derive(Debug, Default)]
pub struct AcrossFiles {
    clients: BTreeMap<String, Seen<Client>>,
    products: BTreeMap<String, Seen<Product>>,
}

impl AcrossFiles {
    pub fn new() -> AcrossFiles {
        AcrossFiles::default()
    }

    /// Checks the valid configuration of `report` (read from `file`) against the
    /// files checked before, then remembers its client and products. A client or a
    /// GTIN defined differently in an earlier file is an error in `report` (naming
    /// both files), and its configuration is then dropped. Identical definitions are
    /// accepted: loading them twice changes nothing.
    pub fn check(&mut self, file: &str, report: &mut ConfigReport) {
        let Some(config) = &report.config else {
            return;
        };
        let mut issues = Vec::new();
        let client = &config.client;
        let (line, column) = report.defined_at.client;
        match self.clients.get(&client.id) {
            Some(first) if first.value != *client => {
                let differences = client_differences(&first.value, client);
                issues.push(ConfigIssue {
                    severity: Severity::Error,
                    file: file.to_string(),
                    line,
                    column,
                    field: "client.id".to_string(),
                    message: format!(
                        "client {} is already defined in {}, differently ({} {}): a client must have one definition; make the two identical, or define the client in one file only",
                        client.id,
                        first.place(),
                        differences.join(", "),
                        differ_word(differences.len()),
                    ),
                });
            }
            Some(_) => {}
            None => {
                self.clients.insert(
                    client.id.clone(),
                    Seen {
                        file: file.to_string(),
                        line,
                        value: client.clone(),
                    },
                );
            }
        }
        for (i, product) in config.products.iter().enumerate() {
            let (line, column) = report.defined_at.products.get(i).copied().unwrap_or((0, 0));
            let gtin = product.gtin.to_string();
            match self.products.get(&gtin) {
                Some(first) if first.value != *product => {
                    let differences = product_differences(&first.value, product);
                    issues.push(ConfigIssue {
                        severity: Severity::Error,
                        file: file.to_string(),
                        line,
                        column,
                        field: format!("product[{}].gtin", i + 1),
                        message: format!(
                            "GTIN {gtin} is already defined in {}, differently ({} {}): a product must have one definition; make the two identical, or define the product in one file only",
                            first.place(),
                            differences.join(", "),
                            differ_word(differences.len()),
                        ),
                    });
                }
                Some(_) => {}
                None => {
                    self.products.insert(
                        gtin,
                        Seen {
                            file: file.to_string(),
                            line,
                            value: product.clone(),
                        },
                    );
                }
            }
        }
        if !issues.is_empty() {
            report.config = None;
            report.issues.extend(issues);
        }
    }
}

fn differ_word(count: usize) -> &'static str {
    if count == 1 { "differs" } else { "differ" }
}

/// The parts of two definitions of one client that differ, by their names in the file.
fn client_differences(a: &Client, b: &Client) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.name != b.name {
        out.push("name");
    }
    if a.serial_source != b.serial_source {
        out.push("serial_source");
    }
    if a.upload != b.upload {
        out.push("upload");
    }
    if a.sscc != b.sscc {
        out.push("sscc");
    }
    out
}

/// The parts of two definitions of one product that differ, by their names in the file.
fn product_differences(a: &Product, b: &Product) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.client_id != b.client_id {
        out.push("client");
    }
    if a.name != b.name {
        out.push("name");
    }
    if a.company_prefix_length != b.company_prefix_length {
        out.push("company_prefix_length");
    }
    if a.markets != b.markets {
        out.push("markets");
    }
    if a.code_template != b.code_template {
        out.push("code_template");
    }
    if a.nhrn != b.nhrn {
        out.push("nhrn");
    }
    if a.min_grade != b.min_grade {
        out.push("min_grade");
    }
    if a.low_water_mark != b.low_water_mark {
        out.push("low_water_mark");
    }
    if a.consecutive_reject_limit != b.consecutive_reject_limit {
        out.push("consecutive_reject_limit");
    }
    if a.aggregation != b.aggregation {
        out.push("aggregation");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_client_config;

    const A: &str = r#"[client]
id = "acme"
name = "Acme"
serial_source = { kind = "local" }

[client.upload]
format = "epcis2-jsonld"
url = "https://l3.example.com/capture"

[[product]]
gtin = "09506000134352"
name = "Examplamol"
company_prefix_length = 7
markets = ["DE"]
code_template = ["01", "17", "10", "21", "710"]
nhrn = { 710 = "12345678" }
min_grade = 1.5
low_water_mark = 100
consecutive_reject_limit = 3
"#;

    fn errors(report: &ConfigReport) -> Vec<String> {
        report.errors().map(ToString::to_string).collect()
    }

    #[test]
    fn identical_definitions_pass_and_different_ones_name_both_files() {
        let mut across = AcrossFiles::new();
        let mut first = parse_client_config("a.toml", A);
        across.check("a.toml", &mut first);
        assert!(first.config.is_some() && errors(&first).is_empty());

        // The same file again: nothing to report.
        let mut same = parse_client_config("b.toml", A);
        across.check("b.toml", &mut same);
        assert!(same.config.is_some(), "{:?}", errors(&same));

        // The client's name differs: an error in the second file naming the first.
        let mut renamed = parse_client_config("c.toml", &A.replace("\"Acme\"", "\"Acme AG\""));
        across.check("c.toml", &mut renamed);
        assert!(renamed.config.is_none());
        let e = errors(&renamed);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].starts_with("c.toml:2:6: error: client.id: client acme is already defined in a.toml:2, differently (name differs)"),
            "{e:?}"
        );

        // A GTIN of another client: an error naming both files and the GTIN.
        let other = A
            .replace("\"acme\"", "\"other\"")
            .replace("min_grade = 1.5", "min_grade = 2.0");
        let mut other = parse_client_config("d.toml", &other);
        across.check("d.toml", &mut other);
        let e = errors(&other);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            e[0].contains("d.toml:11:8: error: product[1].gtin: GTIN 09506000134352 is already defined in a.toml:11, differently (client, min_grade differ)"),
            "{e:?}"
        );
    }
}
