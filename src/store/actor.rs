//! Who did it: the OS user behind a command, recorded in every audit row.
//! The name comes from the process's real uid mapped through `/etc/passwd`
//! (harder to fake than an environment variable), falling back to `$USER` or
//! `$LOGNAME` when the mapping is not available.

use std::fmt;

/// The person or service a change is attributed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    name: String,
}

impl Actor {
    /// An explicitly named actor (a service account, a test, the daemon).
    pub fn new(name: impl Into<String>) -> Actor {
        Actor { name: name.into() }
    }

    /// The OS user running this process, e.g. `alice (uid 1000)`.
    pub fn current_os_user() -> Actor {
        let name = Actor::os_login_name();
        match process_uid() {
            Some(uid) => Actor::new(format!("{name} (uid {uid})")),
            None => Actor::new(name),
        }
    }

    /// The login name of the OS user running this process (the name users are
    /// enrolled under), without the uid.
    pub fn os_login_name() -> String {
        let from_passwd = process_uid().and_then(|uid| {
            std::fs::read_to_string("/etc/passwd")
                .ok()
                .and_then(|text| user_name_for_uid(&text, uid))
        });
        from_passwd
            .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
            .or_else(|| std::env::var("LOGNAME").ok().filter(|s| !s.is_empty()))
            .unwrap_or_else(|| "unknown-user".to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(unix)]
fn process_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self is owned by the process's real uid.
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn process_uid() -> Option<u32> {
    None
}

/// The login name of `uid` in passwd-format text (`name:x:uid:gid:...`).
fn user_name_for_uid(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let line_uid: u32 = fields.next()?.parse().ok()?;
        (line_uid == uid && !name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_uid_through_passwd_text() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\n";
        assert_eq!(user_name_for_uid(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(user_name_for_uid(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_name_for_uid(passwd, 7), None);
    }

    #[test]
    fn current_user_is_never_empty() {
        assert!(!Actor::current_os_user().as_str().is_empty());
    }
}
