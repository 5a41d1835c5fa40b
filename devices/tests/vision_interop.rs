// Vision interoperability: symbols made here are read as GS1 (`]d2`, same AIs) by
// independent decoders (zxing-cpp, libdmtx's dmtxread), and symbols made by an
// independent encoder (zint) are read here. Tools are found through
// SERIALSTATION_ZINT, SERIALSTATION_DMTXREAD and SERIALSTATION_PYTHON (a python with
// the zxingcpp module), else on PATH or in target/pyvenv. A missing tool skips the
// test, except when CI is set, where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serialstation_devices::vision::{EncodeOptions, decode_image, encode_text};

const CARTON: &str = "(01)09506000134352(17)270131(10)ABC123(21)SN0000001";
const CARTON_SCAN: &str = "01095060001343521727013110ABC123\u{1d}21SN0000001";

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|p| p.is_file())
}

fn tool(env: &str, name: &str) -> Option<PathBuf> {
    match std::env::var_os(env) {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => on_path(name),
    }
}

fn python_with_zxingcpp() -> Option<PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyvenv/bin/python");
    let candidates: Vec<PathBuf> = match std::env::var_os("SERIALSTATION_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => [Some(venv), on_path("python3")]
            .into_iter()
            .flatten()
            .collect(),
    };
    candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import zxingcpp"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// The tool, or `None` after printing the skip line (panics under CI).
fn require(found: Option<PathBuf>, what: &str) -> Option<PathBuf> {
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("{what} not installed (required when CI is set)");
        }
        println!("skipped: {what} not installed");
    }
    found
}

fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "serialstation-vision-{}-{test}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn zxing_cpp_reads_our_symbols_as_gs1() {
    let Some(python) = require(python_with_zxingcpp(), "zxing-cpp (python)") else {
        return;
    };
    let dir = scratch_dir("zxing");
    let path = dir.join("carton.png");
    encode_text(CARTON, &EncodeOptions::default())
        .unwrap()
        .image
        .save(&path)
        .unwrap();
    let script = "import sys, zxingcpp\nfrom PIL import Image\n\
        r = zxingcpp.read_barcode(Image.open(sys.argv[1]), formats=zxingcpp.BarcodeFormat.DataMatrix)\n\
        print(r.symbology_identifier); print(r.text)";
    let out = Command::new(python)
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"]d2"),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines.get(1), Some(&CARTON), "{stdout}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn dmtxread_reads_our_symbols_with_fnc1() {
    let Some(dmtxread) = require(
        tool("SERIALSTATION_DMTXREAD", "dmtxread"),
        "dmtxread (dmtx-utils)",
    ) else {
        return;
    };
    let dir = scratch_dir("dmtx");
    let path = dir.join("carton.png");
    encode_text(CARTON, &EncodeOptions::default())
        .unwrap()
        .image
        .save(&path)
        .unwrap();
    let out = Command::new(dmtxread)
        .args(["-n", "-G", "29"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // dmtxread prints every FNC1 as GS, including the leading one (GS1 mode).
    let text = String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_string();
    assert_eq!(text, format!("\u{1d}{CARTON_SCAN}"));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn we_read_zint_gs1_symbols() {
    let Some(zint) = require(tool("SERIALSTATION_ZINT", "zint"), "zint") else {
        return;
    };
    let dir = scratch_dir("zint");
    for (i, (data, expected)) in [
        (
            "[01]09506000134352[17]270131[10]ABC123[21]SN0000001",
            CARTON_SCAN,
        ),
        (
            "[01]09506000134352[21]12345678901234567890",
            "010950600013435221123456789012345678 90",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let expected = expected.replace(' ', "");
        let path = dir.join(format!("zint{i}.png"));
        let out = Command::new(&zint)
            .args([
                "-b",
                "71",
                "--gs1",
                "--scale=4",
                "--quietzones",
                "-d",
                data,
                "-o",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let image = image::open(&path).unwrap().to_luma8();
        let decoded = decode_image(&image).unwrap();
        assert_eq!(decoded.symbology_identifier, "]d2");
        assert_eq!(decoded.text, expected);
        assert!(decoded.is_valid_gs1());
    }
    let _ = std::fs::remove_dir_all(dir);
}
