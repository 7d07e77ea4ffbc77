//! The CLI's error: a message for stderr, with the chain of causes, and a non-zero exit.

use std::fmt;

/// A failed command.
#[derive(Debug)]
pub struct CliError(String);

impl CliError {
    /// An error with a message of our own.
    pub fn msg(m: impl Into<String>) -> Self {
        Self(m.into())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for CliError {
    fn from(e: E) -> Self {
        let mut text = e.to_string();
        let mut src = e.source();
        while let Some(s) = src {
            let s = s.to_string();
            if !text.contains(&s) {
                text.push_str(": ");
                text.push_str(&s);
            }
            src = src.and_then(|x| x.source());
        }
        Self(text)
    }
}

/// Result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;
