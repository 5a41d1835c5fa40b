//! `serialstation user`: the station's users and their roles. The first user is an
//! administrator, enrolled by whoever may write the store; every later change is
//! signed by an enrolled administrator (README, "Users, roles and signatures").

use std::path::Path;
use std::process::ExitCode;

use crate::access::{Action, Role};
use crate::cli::password::{PasswordSource, read_new_password, read_password};
use crate::cli::pool::fail;
use crate::store::users::{Signed, UserChange};
use crate::store::{Actor, Store, StoreError};

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Enrol a user (their operating-system login name) with a role.
    Add {
        name: String,
        /// operator | supervisor | qa | administrator
        #[arg(long)]
        role: String,
        /// Read passwords from standard input, one per line (yours to sign first,
        /// then the new user's), instead of the terminal.
        #[arg(long)]
        password_stdin: bool,
    },
    /// The enrolled users, their roles and whether they are locked.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Change a user's role.
    Role {
        name: String,
        role: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password: your own (sign with your current one), or another
    /// user's (an administrator signs).
    Passwd {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Unlock an account locked after wrong passwords.
    Unlock {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Deactivate an account (users are never deleted: the audit trail names them).
    Deactivate {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Who may do what, and which actions are signed.
    Roles,
}

pub fn run(cmd: UserCommand, db: &Path) -> ExitCode {
    if let UserCommand::Roles = cmd {
        print!("{}", crate::access::table());
        return ExitCode::SUCCESS;
    }
    let mut store = match Store::open_existing(db) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match execute(&mut store, cmd) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn execute(store: &mut Store, cmd: UserCommand) -> Result<String, String> {
    match cmd {
        UserCommand::Roles => Ok(crate::access::table()),
        UserCommand::List { json } => {
            let users = store.users().map_err(|e| e.to_string())?;
            if json {
                return Ok(serde_json::json!(users).to_string());
            }
            if users.is_empty() {
                return Ok(
                    "no user is enrolled: the station runs unrestricted. Enrol an administrator first: \
                     `serialstation user add NAME --role administrator`"
                        .to_string(),
                );
            }
            let lines: Vec<String> = users
                .iter()
                .map(|u| {
                    let mut state = if u.active { "active" } else { "deactivated" }.to_string();
                    if let Some(until) = &u.locked_until {
                        state = format!("locked until {until}");
                    } else if u.failed_attempts > 0 {
                        state =
                            format!("{state}, {} wrong password(s) in a row", u.failed_attempts);
                    }
                    format!("{:<20} {:<14} {state}", u.name, u.role)
                })
                .collect();
            Ok(lines.join("\n"))
        }
        UserCommand::Add {
            name,
            role,
            password_stdin,
        } => {
            let role = Role::parse(&role)?;
            let source = PasswordSource::from_flag(password_stdin);
            let enrolled = store.users_enrolled().map_err(|e| e.to_string())?;
            let actor = if enrolled {
                let signed =
                    administrator_signs(store, source, "user.add", &format!("user {name}"))?;
                Actor::new(signed.signer)
            } else {
                Actor::current_os_user()
            };
            let password = read_new_password(&name, source)?;
            store
                .add_user(&name, role, &password, &actor)
                .map_err(|e| e.to_string())?;
            Ok(if enrolled {
                format!("{name} enrolled as {role}")
            } else {
                format!(
                    "{name} enrolled as {role}, the station's first user: from now on every caller must be \
                     enrolled, and critical actions are signed"
                )
            })
        }
        UserCommand::Role {
            name,
            role,
            password_stdin,
        } => {
            let role = Role::parse(&role)?;
            let source = PasswordSource::from_flag(password_stdin);
            let signed = administrator_signs(store, source, "user.role", &format!("user {name}"))?;
            if signed.signer == name && role != Role::Administrator {
                let other_admins = store
                    .users()
                    .map_err(|e| e.to_string())?
                    .iter()
                    .filter(|u| {
                        u.active && u.name != name && u.role == Role::Administrator.as_str()
                    })
                    .count();
                if other_admins == 0 {
                    return Err(
                        "you are the station's only administrator: enrol another administrator before \
                         taking another role"
                            .to_string(),
                    );
                }
            }
            change(store, &name, UserChange::Role(role), &signed)?;
            Ok(format!("{name} is now {role}"))
        }
        UserCommand::Passwd {
            name,
            password_stdin,
        } => {
            let source = PasswordSource::from_flag(password_stdin);
            let login = Actor::os_login_name();
            let signed = if login == name {
                let password = read_password("your current password", source)?;
                store
                    .sign(
                        &login,
                        &password,
                        "password changed",
                        "user.passwd",
                        &format!("user {name}"),
                    )
                    .map_err(refusal)?
            } else {
                administrator_signs(store, source, "user.passwd", &format!("user {name}"))?
            };
            let password = read_new_password(&name, source)?;
            change(store, &name, UserChange::Password(&password), &signed)?;
            Ok(format!("the password of {name} is changed"))
        }
        UserCommand::Unlock {
            name,
            password_stdin,
        } => {
            let source = PasswordSource::from_flag(password_stdin);
            let signed =
                administrator_signs(store, source, "user.unlock", &format!("user {name}"))?;
            change(store, &name, UserChange::Unlock, &signed)?;
            Ok(format!("{name} is unlocked"))
        }
        UserCommand::Deactivate {
            name,
            password_stdin,
        } => {
            let source = PasswordSource::from_flag(password_stdin);
            let signed =
                administrator_signs(store, source, "user.deactivate", &format!("user {name}"))?;
            if signed.signer == name {
                return Err("an administrator cannot deactivate their own account".to_string());
            }
            change(store, &name, UserChange::Active(false), &signed)?;
            Ok(format!("{name} is deactivated"))
        }
    }
}

fn change(
    store: &mut Store,
    name: &str,
    what: UserChange<'_>,
    signed: &Signed,
) -> Result<(), String> {
    store
        .change_user(name, what, &Actor::new(signed.signer.clone()))
        .map_err(|e| e.to_string())
}

fn refusal(e: StoreError) -> String {
    e.to_string()
}

/// The OS user running this command must be an enrolled administrator, and signs.
fn administrator_signs(
    store: &mut Store,
    source: PasswordSource,
    for_action: &str,
    subject: &str,
) -> Result<Signed, String> {
    signs_for(store, source, Action::ManageUsers, for_action, subject)
}

/// The OS user running this command signs for `action` (which their role must
/// allow). On a station with no enrolled user nothing is signed: `Ok(None)`.
pub fn sign_if_enrolled(
    store: &mut Store,
    source: PasswordSource,
    action: Action,
    for_action: &str,
    subject: &str,
) -> Result<Option<Signed>, String> {
    if !store.users_enrolled().map_err(|e| e.to_string())? {
        return Ok(None);
    }
    signs_for(store, source, action, for_action, subject).map(Some)
}

fn signs_for(
    store: &mut Store,
    source: PasswordSource,
    action: Action,
    for_action: &str,
    subject: &str,
) -> Result<Signed, String> {
    let login = Actor::os_login_name();
    let Some(user) = store.user(&login).map_err(|e| e.to_string())? else {
        return Err(format!(
            "{login} is not enrolled at this station: an enrolled user must {}",
            action.rule().describe
        ));
    };
    let role = user.role().map_err(|e| e.to_string())?;
    crate::access::permit(role, action)?;
    let meaning = action.rule().signature.unwrap_or("approved");
    let password = read_password(
        &format!("{login}, your password, to sign \"{meaning}\""),
        source,
    )?;
    store
        .sign(&login, &password, meaning, for_action, subject)
        .map_err(refusal)
}
