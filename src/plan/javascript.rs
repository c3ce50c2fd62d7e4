//! Evaluator for the small JavaScript subset used by If Controller conditions.
//!
//! JMeter's If Controller (in condition mode) and the `__javaScript` function hand an
//! expression, after `${...}` substitution, to a JavaScript engine. Real-world plans only
//! use a tiny part of the language there: literals, arithmetic, comparisons, logical
//! operators, the ternary operator and a handful of string methods and global functions.
//! This module implements exactly that subset with JavaScript's coercion rules, so that
//! rmeter needs no embedded JavaScript engine, and it reports anything outside the subset
//! (for example an unresolved `${var}` or an unknown identifier) as a `ConditionError`
//! that names the offending text and its byte position instead of guessing.
//!
//! Parsing and evaluation happen in one recursive-descent pass. Operands skipped by
//! short-circuiting are still parsed, so syntax errors are always reported, but they are
//! not evaluated, as in JavaScript. Nesting is bounded by `MAX_DEPTH`, so hostile input
//! produces an error rather than a stack overflow.

use std::fmt;
use std::str::CharIndices;

/// A JavaScript value as produced by the evaluator.
#[derive(Debug, Clone, PartialEq)]
pub enum JsValue {
    /// A string; lengths and indices are measured in UTF-16 code units as in JavaScript.
    Str(String),
    /// A number (an IEEE 754 double, as in JavaScript).
    Num(f64),
    /// A boolean.
    Bool(bool),
    /// The `undefined` value.
    Undefined,
    /// The `null` value.
    Null,
}

/// An error describing why an expression could not be parsed or evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionError {
    /// A lower-case message that names the offending text and its byte position.
    pub message: String,
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConditionError {}

/// Evaluates a JavaScript expression and returns its truthiness as JavaScript defines it.
///
/// # Errors
///
/// Returns a `ConditionError` when the expression is not valid in the supported subset.
pub fn eval_condition(src: &str) -> Result<bool, ConditionError> {
    eval(src).map(|value| truthy(&value))
}

/// Evaluates and returns the value (used by tests and by `__javaScript`-like needs).
///
/// # Errors
///
/// Returns a `ConditionError` that names the offending text and its byte position when
/// the expression is malformed, uses something outside the supported subset, nests too
/// deeply, or fails at run time (for example by reading a property of `null`).
pub fn eval(src: &str) -> Result<JsValue, ConditionError> {
    let tokens = lex(src)?;
    let mut parser = Parser {
        tokens,
        idx: 0,
        depth: 0,
        end: src.len(),
    };
    let value = parser.expression(true)?;
    // Trailing statement terminators are accepted because plans sometimes contain them.
    while parser.eat(";") {}
    match parser.peek() {
        None => Ok(value),
        Some(_) => Err(parser.unexpected()),
    }
}

/// The result type used by the lexer, the parser and the evaluator.
type Res<T> = Result<T, ConditionError>;

/// Returns early from the enclosing function with a formatted `ConditionError`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err(error(format!($($arg)*)))
    };
}

/// The maximum nesting of sub-expressions (parentheses, unary operators, ternaries and
/// call arguments) before evaluation gives up with an error.
const MAX_DEPTH: usize = 64;

/// Punctuators, longest first so that the lexer always takes the longest match.
const PUNCTUATORS: [&str; 23] = [
    "===", "!==", "==", "!=", "<=", ">=", "&&", "||", "(", ")", ".", ",", "?", ":", ";", "!", "+",
    "-", "*", "/", "%", "<", ">",
];

/// Binary operators grouped by precedence, from loosest to tightest binding.
const BINARY_LEVELS: [&[&str]; 6] = [
    &["||"],
    &["&&"],
    &["===", "!==", "==", "!="],
    &["<", ">", "<=", ">="],
    &["+", "-"],
    &["*", "/", "%"],
];

/// Global functions that may be called by name, separated by spaces.
const FUNCTIONS: &str = "parseInt parseFloat Number String Boolean isNaN";

/// Methods that may be called with `value.method(...)`, separated by spaces.
const METHODS: &str = "toLowerCase toUpperCase trim indexOf includes startsWith endsWith \
                       equals equalsIgnoreCase toString";

/// A lexical token; the parser keeps it together with its starting byte offset.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Ident(String),
    Punct(&'static str),
}

/// Builds an error from a message.
fn error(message: String) -> ConditionError {
    ConditionError { message }
}

/// Shortens user text that is quoted in an error message.
fn snippet(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text.to_string(),
    }
}

/// Returns true for characters that JavaScript treats as white space or line terminators.
fn is_js_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// Returns true for bytes that may continue an identifier.
fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Splits the source text into tokens paired with their byte offsets.
fn lex(src: &str) -> Res<Vec<(Tok, usize)>> {
    let mut tokens = Vec::new();
    let mut pos = 0;
    while let Some(rest) = src.get(pos..) {
        let Some(c) = rest.chars().next() else { break };
        let next = rest.as_bytes().get(1).copied();
        let (tok, len) = if is_js_space(c) {
            pos += c.len_utf8();
            continue;
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|b| b.is_ascii_digit())) {
            lex_number(rest, pos)?
        } else if c == '"' || c == '\'' {
            lex_string(rest, pos, c)?
        } else if c == '$' && next == Some(b'{') {
            let end = rest.find('}').map_or(rest.len(), |i| i + 1);
            let text = snippet(rest.get(..end).unwrap_or(rest));
            bail!("unresolved variable reference `{text}` at byte {pos}");
        } else if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            let len = rest.bytes().take_while(|b| is_ident_byte(*b)).count();
            (Tok::Ident(rest.get(..len).unwrap_or_default().into()), len)
        } else if rest.starts_with("++") || rest.starts_with("--") {
            // JavaScript rejects increments here because there are no variables to modify.
            bail!(
                "unsupported operator `{}` at byte {pos}",
                rest.get(..2).unwrap_or(rest)
            );
        } else if let Some(p) = PUNCTUATORS.iter().find(|p| rest.starts_with(**p)) {
            (Tok::Punct(p), p.len())
        } else if c == '=' {
            bail!("assignment `=` at byte {pos} is not supported, use `==` or `===`");
        } else {
            bail!("unexpected character `{c}` at byte {pos}");
        };
        tokens.push((tok, pos));
        pos += len;
    }
    Ok(tokens)
}

/// Lexes a numeric literal at the start of `rest` and returns it with its byte length.
fn lex_number(rest: &str, pos: usize) -> Res<(Tok, usize)> {
    let (value, len) = match radix_prefix(rest) {
        Some((radix, digits)) => {
            let count = digits.chars().take_while(|c| c.is_digit(radix)).count();
            ((count > 0).then(|| radix_value(digits, radix)), count + 2)
        }
        None => {
            let len = scan_decimal(rest);
            (rest.get(..len).and_then(|t| t.parse().ok()), len)
        }
    };
    let Some(value) = value else {
        let text = snippet(rest.get(..len).unwrap_or(rest));
        bail!("invalid number literal `{text}` at byte {pos}");
    };
    if let Some(b) = rest.as_bytes().get(len).filter(|b| is_ident_byte(**b)) {
        let (c, at) = (char::from(*b), pos + len);
        bail!("unexpected `{c}` after number literal at byte {at}");
    }
    Ok((Tok::Num(value), len))
}

/// Lexes a string literal that starts with `quote` and returns it with its byte length.
fn lex_string(rest: &str, pos: usize, quote: char) -> Res<(Tok, usize)> {
    let mut out = String::new();
    let mut chars = rest.char_indices();
    chars.next();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((Tok::Str(out), i + 1));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, escaped)) = chars.next() else {
            break;
        };
        let bad_escape = || error(format!("invalid escape sequence at byte {}", pos + i));
        out.push(match escaped {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'v' => '\u{b}',
            // Legacy octal escapes (`\0`, `\101`) are still accepted by JMeter's engines.
            '0'..='7' => read_octal(escaped, &mut chars),
            'x' => read_hex(&mut chars, 2)
                .and_then(char::from_u32)
                .ok_or_else(bad_escape)?,
            'u' => read_unicode_escape(&mut chars).ok_or_else(bad_escape)?,
            // A backslash before a line terminator continues the literal on the next line.
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => continue,
            other => other,
        });
    }
    bail!("unterminated string literal starting at byte {pos}");
}

/// Reads the rest of a legacy octal escape whose first digit is `first`; the value is
/// at most `\377`, so a leading digit above 3 allows only one more digit.
fn read_octal(first: char, chars: &mut CharIndices<'_>) -> char {
    let mut code = first.to_digit(8).unwrap_or(0);
    let more = if code <= 3 { 2 } else { 1 };
    for _ in 0..more {
        let Some(digit) = chars.clone().next().and_then(|(_, c)| c.to_digit(8)) else {
            break;
        };
        code = code * 8 + digit;
        chars.next();
    }
    char::from_u32(code).unwrap_or('\u{fffd}')
}

/// Reads exactly `count` hexadecimal digits.
fn read_hex(chars: &mut CharIndices<'_>, count: usize) -> Option<u32> {
    (0..count).try_fold(0, |code, _| Some(code * 16 + chars.next()?.1.to_digit(16)?))
}

/// Reads the four digits of a `\u` escape. A high surrogate followed by a `\uXXXX` low
/// surrogate is joined into one character; lone surrogates become U+FFFD because Rust
/// strings cannot hold them.
fn read_unicode_escape(chars: &mut CharIndices<'_>) -> Option<char> {
    let code = read_hex(chars, 4)?;
    let mut ahead = chars.clone();
    let escape = [ahead.next(), ahead.next()].map(|c| c.map(|(_, c)| c));
    let low = read_hex(&mut ahead, 4).filter(|low| (0xdc00..0xe000).contains(low));
    if let (true, Some(low), [Some('\\'), Some('u')]) =
        ((0xd800..0xdc00).contains(&code), low, escape)
    {
        *chars = ahead;
        return char::from_u32(0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00));
    }
    Some(char::from_u32(code).unwrap_or('\u{fffd}'))
}

/// Returns the byte length of the longest unsigned decimal literal at the start of `s`.
fn scan_decimal(s: &str) -> usize {
    let bytes = s.as_bytes();
    let digits_end = |from: usize| {
        from + bytes
            .iter()
            .skip(from)
            .take_while(|d| d.is_ascii_digit())
            .count()
    };
    let mut end = digits_end(0);
    if bytes.get(end) == Some(&b'.') && (end > 0 || digits_end(1) > 1) {
        end = digits_end(end + 1);
    }
    if end > 0 && matches!(bytes.get(end), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exponent_end = digits_end(end + 1 + sign);
        if exponent_end > end + 1 + sign {
            end = exponent_end;
        }
    }
    end
}

/// Computes the value of the leading digits of `digits` that are valid in `radix`.
fn radix_value(digits: &str, radix: u32) -> f64 {
    digits
        .chars()
        .map_while(|c| c.to_digit(radix))
        .fold(0.0, |acc, d| acc * f64::from(radix) + f64::from(d))
}

/// Splits a `0x`, `0o` or `0b` prefix from `text` and returns the radix and the rest.
fn radix_prefix(text: &str) -> Option<(u32, &str)> {
    let radix = match text.get(..2)? {
        "0x" | "0X" => 16,
        "0o" | "0O" => 8,
        "0b" | "0B" => 2,
        _ => return None,
    };
    Some((radix, text.get(2..)?))
}

/// A recursive-descent parser that evaluates while it parses.
///
/// Every parsing method takes a `live` flag; when it is false the method only checks
/// syntax and returns `Undefined`, which implements short-circuiting.
struct Parser {
    tokens: Vec<(Tok, usize)>,
    idx: usize,
    depth: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.idx).map(|(tok, _)| tok)
    }

    fn pos(&self) -> usize {
        self.tokens.get(self.idx).map_or(self.end, |(_, pos)| *pos)
    }

    fn eat(&mut self, punct: &str) -> bool {
        let found = matches!(self.peek(), Some(Tok::Punct(p)) if *p == punct);
        self.idx += usize::from(found);
        found
    }

    fn describe_current(&self) -> String {
        match self.peek() {
            None => "end of input".to_string(),
            Some(Tok::Num(n)) => format!("number `{}`", number_to_string(*n)),
            Some(Tok::Str(s)) => format!("string \"{}\"", snippet(s)),
            Some(Tok::Ident(name)) => format!("`{}`", snippet(name)),
            Some(Tok::Punct(p)) => format!("`{p}`"),
        }
    }

    fn unexpected(&self) -> ConditionError {
        let (found, pos) = (self.describe_current(), self.pos());
        error(format!("unexpected {found} at byte {pos}"))
    }

    fn expect(&mut self, punct: &str) -> Res<()> {
        if !self.eat(punct) {
            let (found, pos) = (self.describe_current(), self.pos());
            bail!("expected `{punct}` but found {found} at byte {pos}");
        }
        Ok(())
    }

    /// Runs `f` one nesting level deeper, failing once `MAX_DEPTH` is reached.
    fn nested(&mut self, f: impl FnOnce(&mut Self) -> Res<JsValue>) -> Res<JsValue> {
        if self.depth >= MAX_DEPTH {
            bail!("expression is nested too deeply at byte {}", self.pos());
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// Parses a full expression, which is a conditional (ternary) expression.
    fn expression(&mut self, live: bool) -> Res<JsValue> {
        self.nested(|p| p.conditional(live))
    }

    fn conditional(&mut self, live: bool) -> Res<JsValue> {
        let condition = self.binary(0, live)?;
        if !self.eat("?") {
            return Ok(condition);
        }
        let chosen = truthy(&condition);
        let when_true = self.expression(live && chosen)?;
        self.expect(":")?;
        let when_false = self.expression(live && !chosen)?;
        Ok(if chosen { when_true } else { when_false })
    }

    /// Parses binary operators whose level in `BINARY_LEVELS` is at least `min_level`,
    /// by precedence climbing so that all operators are left-associative.
    fn binary(&mut self, min_level: usize, live: bool) -> Res<JsValue> {
        let mut left = self.unary(live)?;
        loop {
            let Some(Tok::Punct(op)) = self.peek() else {
                return Ok(left);
            };
            let op = *op;
            let level = BINARY_LEVELS.iter().position(|ops| ops.contains(&op));
            let Some(level) = level.filter(|level| *level >= min_level) else {
                return Ok(left);
            };
            self.idx += 1;
            // `&&` and `||` evaluate their right operand only when it decides the result,
            // and they return an operand rather than a boolean.
            let logical = op == "&&" || op == "||";
            let live_right = live && (!logical || truthy(&left) == (op == "&&"));
            let right = self.binary(level + 1, live_right)?;
            if live_right {
                left = if logical {
                    right
                } else {
                    apply_binary(op, &left, &right)
                };
            }
        }
    }

    fn unary(&mut self, live: bool) -> Res<JsValue> {
        let op = match self.peek() {
            Some(Tok::Punct(p @ ("!" | "-" | "+"))) => *p,
            _ => return self.postfix(live),
        };
        self.idx += 1;
        let operand = self.nested(|p| p.unary(live))?;
        Ok(match op {
            "!" => JsValue::Bool(!truthy(&operand)),
            "-" => JsValue::Num(-to_number(&operand)),
            _ => JsValue::Num(to_number(&operand)),
        })
    }

    /// Parses a primary expression followed by any `.property` or `.method(...)` suffixes.
    fn postfix(&mut self, live: bool) -> Res<JsValue> {
        let mut value = self.primary(live)?;
        while self.eat(".") {
            let pos = self.pos();
            let Some(Tok::Ident(name)) = self.peek().cloned() else {
                let found = self.describe_current();
                bail!("expected a property name but found {found} at byte {pos}");
            };
            self.idx += 1;
            if self.eat("(") {
                if !METHODS.split_whitespace().any(|m| m == name) {
                    bail!("unsupported method `{}` at byte {pos}", snippet(&name));
                }
                let args = self.arguments(live)?;
                if live {
                    value = call_method(value, &name, &args, pos)?;
                }
            } else if live {
                value = get_property(&value, &name, pos)?;
            }
        }
        Ok(value)
    }

    /// Parses call arguments after the opening parenthesis.
    fn arguments(&mut self, live: bool) -> Res<Vec<JsValue>> {
        let mut args = Vec::new();
        while !self.eat(")") {
            args.push(self.expression(live)?);
            if !self.eat(",") {
                self.expect(")")?;
                break;
            }
        }
        Ok(args)
    }

    /// Parses a literal, a parenthesized expression, a keyword or a function call.
    fn primary(&mut self, live: bool) -> Res<JsValue> {
        let pos = self.pos();
        let name = match self.peek().cloned() {
            Some(Tok::Ident(name)) => name,
            Some(Tok::Num(n)) => return Ok(self.advance(JsValue::Num(n))),
            Some(Tok::Str(s)) => return Ok(self.advance(JsValue::Str(s))),
            Some(Tok::Punct("(")) => {
                self.idx += 1;
                let value = self.expression(live)?;
                self.expect(")")?;
                return Ok(value);
            }
            _ => return Err(self.unexpected()),
        };
        self.idx += 1;
        Ok(match name.as_str() {
            "true" => JsValue::Bool(true),
            "false" => JsValue::Bool(false),
            "null" => JsValue::Null,
            "undefined" => JsValue::Undefined,
            "NaN" => JsValue::Num(f64::NAN),
            "Infinity" => JsValue::Num(f64::INFINITY),
            _ if FUNCTIONS.split_whitespace().any(|f| f == name) => {
                if !self.eat("(") {
                    bail!("function `{name}` at byte {pos} must be called");
                }
                // The functions are pure, so calling them in a skipped branch is harmless.
                call_function(&name, &self.arguments(live)?)
            }
            _ => bail!("unknown identifier `{}` at byte {pos}", snippet(&name)),
        })
    }

    /// Consumes the current token and returns `value`.
    fn advance(&mut self, value: JsValue) -> JsValue {
        self.idx += 1;
        value
    }
}

/// Applies a non-logical binary operator with JavaScript semantics.
fn apply_binary(op: &str, left: &JsValue, right: &JsValue) -> JsValue {
    let num = |f: fn(f64, f64) -> f64| JsValue::Num(f(to_number(left), to_number(right)));
    match op {
        "===" => JsValue::Bool(strict_equals(left, right)),
        "!==" => JsValue::Bool(!strict_equals(left, right)),
        "==" => JsValue::Bool(loose_equals(left, right)),
        "!=" => JsValue::Bool(!loose_equals(left, right)),
        "<" => JsValue::Bool(less_than(left, right) == Some(true)),
        ">" => JsValue::Bool(less_than(right, left) == Some(true)),
        "<=" => JsValue::Bool(less_than(right, left) == Some(false)),
        ">=" => JsValue::Bool(less_than(left, right) == Some(false)),
        "+" if matches!(left, JsValue::Str(_)) || matches!(right, JsValue::Str(_)) => {
            JsValue::Str(to_string(left) + &to_string(right))
        }
        "+" => num(|a, b| a + b),
        "-" => num(|a, b| a - b),
        "*" => num(|a, b| a * b),
        "/" => num(|a, b| a / b),
        _ => num(|a, b| a % b),
    }
}

/// Implements `===`; numbers compare as doubles, so NaN differs from itself.
fn strict_equals(left: &JsValue, right: &JsValue) -> bool {
    left == right
}

/// Implements `==` (the abstract equality comparison).
fn loose_equals(left: &JsValue, right: &JsValue) -> bool {
    use JsValue::{Bool, Null, Num, Str, Undefined};
    match (left, right) {
        (Null | Undefined, Null | Undefined) => true,
        (Null | Undefined, _) | (_, Null | Undefined) => false,
        (Bool(_), other) => loose_equals(&Num(to_number(left)), other),
        (other, Bool(_)) => loose_equals(other, &Num(to_number(right))),
        (Num(a), Str(s)) | (Str(s), Num(a)) => *a == string_to_number(s),
        _ => strict_equals(left, right),
    }
}

/// Implements the abstract relational comparison `left < right`; `None` means undefined.
fn less_than(left: &JsValue, right: &JsValue) -> Option<bool> {
    if let (JsValue::Str(a), JsValue::Str(b)) = (left, right) {
        return Some(a.encode_utf16().lt(b.encode_utf16()));
    }
    let (a, b) = (to_number(left), to_number(right));
    (!a.is_nan() && !b.is_nan()).then_some(a < b)
}

/// Returns JavaScript truthiness.
fn truthy(value: &JsValue) -> bool {
    match value {
        JsValue::Str(s) => !s.is_empty(),
        JsValue::Num(n) => *n != 0.0 && !n.is_nan(),
        JsValue::Bool(b) => *b,
        JsValue::Undefined | JsValue::Null => false,
    }
}

/// Implements `ToNumber`.
fn to_number(value: &JsValue) -> f64 {
    match value {
        JsValue::Str(s) => string_to_number(s),
        JsValue::Num(n) => *n,
        JsValue::Bool(b) => f64::from(u8::from(*b)),
        JsValue::Undefined => f64::NAN,
        JsValue::Null => 0.0,
    }
}

/// Implements `ToNumber` for strings: surrounding white space is ignored and the empty
/// string is zero, but any other unparsable text makes the result NaN.
fn string_to_number(s: &str) -> f64 {
    let text = s.trim_matches(is_js_space);
    let (sign, body) = split_sign(text);
    match radix_prefix(text) {
        _ if text.is_empty() => 0.0,
        Some((radix, digits))
            if !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix)) =>
        {
            radix_value(digits, radix)
        }
        Some(_) => f64::NAN,
        None if body == "Infinity" => sign * f64::INFINITY,
        None if !body.is_empty() && scan_decimal(body) == body.len() => {
            body.parse::<f64>().map_or(f64::NAN, |n| sign * n)
        }
        None => f64::NAN,
    }
}

/// Splits an optional leading `+` or `-` from `text` and returns the sign as a factor.
fn split_sign(text: &str) -> (f64, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, text.strip_prefix('+').unwrap_or(text)),
    }
}

/// Implements `ToString`.
pub fn to_string(value: &JsValue) -> String {
    match value {
        JsValue::Str(s) => s.clone(),
        JsValue::Num(n) => number_to_string(*n),
        JsValue::Bool(b) => b.to_string(),
        JsValue::Undefined => "undefined".to_string(),
        JsValue::Null => "null".to_string(),
    }
}

/// Converts a number to a string exactly as JavaScript's `Number.prototype.toString()`.
fn number_to_string(n: f64) -> String {
    if n < 0.0 {
        return format!("-{}", number_to_string(-n));
    }
    if n.is_nan() {
        return "NaN".to_string();
    }
    if n == 0.0 {
        return "0".to_string();
    }
    if n.is_infinite() {
        return "Infinity".to_string();
    }
    // Rust's `{:e}` yields the shortest round-trip digits, which JavaScript also uses.
    let scientific = format!("{n:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let count = i64::try_from(digits.len()).unwrap_or(i64::MAX);
    let point = exponent.parse::<i64>().unwrap_or(0) + 1;
    let zeros = |count: i64| "0".repeat(usize::try_from(count).unwrap_or(0));
    let split = |at: i64| digits.split_at(usize::try_from(at).unwrap_or(0).min(digits.len()));
    if count <= point && point <= 21 {
        format!("{digits}{}", zeros(point - count))
    } else if 0 < point && point <= 21 {
        let (int, frac) = split(point);
        format!("{int}.{frac}")
    } else if -6 < point && point <= 0 {
        format!("0.{}{digits}", zeros(-point))
    } else {
        let (first, rest) = split(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let sign = if point > 0 { '+' } else { '-' };
        format!("{first}{dot}{rest}e{sign}{}", (point - 1).abs())
    }
}

/// Names the type of a value for error messages.
fn type_name(value: &JsValue) -> &'static str {
    match value {
        JsValue::Str(_) => "string",
        JsValue::Num(_) => "number",
        JsValue::Bool(_) => "boolean",
        JsValue::Undefined => "undefined",
        JsValue::Null => "null",
    }
}

/// Reads a property of a value; only the `length` of strings is known.
fn get_property(value: &JsValue, name: &str, pos: usize) -> Res<JsValue> {
    match value {
        JsValue::Undefined | JsValue::Null => {
            let (name, kind) = (snippet(name), type_name(value));
            bail!("cannot read property `{name}` of {kind} at byte {pos}");
        }
        JsValue::Str(s) if name == "length" => Ok(JsValue::Num(s.encode_utf16().count() as f64)),
        _ => Ok(JsValue::Undefined),
    }
}

/// Calls one of `METHODS` on a value.
fn call_method(receiver: JsValue, name: &str, args: &[JsValue], pos: usize) -> Res<JsValue> {
    let s = match receiver {
        JsValue::Str(s) => s,
        JsValue::Num(_) | JsValue::Bool(_) if name == "toString" => to_string(&receiver),
        _ => bail!(
            "cannot call `{name}` on {} at byte {pos}",
            type_name(&receiver)
        ),
    };
    let arg = args.first().unwrap_or(&JsValue::Undefined);
    let other = if let JsValue::Str(other) = arg {
        Some(other)
    } else {
        None
    };
    // The search methods work on UTF-16 code units so that indices match JavaScript.
    let hay: Vec<u16> = s.encode_utf16().collect();
    let needle: Vec<u16> = to_string(arg).encode_utf16().collect();
    let at = |default: usize| match args.get(1) {
        None | Some(JsValue::Undefined) => default,
        Some(value) => clamp_index(value, hay.len()),
    };
    let (head, tail) = (hay.get(..at(hay.len())), hay.get(at(0)..));
    Ok(match name {
        "toString" => JsValue::Str(s),
        "toLowerCase" => JsValue::Str(s.to_lowercase()),
        "toUpperCase" => JsValue::Str(s.to_uppercase()),
        "trim" => JsValue::Str(s.trim_matches(is_js_space).to_string()),
        "equals" => JsValue::Bool(other == Some(&s)),
        "equalsIgnoreCase" => JsValue::Bool(other.is_some_and(|o| ignore_case_eq(&s, o))),
        "indexOf" => JsValue::Num(index_of(&hay, &needle, at(0)).map_or(-1.0, |i| i as f64)),
        "includes" => JsValue::Bool(index_of(&hay, &needle, at(0)).is_some()),
        "startsWith" => JsValue::Bool(tail.is_some_and(|t| t.starts_with(&needle))),
        "endsWith" => JsValue::Bool(head.is_some_and(|h| h.ends_with(&needle))),
        _ => bail!("unsupported method `{name}` at byte {pos}"),
    })
}

/// Converts a position argument to an index clamped to `0..=len`.
fn clamp_index(value: &JsValue, len: usize) -> usize {
    // The float-to-integer cast saturates and maps NaN to zero, which is the clamping
    // JavaScript specifies for negative, NaN and huge positions.
    (to_number(value) as usize).min(len)
}

/// Finds `needle` in `hay` at or after `from`, both in UTF-16 code units.
fn index_of(hay: &[u16], needle: &[u16], from: usize) -> Option<usize> {
    let last = hay.len().checked_sub(needle.len())?;
    (from.min(hay.len())..=last).find(|&i| hay.get(i..i + needle.len()) == Some(needle))
}

/// Compares like Java's `String.equalsIgnoreCase`, character by character.
fn ignore_case_eq(a: &str, b: &str) -> bool {
    let same = |(x, y): (char, char)| {
        x.to_uppercase().eq(y.to_uppercase()) || x.to_lowercase().eq(y.to_lowercase())
    };
    a.chars().count() == b.chars().count() && a.chars().zip(b.chars()).all(same)
}

/// Calls one of `FUNCTIONS`.
fn call_function(name: &str, args: &[JsValue]) -> JsValue {
    let first = args.first().unwrap_or(&JsValue::Undefined);
    match name {
        "parseInt" => JsValue::Num(parse_int(&to_string(first), args.get(1))),
        "parseFloat" => JsValue::Num(parse_float(&to_string(first))),
        "Number" if args.is_empty() => JsValue::Num(0.0),
        "Number" => JsValue::Num(to_number(first)),
        "String" if args.is_empty() => JsValue::Str(String::new()),
        "String" => JsValue::Str(to_string(first)),
        "Boolean" => JsValue::Bool(truthy(first)),
        _ => JsValue::Bool(to_number(first).is_nan()),
    }
}

/// Implements the global `parseInt(string, radix)`.
fn parse_int(s: &str, radix_arg: Option<&JsValue>) -> f64 {
    let (sign, text) = split_sign(s.trim_start_matches(is_js_space));
    // A radix that truncates to zero means "detect"; the cast below is exact in 2..37.
    let radix = match radix_arg.map_or(0.0, to_number) {
        r if !r.is_finite() || r.trunc() == 0.0 => 0,
        r if (2.0..37.0).contains(&r) => r as u32,
        _ => return f64::NAN,
    };
    let (radix, text) = match (radix, radix_prefix(text)) {
        (0 | 16, Some((16, rest))) => (16, rest),
        (0, _) => (10, text),
        _ => (radix, text),
    };
    let end = text
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(text.len());
    match text.get(..end).unwrap_or_default() {
        "" => f64::NAN,
        digits if radix == 10 => digits.parse::<f64>().map_or(f64::NAN, |n| sign * n),
        digits => sign * radix_value(digits, radix),
    }
}

/// Implements the global `parseFloat(string)`.
fn parse_float(s: &str) -> f64 {
    let (sign, body) = split_sign(s.trim_start_matches(is_js_space));
    let digits = body.get(..scan_decimal(body)).unwrap_or_default();
    match digits.parse::<f64>() {
        _ if body.starts_with("Infinity") => sign * f64::INFINITY,
        Ok(n) => sign * n,
        Err(_) => f64::NAN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(src: &str) -> f64 {
        match eval(src) {
            Ok(JsValue::Num(n)) => n,
            other => panic!("{src}: expected a number, got {other:?}"),
        }
    }

    fn string(src: &str) -> String {
        match eval(src) {
            Ok(JsValue::Str(s)) => s,
            other => panic!("{src}: expected a string, got {other:?}"),
        }
    }

    fn cond(src: &str) -> bool {
        match eval_condition(src) {
            Ok(b) => b,
            Err(e) => panic!("{src}: unexpected error {e}"),
        }
    }

    fn err(src: &str) -> String {
        match eval(src) {
            Err(e) => e.to_string(),
            Ok(v) => panic!("{src}: expected an error, got {v:?}"),
        }
    }

    #[test]
    fn jmeter_style_conditions() {
        assert!(cond(r#""abc" == "abc""#));
        assert!(!cond(r#""abc" == "abd""#));
        assert!(cond(r#""true" == "true" && 5 > 3"#));
        assert!(cond("!false"));
        assert!(cond(r#""1" == 1"#));
        assert!(cond(r#""10" < "9""#));
        assert!(!cond("10 < 9"));
        assert!(!cond(r#""NOT_FOUND" != "NOT_FOUND""#));
        assert!(cond(r#"'200' == '200' || 'x' == 'y'"#));
        assert!(cond("\"ok\" != \"NOT_FOUND\" && \"ok\".length > 0"));
        assert!(cond("3 < 10 && \"3\" < \"10\" == false"));
        assert!(cond(
            r#""${x}" == "${x}""#.replace("${x}", "value").as_str()
        ));
        assert!(cond("'true' == 'true';"));
    }

    #[test]
    fn literals() {
        assert_eq!(eval("1"), Ok(JsValue::Num(1.0)));
        assert_eq!(eval("'a'"), Ok(JsValue::Str("a".into())));
        assert_eq!(eval("true"), Ok(JsValue::Bool(true)));
        assert_eq!(eval("null"), Ok(JsValue::Null));
        assert_eq!(eval("undefined"), Ok(JsValue::Undefined));
        assert_eq!(num("0x1F"), 31.0);
        assert_eq!(num("0b101"), 5.0);
        assert_eq!(num("0o17"), 15.0);
        assert_eq!(num("1e3"), 1000.0);
        assert_eq!(num("2.5E-1"), 0.25);
        assert_eq!(num(".5"), 0.5);
        assert_eq!(num("5."), 5.0);
        assert_eq!(num("007"), 7.0);
        assert!(num("NaN").is_nan());
        assert_eq!(num("-Infinity"), f64::NEG_INFINITY);
    }

    #[test]
    fn string_escapes() {
        assert_eq!(string(r#""a\nb\tc""#), "a\nb\tc");
        assert_eq!(string(r#"'it\'s'"#), "it's");
        assert_eq!(string(r#""say \"hi\"""#), "say \"hi\"");
        assert_eq!(string(r#""back\\slash""#), "back\\slash");
        assert_eq!(string(r#""\u0041\x42""#), "AB");
        assert!(eval(r#""\u{1F600}""#).is_err());
        assert_eq!(string(r#""\uD83D\uDE00""#), "\u{1F600}");
        assert_eq!(string(r#""\uD83D""#), "\u{fffd}");
        assert_eq!(string(r#""\q""#), "q");
        assert_eq!(string(r#"'\101\0\08\400'"#), "A\0\08 0");
        assert_eq!(string("'héllo'"), "héllo");
        assert_eq!(string(r#""a" + 'b'"#), "ab");
    }

    #[test]
    fn number_formatting() {
        assert_eq!(string("String(1)"), "1");
        assert_eq!(string("String(1.5)"), "1.5");
        assert_eq!(string("String(NaN)"), "NaN");
        assert_eq!(string("String(-0)"), "0");
        assert_eq!(string("String(-1.5)"), "-1.5");
        assert_eq!(string("String(100)"), "100");
        assert_eq!(string("String(1e21)"), "1e+21");
        assert_eq!(string("String(1.5e300)"), "1.5e+300");
        assert_eq!(
            string("String(123456789012345680000)"),
            "123456789012345680000"
        );
        assert_eq!(string("String(0.000001)"), "0.000001");
        assert_eq!(string("String(1e-7)"), "1e-7");
        assert_eq!(string("String(0.1 + 0.2)"), "0.30000000000000004");
        assert_eq!(string("String(1/0)"), "Infinity");
        assert_eq!(string("String(-1/0)"), "-Infinity");
        assert_eq!(string("'' + 12.25"), "12.25");
    }

    #[test]
    fn arithmetic_and_concatenation() {
        assert_eq!(num("1 + 2 * 3"), 7.0);
        assert_eq!(num("(1 + 2) * 3"), 9.0);
        assert_eq!(num("10 - 4 - 3"), 3.0);
        assert_eq!(num("7 % 3"), 1.0);
        assert_eq!(num("-7 % 3"), -1.0);
        assert_eq!(num("2 - -1"), 3.0);
        assert_eq!(num("+'4' + 1"), 5.0);
        assert_eq!(num("10 - '3'"), 7.0);
        assert_eq!(num("'6' * '7'"), 42.0);
        assert_eq!(num("true + 1"), 2.0);
        assert_eq!(num("null + 1"), 1.0);
        assert!(num("undefined + 1").is_nan());
        assert!(num("'abc' * 2").is_nan());
        assert_eq!(num("1 / 0"), f64::INFINITY);
        assert_eq!(string("'a' + 1"), "a1");
        assert_eq!(string("1 + 2 + 'x'"), "3x");
        assert_eq!(string("'x' + 1 + 2"), "x12");
        assert_eq!(
            string("'a' + null + undefined + true"),
            "anullundefinedtrue"
        );
    }

    #[test]
    fn comparisons() {
        assert!(cond("'a' < 'b'"));
        assert!(cond("'abc' < 'abd'"));
        assert!(cond("'B' < 'a'"));
        assert!(cond("'2' > 10 == false"));
        assert!(cond("'12' > 9"));
        assert!(cond("'' >= 0"));
        assert!(!cond("'abc' < 1"));
        assert!(!cond("'abc' >= 1"));
        assert!(!cond("NaN <= NaN"));
        assert!(cond("true > 0"));
        assert!(cond("null >= 0"));
        assert!(!cond("undefined >= 0"));
        assert!(cond("5 >= 5 && 5 <= 5"));
        assert!(cond("'\u{1F600}' < '\u{FF61}'"));
    }

    #[test]
    fn equality() {
        assert!(cond("'' == 0"));
        assert!(cond("'0' == false"));
        assert!(!cond("'true' == true"));
        assert!(cond("null == undefined"));
        assert!(!cond("null == 0"));
        assert!(!cond("NaN == NaN"));
        assert!(cond("NaN != NaN"));
        assert!(!cond("'1' === 1"));
        assert!(cond("'1' !== 1"));
        assert!(cond("'abc' === 'abc'"));
        assert!(!cond("null === undefined"));
        assert!(cond("' 12 ' == 12"));
        assert!(cond("1 == 1 == true"));
    }

    #[test]
    fn logical_operators() {
        assert_eq!(string("'' || 'x'"), "x");
        assert_eq!(string("'a' || 'x'"), "a");
        assert_eq!(string("'a' && 'b'"), "b");
        assert_eq!(num("0 && 'b'"), 0.0);
        assert!(cond("false && undefined.length || true"));
        assert!(cond("true || null.length"));
        assert!(eval("true && null.length").is_err());
        assert!(cond("true || false && false"));
        assert!(!cond("(true || false) && false"));
        assert!(cond("!!'x'"));
        assert!(!cond("!1"));
    }

    #[test]
    fn ternary() {
        assert_eq!(string("1 ? 'a' : 'b'"), "a");
        assert_eq!(string("0 ? 'a' : 'b'"), "b");
        assert_eq!(num("false ? 1 : true ? 2 : 3"), 2.0);
        assert_eq!(num("true ? false ? 1 : 2 : 3"), 2.0);
        assert_eq!(num("1 == 2 ? 5 : 6 + 1"), 7.0);
        assert_eq!(num("true ? 1 : null.length"), 1.0);
    }

    #[test]
    fn string_methods() {
        assert_eq!(num("'abc'.length"), 3.0);
        assert_eq!(num("'héllo'.length"), 5.0);
        assert_eq!(num("'\u{1F600}'.length"), 2.0);
        assert_eq!(num("('a' + 'bc').length"), 3.0);
        assert_eq!(string("'AbC'.toLowerCase()"), "abc");
        assert_eq!(string("'AbC'.toUpperCase()"), "ABC");
        assert_eq!(string("'  x y \\n'.trim()"), "x y");
        assert_eq!(num("'abcabc'.indexOf('c')"), 2.0);
        assert_eq!(num("'abcabc'.indexOf('c', 3)"), 5.0);
        assert_eq!(num("'abc'.indexOf('z')"), -1.0);
        assert_eq!(num("'abc'.indexOf('')"), 0.0);
        assert_eq!(num("'abc'.indexOf('c', 9)"), -1.0);
        assert_eq!(num("'\u{1F600}x'.indexOf('x')"), 2.0);
        assert!(cond("'hello world'.includes('o w')"));
        assert!(!cond("'hello'.includes('z')"));
        assert!(cond("'hello'.startsWith('he')"));
        assert!(cond("'hello'.startsWith('ll', 2)"));
        assert!(cond("'hello'.endsWith('lo')"));
        assert!(cond("'hello'.endsWith('ell', 4)"));
        assert!(cond("'abc'.equals('abc')"));
        assert!(!cond("'1'.equals(1)"));
        assert!(cond("'ABC'.equalsIgnoreCase('abc')"));
        assert!(!cond("'ABC'.equalsIgnoreCase('abcd')"));
        assert_eq!(string("(12).toString()"), "12");
        assert_eq!(string("true.toString()"), "true");
        assert_eq!(string("' A '.trim().toLowerCase()"), "a");
        assert_eq!(eval("'abc'.nope"), Ok(JsValue::Undefined));
        assert_eq!(eval("(5).length"), Ok(JsValue::Undefined));
    }

    #[test]
    fn global_functions() {
        assert_eq!(num("parseInt('42px')"), 42.0);
        assert_eq!(num("parseInt('  -0x1A')"), -26.0);
        assert_eq!(num("parseInt('101', 2)"), 5.0);
        assert_eq!(num("parseInt('ff', 16)"), 255.0);
        assert_eq!(num("parseInt(12.9)"), 12.0);
        assert!(num("parseInt('abc')").is_nan());
        assert!(num("parseInt('12', 1)").is_nan());
        assert!(num("parseInt()").is_nan());
        assert_eq!(num("parseFloat('2.5abc')"), 2.5);
        assert_eq!(num("parseFloat(' .5e1x')"), 5.0);
        assert_eq!(num("parseFloat('-Infinityx')"), f64::NEG_INFINITY);
        assert!(num("parseFloat('x1')").is_nan());
        assert_eq!(num("Number('')"), 0.0);
        assert_eq!(num("Number(' 12 ')"), 12.0);
        assert_eq!(num("Number('0x10')"), 16.0);
        assert_eq!(num("Number('-1.5e2')"), -150.0);
        assert_eq!(num("Number(true)"), 1.0);
        assert_eq!(num("Number(null)"), 0.0);
        assert_eq!(num("Number()"), 0.0);
        assert!(num("Number('12px')").is_nan());
        assert!(num("Number('-0x10')").is_nan());
        assert!(num("Number(undefined)").is_nan());
        assert!(num("Number('inf')").is_nan());
        assert_eq!(string("String(null)"), "null");
        assert_eq!(string("String()"), "");
        assert!(cond("isNaN('abc')"));
        assert!(!cond("isNaN('12')"));
        assert!(cond("Boolean('x')"));
    }

    #[test]
    fn precedence() {
        assert!(cond("1 + 2 == 3 && 'a' < 'b' || false"));
        assert!(cond("!1 == 0"));
        assert!(cond("1 < 2 == true"));
        assert!(cond("2 * 3 + 1 === 7"));
        assert!(cond("1 + 2 * 3 - 4 / 2 % 3 === 5"));
        assert_eq!(num("-'5' * 2"), -10.0);
        assert!(num("-'abc'").is_nan());
        assert_eq!(num("-(1 + 2)"), -3.0);
        assert_eq!(string("true ? 'a' : 'b' + 'c'"), "a");
        assert_eq!(num("0 || 0 && 1 || 7"), 7.0);
    }

    #[test]
    fn unicode_inputs() {
        assert!(cond("\"héllo wörld\" == 'héllo wörld'"));
        assert!(cond("'ÄÖÜ'.toLowerCase() === 'äöü'"));
        assert!(cond("'straße'.toUpperCase() == 'STRASSE'"));
        assert!(cond("'Ärger'.equalsIgnoreCase('äRGER')"));
        assert!(cond(
            "'日本語'.startsWith('日本') && '日本語'.endsWith('語')"
        ));
        assert_eq!(num("'日本語'.indexOf('語')"), 2.0);
        assert!(err("'日本' == 語").contains("`語` at byte 12"));
    }

    #[test]
    fn skipped_branches_are_still_parsed() {
        assert!(err("false && ${x}").contains("${x}"));
        assert!(err("true || typeof x").contains("`typeof`"));
        assert!(err("true ? 1 : 'a'.bogus()").contains("`bogus`"));
        assert!(err("false ? (1 : 2").contains("expected `)`"));
    }

    #[test]
    fn truthiness() {
        assert!(!cond("''"));
        assert!(cond("'0'"));
        assert!(cond("'false'"));
        assert!(!cond("0"));
        assert!(!cond("-0"));
        assert!(!cond("NaN"));
        assert!(!cond("null"));
        assert!(!cond("undefined"));
        assert!(cond("-1"));
    }

    #[test]
    fn errors_name_text_and_position() {
        let message = err("foo");
        assert!(
            message.contains("`foo`") && message.contains("byte 0"),
            "{message}"
        );
        let message = err("1 == bar");
        assert!(
            message.contains("`bar`") && message.contains("byte 5"),
            "{message}"
        );
        let message = err("\"unterminated");
        assert!(
            message.contains("unterminated") && message.contains("byte 0"),
            "{message}"
        );
        assert!(err("(").contains("end of input"));
        assert!(err("(1").contains("expected `)`"));
        let message = err("\"a\" == ${foo}");
        assert!(
            message.contains("${foo}") && message.contains("byte 7"),
            "{message}"
        );
        assert!(err("1 +").contains("end of input"));
        assert!(err("").contains("end of input at byte 0"));
        assert!(err("   ").contains("end of input at byte 3"));
        assert!(err("a = 1").contains("assignment"));
        assert!(err("1 = 1").contains("assignment"));
        assert!(err("1 2").contains("number `2`"));
        assert!(err("'a'.nope()").contains("unsupported method `nope`"));
        assert!(err("(1).trim()").contains("cannot call `trim` on number"));
        assert!(err("parseInt").contains("must be called"));
        assert!(err("1 ? 2").contains("expected `:`"));
        assert!(err("3x").contains("after number"));
        assert!(err("0x").contains("invalid number"));
        assert!(err("'\\u12'").contains("invalid escape"));
        assert!(err("1 & 2").contains("`&`"));
        assert!(err("1--1").contains("unsupported operator `--` at byte 1"));
        assert!(err("++1").contains("`++`"));
        assert_eq!(num("1 - -1 + +1"), 3.0);
        assert!(err("'é' # 1").contains("byte 5"));
        assert!(err("false && zzz").contains("`zzz`"));
        assert!(err("null.length").contains("of null"));
    }

    #[test]
    fn error_display_style() {
        for src in ["foo", "\"x", "(", "${a}", "1 +", "'a'.nope()", "§"] {
            let message = err(src);
            assert!(!message.ends_with('.'), "{message}");
            let first = message.chars().next().unwrap_or(' ');
            assert!(!first.is_uppercase(), "{message}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}1{}", "(".repeat(256), ")".repeat(256));
        assert!(err(&deep).contains("nested too deeply"));
        let fine = format!("{}1{}", "(".repeat(50), ")".repeat(50));
        assert_eq!(num(&fine), 1.0);
        assert!(err(&"!".repeat(10_000)).contains("nested too deeply"));
        assert!(err(&"- ".repeat(10_000)).contains("nested too deeply"));
        assert!(eval(&"1 ? ".repeat(5_000)).is_err());
        assert!(eval(&"'a'.indexOf(".repeat(5_000)).is_err());
        let long_chain = vec!["1"; 5_000].join(" + ");
        assert_eq!(num(&long_chain), 5_000.0);
        let long_or = vec!["false"; 5_000].join(" || ");
        assert!(!cond(&long_or));
    }

    #[test]
    fn garbage_never_panics() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces = [
            "(",
            ")",
            "'",
            "\"",
            "\\",
            "\\u",
            "\\x",
            "{",
            "}",
            "$",
            "${",
            "!",
            "-",
            "+",
            "*",
            "/",
            "%",
            "<",
            ">",
            "=",
            "==",
            "===",
            "&&",
            "||",
            "?",
            ":",
            ".",
            ",",
            ";",
            "0x",
            "1",
            "9",
            "e",
            "1e",
            ".5",
            "é",
            "\u{1F600}",
            "\u{feff}",
            " ",
            "\n",
            "a",
            "length",
            "trim()",
            "indexOf",
            "parseInt",
            "true",
            "null",
            "undefined",
            "NaN",
            "\u{0}",
            "\u{D7FF}",
        ];
        for _ in 0..600 {
            let len = (next() % 30) as usize;
            let mut src = String::new();
            for _ in 0..len {
                let index = (next() % pieces.len() as u64) as usize;
                src.push_str(pieces.get(index).copied().unwrap_or(""));
            }
            let _ = eval(&src);
            let _ = eval_condition(&src);
        }
        for _ in 0..300 {
            let len = (next() % 24) as usize;
            let src: String = (0..len)
                .map(|_| char::from_u32((next() % 0x250) as u32).unwrap_or('?'))
                .collect();
            let _ = eval(&src);
        }
    }
}
