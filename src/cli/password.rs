//! Passwords on the command line, for electronic signatures and user accounts: asked
//! on the terminal without echo, or read one per line from standard input with
//! `--password-stdin` (scripts, tests). Never taken from an argument or an
//! environment variable, where other users and logs could see it.

use std::io::{BufRead, IsTerminal, Write};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal;

/// Where passwords come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordSource {
    Terminal,
    Stdin,
}

impl PasswordSource {
    pub fn from_flag(password_stdin: bool) -> PasswordSource {
        if password_stdin {
            PasswordSource::Stdin
        } else {
            PasswordSource::Terminal
        }
    }
}

/// Reads one password, asking with `prompt` on the terminal.
pub fn read_password(prompt: &str, source: PasswordSource) -> Result<String, String> {
    match source {
        PasswordSource::Stdin => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
            let password = line.trim_end_matches(['\r', '\n']).to_string();
            if password.is_empty() {
                return Err("no password on standard input (one per line)".to_string());
            }
            Ok(password)
        }
        PasswordSource::Terminal => {
            if !std::io::stdin().is_terminal() {
                return Err(
                    "a password is needed and there is no terminal to ask on: run the command in a terminal, \
                     or give the password on standard input with --password-stdin"
                        .to_string(),
                );
            }
            eprint!("{prompt}: ");
            let _ = std::io::stderr().flush();
            terminal::enable_raw_mode().map_err(|e| format!("cannot use the terminal: {e}"))?;
            let typed = read_hidden();
            let _ = terminal::disable_raw_mode();
            eprintln!();
            let password = typed?;
            if password.is_empty() {
                return Err("no password given: nothing was done".to_string());
            }
            Ok(password)
        }
    }
}

/// Reads keys until Enter, showing nothing; Ctrl-C or Esc gives up.
fn read_hidden() -> Result<String, String> {
    let mut password = String::new();
    loop {
        let key = match event::read().map_err(|e| format!("reading the terminal: {e}"))? {
            Event::Key(key) if key.kind != KeyEventKind::Release => key,
            _ => continue,
        };
        match key.code {
            KeyCode::Enter => return Ok(password),
            KeyCode::Esc => return Err("cancelled: nothing was done".to_string()),
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                return Err("cancelled: nothing was done".to_string());
            }
            KeyCode::Backspace => {
                password.pop();
            }
            KeyCode::Char(c) => password.push(c),
            _ => {}
        }
    }
}

/// Reads a new password twice (on a terminal) and checks they agree.
pub fn read_new_password(who: &str, source: PasswordSource) -> Result<String, String> {
    let first = read_password(&format!("new password for {who}"), source)?;
    if source == PasswordSource::Terminal {
        let again = read_password(&format!("new password for {who}, again"), source)?;
        if again != first {
            return Err("the two passwords differ: nothing was changed".to_string());
        }
    }
    Ok(first)
}

/// `--sign` and `--password-stdin`, for commands that may need a signature.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct SignArgs {
    /// Sign the action electronically: your password is asked again (stations with
    /// enrolled users need this for critical actions; see README, "Users, roles and
    /// signatures").
    #[arg(long)]
    pub sign: bool,
    /// Read passwords from standard input, one per line, instead of the terminal.
    #[arg(long)]
    pub password_stdin: bool,
}

impl SignArgs {
    /// The signature to send, when `--sign` was given.
    pub fn signature(&self) -> Result<Option<crate::control::protocol::SignatureInput>, String> {
        if !self.sign {
            return Ok(None);
        }
        let password = read_password(
            "your password, to sign",
            PasswordSource::from_flag(self.password_stdin),
        )?;
        Ok(Some(crate::control::protocol::SignatureInput { password }))
    }
}
