//! `journey test`: test files (`*.test.toml`) that give a customer and timed events and say what
//! must happen — which messages go out, when, with what content, which goals are reached — and
//! that nothing else is sent. Each test runs the real VM in the simulator; every expectation that
//! does not hold is a diagnostic at the expectation, with what happened instead.
//!
//! The format is documented in `docs/testing.md`.

use std::ops::Range;

use chrono_tz::Tz;
use journey_compiler::diagnostics::{Code, Diagnostic, Label};
use journey_compiler::source::{FileId, Span};
use serde::Deserialize;
use toml::Spanned;

use crate::scenario::{self, EventSpec, Parts, UpdateSpec, parse_toml};
use crate::simulate::{self, Entry};
use crate::timeline::{local, zones};
use crate::vm::{DecisionKind, Effect, ExitReason, Library, Message};

/// A test file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// Journey files or folders to test, relative to the test file (default: its folder).
    pub journeys: Option<Vec<String>>,
    /// The zone of times written without one.
    pub zone: Option<Spanned<String>>,
    /// The shop record.
    pub shop: Option<toml::Table>,
    /// The shop's secret.
    pub secret: Option<String>,
    /// The profile every test's customer starts from.
    pub customer: Option<toml::Table>,
    /// The tests.
    #[serde(rename = "test", default)]
    pub tests: Vec<Spanned<TestCase>>,
}

fn yes() -> bool {
    true
}

/// One test.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What it checks, in words.
    pub name: Spanned<String>,
    /// When it starts.
    pub start: Spanned<String>,
    /// When it ends (default: one year later).
    pub until: Option<Spanned<String>>,
    /// The customer (merged over the file's `customer`).
    pub customer: Option<Spanned<toml::Table>>,
    /// More customers, when a test needs several.
    #[serde(default)]
    pub customers: Vec<Spanned<toml::Table>>,
    /// Timed events.
    #[serde(default)]
    pub events: Vec<EventSpec>,
    /// Timed profile changes.
    #[serde(default)]
    pub updates: Vec<UpdateSpec>,
    /// What must happen.
    #[serde(default)]
    pub expect: Vec<Spanned<Expect>>,
    /// Whether every message sent must be expected (default: yes).
    #[serde(default = "yes")]
    pub nothing_else: bool,
}

/// One expectation: exactly one of the first keys, with the constraints that apply to it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// A template that must be sent.
    pub sent: Option<String>,
    /// A template that must not be sent.
    pub not_sent: Option<String>,
    /// A goal that must be reached.
    pub goal: Option<String>,
    /// A goal that must not be reached.
    pub no_goal: Option<String>,
    /// A journey the customer must leave (see `reason`).
    pub exit: Option<String>,
    /// A journey the customer must enter.
    pub entered: Option<String>,
    /// A journey the customer must not enter.
    pub not_entered: Option<String>,
    /// A template that must be held (quiet hours, frequency cap).
    pub deferred: Option<String>,
    /// A template that must be skipped (no consent, no address, cap).
    pub skipped: Option<String>,
    /// Text a runtime error must contain (and the error is then expected).
    pub error: Option<String>,
    /// Profile attributes the customer must have at the end.
    pub profile: Option<toml::Table>,

    /// Only in this journey.
    pub journey: Option<String>,
    /// Only for this customer.
    pub customer: Option<String>,
    /// When (to the minute): absolute, or `+3h` after the start.
    pub at: Option<Spanned<String>>,
    /// When, within a window: `["+3h", "+4h"]`.
    pub between: Option<Spanned<Vec<String>>>,
    /// The exact subject.
    pub subject: Option<String>,
    /// Texts the plain-text part must contain.
    #[serde(default)]
    pub contains: Vec<String>,
    /// Texts the plain-text part must not contain.
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// Texts the HTML part must contain.
    #[serde(default)]
    pub html_contains: Vec<String>,
    /// The address it goes to.
    pub to: Option<String>,
    /// How the customer left (`completed`, `exit_step`, `exit_rule`, `holdout`, `error`).
    pub reason: Option<String>,
    /// Text the decision's reason must contain (deferred, skipped, not_entered).
    pub why: Option<String>,
}

/// The outcome of one test.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The test's name.
    pub name: String,
    /// Failures (empty when it passed).
    pub failures: Vec<Diagnostic>,
    /// What happened, for `--verbose` output.
    pub log: Vec<Entry>,
    /// Zones of the customers, for printing the log.
    pub zones: std::collections::BTreeMap<String, Tz>,
}

impl Outcome {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

fn span(file: FileId, range: Range<usize>) -> Span {
    Span::new(file, range.start, range.end)
}

/// Reads a test file.
pub fn parse(text: &str) -> Result<TestFile, scenario::Error> {
    parse_toml(text)
}

/// The diagnostic for a malformed test file.
pub fn invalid(file: FileId, error: &scenario::Error) -> Diagnostic {
    let range = error.span.clone().unwrap_or(0..0);
    let mut diagnostic = Diagnostic::new(
        Code::InvalidTestFile,
        error
            .message
            .lines()
            .next()
            .unwrap_or("invalid test file")
            .to_string(),
        Label::new(span(file, range), "here"),
    );
    for line in error.message.lines().skip(1) {
        diagnostic = diagnostic.with_note(line.to_string());
    }
    if let Some(help) = &error.help {
        diagnostic = diagnostic.with_help(help.clone());
    }
    diagnostic
}

/// Runs every test of a parsed file against the library.
pub fn run(library: &Library, file_id: FileId, file: &TestFile) -> Vec<Outcome> {
    file.tests
        .iter()
        .map(|test| run_one(library, file_id, file, test))
        .collect()
}

fn run_one(
    library: &Library,
    file_id: FileId,
    file: &TestFile,
    test: &Spanned<TestCase>,
) -> Outcome {
    let case = test.get_ref();
    let name = case.name.get_ref().clone();
    let name_span = span(file_id, case.name.span());
    let mut customers = Vec::new();
    if let Some(customer) = &case.customer {
        let mut profile = file.customer.clone().unwrap_or_default();
        for (key, value) in customer.get_ref() {
            profile.insert(key.clone(), value.clone());
        }
        if !profile.contains_key("id") {
            profile.insert(
                "id".to_string(),
                toml::Value::String("customer".to_string()),
            );
        }
        customers.push((customer.span(), profile));
    } else if case.customers.is_empty()
        && let Some(default) = &file.customer
    {
        let mut profile = default.clone();
        if !profile.contains_key("id") {
            profile.insert(
                "id".to_string(),
                toml::Value::String("customer".to_string()),
            );
        }
        customers.push((case.name.span(), profile));
    }
    for customer in &case.customers {
        let mut profile = file.customer.clone().unwrap_or_default();
        for (key, value) in customer.get_ref() {
            profile.insert(key.clone(), value.clone());
        }
        customers.push((customer.span(), profile));
    }
    let resolved = scenario::resolve(Parts {
        start: &case.start,
        until: case.until.as_ref(),
        zone: file.zone.as_ref(),
        shop: file.shop.as_ref(),
        secret: file.secret.as_deref(),
        customers,
        events: &case.events,
        updates: &case.updates,
    });
    let scenario = match resolved {
        Ok(scenario) => scenario,
        Err(error) => {
            return Outcome {
                name,
                failures: vec![invalid(file_id, &error)],
                log: Vec::new(),
                zones: Default::default(),
            };
        }
    };
    let simulator = simulate::run(library, &scenario);
    let zones = zones(&simulator.customers);
    let mut checker = Checker {
        library,
        file: file_id,
        log: &simulator.log,
        zones: &zones,
        start: scenario.start,
        zone: scenario.zone,
        used: vec![false; simulator.log.len()],
        failures: Vec::new(),
        final_profiles: &simulator.customers,
    };
    for expect in &case.expect {
        checker.check(expect);
    }
    // Nothing else: every message must be expected.
    if case.nothing_else {
        for (idx, entry) in simulator.log.iter().enumerate() {
            if let Effect::Send(message) = &entry.effect
                && !checker.used.get(idx).copied().unwrap_or(true)
            {
                checker.failures.push(
                    Diagnostic::new(
                        Code::UnexpectedMessage,
                        format!("`{}` was sent, but no expectation mentions it", message.template),
                        Label::new(name_span, "in this test"),
                    )
                    .with_note(format!(
                        "sent to {} at {} by journey `{}`{}",
                        entry.customer,
                        local(entry.at, checker.zone_of(&entry.customer)),
                        message.journey,
                        message
                            .subject
                            .as_ref()
                            .map(|s| format!(", subject \"{s}\""))
                            .unwrap_or_default()
                    ))
                    .with_help(format!(
                        "add `[[test.expect]]` with `sent = \"{}\"`, or set `nothing_else = false` in this test",
                        message.template
                    )),
                );
            }
        }
    }
    // Runtime errors nobody expected.
    for (idx, entry) in simulator.log.iter().enumerate() {
        if let Effect::Error(error) = &entry.effect
            && !checker.used.get(idx).copied().unwrap_or(true)
        {
            let mut diagnostic = Diagnostic::new(
                Code::RuntimeErrorInTest,
                format!("runtime error: {}", error.message),
                Label::new(name_span, "in this test"),
            );
            if let Some(journey) = &error.journey {
                diagnostic = diagnostic.with_note(format!(
                    "journey `{journey}`{}{}, at {}",
                    error
                        .step
                        .as_ref()
                        .map(|s| format!(", step `{s}`"))
                        .unwrap_or_default(),
                    error
                        .template
                        .as_ref()
                        .map(|t| format!(", template `{t}`"))
                        .unwrap_or_default(),
                    local(entry.at, checker.zone_of(&entry.customer))
                ));
            }
            checker.failures.push(diagnostic.with_help(
                "give the customer or the event the data the journey reads, or add an `error = \"…\"` expectation if the error is the point of the test",
            ));
        }
    }
    let failures = checker.failures;
    Outcome {
        name,
        failures,
        log: simulator.log,
        zones,
    }
}

struct Checker<'a> {
    library: &'a Library,
    file: FileId,
    log: &'a [Entry],
    zones: &'a std::collections::BTreeMap<String, Tz>,
    start: i64,
    zone: Tz,
    used: Vec<bool>,
    failures: Vec<Diagnostic>,
    final_profiles: &'a std::collections::BTreeMap<String, crate::vm::CustomerState>,
}

/// The window a time constraint allows, inclusive.
type Window = Option<(i64, i64)>;

impl Checker<'_> {
    fn zone_of(&self, customer: &str) -> Tz {
        self.zones.get(customer).copied().unwrap_or(self.zone)
    }

    fn fail(&mut self, at: Range<usize>, message: String, notes: Vec<String>) {
        let mut diagnostic = Diagnostic::new(
            Code::ExpectationFailed,
            message,
            Label::new(span(self.file, at), "this expectation"),
        );
        for note in notes {
            diagnostic = diagnostic.with_note(note);
        }
        self.failures.push(diagnostic);
    }

    fn window(&mut self, expect: &Expect, at: &Range<usize>) -> Result<Window, ()> {
        if let Some(exact) = &expect.at {
            match scenario::time(exact.get_ref(), self.start, self.zone) {
                Ok(t) => return Ok(Some((t - 59, t + 59))),
                Err(message) => {
                    self.failures.push(invalid(
                        self.file,
                        &scenario::Error::at(exact.span(), message),
                    ));
                    return Err(());
                }
            }
        }
        if let Some(between) = &expect.between {
            let parts = between.get_ref();
            let (Some(from), Some(to), 2) = (parts.first(), parts.get(1), parts.len()) else {
                self.failures.push(invalid(
                    self.file,
                    &scenario::Error::at(
                        between.span(),
                        "`between` takes two times: [\"+3h\", \"+4h\"]",
                    ),
                ));
                return Err(());
            };
            let from = scenario::time(from, self.start, self.zone);
            let to = scenario::time(to, self.start, self.zone);
            match (from, to) {
                (Ok(from), Ok(to)) => return Ok(Some((from, to))),
                (Err(message), _) | (_, Err(message)) => {
                    self.failures.push(invalid(
                        self.file,
                        &scenario::Error::at(between.span(), message),
                    ));
                    return Err(());
                }
            }
        }
        let _ = at;
        Ok(None)
    }

    fn in_scope(&self, expect: &Expect, entry: &Entry, journey: Option<&str>) -> bool {
        expect
            .customer
            .as_ref()
            .is_none_or(|c| *c == entry.customer)
            && expect
                .journey
                .as_ref()
                .is_none_or(|j| journey.is_some_and(|actual| actual == j))
    }

    fn when(&self, entry: &Entry) -> String {
        local(entry.at, self.zone_of(&entry.customer))
    }

    fn check(&mut self, expect: &Spanned<Expect>) {
        let at = expect.span();
        let e = expect.get_ref();
        let kinds = [
            e.sent.is_some(),
            e.not_sent.is_some(),
            e.goal.is_some(),
            e.no_goal.is_some(),
            e.exit.is_some(),
            e.entered.is_some(),
            e.not_entered.is_some(),
            e.deferred.is_some(),
            e.skipped.is_some(),
            e.error.is_some(),
            e.profile.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            self.failures.push(invalid(
                self.file,
                &scenario::Error::at(
                    at,
                    "an expectation says exactly one of: sent, not_sent, goal, no_goal, exit, entered, not_entered, deferred, skipped, error, profile",
                ),
            ));
            return;
        }
        if let Some(problem) = self.unknown_name(e) {
            self.failures
                .push(invalid(self.file, &scenario::Error::at(at, problem)));
            return;
        }
        let Ok(window) = self.window(e, &at) else {
            return;
        };
        if let Some(template) = &e.sent {
            self.sent(e, template, window, at);
        } else if let Some(template) = &e.not_sent {
            let found: Vec<String> = self
                .log
                .iter()
                .filter_map(|entry| match &entry.effect {
                    Effect::Send(m)
                        if m.template == *template
                            && self.in_scope(e, entry, Some(&m.journey))
                            && in_window(window, entry.at) =>
                    {
                        Some(self.when(entry))
                    }
                    _ => None,
                })
                .collect();
            if !found.is_empty() {
                self.fail(
                    at,
                    format!("`{template}` was sent, but it should not be"),
                    vec![format!("sent at {}", found.join(", "))],
                );
            }
        } else if let Some(goal) = &e.goal {
            if !self.find_goal(e, goal, window) {
                self.fail(
                    at,
                    format!("goal `{goal}` was not reached"),
                    self.summary(e),
                );
            }
        } else if let Some(goal) = &e.no_goal {
            if self.find_goal(e, goal, window) {
                self.fail(
                    at,
                    format!("goal `{goal}` was reached, but it should not be"),
                    Vec::new(),
                );
            }
        } else if let Some(journey) = &e.exit {
            self.exit(e, journey, window, at);
        } else if let Some(journey) = &e.entered {
            if self
                .decision(e, journey, DecisionKind::Entered, window)
                .is_none()
            {
                self.fail(
                    at,
                    format!("the customer did not enter `{journey}`"),
                    self.why_not_entered(journey),
                );
            }
        } else if let Some(journey) = &e.not_entered {
            let any_reason = Expect {
                why: None,
                ..e.clone()
            };
            if let Some(idx) = self.decision(&any_reason, journey, DecisionKind::Entered, window) {
                let when = self
                    .log
                    .get(idx)
                    .map(|entry| self.when(entry))
                    .unwrap_or_default();
                self.fail(
                    at,
                    format!("the customer entered `{journey}`, but should not have"),
                    vec![format!("entered at {when}")],
                );
            } else if let Some(why) = &e.why
                && self
                    .decision(e, journey, DecisionKind::NotEntered, window)
                    .is_none()
            {
                let mut notes = self.why_not_entered(journey);
                if notes.is_empty() {
                    notes.push(format!(
                        "the customer was never refused entry into `{journey}`"
                    ));
                }
                self.fail(
                    at,
                    format!("no refusal to enter `{journey}` mentions \"{why}\""),
                    notes,
                );
            }
        } else if let Some(template) = &e.deferred {
            self.held(e, template, DecisionKind::Deferred, window, at);
        } else if let Some(template) = &e.skipped {
            self.held(e, template, DecisionKind::Skipped, window, at);
        } else if let Some(text) = &e.error {
            let found = self.log.iter().enumerate().find(|(idx, entry)| {
                matches!(&entry.effect, Effect::Error(error) if error.message.contains(text.as_str()))
                    && !self.used.get(*idx).copied().unwrap_or(true)
            });
            match found {
                Some((idx, _)) => {
                    if let Some(used) = self.used.get_mut(idx) {
                        *used = true;
                    }
                }
                None => self.fail(
                    at,
                    format!("no runtime error mentioning \"{text}\" happened"),
                    Vec::new(),
                ),
            }
        } else if let Some(profile) = &e.profile {
            self.profile(e, profile, at);
        }
    }

    /// A template, journey or goal the expectation names that no journey of the test has.
    fn unknown_name(&self, e: &Expect) -> Option<String> {
        let programs: Vec<_> = self.library.current_programs().map(|(_, p)| p).collect();
        let templates = [&e.sent, &e.not_sent, &e.deferred, &e.skipped];
        for name in templates.into_iter().flatten() {
            if !programs
                .iter()
                .any(|p| p.templates.iter().any(|t| t.name == *name))
            {
                return Some(format!(
                    "no journey of this test sends a template called `{name}`"
                ));
            }
        }
        let journeys = [&e.exit, &e.entered, &e.not_entered, &e.journey];
        for name in journeys.into_iter().flatten() {
            if !programs.iter().any(|p| p.journey == *name) {
                let known: Vec<&str> = programs.iter().map(|p| p.journey.as_str()).collect();
                return Some(format!(
                    "this test has no journey called `{name}` (it runs: {})",
                    known.join(", ")
                ));
            }
        }
        for name in [&e.goal, &e.no_goal].into_iter().flatten() {
            if !programs
                .iter()
                .any(|p| p.goal_names.iter().any(|g| g == name))
            {
                return Some(format!(
                    "no journey of this test has a goal called `{name}`"
                ));
            }
        }
        None
    }

    fn summary(&self, expect: &Expect) -> Vec<String> {
        let goals: Vec<String> = self
            .log
            .iter()
            .filter(|entry| self.in_scope(expect, entry, None))
            .filter_map(|entry| match &entry.effect {
                Effect::Goal { goal, journey, .. } => {
                    Some(format!("`{goal}` of `{journey}` at {}", self.when(entry)))
                }
                _ => None,
            })
            .collect();
        if goals.is_empty() {
            vec!["no goal was reached".to_string()]
        } else {
            vec![format!("goals reached: {}", goals.join(", "))]
        }
    }

    fn find_goal(&self, expect: &Expect, goal: &str, window: Window) -> bool {
        self.log.iter().any(|entry| {
            matches!(&entry.effect, Effect::Goal { goal: g, journey, .. }
                if g == goal && self.in_scope(expect, entry, Some(journey)) && in_window(window, entry.at))
        })
    }

    fn decision(
        &self,
        expect: &Expect,
        journey: &str,
        kind: DecisionKind,
        window: Window,
    ) -> Option<usize> {
        self.log.iter().position(|entry| {
            matches!(&entry.effect, Effect::Decision(d)
                if d.kind == kind && d.journey == journey
                && self.in_scope(expect, entry, Some(journey))
                && in_window(window, entry.at)
                && expect.why.as_ref().is_none_or(|w| d.why.contains(w.as_str())))
        })
    }

    fn why_not_entered(&self, journey: &str) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|entry| match &entry.effect {
                Effect::Decision(d)
                    if d.kind == DecisionKind::NotEntered && d.journey == journey =>
                {
                    Some(format!("at {}: {}", self.when(entry), d.why))
                }
                _ => None,
            })
            .collect()
    }

    fn exit(&mut self, expect: &Expect, journey: &str, window: Window, at: Range<usize>) {
        let exits: Vec<(&Entry, &ExitReason)> = self
            .log
            .iter()
            .filter_map(|entry| match &entry.effect {
                Effect::Exit {
                    journey: j, reason, ..
                } if j == journey && self.in_scope(expect, entry, Some(j)) => Some((entry, reason)),
                _ => None,
            })
            .collect();
        let matches = |reason: &ExitReason| {
            expect
                .reason
                .as_ref()
                .is_none_or(|wanted| reason_name(reason) == wanted.as_str())
        };
        if exits
            .iter()
            .any(|(entry, reason)| matches(reason) && in_window(window, entry.at))
        {
            return;
        }
        let actual: Vec<String> = exits
            .iter()
            .map(|(entry, reason)| {
                format!("left at {} ({})", self.when(entry), reason_name(reason))
            })
            .collect();
        let wanted = expect
            .reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        let notes = if actual.is_empty() {
            vec![format!("the customer never left `{journey}`")]
        } else {
            actual
        };
        self.fail(
            at,
            format!("the customer did not leave `{journey}` as expected{wanted}"),
            notes,
        );
    }

    fn held(
        &mut self,
        expect: &Expect,
        template: &str,
        kind: DecisionKind,
        window: Window,
        at: Range<usize>,
    ) {
        let wanted = format!("`{template}`");
        let found = self.log.iter().any(|entry| {
            matches!(&entry.effect, Effect::Decision(d)
                if d.kind == kind && d.why.starts_with(&wanted)
                && self.in_scope(expect, entry, Some(&d.journey))
                && in_window(window, entry.at)
                && expect.why.as_ref().is_none_or(|w| d.why.contains(w.as_str())))
        });
        if !found {
            let what = if kind == DecisionKind::Deferred {
                "held"
            } else {
                "skipped"
            };
            let others: Vec<String> = self
                .log
                .iter()
                .filter_map(|entry| match &entry.effect {
                    Effect::Decision(d) if d.why.starts_with(&wanted) => {
                        Some(format!("at {}: {}", self.when(entry), d.why))
                    }
                    _ => None,
                })
                .collect();
            self.fail(
                at,
                format!("`{template}` was not {what} as expected"),
                others,
            );
        }
    }

    fn profile(&mut self, expect: &Expect, profile: &toml::Table, at: Range<usize>) {
        let customers: Vec<&String> = match &expect.customer {
            Some(c) => vec![c],
            None => self.final_profiles.keys().collect(),
        };
        for customer in customers {
            let Some(state) = self.final_profiles.get(customer) else {
                self.fail(
                    at.clone(),
                    format!("no customer has the id `{customer}`"),
                    Vec::new(),
                );
                continue;
            };
            for (attribute, wanted) in profile {
                let actual = state
                    .profile
                    .get(attribute)
                    .map(crate::vm::decode::to_json)
                    .unwrap_or(serde_json::Value::Null);
                let wanted_json = scenario::json_of(wanted);
                if !same_json(&actual, &wanted_json) {
                    self.fail(
                        at.clone(),
                        format!("customer.{attribute} of `{customer}` is {actual}, expected {wanted_json}"),
                        Vec::new(),
                    );
                }
            }
        }
    }

    fn sent(&mut self, expect: &Expect, template: &str, window: Window, at: Range<usize>) {
        let mut closest: Option<(usize, Vec<String>)> = None;
        for (idx, entry) in self.log.iter().enumerate() {
            let Effect::Send(message) = &entry.effect else {
                continue;
            };
            if message.template != template
                || self.used.get(idx).copied().unwrap_or(true)
                || !self.in_scope(expect, entry, Some(&message.journey))
            {
                continue;
            }
            let problems = self.message_problems(expect, entry, message, window);
            if problems.is_empty() {
                if let Some(used) = self.used.get_mut(idx) {
                    *used = true;
                }
                return;
            }
            if closest
                .as_ref()
                .is_none_or(|(_, p)| problems.len() < p.len())
            {
                closest = Some((idx, problems));
            }
        }
        match closest {
            Some((idx, problems)) => {
                // Count it as the expected message, so it is not also reported as unexpected.
                if let Some(used) = self.used.get_mut(idx) {
                    *used = true;
                }
                self.fail(
                    at,
                    format!("`{template}` was sent, but not as expected"),
                    problems,
                );
            }
            None => {
                let sent: Vec<String> = self
                    .log
                    .iter()
                    .filter_map(|entry| match &entry.effect {
                        Effect::Send(m) => {
                            Some(format!("`{}` at {}", m.template, self.when(entry)))
                        }
                        _ => None,
                    })
                    .collect();
                let mut notes = vec![if sent.is_empty() {
                    "no message was sent".to_string()
                } else {
                    format!("sent: {}", sent.join(", "))
                }];
                notes.extend(self.log.iter().filter_map(|entry| match &entry.effect {
                    Effect::Decision(d)
                        if matches!(
                            d.kind,
                            DecisionKind::Skipped
                                | DecisionKind::Deferred
                                | DecisionKind::NotEntered
                        ) && (d.why.contains(&format!("`{template}`"))
                            || d.kind == DecisionKind::NotEntered) =>
                    {
                        Some(format!("at {}: {}", self.when(entry), d.why))
                    }
                    Effect::Error(error) => Some(format!(
                        "runtime error at {}: {}",
                        self.when(entry),
                        error.message
                    )),
                    _ => None,
                }));
                self.fail(at, format!("`{template}` was never sent"), notes);
            }
        }
    }

    fn message_problems(
        &self,
        expect: &Expect,
        entry: &Entry,
        message: &Message,
        window: Window,
    ) -> Vec<String> {
        let mut problems = Vec::new();
        if !in_window(window, entry.at) {
            let expected = match window {
                Some((from, to)) if to - from <= 118 => format!(
                    "expected at {}",
                    local(from + 59, self.zone_of(&entry.customer))
                ),
                Some((from, to)) => format!(
                    "expected between {} and {}",
                    local(from, self.zone_of(&entry.customer)),
                    local(to, self.zone_of(&entry.customer))
                ),
                None => String::new(),
            };
            problems.push(format!("sent at {}, {expected}", self.when(entry)));
        }
        if let Some(subject) = &expect.subject
            && message.subject.as_deref() != Some(subject.as_str())
        {
            problems.push(format!(
                "subject is \"{}\", expected \"{subject}\"",
                message.subject.as_deref().unwrap_or("")
            ));
        }
        let mut show_text = false;
        for text in &expect.contains {
            if !message.text.contains(text.as_str()) {
                problems.push(format!("the text does not contain \"{text}\""));
                show_text = true;
            }
        }
        for text in &expect.not_contains {
            if message.text.contains(text.as_str()) {
                problems.push(format!("the text contains \"{text}\""));
            }
        }
        for text in &expect.html_contains {
            if !message
                .html
                .as_deref()
                .is_some_and(|h| h.contains(text.as_str()))
            {
                problems.push(format!("the HTML does not contain \"{text}\""));
            }
        }
        if let Some(to) = &expect.to
            && message.to.as_deref() != Some(to.as_str())
        {
            problems.push(format!(
                "sent to {}, expected {to}",
                message.to.as_deref().unwrap_or("nobody")
            ));
        }
        if show_text {
            const SHOWN: usize = 40;
            let lines: Vec<&str> = message.text.lines().collect();
            let mut shown = lines
                .iter()
                .take(SHOWN)
                .map(|l| format!("  | {l}"))
                .collect::<Vec<_>>()
                .join("\n");
            if lines.len() > SHOWN {
                shown.push_str(&format!("\n  | … ({} more lines)", lines.len() - SHOWN));
            }
            problems.push(format!("the text was:\n{shown}"));
        }
        problems
    }
}

fn in_window(window: Window, at: i64) -> bool {
    window.is_none_or(|(from, to)| at >= from && at <= to)
}

fn reason_name(reason: &ExitReason) -> &'static str {
    match reason {
        ExitReason::Completed => "completed",
        ExitReason::ExitStep => "exit_step",
        ExitReason::ExitRule { .. } => "exit_rule",
        ExitReason::Holdout => "holdout",
        ExitReason::Error => "error",
        ExitReason::Migrated => "migrated",
    }
}

/// Equality of JSON values as the test file means it (money `"20 EUR"` equals `"20.00 EUR"`).
fn same_json(actual: &serde_json::Value, wanted: &serde_json::Value) -> bool {
    if actual == wanted {
        return true;
    }
    match (actual, wanted) {
        (serde_json::Value::String(a), serde_json::Value::String(w)) => {
            match (
                crate::vm::decode::money_text(a),
                crate::vm::decode::money_text(w),
            ) {
                (Some(a), Some(w)) => a == w,
                _ => false,
            }
        }
        _ => false,
    }
}
