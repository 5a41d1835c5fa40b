//! Who may do what at the station, and which actions need an electronic signature
//! (21 CFR Part 11, EU GMP Annex 11). Pure rules: the store keeps the users
//! ([`crate::store::users`]), the daemon and the CLI apply these rules to callers.
//!
//! A station with no enrolled user runs unrestricted (commissioning, simulated
//! lines, tests): every caller that can reach it may do everything, and nothing is
//! signed. Once one user is enrolled, every caller must be an enrolled, active user
//! whose role allows the action, and the critical actions need a signature: the
//! signer's password entered again, with the meaning recorded in the audit trail.
//! README, "Users, roles and signatures", has the same table for operators.

use std::fmt;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Operator,
    Supervisor,
    Qa,
    Administrator,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Operator,
        Role::Supervisor,
        Role::Qa,
        Role::Administrator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Supervisor => "supervisor",
            Role::Qa => "qa",
            Role::Administrator => "administrator",
        }
    }

    pub fn parse(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| {
                format!("{text:?} is not a role: give operator, supervisor, qa or administrator")
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a caller can ask of the station that the rules distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    StartBatch,
    PauseBatch,
    ResumeBatch,
    /// Resume after the line stopped itself on consecutive rejects.
    ResumeAfterRejectStop,
    /// Go on producing after a failed challenge test.
    OverrideChallenge,
    StopBatch,
    CloseBalancedBatch,
    CloseUnbalancedBatch,
    Decommission,
    ReleaseBatch,
    AcknowledgeAlarm,
    ChangeConfiguration,
    ManageUsers,
    StopDaemon,
}

/// The rule for one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Roles allowed to do it.
    pub roles: &'static [Role],
    /// The meaning of the signature it needs, if it needs one.
    pub signature: Option<&'static str>,
    /// The action in the operator's words.
    pub describe: &'static str,
}

const LINE: &[Role] = &[Role::Operator, Role::Supervisor];

impl Action {
    pub const ALL: [Action; 14] = [
        Action::StartBatch,
        Action::PauseBatch,
        Action::ResumeBatch,
        Action::ResumeAfterRejectStop,
        Action::OverrideChallenge,
        Action::StopBatch,
        Action::CloseBalancedBatch,
        Action::CloseUnbalancedBatch,
        Action::Decommission,
        Action::ReleaseBatch,
        Action::AcknowledgeAlarm,
        Action::ChangeConfiguration,
        Action::ManageUsers,
        Action::StopDaemon,
    ];

    pub fn rule(self) -> Rule {
        let (roles, signature, describe): (&'static [Role], Option<&'static str>, &'static str) =
            match self {
                Action::StartBatch => (LINE, None, "start a batch"),
                Action::PauseBatch => (LINE, None, "pause a batch"),
                Action::ResumeBatch => (LINE, None, "resume a paused batch"),
                Action::ResumeAfterRejectStop => (
                    &[Role::Supervisor],
                    Some("resumed after a consecutive-reject stop"),
                    "resume after a consecutive-reject stop",
                ),
                Action::OverrideChallenge => (
                    &[Role::Supervisor, Role::Qa],
                    Some("failed challenge test overridden"),
                    "go on producing after a failed challenge test",
                ),
                Action::StopBatch => (LINE, None, "stop a batch"),
                Action::CloseBalancedBatch => (LINE, None, "close a batch that balances"),
                Action::CloseUnbalancedBatch => (
                    &[Role::Supervisor, Role::Qa],
                    Some("closed with reason"),
                    "close a batch that does not balance",
                ),
                Action::Decommission => (
                    &[Role::Supervisor, Role::Qa],
                    Some("decommissioned"),
                    "decommission a pack",
                ),
                Action::ReleaseBatch => (&[Role::Qa], Some("approved"), "release a batch"),
                Action::AcknowledgeAlarm => (LINE, None, "acknowledge an alarm"),
                Action::ChangeConfiguration => (
                    &[Role::Qa, Role::Administrator],
                    Some("configuration changed"),
                    "change a client or product configuration",
                ),
                Action::ManageUsers => (
                    &[Role::Administrator],
                    Some("user account changed"),
                    "add users, change roles, unlock accounts",
                ),
                Action::StopDaemon => (
                    &[Role::Supervisor, Role::Administrator],
                    None,
                    "stop the station daemon",
                ),
            };
        Rule {
            roles,
            signature,
            describe,
        }
    }
}

/// Whether `role` may do `action`; when not, the message says who may.
pub fn permit(role: Role, action: Action) -> Result<(), String> {
    let rule = action.rule();
    if rule.roles.contains(&role) {
        return Ok(());
    }
    let who: Vec<&str> = rule.roles.iter().map(|r| r.as_str()).collect();
    Err(format!(
        "{} {role} may not {}: it takes {} {}",
        article(role),
        rule.describe,
        article(rule.roles.first().copied().unwrap_or(role)),
        who.join(" or ")
    ))
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Operator | Role::Administrator => "an",
        Role::Supervisor | Role::Qa => "a",
    }
}

/// How many wrong passwords in a row lock an account.
pub const MAX_FAILED_SIGNATURES: u32 = 5;

/// How long a locked account stays locked, in minutes.
pub const LOCK_MINUTES: u64 = 15;

/// The rules as a Markdown table (README and `serialstation user roles`).
pub fn table() -> String {
    let mut out =
        String::from("| action | operator | supervisor | qa | administrator | signature |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for action in Action::ALL {
        let rule = action.rule();
        let mark = |r: Role| {
            if rule.roles.contains(&r) {
                "yes"
            } else {
                "–"
            }
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            rule.describe,
            mark(Role::Operator),
            mark(Role::Supervisor),
            mark(Role::Qa),
            mark(Role::Administrator),
            rule.signature
                .map_or("–".to_string(), |m| format!("\"{m}\""))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_read_back() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert_eq!(Role::parse(" QA ").unwrap(), Role::Qa);
        assert!(
            Role::parse("root")
                .unwrap_err()
                .contains("operator, supervisor")
        );
    }

    #[test]
    fn critical_actions_need_a_signature_and_the_right_role() {
        for action in [
            Action::CloseUnbalancedBatch,
            Action::Decommission,
            Action::ResumeAfterRejectStop,
            Action::OverrideChallenge,
            Action::ChangeConfiguration,
            Action::ReleaseBatch,
        ] {
            assert!(action.rule().signature.is_some(), "{action:?}");
        }
        assert!(permit(Role::Operator, Action::StartBatch).is_ok());
        let refused = permit(Role::Operator, Action::CloseUnbalancedBatch).unwrap_err();
        assert!(refused.contains("supervisor or qa"), "{refused}");
        assert!(permit(Role::Qa, Action::ReleaseBatch).is_ok());
        assert!(permit(Role::Administrator, Action::StartBatch).is_err());
    }

    #[test]
    fn the_table_lists_every_action() {
        let t = table();
        assert_eq!(t.lines().count(), Action::ALL.len() + 2);
        assert!(t.contains("\"approved\""));
    }
}
