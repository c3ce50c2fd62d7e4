//! XML Schema simple types: the built-in datatypes, restriction facets, lists and unions, with
//! Xerces 2.12's messages (`cvc-datatype-valid.1.2.1: 'abc' is not a valid value for
//! 'integer'.`) in Xerces' order of checks.

use std::sync::OnceLock;

use regex::Regex;

/// White space handling of a type's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhiteSpace {
    Preserve,
    Replace,
    Collapse,
}

/// The primitive a built-in type's values are checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Primitive {
    String,
    Boolean,
    Decimal,
    Integer,
    Float,
    Double,
    Duration,
    DateTime,
    Time,
    Date,
    GYearMonth,
    GYear,
    GMonthDay,
    GDay,
    GMonth,
    HexBinary,
    Base64Binary,
    AnyUri,
    QName,
    /// `Name`, `NCName`, `NMTOKEN`, `language` (checked by pattern, named in the message).
    Token(&'static str),
}

impl Primitive {
    /// The name Xerces writes in `cvc-datatype-valid.1.2.1`.
    fn message_name(self) -> &'static str {
        match self {
            Primitive::String => "string",
            Primitive::Boolean => "boolean",
            Primitive::Decimal => "decimal",
            Primitive::Integer => "integer",
            Primitive::Float => "float",
            Primitive::Double => "double",
            Primitive::Duration => "duration",
            Primitive::DateTime => "dateTime",
            Primitive::Time => "time",
            Primitive::Date => "date",
            Primitive::GYearMonth => "gYearMonth",
            Primitive::GYear => "gYear",
            Primitive::GMonthDay => "gMonthDay",
            Primitive::GDay => "gDay",
            Primitive::GMonth => "gMonth",
            Primitive::HexBinary => "hexBinary",
            Primitive::Base64Binary => "base64Binary",
            Primitive::AnyUri => "anyURI",
            Primitive::QName => "QName",
            Primitive::Token(name) => name,
        }
    }

    fn numeric(self) -> bool {
        matches!(
            self,
            Primitive::Decimal | Primitive::Integer | Primitive::Float | Primitive::Double
        )
    }
}

/// Facets of a restriction (merged down the derivation chain: a derived type's facet replaces
/// its base's; patterns of every level apply).
#[derive(Debug, Clone, Default)]
pub struct Facets {
    pub length: Option<usize>,
    pub min_length: Option<usize>,
    pub max_length: Option<usize>,
    /// Each level's patterns (one of a level's must match), as written and compiled.
    pub patterns: Vec<Vec<(String, Regex)>>,
    pub enumeration: Option<Vec<String>>,
    pub white_space: Option<WhiteSpace>,
    pub max_inclusive: Option<String>,
    pub max_exclusive: Option<String>,
    pub min_inclusive: Option<String>,
    pub min_exclusive: Option<String>,
    pub total_digits: Option<usize>,
    pub fraction_digits: Option<usize>,
}

/// A simple type.
#[derive(Debug, Clone)]
pub struct SimpleType {
    /// As messages name it: `int`, `Named`, `#AnonType_codeorder`.
    pub name: String,
    pub variety: Variety,
    pub facets: Facets,
    /// The built-in or named type it restricts (for `xsi:type` derivation), by name.
    pub base: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Variety {
    Atomic(Primitive),
    List(Box<SimpleType>),
    Union(Vec<SimpleType>),
}

/// The built-in simple types rmeter knows.
pub const BUILTIN_NAMES: &[&str] = &[
    "anySimpleType",
    "string",
    "normalizedString",
    "token",
    "language",
    "Name",
    "NCName",
    "ID",
    "IDREF",
    "IDREFS",
    "ENTITY",
    "ENTITIES",
    "NMTOKEN",
    "NMTOKENS",
    "NOTATION",
    "boolean",
    "decimal",
    "integer",
    "nonPositiveInteger",
    "negativeInteger",
    "long",
    "int",
    "short",
    "byte",
    "nonNegativeInteger",
    "unsignedLong",
    "unsignedInt",
    "unsignedShort",
    "unsignedByte",
    "positiveInteger",
    "float",
    "double",
    "duration",
    "dateTime",
    "time",
    "date",
    "gYearMonth",
    "gYear",
    "gMonthDay",
    "gDay",
    "gMonth",
    "hexBinary",
    "base64Binary",
    "anyURI",
    "QName",
];

/// A built-in simple type by its local name in the XML Schema namespace.
pub fn builtin(name: &str) -> Option<SimpleType> {
    use Primitive as P;
    let integer = |min: Option<&str>, max: Option<&str>| {
        let facets = Facets {
            min_inclusive: min.map(str::to_string),
            max_inclusive: max.map(str::to_string),
            ..Facets::default()
        };
        (P::Integer, facets)
    };
    let (primitive, facets) = match name {
        "anySimpleType" | "string" | "normalizedString" | "token" | "ENTITY" | "NOTATION" => {
            (P::String, Facets::default())
        }
        "boolean" => (P::Boolean, Facets::default()),
        "decimal" => (P::Decimal, Facets::default()),
        "integer" => integer(None, None),
        "nonPositiveInteger" => integer(None, Some("0")),
        "negativeInteger" => integer(None, Some("-1")),
        "long" => integer(Some("-9223372036854775808"), Some("9223372036854775807")),
        "int" => integer(Some("-2147483648"), Some("2147483647")),
        "short" => integer(Some("-32768"), Some("32767")),
        "byte" => integer(Some("-128"), Some("127")),
        "nonNegativeInteger" => integer(Some("0"), None),
        "unsignedLong" => integer(Some("0"), Some("18446744073709551615")),
        "unsignedInt" => integer(Some("0"), Some("4294967295")),
        "unsignedShort" => integer(Some("0"), Some("65535")),
        "unsignedByte" => integer(Some("0"), Some("255")),
        "positiveInteger" => integer(Some("1"), None),
        "float" => (P::Float, Facets::default()),
        "double" => (P::Double, Facets::default()),
        "duration" => (P::Duration, Facets::default()),
        "dateTime" => (P::DateTime, Facets::default()),
        "time" => (P::Time, Facets::default()),
        "date" => (P::Date, Facets::default()),
        "gYearMonth" => (P::GYearMonth, Facets::default()),
        "gYear" => (P::GYear, Facets::default()),
        "gMonthDay" => (P::GMonthDay, Facets::default()),
        "gDay" => (P::GDay, Facets::default()),
        "gMonth" => (P::GMonth, Facets::default()),
        "hexBinary" => (P::HexBinary, Facets::default()),
        "base64Binary" => (P::Base64Binary, Facets::default()),
        "anyURI" => (P::AnyUri, Facets::default()),
        "QName" => (P::QName, Facets::default()),
        "language" => (P::Token("language"), Facets::default()),
        "Name" => (P::Token("Name"), Facets::default()),
        "NCName" | "ID" | "IDREF" => (P::Token("NCName"), Facets::default()),
        "NMTOKEN" => (P::Token("NMTOKEN"), Facets::default()),
        "NMTOKENS" | "IDREFS" | "ENTITIES" => {
            let item = match name {
                "NMTOKENS" => "NMTOKEN",
                "IDREFS" => "IDREF",
                _ => "ENTITY",
            };
            return Some(SimpleType {
                name: name.to_string(),
                variety: Variety::List(Box::new(builtin(item)?)),
                facets: Facets {
                    min_length: Some(1),
                    ..Facets::default()
                },
                base: Some("anySimpleType".into()),
            });
        }
        _ => return None,
    };
    let white_space = match name {
        "anySimpleType" | "string" => WhiteSpace::Preserve,
        "normalizedString" => WhiteSpace::Replace,
        _ => WhiteSpace::Collapse,
    };
    Some(SimpleType {
        name: name.to_string(),
        variety: Variety::Atomic(primitive),
        facets: Facets {
            white_space: Some(white_space),
            ..facets
        },
        base: builtin_base(name).map(str::to_string),
    })
}

/// The type a built-in type is derived from (for `xsi:type`).
pub fn builtin_base(name: &str) -> Option<&'static str> {
    Some(match name {
        "normalizedString" => "string",
        "token" => "normalizedString",
        "language" | "Name" | "NMTOKEN" => "token",
        "NCName" => "Name",
        "ID" | "IDREF" | "ENTITY" => "NCName",
        "integer" => "decimal",
        "nonPositiveInteger" | "long" | "nonNegativeInteger" => "integer",
        "negativeInteger" => "nonPositiveInteger",
        "int" => "long",
        "short" => "int",
        "byte" => "short",
        "unsignedLong" | "positiveInteger" => "nonNegativeInteger",
        "unsignedInt" => "unsignedLong",
        "unsignedShort" => "unsignedInt",
        "unsignedByte" => "unsignedShort",
        "anySimpleType" => return None,
        _ => "anySimpleType",
    })
}

/// A value's normalised form under `ws`.
pub fn normalize(value: &str, ws: WhiteSpace) -> String {
    match ws {
        WhiteSpace::Preserve => value.to_string(),
        WhiteSpace::Replace => value.replace(['\t', '\n', '\r'], " "),
        WhiteSpace::Collapse => value.split_ascii_whitespace().collect::<Vec<_>>().join(" "),
    }
}

impl SimpleType {
    fn white_space(&self) -> WhiteSpace {
        match (&self.variety, self.facets.white_space) {
            (_, Some(ws)) => ws,
            (Variety::Atomic(Primitive::String), None) => WhiteSpace::Preserve,
            _ => WhiteSpace::Collapse,
        }
    }

    /// The value as this type normalises it (for fixed-value comparison).
    pub fn normalized(&self, value: &str) -> String {
        normalize(value, self.white_space())
    }

    /// Checks `value` (as it appears in the document); the first violation as Xerces words it.
    pub fn validate(&self, value: &str) -> Result<(), String> {
        let value = normalize(value, self.white_space());
        for level in &self.facets.patterns {
            if !level.iter().any(|(_, re)| re.is_match(&value)) {
                let (pattern, _) = &level[0];
                return Err(format!(
                    "cvc-pattern-valid: Value '{value}' is not facet-valid with respect to pattern '{pattern}' for type '{}'.",
                    self.name
                ));
            }
        }
        match &self.variety {
            Variety::Atomic(primitive) => {
                if !lexically_valid(*primitive, &value) {
                    return Err(format!(
                        "cvc-datatype-valid.1.2.1: '{value}' is not a valid value for '{}'.",
                        primitive.message_name()
                    ));
                }
                self.check_facets(*primitive, &value)
            }
            Variety::List(item) => {
                let items: Vec<&str> = value.split(' ').filter(|s| !s.is_empty()).collect();
                for i in &items {
                    item.validate(i)?;
                }
                self.check_length(&value, items.len())?;
                self.check_enumeration(&value, None)
            }
            Variety::Union(members) => {
                if members.iter().any(|m| m.validate(&value).is_ok()) {
                    self.check_enumeration(&value, None)
                } else {
                    Err(format!(
                        "cvc-datatype-valid.1.2.3: '{value}' is not a valid value of union type '{}'.",
                        self.name
                    ))
                }
            }
        }
    }

    fn check_length(&self, value: &str, length: usize) -> Result<(), String> {
        let f = &self.facets;
        let name = &self.name;
        if let Some(expected) = f.length.filter(|l| *l != length) {
            return Err(format!("cvc-length-valid: Value '{value}' with length = '{length}' is not facet-valid with respect to length '{expected}' for type '{name}'."));
        }
        if let Some(min) = f.min_length.filter(|m| length < *m) {
            return Err(format!("cvc-minLength-valid: Value '{value}' with length = '{length}' is not facet-valid with respect to minLength '{min}' for type '{name}'."));
        }
        if let Some(max) = f.max_length.filter(|m| length > *m) {
            return Err(format!("cvc-maxLength-valid: Value '{value}' with length = '{length}' is not facet-valid with respect to maxLength '{max}' for type '{name}'."));
        }
        Ok(())
    }

    fn check_enumeration(&self, value: &str, primitive: Option<Primitive>) -> Result<(), String> {
        let Some(values) = &self.facets.enumeration else {
            return Ok(());
        };
        let same = |a: &str, b: &str| match primitive {
            Some(p) if p.numeric() => compare(p, a, b) == Some(std::cmp::Ordering::Equal),
            _ => a == b,
        };
        if values.iter().any(|e| same(e, value)) {
            return Ok(());
        }
        let listed: Vec<String> = values
            .iter()
            .map(|v| match primitive {
                Some(Primitive::Integer) => canonical_integer(v),
                _ => v.clone(),
            })
            .collect();
        Err(format!(
            "cvc-enumeration-valid: Value '{value}' is not facet-valid with respect to enumeration '[{}]'. It must be a value from the enumeration.",
            listed.join(", ")
        ))
    }

    fn check_facets(&self, primitive: Primitive, value: &str) -> Result<(), String> {
        let length = match primitive {
            Primitive::HexBinary => value.len() / 2,
            Primitive::Base64Binary => base64_length(value),
            _ => value.encode_utf16().count(),
        };
        if !primitive.numeric() && !matches!(primitive, Primitive::Boolean) {
            self.check_length(value, length)?;
        }
        self.check_enumeration(value, Some(primitive))?;
        let f = &self.facets;
        if matches!(primitive, Primitive::Decimal | Primitive::Integer) {
            let (int_digits, frac_digits) = digits(value);
            if let Some(limit) = f.fraction_digits.filter(|l| frac_digits > *l) {
                return Err(format!("cvc-fractionDigits-valid: Value '{value}' has {frac_digits} fraction digits, but the number of fraction digits has been limited to {limit}."));
            }
            let total = int_digits + frac_digits;
            if let Some(limit) = f.total_digits.filter(|l| total > *l) {
                return Err(format!("cvc-totalDigits-valid: Value '{value}' has {total} total digits, but the number of total digits has been limited to {limit}."));
            }
        }
        use std::cmp::Ordering::*;
        let bounds: [(&Option<String>, &str, &[std::cmp::Ordering]); 4] = [
            (&f.max_inclusive, "maxInclusive", &[Less, Equal]),
            (&f.max_exclusive, "maxExclusive", &[Less]),
            (&f.min_inclusive, "minInclusive", &[Greater, Equal]),
            (&f.min_exclusive, "minExclusive", &[Greater]),
        ];
        for (bound, facet, allowed) in bounds {
            if let Some(bound) = bound {
                if let Some(order) = compare(primitive, value, bound) {
                    if !allowed.contains(&order) {
                        return Err(format!(
                            "cvc-{facet}-valid: Value '{value}' is not facet-valid with respect to {facet} '{bound}' for type '{}'.",
                            self.name
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Digits before and after the point of a decimal, without leading and trailing zeros.
fn digits(value: &str) -> (usize, usize) {
    let unsigned = value.trim_start_matches(['+', '-']);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    (int.len(), frac.len())
}

fn canonical_integer(value: &str) -> String {
    let v = value.trim();
    let negative = v.starts_with('-');
    let digits = v.trim_start_matches(['+', '-']).trim_start_matches('0');
    match (negative, digits.is_empty()) {
        (_, true) => "0".into(),
        (true, false) => format!("-{digits}"),
        (false, false) => digits.to_string(),
    }
}

fn base64_length(value: &str) -> usize {
    let chars: Vec<u8> = value.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let pad = chars.iter().rev().take_while(|b| **b == b'=').count();
    chars.len() / 4 * 3 - pad.min(2)
}

/// Orders two values of a primitive (decimals exactly, floats as `f64`, dates and times by
/// their text when they are written alike); `None` when they cannot be compared.
fn compare(primitive: Primitive, a: &str, b: &str) -> Option<std::cmp::Ordering> {
    match primitive {
        Primitive::Decimal | Primitive::Integer => Some(compare_decimal(a.trim(), b.trim())),
        Primitive::Float | Primitive::Double => a
            .trim()
            .parse::<f64>()
            .ok()?
            .partial_cmp(&b.trim().parse::<f64>().ok()?),
        Primitive::Date
        | Primitive::DateTime
        | Primitive::Time
        | Primitive::GYear
        | Primitive::GYearMonth => (a.len() == b.len()).then(|| a.cmp(b)),
        _ => None,
    }
}

fn compare_decimal(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let parse = |s: &str| {
        let negative = s.starts_with('-');
        let unsigned = s.trim_start_matches(['+', '-']);
        let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let int = int.trim_start_matches('0').to_string();
        let frac = frac.trim_end_matches('0').to_string();
        let zero = int.is_empty() && frac.is_empty();
        (negative && !zero, int, frac)
    };
    let (na, ia, fa) = parse(a);
    let (nb, ib, fb) = parse(b);
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(&ib))
        .then_with(|| fa.cmp(&fb));
    match (na, nb) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
    }
}

fn lexical(primitive: Primitive) -> &'static Regex {
    static CACHE: OnceLock<Vec<(Primitive, Regex)>> = OnceLock::new();
    let table = CACHE.get_or_init(|| {
        let tz = r"(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))?";
        let year = r"-?([1-9]\d{3,}|0\d{3})";
        let time = r"(([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?|24:00:00(\.0+)?)";
        let rows: Vec<(Primitive, String)> = vec![
            (Primitive::Boolean, "true|false|1|0".into()),
            (Primitive::Decimal, r"[+-]?(\d+(\.\d*)?|\.\d+)".into()),
            (Primitive::Integer, r"[+-]?\d+".into()),
            (Primitive::Float, r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|INF|-INF|NaN".into()),
            (Primitive::Double, r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|INF|-INF|NaN".into()),
            (Primitive::Duration, r"-?P((\d+Y)?(\d+M)?(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)".into()),
            (Primitive::DateTime, format!(r"{year}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T{time}{tz}")),
            (Primitive::Time, format!("{time}{tz}")),
            (Primitive::Date, format!(r"{year}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]){tz}")),
            (Primitive::GYearMonth, format!(r"{year}-(0[1-9]|1[0-2]){tz}")),
            (Primitive::GYear, format!("{year}{tz}")),
            (Primitive::GMonthDay, format!(r"--(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01]){tz}")),
            (Primitive::GDay, format!(r"---(0[1-9]|[12]\d|3[01]){tz}")),
            (Primitive::GMonth, format!(r"--(0[1-9]|1[0-2]){tz}")),
            (Primitive::HexBinary, "([0-9a-fA-F]{2})*".into()),
            (Primitive::Base64Binary, r"(([A-Za-z0-9+/] ?){4})*(([A-Za-z0-9+/] ?){3}[A-Za-z0-9+/]|([A-Za-z0-9+/] ?){2}[AEIMQUYcgkosw048] ?=|[A-Za-z0-9+/] ?[AQgw] ?= ?=)?".into()),
            (Primitive::QName, r"([\p{L}_][\p{L}\p{N}._-]*:)?[\p{L}_][\p{L}\p{N}._-]*".into()),
            (Primitive::Token("Name"), r"[\p{L}_:][\p{L}\p{N}._:-]*".into()),
            (Primitive::Token("NCName"), r"[\p{L}_][\p{L}\p{N}._-]*".into()),
            (Primitive::Token("NMTOKEN"), r"[\p{L}\p{N}._:-]+".into()),
            (Primitive::Token("language"), "[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*".into()),
        ];
        rows.into_iter()
            .map(|(p, re)| (p, Regex::new(&format!("^(?:{re})$")).expect("built-in lexical patterns compile")))
            .collect()
    });
    &table
        .iter()
        .find(|(p, _)| *p == primitive)
        .expect("every checked primitive has a pattern")
        .1
}

fn lexically_valid(primitive: Primitive, value: &str) -> bool {
    match primitive {
        Primitive::String | Primitive::AnyUri => true,
        Primitive::Date | Primitive::DateTime => {
            lexical(primitive).is_match(value) && day_exists(value)
        }
        _ => lexical(primitive).is_match(value),
    }
}

/// February 29th only in leap years, no 31st in short months.
fn day_exists(value: &str) -> bool {
    let body = value.strip_prefix('-').unwrap_or(value);
    let mut parts = body.splitn(3, '-');
    let (Some(year), Some(month), Some(day)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<i64>(),
        month.parse::<u32>(),
        day[..2].parse::<u32>(),
    ) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

/// An XML Schema regular expression as a `regex` pattern (anchored, as schema patterns are, with
/// XSD's `\s`, `\w`, `\i`, `\c` and `.`, and class subtraction); `None` for Unicode block
/// escapes (`\p{IsBasicLatin}`), which `regex` does not know.
pub fn translate_pattern(pattern: &str) -> Option<String> {
    let mut out = String::from("^(?:");
    let mut chars = pattern.chars().peekable();
    let mut in_class = 0usize;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let e = chars.next()?;
                match e {
                    'i' => out.push_str(if in_class > 0 {
                        r"\p{L}_:"
                    } else {
                        r"[\p{L}_:]"
                    }),
                    'I' if in_class == 0 => out.push_str(r"[^\p{L}_:]"),
                    'c' => out.push_str(if in_class > 0 {
                        r"\p{L}\p{N}._:\-"
                    } else {
                        r"[\p{L}\p{N}._:\-]"
                    }),
                    'C' if in_class == 0 => out.push_str(r"[^\p{L}\p{N}._:\-]"),
                    'p' | 'P' => {
                        let mut name = String::new();
                        if chars.next()? != '{' {
                            return None;
                        }
                        for n in chars.by_ref() {
                            if n == '}' {
                                break;
                            }
                            name.push(n);
                        }
                        if name.starts_with("Is") {
                            return None;
                        }
                        out.push_str(&format!("\\{e}{{{name}}}"));
                    }
                    // XSD's meanings, which are not `regex`'s Unicode ones.
                    's' => out.push_str(r"[ \t\n\r]"),
                    'S' => out.push_str(r"[^ \t\n\r]"),
                    'w' => out.push_str(r"[^\p{P}\p{Z}\p{C}]"),
                    'W' => out.push_str(r"[\p{P}\p{Z}\p{C}]"),
                    'd' => out.push_str(r"\p{Nd}"),
                    'D' => out.push_str(r"\P{Nd}"),
                    'n' | 'r' | 't' => {
                        out.push('\\');
                        out.push(e);
                    }
                    'I' | 'C' => return None,
                    other => {
                        out.push_str(&regex::escape(&other.to_string()));
                    }
                }
            }
            '[' => {
                in_class += 1;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next()?);
                }
            }
            ']' => {
                in_class = in_class.checked_sub(1)?;
                out.push(']');
            }
            // Class subtraction: `[a-z-[aeiou]]` is `regex`'s `[a-z--[aeiou]]`.
            '-' if in_class > 0 && chars.peek() == Some(&'[') => out.push_str("--"),
            '.' if in_class == 0 => out.push_str(r"[^\n\r]"),
            '^' | '$' if in_class == 0 => {
                out.push('\\');
                out.push(c);
            }
            '&' | '~' if in_class > 0 => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push_str(")$");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ty: &str, value: &str) -> Result<(), String> {
        builtin(ty).unwrap().validate(value)
    }

    #[test]
    fn builtins_follow_xerces() {
        assert_eq!(
            check("int", "abc").unwrap_err(),
            "cvc-datatype-valid.1.2.1: 'abc' is not a valid value for 'integer'."
        );
        assert_eq!(check("int", "99999999999").unwrap_err(), "cvc-maxInclusive-valid: Value '99999999999' is not facet-valid with respect to maxInclusive '2147483647' for type 'int'.");
        assert!(check("int", " 42 ").is_ok());
        assert_eq!(
            check("boolean", "TRUE").unwrap_err(),
            "cvc-datatype-valid.1.2.1: 'TRUE' is not a valid value for 'boolean'."
        );
        assert_eq!(
            check("date", "2023-02-29").unwrap_err(),
            "cvc-datatype-valid.1.2.1: '2023-02-29' is not a valid value for 'date'."
        );
        assert!(check("date", "2024-02-29").is_ok());
        assert_eq!(
            check("dateTime", "2024-01-01 10:00").unwrap_err(),
            "cvc-datatype-valid.1.2.1: '2024-01-01 10:00' is not a valid value for 'dateTime'."
        );
        assert_eq!(
            check("decimal", "1,5").unwrap_err(),
            "cvc-datatype-valid.1.2.1: '1,5' is not a valid value for 'decimal'."
        );
        assert_eq!(
            check("integer", "").unwrap_err(),
            "cvc-datatype-valid.1.2.1: '' is not a valid value for 'integer'."
        );
        assert!(check("base64Binary", "aGVsbG8=").is_ok());
        assert!(check("NMTOKENS", "a b").is_ok());
    }

    #[test]
    fn patterns_translate() {
        let re = Regex::new(&translate_pattern("[A-Z]{3}").unwrap()).unwrap();
        assert!(re.is_match("ABC") && !re.is_match("ABCD"));
        let re = Regex::new(&translate_pattern(r"\i\c*").unwrap()).unwrap();
        assert!(re.is_match("a1") && !re.is_match("1a"));
        let re = Regex::new(&translate_pattern("a^b$").unwrap()).unwrap();
        assert!(re.is_match("a^b$"));
        let re = Regex::new(&translate_pattern("[a-z-[aeiou]]+").unwrap()).unwrap();
        assert!(re.is_match("bcd") && !re.is_match("bad"));
        let re = Regex::new(&translate_pattern(r"\w+\s.").unwrap()).unwrap();
        assert!(re.is_match("ab x") && !re.is_match("a-b x") && !re.is_match("ab \r"));
    }
}
