//! Roles and electronic signatures through the real daemon and CLI: a station with
//! no enrolled user runs unrestricted; once users are enrolled, each caller's role
//! decides what they may do, critical actions need their password again, wrong
//! passwords are recorded and lock the account, and every signature, granted or
//! refused, is in the audit trail with its meaning.

mod daemon_support;

use std::time::Duration;

use daemon_support::*;

const WAIT: Duration = Duration::from_secs(120);
const ADMIN_PW: &str = "admin-pass-1";
const SECOND_PW: &str = "second-admin-2";

#[test]
fn roles_and_signatures_govern_the_station_once_users_are_enrolled() {
    let Some(me) = os_user() else {
        println!("skipped: the OS user running the tests has no name");
        return;
    };
    let mut line = Line::new(LineOptions {
        rate_per_min: 3_000.0,
        pool: 400,
        ..LineOptions::default()
    });
    line.start_daemon();

    // Unrestricted: a batch runs and closes without anyone enrolled.
    let batch = line.start_batch("SIG1", 20);
    line.wait_resuming("the batch to stop", WAIT, |s| {
        s.batch.as_ref().is_some_and(|b| b.state == "stopped")
    });
    line.cli(&["batch", "close"]).ok();
    let who = line.cli(&["batch", "whoami"]);
    assert!(who.ok().contains("unrestricted"), "{who:?}");

    // The first user must be an administrator.
    line.cli_with_input(
        &["user", "add", &me, "--role", "operator", "--password-stdin"],
        "operator-pass\n",
    )
    .refused(1, "must be an administrator");
    let first = line.cli_with_input(
        &[
            "user",
            "add",
            &me,
            "--role",
            "administrator",
            "--password-stdin",
        ],
        &format!("{ADMIN_PW}\n"),
    );
    assert!(first.ok().contains("first user"), "{first:?}");
    // Later changes are signed by an administrator: yours first, then theirs.
    line.cli_with_input(
        &[
            "user",
            "add",
            "admin2",
            "--role",
            "administrator",
            "--password-stdin",
        ],
        &format!("{ADMIN_PW}\n{SECOND_PW}\n"),
    )
    .ok();
    line.cli_with_input(
        &["user", "role", &me, "qa", "--password-stdin"],
        &format!("{ADMIN_PW}\n"),
    )
    .ok();
    let who = line.cli(&["batch", "whoami"]);
    assert!(who.ok().contains("(qa)"), "{who:?}");

    // QA may not run the line.
    line.cli(&[
        "batch",
        "start",
        "--product",
        GTIN,
        "--lot",
        "SIG2",
        "--expiry",
        &expiry_in_years(2),
        "--quantity",
        "10",
    ])
    .refused(
        1,
        "a qa may not start a batch: it takes an operator or supervisor",
    );

    // Release needs a signature; a wrong password is refused and counted.
    let batch_arg = batch.to_string();
    line.cli(&["batch", "release", &batch_arg])
        .refused(1, "takes your electronic signature (\"approved\")");
    line.cli_with_input(
        &["batch", "release", &batch_arg, "--sign", "--password-stdin"],
        "wrong-password\n",
    )
    .refused(1, "wrong password");
    let released = line.cli_with_input(
        &[
            "batch",
            "release",
            &batch_arg,
            "--sign",
            "--password-stdin",
            "--comment",
            "record reviewed",
        ],
        &format!("{ADMIN_PW}\n"),
    );
    assert!(released.ok().contains("released by"), "{released:?}");
    line.cli_with_input(
        &["batch", "release", &batch_arg, "--sign", "--password-stdin"],
        &format!("{ADMIN_PW}\n"),
    )
    .refused(1, "already released");

    // The audit trail holds the signatures with their meaning, and the refusal.
    let audit = line.cli(&["audit", "list", "--limit", "40", "--json"]);
    let rows: serde_json::Value = serde_json::from_str(audit.ok().trim()).unwrap();
    let actions: Vec<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap_or("").to_string())
        .collect();
    for expected in [
        "user.add",
        "user.change",
        "signature",
        "signature.failed",
        "batch.release",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    let approved = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["action"] == "signature" && r["after"].as_str().unwrap_or("").contains("approved")
        })
        .expect("the release signature");
    assert!(
        approved["after"]
            .as_str()
            .unwrap()
            .contains("\"role\":\"qa\""),
        "{approved}"
    );

    // Five wrong passwords in a row lock the account, even against the right one.
    for _ in 0..5 {
        line.cli_with_input(
            &["batch", "release", &batch_arg, "--sign", "--password-stdin"],
            "wrong-again\n",
        )
        .refused(1, "wrong password");
    }
    line.cli_with_input(
        &["batch", "release", &batch_arg, "--sign", "--password-stdin"],
        &format!("{ADMIN_PW}\n"),
    )
    .refused(1, "is locked until");
    let users = line.cli(&["user", "list"]);
    assert!(users.ok().contains("locked until"), "{users:?}");

    // Who may do what is printed for the README and the operator.
    let roles = line.cli(&["user", "roles"]);
    assert!(
        roles
            .ok()
            .contains("| release a batch | – | – | yes | – | \"approved\" |"),
        "{roles:?}"
    );
    // Stopping the daemon over the socket is for a supervisor or an administrator.
    let refused = serialstation::control::call(
        &line.socket,
        &line.db,
        &serialstation::control::protocol::Request::Shutdown,
    )
    .unwrap();
    assert!(
        !refused.ok && refused.message.contains("may not stop the station daemon"),
        "{refused:?}"
    );
    line.kill_daemon();
}
