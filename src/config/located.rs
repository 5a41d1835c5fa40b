//! Located configuration problems: a [`ConfigIssue`] names the file, line, column
//! and field of a problem, and a `Locator` turns the byte spans of a file's TOML
//! into such issues. Shared by reading a client file ([`crate::config::file`]) and
//! checking what it says (`validate`), so that neither depends on the other for it.
//! Pure.

use std::fmt;
use std::ops::Range;

use crate::config::text::escape_unsafe;

/// How serious a configuration problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The file cannot be used.
    Error,
    /// The file can be used, but something looks wrong.
    Warning,
}

/// One problem in a configuration file, located.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ConfigIssue {
    pub severity: Severity,
    pub file: String,
    /// 1-based; 0 when the problem concerns the whole file.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// The field concerned, e.g. `product[2].min_grade` (products counted from 1).
    pub field: String,
    pub message: String,
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Everything here may quote the file: never let it act on the terminal.
        let file = escape_unsafe(&self.file);
        if self.line == 0 {
            write!(f, "{file}: {kind}: ")?;
        } else {
            write!(f, "{file}:{}:{}: {kind}: ", self.line, self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", escape_unsafe(&self.field))?;
        }
        f.write_str(&escape_unsafe(&self.message))
    }
}

/// Turns byte spans into located issues for one file.
pub(crate) struct Locator<'a> {
    file: &'a str,
    text: &'a str,
    pub issues: Vec<ConfigIssue>,
}

impl<'a> Locator<'a> {
    pub fn new(file: &'a str, text: &'a str) -> Locator<'a> {
        Locator {
            file,
            text,
            issues: Vec::new(),
        }
    }

    /// The text of the file the spans point into.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before
            .get(line_start..)
            .map_or(1, |s| s.chars().count() + 1);
        (line, column)
    }

    pub fn push(
        &mut self,
        severity: Severity,
        span: Option<Range<usize>>,
        field: &str,
        message: impl Into<String>,
    ) {
        let (line, column) = span.map_or((0, 0), |s| self.line_col(s.start));
        self.issues.push(ConfigIssue {
            severity,
            file: self.file.to_string(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        });
    }

    pub fn error(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        self.push(Severity::Error, Some(span), field, message);
    }

    pub fn warning(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        self.push(Severity::Warning, Some(span), field, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let loc = Locator::new("f", "a = 1\nbé = 2\n");
        assert_eq!(loc.line_col(0), (1, 1));
        assert_eq!(loc.line_col(6), (2, 1));
        assert_eq!(loc.line_col(12), (2, 6));
        // Past the end: the end of the text.
        assert_eq!(loc.line_col(1000), (3, 1));
    }

    #[test]
    fn issues_carry_file_place_and_field() {
        let mut loc = Locator::new("c.toml", "[client]\nid = 1\n");
        loc.error(9..14, "client.id", "bad");
        loc.warning(0..8, "client", "odd");
        loc.push(Severity::Error, None, "", "whole file");
        let shown: Vec<String> = loc.issues.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "c.toml:2:1: error: client.id: bad",
                "c.toml:1:1: warning: client: odd",
                "c.toml: error: whole file",
            ]
        );
    }

    #[test]
    fn shown_issues_cannot_act_on_the_terminal() {
        let issue = ConfigIssue {
            severity: Severity::Error,
            file: "a\u{1b}[2J.toml".to_string(),
            line: 0,
            column: 0,
            field: String::new(),
            message: "x".to_string(),
        };
        assert!(!issue.to_string().contains('\u{1b}'), "{issue}");
    }
}
