//! `serialstation demo --scripted`: the walk through the station's commands runs
//! end to end on a fresh working directory, and refuses a folder it did not make.

use std::process::Command;

fn serialstation() -> Command {
    Command::new(env!("CARGO_BIN_EXE_serialstation"))
}

#[test]
fn scripted_demo_runs_every_step() {
    let dir = tempfile::tempdir().expect("temp dir");
    let workdir = dir.path().join("demo");
    let out = serialstation()
        .args(["demo", "--scripted", "--pool-size", "2000", "--workdir"])
        .arg(&workdir)
        .output()
        .expect("run serialstation");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for expected in [
        "$ serialstation config load",
        "$ serialstation pool generate",
        "valid: (01)09506000134352",
        "(refused, as it should be)",
        "symbology: ]d2",
        "audit trail intact",
        "demo complete",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(
        stderr.contains("check digit"),
        "the refused step should say why:\n{stderr}"
    );
    assert!(workdir.join("sample-code.png").exists());

    // A second run resets its own folder.
    let again = serialstation()
        .args(["demo", "--scripted", "--pool-size", "100", "--workdir"])
        .arg(&workdir)
        .output()
        .expect("run serialstation");
    assert!(again.status.success());
}

#[test]
fn scripted_demo_refuses_a_folder_it_did_not_make() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("precious.txt"), "keep me").expect("write");
    let out = serialstation()
        .args(["demo", "--scripted", "--workdir"])
        .arg(dir.path())
        .output()
        .expect("run serialstation");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("was not made by the demo"), "{stderr}");
    assert!(dir.path().join("precious.txt").exists());
}
