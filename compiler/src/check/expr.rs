//! Type checking of expressions: names, fields, operators, calls, literals and optionals.

use chrono::NaiveDate;

use super::scope::Scope;
use crate::diagnostics::{Diagnostic, names, syntax as literal, types as wording};
use crate::model::{Program, Signature};
use crate::source::Span;
use crate::syntax::ast::{BinaryOp, Call, Expr, ExprKind, Path, UnaryOp};
use crate::types::Type;

/// The type of a checked expression, with the currency of money known at compile time.
#[derive(Clone, Debug)]
pub struct Typed {
    /// The type.
    pub ty: Type,
    /// For money written as a literal (or computed only from literals): its currency.
    pub currency: Option<String>,
}

impl Typed {
    fn of(ty: Type) -> Typed {
        Typed { ty, currency: None }
    }
}

/// Where a template is being checked from, so "not known here" can point at the send step.
#[derive(Clone, Debug)]
pub struct SendSite {
    /// The template's name.
    pub template: String,
    /// The `send` step.
    pub span: Span,
}

/// Checks expressions against a program's tables; reports into `diagnostics`.
pub struct ExprChecker<'p, 'a, 'd> {
    /// The program.
    pub program: &'p Program<'a>,
    /// Where problems go.
    pub diagnostics: &'d mut Vec<Diagnostic>,
    /// Set while checking a template at a send step.
    pub send_site: Option<SendSite>,
    /// Names the current journey binds somewhere (a wait's `as shipment`), with where: using
    /// one before it is bound is "not known yet" rather than "unknown".
    pub bound_in_journey: std::collections::BTreeMap<String, Span>,
    /// Names already reported as unknown at a send step.
    pub reported: std::collections::BTreeSet<(String, Span)>,
    /// Whether a template text is being checked (help then shows template syntax).
    pub in_template: bool,
    /// Set for templates no journey sends: which event data they will see is unknown, so
    /// unknown names pass silently while fields of `customer` and `shop`, filters and types
    /// are still checked.
    pub unknown_roots_allowed: bool,
}

impl<'p, 'a, 'd> ExprChecker<'p, 'a, 'd> {
    /// A checker with nothing in progress.
    pub fn new(program: &'p Program<'a>, diagnostics: &'d mut Vec<Diagnostic>) -> Self {
        ExprChecker {
            program,
            diagnostics,
            send_site: None,
            bound_in_journey: Default::default(),
            reported: Default::default(),
            in_template: false,
            unknown_roots_allowed: false,
        }
    }

    /// Reports a time zone name that is not in the IANA database.
    pub fn zone(&mut self, zone: &crate::syntax::ast::Text) {
        use std::str::FromStr;
        if chrono_tz::Tz::from_str(&zone.value).is_err() {
            let candidates = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
            let suggestion =
                crate::diagnostics::suggest::closest_within(&zone.value, candidates, 2);
            self.diagnostics
                .push(crate::diagnostics::journeys::unknown_time_zone(
                    zone.span,
                    &zone.value,
                    suggestion,
                ));
        }
    }

    /// The type of `expr` in `scope`.
    pub fn check(&mut self, expr: &Expr, scope: &Scope) -> Typed {
        match &expr.kind {
            ExprKind::Text(_) => Typed::of(Type::Text),
            ExprKind::Int(_) => Typed::of(Type::Int),
            ExprKind::Decimal(text) => {
                self.number(expr.span, text, text);
                Typed::of(Type::Decimal)
            }
            ExprKind::Money { amount, currency } => {
                self.number(expr.span, amount, &format!("{amount} {currency}"));
                Typed {
                    ty: Type::Money,
                    currency: Some(currency.clone()),
                }
            }
            ExprKind::Duration(_) => Typed::of(Type::Duration),
            ExprKind::Date(text) => {
                if NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() {
                    self.diagnostics.push(literal::invalid_literal(
                        expr.span,
                        text,
                        "date",
                        "2026-11-23",
                    ));
                }
                Typed::of(Type::Date)
            }
            ExprKind::Time(time) => {
                self.time_of_day(time);
                Typed::of(Type::Time)
            }
            ExprKind::Bool(_) => Typed::of(Type::Bool),
            ExprKind::List(items) => self.list(items, scope),
            ExprKind::Path(path) => Typed::of(self.path(path, scope)),
            ExprKind::Call(call) => Typed::of(self.call(call, None, scope)),
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right, scope),
            ExprKind::Unary(op, operand) => self.unary(*op, operand, scope),
        }
    }

    /// Checks a condition: it must be a present `bool`.
    pub fn condition(&mut self, expr: &Expr, scope: &Scope) {
        let typed = self.check(expr, scope);
        self.expect_bool(expr, &typed.ty);
    }

    /// Reports a number (or an amount) the runtime cannot hold: as the compiler stores it, in
    /// millionths (`bytecode::value::parse_micros`).
    fn number(&mut self, span: Span, digits: &str, written: &str) {
        if crate::bytecode::value::parse_micros(digits).is_none() {
            self.diagnostics
                .push(literal::number_out_of_range(span, written));
        }
    }

    /// Reports a time of day out of range.
    pub fn time_of_day(&mut self, time: &crate::syntax::ast::TimeOfDay) {
        if time.hour > 23 || time.minute > 59 {
            let written = format!("{}:{:02}", time.hour, time.minute);
            self.diagnostics.push(literal::invalid_literal(
                time.span,
                &written,
                "time of day",
                "09:00",
            ));
        }
    }

    fn expect_bool(&mut self, expr: &Expr, ty: &Type) {
        match ty {
            Type::Bool | Type::Unknown => {}
            Type::Optional(inner) if **inner == Type::Bool => {
                self.diagnostics
                    .push(wording::unhandled_optional_condition(expr.span));
            }
            other => {
                let shown = self.program.schemas.show(other);
                self.diagnostics
                    .push(wording::condition_not_bool(expr.span, &shown));
            }
        }
    }

    /// Reports an optional used where a value is required; returns the present type.
    fn require_present(&mut self, expr: &Expr, ty: Type, use_: &str) -> Type {
        match ty {
            Type::Optional(inner) => {
                let shown = self.program.schemas.show(&inner);
                self.diagnostics.push(wording::unhandled_optional_in(
                    self.in_template,
                    expr.span,
                    &expr_text(expr),
                    &shown,
                    use_,
                ));
                *inner
            }
            other => other,
        }
    }

    fn list(&mut self, items: &[Expr], scope: &Scope) -> Typed {
        let mut element: Option<Type> = None;
        for item in items {
            let ty = self.check(item, scope).ty;
            element = match element {
                None => Some(ty),
                Some(previous) => match previous.join(&ty) {
                    Some(joined) => Some(joined),
                    None => {
                        let (a, b) = (
                            self.program.schemas.show(&previous),
                            self.program.schemas.show(&ty),
                        );
                        self.diagnostics
                            .push(wording::mixed_list(item.span, &a, &b));
                        Some(Type::Unknown)
                    }
                },
            };
        }
        Typed::of(Type::List(Box::new(element.unwrap_or(Type::Any))))
    }

    /// The type of a dotted path.
    pub fn path(&mut self, path: &Path, scope: &Scope) -> Type {
        let Some(head) = path.parts.first() else {
            return Type::Unknown;
        };
        let mut ty = match scope.vars.get(&head.name) {
            Some(var) => var.ty.clone(),
            None => {
                self.unknown_root(head, scope);
                return Type::Unknown;
            }
        };
        let mut walked = head.name.clone();
        for part in path.parts.iter().skip(1) {
            if ty.is_optional() && scope.narrowed.contains(&walked) {
                ty = ty.present().clone();
            }
            let record = match &ty {
                Type::Record(id) => *id,
                Type::Unknown => return Type::Unknown,
                Type::Optional(inner) if matches!(**inner, Type::Record(_)) => {
                    let shown = self.program.schemas.show(inner);
                    let span = head.span.to(path
                        .parts
                        .iter()
                        .take_while(|p| p.span.start < part.span.start)
                        .last()
                        .map_or(head.span, |p| p.span));
                    self.diagnostics.push(wording::unhandled_optional_in(
                        self.in_template,
                        span,
                        &walked,
                        &shown,
                        "read one of its fields",
                    ));
                    match **inner {
                        Type::Record(id) => id,
                        _ => return Type::Unknown,
                    }
                }
                other => {
                    let shown = self.program.schemas.show(other);
                    self.diagnostics
                        .push(wording::no_fields(part, &walked, &shown));
                    return Type::Unknown;
                }
            };
            let Some(info) = self.program.schemas.get(record) else {
                return Type::Unknown;
            };
            match info.fields.get(&part.name) {
                Some(field) => ty = field.ty.clone(),
                None => {
                    let candidates = info.fields.keys().map(String::as_str);
                    let is_customer = Some(record) == self.program.customer;
                    self.diagnostics.push(if is_customer {
                        names::unknown_attribute(part, candidates)
                    } else {
                        names::unknown_field(part, &info.name, &walked, candidates)
                    });
                    return Type::Unknown;
                }
            }
            walked.push('.');
            walked.push_str(&part.name);
        }
        if ty.is_optional() && scope.narrowed.contains(&walked) {
            ty = ty.present().clone();
        }
        ty
    }

    fn unknown_root(&mut self, head: &crate::syntax::ast::Ident, scope: &Scope) {
        if self.unknown_roots_allowed {
            return;
        }
        // One report per name and send step, however often the template uses it.
        if let Some(site) = &self.send_site
            && !self.reported.insert((head.name.clone(), site.span))
        {
            return;
        }
        if let Some(missing) = scope.missing.get(&head.name) {
            self.diagnostics
                .push(names::not_in_scope(head, missing, self.send_site.as_ref()));
            return;
        }
        if let Some(bound_at) = self.bound_in_journey.get(&head.name) {
            self.diagnostics.push(names::not_yet_known(
                head,
                *bound_at,
                self.send_site.as_ref(),
            ));
            return;
        }
        let is_event = self.program.schemas.event(&head.name).is_some();
        let candidates = scope.vars.keys().map(String::as_str);
        self.diagnostics.push(names::unknown_name(
            head,
            candidates,
            is_event,
            self.send_site.as_ref(),
        ));
    }

    /// The result type of a call; `piped` is the value before `|` in a template filter.
    pub fn call(&mut self, call: &Call, piped: Option<(&Expr, Typed)>, scope: &Scope) -> Type {
        let Some(overloads) = self.program.builtins.get(&call.name.name) else {
            let candidates = self.program.builtins.keys().map(String::as_str);
            self.diagnostics
                .push(names::unknown_function(&call.name, candidates));
            for arg in &call.args {
                self.check(&arg.value, scope);
            }
            return Type::Unknown;
        };
        let mut args: Vec<(Option<&crate::syntax::ast::Ident>, &Expr, Typed)> = Vec::new();
        if let Some((expr, typed)) = piped {
            args.push((None, expr, typed));
        }
        for arg in &call.args {
            let typed = self.check(&arg.value, scope);
            args.push((arg.name.as_ref(), &arg.value, typed));
        }
        // The first overload that accepts the arguments wins.
        for signature in overloads {
            if self
                .bind_arguments(signature, &args)
                .is_ok_and(|problems| problems.is_empty())
            {
                return signature.result.clone();
            }
        }
        let Some(signature) = overloads.first() else {
            return Type::Unknown;
        };
        if overloads.len() == 1 {
            match self.bind_arguments(signature, &args) {
                Ok(problems) => {
                    for (expr, param_name, param_ty, arg_ty) in problems {
                        self.report_argument(call, expr, &param_name, &param_ty, arg_ty);
                    }
                }
                Err(diagnostic) => self.diagnostics.push(*diagnostic),
            }
        } else if let Some(signature) = overloads.iter().find(|s| {
            let present: Vec<_> = args
                .iter()
                .map(|(name, expr, typed)| (*name, *expr, Typed::of(typed.ty.present().clone())))
                .collect();
            self.bind_arguments(s, &present)
                .is_ok_and(|problems| problems.is_empty())
        }) {
            // Only missing values stand in the way: say so.
            if let Ok(problems) = self.bind_arguments(signature, &args) {
                for (expr, param_name, param_ty, arg_ty) in problems {
                    self.report_argument(call, expr, &param_name, &param_ty, arg_ty);
                }
            }
        } else {
            let accepted: Vec<String> = overloads
                .iter()
                .map(|s| self.signature_text(&call.name.name, s))
                .collect();
            let given: Vec<String> = args
                .iter()
                .map(|(_, _, t)| self.program.schemas.show(&t.ty))
                .collect();
            self.diagnostics
                .push(wording::no_overload(call, &given, &accepted));
        }
        signature.result.clone()
    }

    fn report_argument(
        &mut self,
        call: &Call,
        expr: &Expr,
        param_name: &str,
        param_ty: &Type,
        arg_ty: Type,
    ) {
        if arg_ty.is_optional() && arg_ty.present().fits(param_ty) {
            self.require_present(expr, arg_ty, &format!("pass it to `{}`", call.name.name));
            return;
        }
        let expected = self.program.schemas.show(param_ty);
        let found = self.program.schemas.show(&arg_ty);
        self.diagnostics.push(wording::argument_type(
            expr.span,
            &call.name.name,
            param_name,
            &expected,
            &found,
        ));
    }

    /// Matches arguments to parameters. `Err` for arity/name problems, `Ok(type problems)`.
    #[allow(clippy::type_complexity)]
    fn bind_arguments<'e>(
        &self,
        signature: &Signature,
        args: &[(Option<&crate::syntax::ast::Ident>, &'e Expr, Typed)],
    ) -> Result<Vec<(&'e Expr, String, Type, Type)>, Box<Diagnostic>> {
        let mut filled: Vec<Option<usize>> = vec![None; signature.params.len()];
        let mut next_positional = 0;
        for (arg_idx, (name, expr, _)) in args.iter().enumerate() {
            let param_idx = match name {
                Some(name) => match signature.params.iter().position(|(p, _)| *p == name.name) {
                    Some(idx) => idx,
                    None => {
                        let candidates = signature.params.iter().map(|(p, _)| p.as_str());
                        return Err(Box::new(names::unknown_argument(name, candidates)));
                    }
                },
                None => {
                    let idx = next_positional;
                    next_positional += 1;
                    if idx >= signature.params.len() {
                        return Err(Box::new(names::extra_argument(
                            expr.span,
                            signature.params.len(),
                        )));
                    }
                    idx
                }
            };
            if let Some(slot) = filled.get_mut(param_idx) {
                *slot = Some(arg_idx);
            }
        }
        let mut problems = Vec::new();
        for ((param_name, param_ty), slot) in signature.params.iter().zip(&filled) {
            match slot {
                Some(arg_idx) => {
                    if let Some((_, expr, typed)) = args.get(*arg_idx)
                        && !typed.ty.fits(param_ty)
                    {
                        problems.push((
                            *expr,
                            param_name.clone(),
                            param_ty.clone(),
                            typed.ty.clone(),
                        ));
                    }
                }
                None if param_ty.is_optional() => {}
                None => {
                    let span = args.last().map_or(signature.span, |(_, e, _)| e.span);
                    return Err(Box::new(names::missing_argument(
                        span,
                        param_name,
                        &self.program.schemas.show(param_ty),
                    )));
                }
            }
        }
        Ok(problems)
    }

    fn signature_text(&self, name: &str, signature: &Signature) -> String {
        let params: Vec<String> = signature
            .params
            .iter()
            .map(|(p, t)| format!("{p}: {}", self.program.schemas.show(t)))
            .collect();
        format!(
            "{name}({}) -> {}",
            params.join(", "),
            self.program.schemas.show(&signature.result)
        )
    }

    fn unary(&mut self, op: UnaryOp, operand: &Expr, scope: &Scope) -> Typed {
        let typed = self.check(operand, scope);
        match op {
            UnaryOp::IsSet | UnaryOp::IsNotSet => Typed::of(Type::Bool),
            UnaryOp::Not => {
                self.expect_bool(operand, &typed.ty);
                Typed::of(Type::Bool)
            }
            UnaryOp::Neg => {
                let ty = self.require_present(operand, typed.ty, "negate it");
                if !(ty.is_number() || matches!(ty, Type::Money | Type::Duration | Type::Unknown)) {
                    let shown = self.program.schemas.show(&ty);
                    self.diagnostics
                        .push(wording::bad_unary(operand.span, "-", &shown));
                    return Typed::of(Type::Unknown);
                }
                Typed {
                    ty,
                    currency: typed.currency,
                }
            }
        }
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr, scope: &Scope) -> Typed {
        let mut narrowed_scope;
        let right_scope = if op == BinaryOp::And {
            // `a is set and a > 3`: the right side sees what the left proves.
            narrowed_scope = scope.clone();
            narrowed_scope.narrowed.extend(proven_set(left));
            &narrowed_scope
        } else {
            scope
        };
        let l = self.check(left, scope);
        let r = self.check(right, right_scope);
        if l.ty.is_unknown() || r.ty.is_unknown() {
            return Typed::of(match op {
                BinaryOp::Or
                | BinaryOp::And
                | BinaryOp::Eq
                | BinaryOp::Ne
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge
                | BinaryOp::In => Type::Bool,
                _ => Type::Unknown,
            });
        }
        match op {
            BinaryOp::Or | BinaryOp::And => {
                self.expect_bool(left, &l.ty);
                self.expect_bool(right, &r.ty);
                Typed::of(Type::Bool)
            }
            BinaryOp::Eq | BinaryOp::Ne => {
                self.same_currency(op, &l, &r, left, right);
                if !l.ty.comparable(&r.ty) {
                    self.mismatch(op, &l.ty, &r.ty, left, right);
                }
                Typed::of(Type::Bool)
            }
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let what = format!("compare it with `{}`", op.symbol());
                let lt = self.require_present(left, l.ty.clone(), &what);
                let rt = self.require_present(right, r.ty.clone(), &what);
                self.same_currency(op, &l, &r, left, right);
                let orderable = |t: &Type| {
                    t.is_number()
                        || matches!(
                            t,
                            Type::Money
                                | Type::Date
                                | Type::DateTime
                                | Type::Time
                                | Type::Duration
                                | Type::Text
                        )
                };
                if !(lt.comparable(&rt) && orderable(&lt) && orderable(&rt)) {
                    self.mismatch(op, &lt, &rt, left, right);
                }
                Typed::of(Type::Bool)
            }
            BinaryOp::In => {
                let rt = self.require_present(right, r.ty.clone(), "look inside it");
                match rt {
                    Type::List(element) => {
                        if !l.ty.comparable(&element) {
                            self.mismatch(op, &l.ty, &Type::List(element), left, right);
                        }
                    }
                    other => {
                        let shown = self.program.schemas.show(&other);
                        self.diagnostics
                            .push(wording::not_a_list(right.span, &shown, "`in`"));
                    }
                }
                Typed::of(Type::Bool)
            }
            BinaryOp::Coalesce => {
                let inner = l.ty.present().clone();
                match inner.join(&r.ty) {
                    Some(joined) => Typed {
                        ty: joined,
                        currency: l.currency.or(r.currency),
                    },
                    None => {
                        self.mismatch(op, &inner, &r.ty, left, right);
                        Typed::of(Type::Unknown)
                    }
                }
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div => {
                let what = format!("compute with `{}`", op.symbol());
                let lt = self.require_present(left, l.ty.clone(), &what);
                let rt = self.require_present(right, r.ty.clone(), &what);
                let currency = self.same_currency(op, &l, &r, left, right);
                match arithmetic(op, &lt, &rt) {
                    Some(ty) => Typed {
                        currency: if ty == Type::Money { currency } else { None },
                        ty,
                    },
                    None => {
                        self.mismatch(op, &lt, &rt, left, right);
                        Typed::of(Type::Unknown)
                    }
                }
            }
        }
    }

    /// Reports money literals of two currencies combined; returns the common currency.
    fn same_currency(
        &mut self,
        op: BinaryOp,
        l: &Typed,
        r: &Typed,
        left: &Expr,
        right: &Expr,
    ) -> Option<String> {
        match (&l.currency, &r.currency) {
            (Some(a), Some(b)) if a != b => {
                self.diagnostics.push(wording::mixed_currencies(
                    op.symbol(),
                    left.span,
                    a,
                    right.span,
                    b,
                ));
                None
            }
            (Some(a), _) => Some(a.clone()),
            (_, b) => b.clone(),
        }
    }

    fn mismatch(&mut self, op: BinaryOp, l: &Type, r: &Type, left: &Expr, right: &Expr) {
        let (ls, rs) = (self.program.schemas.show(l), self.program.schemas.show(r));
        // `customer.points > "100"`: a number in quotes, against a number.
        let number = |ty: &Type| matches!(ty, Type::Int | Type::Decimal);
        let quoted = |expr: &Expr| match &expr.kind {
            ExprKind::Text(text) if text.trim().parse::<f64>().is_ok_and(f64::is_finite) => {
                Some(text.trim().to_string())
            }
            _ => None,
        };
        let unquote = match (quoted(left), quoted(right)) {
            (Some(digits), None) if number(r) => Some((left.span, digits)),
            (None, Some(digits)) if number(l) => Some((right.span, digits)),
            _ => None,
        };
        let diagnostic = match unquote {
            Some((text, digits)) => wording::quoted_number(
                op.symbol(),
                (left.span, &ls),
                (right.span, &rs),
                text,
                &digits,
            ),
            None => wording::type_mismatch(op.symbol(), left.span, &ls, right.span, &rs),
        };
        self.diagnostics.push(diagnostic);
    }
}

/// The result type of arithmetic on two present types, if allowed.
fn arithmetic(op: BinaryOp, l: &Type, r: &Type) -> Option<Type> {
    use BinaryOp::{Add, Div, Mul, Sub};
    use Type::{Date, DateTime, Decimal, Duration, Int, Money, Text};
    Some(match (op, l, r) {
        (_, Int, Int) if op != Div => Int,
        (Div, Int, Int) => Decimal,
        (_, Int | Decimal, Int | Decimal) => Decimal,
        (Add | Sub, Money, Money) => Money,
        (Mul, Money, Int | Decimal) | (Mul, Int | Decimal, Money) | (Div, Money, Int | Decimal) => {
            Money
        }
        (Div, Money, Money) => Decimal,
        (Add | Sub, Date, Duration) | (Add, Duration, Date) => Date,
        (Add | Sub, DateTime, Duration) | (Add, Duration, DateTime) => DateTime,
        (Sub, Date, Date) | (Sub, DateTime, DateTime) => Duration,
        (Add | Sub, Duration, Duration) => Duration,
        (Mul, Duration, Int) | (Mul, Int, Duration) => Duration,
        (Add, Text, Text) => Text,
        _ => return None,
    })
}

/// The paths an expression proves set when it is true (`a is set and b.c is set`).
pub fn proven_set(expr: &Expr) -> Vec<String> {
    match &expr.kind {
        ExprKind::Unary(UnaryOp::IsSet, operand) => match &operand.kind {
            ExprKind::Path(path) => vec![path_text(path)],
            _ => Vec::new(),
        },
        ExprKind::Binary(BinaryOp::And, left, right) => {
            let mut paths = proven_set(left);
            paths.extend(proven_set(right));
            paths
        }
        _ => Vec::new(),
    }
}

/// `customer.first_name` as text.
pub fn path_text(path: &Path) -> String {
    path.parts
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// A short rendering of an expression for messages.
pub fn expr_text(expr: &Expr) -> String {
    match &expr.kind {
        ExprKind::Path(path) => path_text(path),
        ExprKind::Call(call) => format!("{}(…)", call.name.name),
        _ => "this value".to_string(),
    }
}
