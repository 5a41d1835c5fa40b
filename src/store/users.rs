//! Users of the station and electronic signatures: who is enrolled with which role,
//! their password (an Argon2id hash, memory-hard, never the password itself), and
//! the check behind every signature, with failed attempts counted and accounts
//! locked after [`MAX_FAILED_SIGNATURES`] in a row. The rules of who may do what
//! are in [`crate::access`]; every change here and every signature, granted or
//! refused, is an audit row.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::TryRng;
use rusqlite::{OptionalExtension, params};
use serde_json::json;

use crate::access::{LOCK_MINUTES, MAX_FAILED_SIGNATURES, Role};
use crate::store::Store;
use crate::store::actor::Actor;
use crate::store::audit::{self, AuditRecord};
use crate::store::clock;
use crate::store::error::{SqlContext, StoreError, StoreResult};

/// Migration 6: the users table.
pub(crate) const V6_SQL: &str = r#"
CREATE TABLE users (
    name            TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    role            TEXT NOT NULL CHECK (role IN ('operator', 'supervisor', 'qa', 'administrator')),
    password_hash   TEXT NOT NULL CHECK (password_hash LIKE '$argon2%'),
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until_ms INTEGER,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE TRIGGER users_no_delete BEFORE DELETE ON users
BEGIN SELECT RAISE(ABORT, 'users are deactivated, never deleted: the audit trail names them'); END;
"#;

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// One enrolled user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub name: String,
    pub role: String,
    pub active: bool,
    pub failed_attempts: u32,
    /// UTC time until which the account is locked, when it is.
    pub locked_until: Option<String>,
}

impl User {
    pub fn role(&self) -> StoreResult<Role> {
        Role::parse(&self.role).map_err(StoreError::Corrupt)
    }
}

/// A signature that was granted: who signed, in which role, meaning what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub signer: String,
    pub role: Role,
    pub meaning: String,
}

fn hash_password(password: &str) -> StoreResult<String> {
    let mut salt = [0u8; 16];
    rand::rngs::SysRng
        .try_fill_bytes(&mut salt)
        .map_err(|e| StoreError::Invalid(format!("the secure random source failed: {e}")))?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Invalid(format!("cannot hash the password: {e}")))
}

fn password_matches(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// Checks a new password against the station's rules.
pub fn check_new_password(name: &str, password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password is too short: use at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.eq_ignore_ascii_case(name) {
        return Err("the password must not be the user name".to_string());
    }
    if password.chars().any(char::is_control) {
        return Err("the password must not hold control characters".to_string());
    }
    Ok(())
}

/// Checks a user name: an operating-system login name.
pub fn check_user_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.starts_with('-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a login name: use the operating-system user name (letters, digits, _ - .; at most 64)"
        ))
    }
}

fn user_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String)> {
    let locked: Option<i64> = r.get(5)?;
    let now = clock::now_unix_ms();
    Ok((
        User {
            name: r.get(0)?,
            role: r.get(1)?,
            active: r.get::<_, i64>(2)? == 1,
            failed_attempts: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(u32::MAX),
            locked_until: locked
                .filter(|until| *until > now)
                .map(clock::format_unix_ms),
        },
        r.get(4)?,
    ))
}

const USER_COLUMNS: &str = "name, role, active, failed_attempts, password_hash, locked_until_ms";

impl Store {
    /// Whether any user is enrolled (and so roles and signatures apply).
    pub fn users_enrolled(&self) -> StoreResult<bool> {
        let n: i64 = self
            .conn
            .query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))
            .context("counting the station's users")?;
        Ok(n > 0)
    }

    /// Every user, by name.
    pub fn users(&self) -> StoreResult<Vec<User>> {
        let what = "reading the station's users";
        let mut stmt = self
            .conn
            .prepare(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY name"))
            .context(what)?;
        let rows = stmt.query_map([], user_from_row).context(what)?;
        rows.map(|r| r.map(|(u, _)| u).context(what)).collect()
    }

    /// One user.
    pub fn user(&self, name: &str) -> StoreResult<Option<User>> {
        Ok(self.user_with_hash(name)?.map(|(u, _)| u))
    }

    fn user_with_hash(&self, name: &str) -> StoreResult<Option<(User, String)>> {
        self.conn
            .query_row(
                &format!("SELECT {USER_COLUMNS} FROM users WHERE name = ?1"),
                [name],
                user_from_row,
            )
            .optional()
            .context("reading a user")
    }

    /// Enrols a user. The first user of a station must be an administrator (enrolled
    /// by whoever may write the store); after that an administrator's signature is
    /// checked by the caller before this runs.
    pub fn add_user(
        &mut self,
        name: &str,
        role: Role,
        password: &str,
        actor: &Actor,
    ) -> StoreResult<()> {
        check_user_name(name).map_err(StoreError::Invalid)?;
        check_new_password(name, password).map_err(StoreError::Invalid)?;
        if !self.users_enrolled()? && role != Role::Administrator {
            return Err(StoreError::Invalid(format!(
                "the first user of a station must be an administrator (who then enrols the others): \
                 add {name} with --role administrator, or enrol an administrator first"
            )));
        }
        if self.user(name)?.is_some() {
            return Err(StoreError::Invalid(format!(
                "{name} is already enrolled: change the role with `serialstation user role`"
            )));
        }
        let hash = hash_password(password)?;
        let what = format!("enrolling user {name}");
        let tx = self.write_tx(&what)?;
        let now = clock::now();
        tx.execute(
            "INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![name, role.as_str(), hash, now],
        )
        .context(&what)?;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "user.add",
                subject: format!("user {name}"),
                before: None,
                after: Some(json!({ "role": role.as_str() })),
            },
        )?;
        tx.commit().context(&what)
    }

    /// Changes a user's role, password, active flag, or clears a lock.
    pub fn change_user(
        &mut self,
        name: &str,
        change: UserChange<'_>,
        actor: &Actor,
    ) -> StoreResult<()> {
        let Some(before) = self.user(name)? else {
            return Err(StoreError::NotFound(format!(
                "{name} is not enrolled: see `serialstation user list`"
            )));
        };
        let what = format!("changing user {name}");
        let (sql, value, after): (&str, rusqlite::types::Value, serde_json::Value) = match change {
            UserChange::Role(role) => (
                "UPDATE users SET role = ?2, updated_at = ?3 WHERE name = ?1",
                role.as_str().to_string().into(),
                json!({ "role": role.as_str() }),
            ),
            UserChange::Password(password) => {
                check_new_password(name, password).map_err(StoreError::Invalid)?;
                (
                    "UPDATE users SET password_hash = ?2, failed_attempts = 0, locked_until_ms = NULL, updated_at = ?3 WHERE name = ?1",
                    hash_password(password)?.into(),
                    json!({ "password": "changed" }),
                )
            }
            UserChange::Active(active) => (
                "UPDATE users SET active = ?2, updated_at = ?3 WHERE name = ?1",
                i64::from(active).into(),
                json!({ "active": active }),
            ),
            UserChange::Unlock => (
                "UPDATE users SET failed_attempts = ?2, locked_until_ms = NULL, updated_at = ?3 WHERE name = ?1",
                0i64.into(),
                json!({ "unlocked": true }),
            ),
        };
        let tx = self.write_tx(&what)?;
        tx.execute(sql, params![name, value, clock::now()])
            .context(&what)?;
        audit::append(
            &tx,
            actor,
            AuditRecord {
                action: "user.change",
                subject: format!("user {name}"),
                before: Some(json!({ "role": before.role, "active": before.active })),
                after: Some(after),
            },
        )?;
        tx.commit().context(&what)
    }

    /// Checks a signature: `name`'s password entered again, for an action whose
    /// signature means `meaning`. A wrong password counts against the account (and
    /// locks it after [`MAX_FAILED_SIGNATURES`] in a row) and is an audit row; so is
    /// a granted signature. `subject` names what is signed (`batch 3`, `serial X`).
    pub fn sign(
        &mut self,
        name: &str,
        password: &str,
        meaning: &str,
        for_action: &str,
        subject: &str,
    ) -> StoreResult<Signed> {
        let actor = Actor::new(name);
        let Some((user, hash)) = self.user_with_hash(name)? else {
            return Err(StoreError::SignatureRefused(format!(
                "{name} is not enrolled at this station, so cannot sign: ask an administrator to enrol you"
            )));
        };
        if !user.active {
            return Err(StoreError::SignatureRefused(format!(
                "the account {name} is deactivated: ask an administrator"
            )));
        }
        if let Some(until) = &user.locked_until {
            return Err(StoreError::SignatureRefused(format!(
                "the account {name} is locked until {until} after {MAX_FAILED_SIGNATURES} wrong passwords: \
                 wait, or ask an administrator to unlock it (`serialstation user unlock {name}`)"
            )));
        }
        let role = user.role()?;
        let what = format!("recording a signature of {name}");
        if password_matches(password, &hash) {
            let tx = self.write_tx(&what)?;
            tx.execute(
                "UPDATE users SET failed_attempts = 0 WHERE name = ?1",
                [name],
            )
            .context(&what)?;
            audit::append(
                &tx,
                &actor,
                AuditRecord {
                    action: "signature",
                    subject: subject.to_string(),
                    before: None,
                    after: Some(json!({
                        "signer": name, "role": role.as_str(), "meaning": meaning, "for": for_action,
                    })),
                },
            )?;
            tx.commit().context(&what)?;
            return Ok(Signed {
                signer: name.to_string(),
                role,
                meaning: meaning.to_string(),
            });
        }
        let failed = user.failed_attempts.saturating_add(1);
        let locks = failed >= MAX_FAILED_SIGNATURES;
        let until = locks.then(|| clock::now_unix_ms() + (LOCK_MINUTES * 60_000) as i64);
        let tx = self.write_tx(&what)?;
        tx.execute(
            "UPDATE users SET failed_attempts = ?2, locked_until_ms = COALESCE(?3, locked_until_ms) WHERE name = ?1",
            params![name, i64::from(failed), until],
        )
        .context(&what)?;
        audit::append(
            &tx,
            &actor,
            AuditRecord {
                action: "signature.failed",
                subject: subject.to_string(),
                before: None,
                after: Some(json!({
                    "signer": name, "meaning": meaning, "for": for_action,
                    "failed_in_a_row": failed, "locked": locks,
                })),
            },
        )?;
        tx.commit().context(&what)?;
        Err(StoreError::SignatureRefused(if locks {
            format!(
                "wrong password for {name}: the account is now locked for {LOCK_MINUTES} minutes after \
                 {MAX_FAILED_SIGNATURES} wrong passwords in a row; nothing was done"
            )
        } else {
            format!(
                "wrong password for {name}: nothing was done ({} more wrong password(s) lock the account)",
                MAX_FAILED_SIGNATURES - failed
            )
        }))
    }
}

/// One change to a user's account.
#[derive(Debug, Clone, Copy)]
pub enum UserChange<'a> {
    Role(Role),
    Password(&'a str),
    Active(bool),
    Unlock,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_the_same_password() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(password_matches("correct horse", &hash));
        assert!(!password_matches("correct horsE", &hash));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_user_name("op1").is_ok());
        assert!(check_user_name("a b").is_err());
        assert!(check_user_name("-rf").is_err());
        assert!(check_new_password("op1", "short").is_err());
        assert!(check_new_password("operator1", "OPERATOR1").is_err());
        assert!(check_new_password("op1", "long enough").is_ok());
    }
}
