//! Errors that point into a pipeline file.
//!
//! Every mistake in a pipeline file is reported with the file, line and column in the message itself
//! (so logs and CI output carry it) and as a miette label on the TOML span (so a terminal shows the
//! offending text underlined). Command-line overrides (`--set`) are their own small source, so an
//! error in one points at the argument, not at the file.

use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceSpan};

/// A text that diagnostics point into: a pipeline file or a `--set` argument.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub text: Arc<String>,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: Arc::new(text.into()),
        }
    }

    /// 1-based (line, column) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    /// `file:line:col` of a span, the prefix of every message.
    pub fn locate(&self, span: &Range<usize>) -> String {
        let (line, col) = self.line_col(span.start);
        format!("{}:{line}:{col}", self.name)
    }

    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> SourceError {
        SourceError::new(self, span, message)
    }
}

/// A pipeline-file error: message with location, the underlined span and an optional help line.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct SourceError {
    pub location: String,
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    src: NamedSource<Arc<String>>,
    span: SourceSpan,
    related: Vec<LabeledSpan>,
}

impl SourceError {
    pub fn new(source: &Source, span: Range<usize>, message: impl Into<String>) -> Self {
        let span = clamp(span, source.text.len());
        SourceError {
            location: source.locate(&span),
            message: message.into(),
            label: "here".into(),
            help: None,
            src: NamedSource::new(source.name.clone(), source.text.clone()),
            span: span.into(),
            related: Vec::new(),
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A second span in the same source that explains the first (e.g. where a cycle closes).
    pub fn context(mut self, span: Range<usize>, label: impl Into<String>) -> Self {
        let len = self.src.inner().len();
        let span = clamp(span, len);
        self.related
            .push(LabeledSpan::new_with_span(Some(label.into()), span));
        self
    }
}

fn clamp(span: Range<usize>, len: usize) -> Range<usize> {
    let start = span.start.min(len);
    start..span.end.clamp(start, len)
}

impl Diagnostic for SourceError {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let primary = LabeledSpan::new_primary_with_span(Some(self.label.clone()), self.span);
        Some(Box::new(
            std::iter::once(primary).chain(self.related.iter().cloned()),
        ))
    }
}

/// Several errors found in one pass, reported together so a user fixes them in one edit.
#[derive(Debug, thiserror::Error)]
#[error("{} errors in {}", errors.len(), files(errors))]
pub struct SourceErrors {
    pub errors: Vec<SourceError>,
}

/// The files (or `--set` arguments) the errors point into, in order of first mention: a site
/// profile's errors are not "in the pipeline".
fn files(errors: &[SourceError]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for e in errors {
        let n = e.src.name();
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names.join(", ")
}

impl SourceErrors {
    /// `Ok` when nothing was found; one error is reported as itself, several together.
    pub fn check(mut errors: Vec<SourceError>) -> Result<(), Error> {
        match errors.len() {
            0 => Ok(()),
            1 => Err(Error::Source(Box::new(errors.remove(0)))),
            _ => Err(Error::Sources(SourceErrors { errors })),
        }
    }
}

/// What the core (pipeline files, sweeps, wiring, plans, sessions) returns when it refuses
/// input: typed, so callers can match on it; every variant is a [`Diagnostic`] and the command
/// line renders it with miette (`?` turns it into a `miette::Report`).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One mistake at a place in a pipeline file or `--set` argument.
    #[error(transparent)]
    Source(Box<SourceError>),
    /// Several mistakes found in one pass.
    #[error(transparent)]
    Sources(SourceErrors),
    /// A problem with no place in a file (an unreadable file, a missing sweep).
    #[error("{message}")]
    Other {
        message: String,
        help: Option<String>,
    },
}

impl Error {
    /// An unlocated error with a help line.
    pub fn other(message: impl Into<String>, help: impl Into<String>) -> Error {
        Error::Other {
            message: message.into(),
            help: Some(help.into()),
        }
    }
}

impl From<SourceError> for Error {
    fn from(e: SourceError) -> Error {
        Error::Source(Box::new(e))
    }
}

impl Diagnostic for Error {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self {
            Error::Source(e) => Diagnostic::help(e.as_ref()),
            Error::Sources(e) => Diagnostic::help(e),
            Error::Other { help, .. } => help
                .as_ref()
                .map(|h| Box::new(h) as Box<dyn std::fmt::Display>),
        }
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        match self {
            Error::Source(e) => e.source_code(),
            Error::Sources(e) => e.source_code(),
            Error::Other { .. } => None,
        }
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match self {
            Error::Source(e) => e.labels(),
            Error::Sources(e) => e.labels(),
            Error::Other { .. } => None,
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        match self {
            Error::Source(e) => e.related(),
            Error::Sources(e) => e.related(),
            Error::Other { .. } => None,
        }
    }
}

impl Diagnostic for SourceErrors {
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.errors.iter().map(|e| e as &dyn Diagnostic)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let s = Source::new("p.toml", "[a]\nkey = 1\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(4), (2, 1));
        assert_eq!(s.line_col(10), (2, 7));
        assert_eq!(s.locate(&(10..11)), "p.toml:2:7");
    }
}
