// `serialstation vision` command-line contract: encode to PNG, decode with --json,
// exit codes for invalid data and no-reads.

use std::process::Command;

fn serialstation() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serialstation"))
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "serialstation-vision-cli-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn encode_then_decode_json_round_trip() {
    let dir = scratch("roundtrip");
    let png = dir.join("code.png");
    let out = serialstation()
        .args([
            "vision",
            "encode",
            "(01)09506000134352(17)270131(10)ABC123(21)SN0000001",
            "-o",
        ])
        .arg(&png)
        .args(["--module-px", "8", "--quiet-zone", "2"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = serialstation()
        .args(["vision", "decode", "--json"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["symbology"], "]d2");
    assert_eq!(json["gs1"], true);
    assert_eq!(
        json["hri"],
        "(01)09506000134352(17)270131(10)ABC123(21)SN0000001"
    );
    assert_eq!(json["ais"][3]["ai"], "21");
    assert_eq!(json["ais"][3]["value"], "SN0000001");
    assert_eq!(json["grade"]["overall"], 4.0);
    assert_eq!(json["grade"]["letter"], "A");
    assert_eq!(json["grade"]["formatted"], "4.0/05/660");
    assert_eq!(json["grade"]["parameters"]["symbol_contrast"]["grade"], 4);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn rectangle_shape_and_plain_text_output() {
    let dir = scratch("rect");
    let png = dir.join("rect.png");
    let out = serialstation()
        .args(["vision", "encode", "^0109506000134352", "-o"])
        .arg(&png)
        .args(["--shape", "rectangle"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = serialstation()
        .args(["vision", "decode"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("]d2") && text.contains("(01)09506000134352"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn invalid_data_is_refused_with_the_gs1_error() {
    let dir = scratch("invalid");
    let png = dir.join("bad.png");
    let out = serialstation()
        .args(["vision", "encode", "(01)09506000134353", "-o"])
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    assert!(!png.exists());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn blank_image_is_a_no_read_with_exit_1() {
    let dir = scratch("blank");
    let png = dir.join("blank.png");
    image::GrayImage::from_pixel(200, 150, image::Luma([230]))
        .save(&png)
        .unwrap();
    let out = serialstation()
        .args(["vision", "decode"])
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no read"));
    let out = serialstation()
        .args(["vision", "decode", "--json"])
        .arg(&png)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["no_read"], true);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = serialstation()
        .args(["vision", "decode", "/nonexistent/x.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read image"));
}
