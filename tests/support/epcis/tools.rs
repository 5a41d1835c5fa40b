//! Test support for the upload tests: finds the official EPCIS schemas in
//! `../shared/epcis` and the independent validators (Python `jsonschema` and the GS1
//! reference event-hash implementation in `target/pyvenv`, `xmllint` for the 1.2 XSD),
//! and runs them on documents the tests wrote.
//!
//! A missing piece is a skip with a clear message, except under `CI`, where it fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/epcis` next to the repository, or `None` after printing why the test skips.
pub fn shared_epcis() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/epcis");
    if dir.join("JSON-Schema").is_dir() && dir.join("XSL/1.2/XSD").is_dir() {
        Some(dir)
    } else {
        println!("skipped: ../shared/epcis not present");
        None
    }
}

/// Skips (prints and returns false) or, under `CI`, fails when a tool is missing.
fn tool_present(present: bool, what: &str, install: &str) -> bool {
    if present {
        return true;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{what} is missing, and CI must run this check; install it with: {install}");
    }
    println!("skipped: {what} not installed ({install})");
    false
}

fn venv_python() -> PathBuf {
    repo_root().join("target/pyvenv/bin/python")
}

fn python_has(module: &str) -> bool {
    Command::new(venv_python())
        .args(["-c", &format!("import {module}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Python with `jsonschema`, if present.
pub fn json_schema_validator() -> Option<PathBuf> {
    tool_present(
        python_has("jsonschema"),
        "python jsonschema in target/pyvenv",
        "target/pyvenv/bin/pip install jsonschema",
    )
    .then(venv_python)
}

/// Python with the GS1 reference event-hash implementation, if present.
pub fn event_hash_oracle() -> Option<PathBuf> {
    tool_present(
        python_has("epcis_event_hash_generator"),
        "python epcis-event-hash-generator in target/pyvenv",
        "target/pyvenv/bin/pip install epcis-event-hash-generator",
    )
    .then(venv_python)
}

/// `xmllint`, if present.
pub fn xmllint() -> Option<PathBuf> {
    let present = Command::new("xmllint")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    tool_present(present, "xmllint", "apt-get install libxml2-utils")
        .then(|| PathBuf::from("xmllint"))
}

fn helper_script() -> PathBuf {
    repo_root().join("tests/support/epcis/epcis_check.py")
}

/// Validates JSON documents against the official EPCIS 2.0 JSON schema; returns one
/// `(file, Ok | Err(reason))` per file.
pub fn validate_json(
    python: &Path,
    shared: &Path,
    files: &[PathBuf],
) -> Vec<(PathBuf, Result<(), String>)> {
    let output = Command::new(python)
        .arg(helper_script())
        .arg("json-schema")
        .arg(shared)
        .args(files)
        .output()
        .expect("running the JSON schema helper");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.code() == Some(0) || output.status.code() == Some(1),
        "JSON schema helper failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    files
        .iter()
        .map(|file| {
            let name = file.display().to_string();
            let verdict = stdout
                .lines()
                .find_map(|line| {
                    if line == format!("valid: {name}") {
                        Some(Ok(()))
                    } else {
                        line.strip_prefix(&format!("invalid: {name}: "))
                            .map(|why| Err(why.to_string()))
                    }
                })
                .unwrap_or_else(|| Err(format!("no verdict from the helper: {stdout}")));
            (file.clone(), verdict)
        })
        .collect()
}

/// Validates an EPCIS 1.2 XML document against the official 1.2 XSD.
pub fn validate_xml12(xmllint: &Path, shared: &Path, file: &Path) -> Result<(), String> {
    let output = Command::new(xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(shared.join("XSL/1.2/XSD/EPCglobal-epcis-1_2.xsd"))
        .arg(file)
        .output()
        .expect("running xmllint");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr)
            .chars()
            .take(2000)
            .collect())
    }
}

/// The event hash IDs the GS1 reference implementation computes for a document.
pub fn reference_event_hashes(python: &Path, file: &Path) -> Vec<String> {
    let output = Command::new(python)
        .arg(helper_script())
        .arg("event-hashes")
        .arg(file)
        .output()
        .expect("running the event hash helper");
    assert!(
        output.status.success(),
        "event hash helper failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
