//! Who is on the other end of the control socket: the peer's user id (from the
//! kernel, `SO_PEERCRED`) turned into a user name for the audit trail.

/// The user name of `uid` from a passwd-format text (pure; `None` if absent).
pub fn user_name_in_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id: u32 = fields.next()?.trim().parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// The audit name of a peer: its user name when the system knows it, else `uid:N`.
pub fn actor_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| user_name_in_passwd(&text, uid))
        .unwrap_or_else(|| format!("uid:{uid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_name_of_a_uid() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\nop1:x:1001:1001::/home/op1:/bin/sh\nbad line\n";
        assert_eq!(user_name_in_passwd(passwd, 1001).as_deref(), Some("op1"));
        assert_eq!(user_name_in_passwd(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_name_in_passwd(passwd, 5), None);
    }
}
