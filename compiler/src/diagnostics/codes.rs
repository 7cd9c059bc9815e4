//! Every diagnostic code: number, kebab name, default severity and a one-line summary.
//!
//! The long explanations with a wrong and a right example live in `docs/errors.md`, one section
//! per code; a test keeps the two in step and checks that each code has a file in the UI corpus.

use super::Severity;

macro_rules! codes {
    ($( $variant:ident = $number:literal, $name:literal, $severity:ident, $summary:literal; )*) => {
        /// A diagnostic code such as `J0102` (`unknown-field`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in number order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The number, as in `J0102`.
            pub fn number(self) -> u16 {
                match self { $(Code::$variant => $number,)* }
            }

            /// The kebab-case name, as in `unknown-field`.
            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity this code is reported with.
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line saying what the code is about.
            pub fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    // Syntax.
    Syntax = 1, "syntax-error", Error, "The text does not follow the journey grammar.";
    TemplateSyntax = 2, "template-syntax", Error, "A `{{ }}` or `{% %}` tag in a template is malformed or unclosed.";
    UnterminatedText = 3, "unterminated-text", Error, "A text in quotes is never closed.";
    InvalidLiteral = 4, "invalid-literal", Error, "A date, time, number or percentage is out of range.";
    ImportNotFound = 5, "import-not-found", Error, "An imported file cannot be read.";

    // Names.
    UnknownEvent = 101, "unknown-event", Error, "The event is not declared.";
    UnknownField = 102, "unknown-field", Error, "The event or record has no field of that name.";
    UnknownTemplate = 103, "unknown-template", Error, "The template is not declared.";
    UnknownAttribute = 104, "unknown-attribute", Error, "The customer profile has no attribute of that name.";
    UnknownName = 105, "unknown-name", Error, "The name is not known at this point of the journey.";
    UnknownType = 106, "unknown-type", Error, "The type in a schema is not a known type, record or event.";
    UnknownFunction = 107, "unknown-function", Error, "The function or filter is not a builtin.";
    UnknownSegment = 108, "unknown-segment", Error, "The segment is not declared.";
    UnknownLayout = 109, "unknown-layout", Error, "The layout is not declared.";
    DuplicateDeclaration = 110, "duplicate-declaration", Error, "Two declarations have the same name.";
    DuplicateField = 111, "duplicate-field", Error, "A schema declares the same field twice.";
    NotInScope = 112, "data-not-in-scope", Error, "A step or template uses data that is not known on every path to it.";
    BadArguments = 113, "bad-arguments", Error, "A call has a missing, unknown or extra argument.";
    BuiltinNotProvided = 114, "builtin-not-provided", Error, "A `builtin` declaration names a function the runtime does not provide.";

    // Types.
    TypeMismatch = 201, "type-mismatch", Error, "The values on either side of an operator do not go together.";
    MixedCurrencies = 202, "mixed-currencies", Error, "Amounts in two different currencies are combined.";
    UnhandledOptional = 203, "unhandled-optional", Error, "A value that may be missing is used as if it were always there.";
    ConditionNotBool = 204, "condition-not-bool", Error, "A condition is not a yes/no value.";
    ArgumentType = 205, "argument-type", Error, "An argument has the wrong type for the function.";
    SetTypeMismatch = 206, "set-type-mismatch", Error, "The value stored in a customer attribute has the wrong type.";
    NotAList = 207, "not-a-list", Error, "`for … in` or `in` needs a list.";
    NotPrintable = 208, "not-printable", Error, "A template prints a value that has no text form (a record or a list).";
    NoFields = 209, "no-fields", Error, "A field is read from a value that has no fields.";
    SetNotCustomer = 210, "set-not-customer", Error, "Only customer attributes can be set.";

    // Journeys.
    MissingTrigger = 301, "missing-trigger", Error, "The journey has no `when` line, so nobody can enter it.";
    MultipleTriggers = 302, "multiple-triggers", Error, "The journey has more than one `when` line.";
    SplitNotHundred = 303, "split-not-100", Error, "The percentages of a split do not add up to 100%.";
    WaitNeverEnds = 304, "wait-never-ends", Error, "A wait can never end, so customers would be stuck in it forever.";
    UnreachableStep = 305, "unreachable-step", Warning, "No customer can ever reach this step.";
    GoalWindowTooShort = 306, "goal-window-too-short", Warning, "The goal window closes before a customer can reach the goal.";
    DefaultReentry = 307, "default-reentry", Warning, "The journey does not say whether a customer may enter again.";
    InvalidCron = 308, "invalid-cron", Error, "The schedule is not a valid cron expression.";
    UnknownTimeZone = 309, "unknown-time-zone", Error, "The time zone is not in the IANA time zone database.";
    ChannelMismatch = 310, "channel-mismatch", Error, "A template is sent on a channel it was not written for.";
    EmptyJourney = 311, "empty-journey", Error, "The journey has no steps.";
    ConflictingEntryRules = 312, "conflicting-entry-rules", Error, "The journey has more than one re-entry rule.";
    DuplicateGoal = 313, "duplicate-goal", Error, "Two goals of one journey have the same name.";
    NotADateAttribute = 314, "not-a-date-attribute", Error, "A date trigger names an attribute that is not a date.";

    // Templates.
    UnusedTemplate = 401, "unused-template", Warning, "No journey sends this template.";
    MissingUnsubscribe = 402, "missing-unsubscribe", Warning, "A marketing message gives the customer no way to unsubscribe.";
    MissingTemplatePart = 403, "missing-template-part", Error, "A template lacks a part its channel needs (an email's subject or body).";

    // Policies.
    UnknownPolicy = 501, "unknown-policy", Error, "A policy names messages that do not exist; only `marketing` can be governed.";
    EmptyQuietHours = 502, "empty-quiet-hours", Error, "Quiet hours start and end at the same time.";
    ZeroCap = 503, "zero-frequency-cap", Error, "A frequency cap of zero would block every message.";

    // Tests of journeys (`journey test`).
    InvalidTestFile = 601, "invalid-test-file", Error, "A test or scenario file is malformed or names something that does not exist.";
    ExpectationFailed = 602, "expectation-failed", Error, "What a test expected did not happen.";
    UnexpectedMessage = 603, "unexpected-message", Error, "A test sent a message that none of its expectations mentions.";
    RuntimeErrorInTest = 604, "runtime-error-in-test", Error, "A journey stopped with a runtime error during a test.";

    // Step labels and migrations (`migrate { … }`, checked again at deploy).
    DuplicateStepLabel = 701, "duplicate-step-label", Error, "Two steps of one journey have the same label.";
    UnknownStepLabel = 702, "unknown-step-label", Error, "A migration moves customers to a step label the journey does not have.";
    DuplicateMigration = 703, "duplicate-migration", Error, "A `migrate` block says twice where the customers of one old step go.";
    MigrationLosesData = 704, "migration-loses-data", Error, "Customers at the old step lack data that the new step may use.";
    MigrationFromNowhere = 705, "migration-from-nowhere", Warning, "No running version of the journey has a step with that label, so the line moves nobody.";
    MigrationToSkippedStep = 706, "migration-to-skipped-step", Error, "A migration moves customers to a step that never runs (after an `exit`, or in a branch that is always skipped).";
}

impl Code {
    /// The code as printed: `J0102`.
    pub fn id(self) -> String {
        format!("J{:04}", self.number())
    }

    /// Parses `J0102`, `j0102`, `0102`, `102` or `unknown-field`.
    pub fn parse(text: &str) -> Option<Code> {
        let trimmed = text.trim();
        let digits = trimmed.trim_start_matches(['J', 'j']);
        if let Ok(number) = digits.parse::<u16>() {
            return Code::ALL
                .iter()
                .copied()
                .find(|code| code.number() == number);
        }
        Code::ALL
            .iter()
            .copied()
            .find(|code| code.name() == trimmed)
    }
}
