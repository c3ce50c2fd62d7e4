//! `${...}` strings compiled once into [`Template`]s.
//!
//! JMeter parses every property string into a compound of literals, variables and functions
//! (`FunctionParser`). rmeter does the same at plan build time: variables become [`VarId`]s into a
//! virtual user's slot table and functions become [`FuncCall`]s with compiled arguments, so
//! rendering at run time walks a small slice and never re-parses text.
//!
//! The syntax follows JMeter's parser: `\$`, `\,` and `\\` are escapes (any other backslash is kept),
//! `${name}` is a variable, `${__f(a,b)}` a function whose arguments may nest further `${...}` and
//! balanced parentheses. An undefined variable renders as its literal text, and so does a call to a
//! function JMeter does not know (it is a variable named `__f(a,b)` to JMeter).

use std::fmt::Write as _;

use super::function::{self, Function};
use super::vars::{VarId, VarTable};

/// A compiled `${...}` string.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Box<[Part]>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(Box<str>),
    /// A variable, with the text to write when it is undefined.
    Var(VarId, Box<str>),
    Func(Box<FuncCall>),
}

/// A function call with its compiled arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct FuncCall {
    pub function: Function,
    pub args: Vec<Template>,
    /// Per-call state index (counters), assigned at plan build time.
    pub slot: usize,
}

/// A function name the engine does not implement, found while compiling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFunction(pub String);

/// What rendering needs from the virtual user that renders.
pub trait Context {
    fn var(&self, id: VarId) -> Option<&str>;
    fn var_by_name(&self, name: &str) -> Option<&str>;
    fn set_var(&mut self, name: &str, value: String);
    /// Makes a variable undefined again (so `${name}` renders as literal text).
    fn remove_var(&mut self, name: &str);
    /// Everything else a function may touch: properties, thread identity, random numbers, counters.
    fn env(&mut self) -> &mut dyn function::Env;
}

/// The compiler's state: the variable table and the per-call slot counter.
pub struct Compiler<'a> {
    pub vars: &'a mut VarTable,
    pub next_slot: &'a mut usize,
    pub unknown: Vec<UnknownFunction>,
    /// `__groovy`/`__BeanShell` expressions outside rmeter's subset, with the reason.
    pub unsupported: Vec<String>,
    /// A `__regexFunction` reads the previous sample's response.
    pub reads_previous_response: bool,
}

impl Template {
    /// A template that is only this text.
    pub fn literal(text: &str) -> Template {
        let parts: Box<[Part]> = if text.is_empty() {
            Box::new([])
        } else {
            Box::new([Part::Lit(text.into())])
        };
        Template { parts }
    }

    /// The text when the template holds no variable or function.
    pub fn as_literal(&self) -> Option<&str> {
        match &*self.parts {
            [] => Some(""),
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Renders into `out`, appending.
    pub fn render_into(&self, ctx: &mut dyn Context, out: &mut String) {
        for part in self.parts.iter() {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(id, raw) => match ctx.var(*id) {
                    Some(v) => out.push_str(v),
                    None => out.push_str(raw),
                },
                Part::Func(call) => {
                    let value = function::call(call, ctx);
                    out.push_str(&value);
                }
            }
        }
    }

    pub fn render(&self, ctx: &mut dyn Context) -> String {
        if let Some(text) = self.as_literal() {
            return text.to_string();
        }
        let mut out = String::new();
        self.render_into(ctx, &mut out);
        out
    }

    /// Names of the variables this template reads, for plan dumps.
    pub fn describe(&self, vars: &VarTable) -> String {
        let mut out = String::new();
        for part in self.parts.iter() {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var(id, _) => {
                    let _ = write!(out, "${{{}}}", vars.name(*id));
                }
                Part::Func(call) => {
                    let _ = write!(out, "${{{}(", call.function.name());
                    for (i, arg) in call.args.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        out.push_str(&arg.describe(vars));
                    }
                    out.push_str(")}");
                }
            }
        }
        out
    }
}

impl<'a> Compiler<'a> {
    pub fn new(vars: &'a mut VarTable, next_slot: &'a mut usize) -> Compiler<'a> {
        Compiler {
            vars,
            next_slot,
            unknown: Vec::new(),
            unsupported: Vec::new(),
            reads_previous_response: false,
        }
    }

    /// Compiles a property string.
    pub fn compile(&mut self, src: &str) -> Template {
        let chars: Vec<char> = src.chars().collect();
        let mut pos = 0;
        let parts = self.parse_seq(&chars, &mut pos, Stop::End, 0);
        Template {
            parts: parts.into_boxed_slice(),
        }
    }

    fn parse_seq(&mut self, s: &[char], pos: &mut usize, stop: Stop, depth: usize) -> Vec<Part> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut parens = 0usize;
        while *pos < s.len() {
            let c = s[*pos];
            if stop == Stop::Arg {
                if c == ',' && parens == 0 {
                    break;
                }
                if c == ')' {
                    if parens == 0 {
                        break;
                    }
                    parens -= 1;
                } else if c == '(' {
                    parens += 1;
                }
            }
            if c == '\\' {
                match s.get(*pos + 1) {
                    Some(&next) if next == '$' || next == ',' || next == '\\' => {
                        lit.push(next);
                        *pos += 2;
                    }
                    Some(&next) => {
                        lit.push('\\');
                        lit.push(next);
                        *pos += 2;
                    }
                    None => {
                        lit.push('\\');
                        *pos += 1;
                    }
                }
                continue;
            }
            if c == '$' && s.get(*pos + 1) == Some(&'{') && depth < 32 {
                let start = *pos;
                if let Some(part) = self.parse_reference(s, pos, depth) {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit).into()));
                    }
                    parts.push(part);
                    continue;
                }
                // Not a reference: JMeter keeps the text as it is.
                *pos = start;
            }
            lit.push(c);
            *pos += 1;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit.into()));
        }
        parts
    }

    /// At `${`: a variable or a function call. Returns None (and leaves `pos` anywhere) when the text
    /// is not a complete reference.
    fn parse_reference(&mut self, s: &[char], pos: &mut usize, depth: usize) -> Option<Part> {
        let start = *pos;
        *pos += 2;
        let name_start = *pos;
        while *pos < s.len() && s[*pos] != '}' && s[*pos] != '(' {
            *pos += 1;
        }
        let name: String = s.get(name_start..*pos)?.iter().collect();
        match s.get(*pos) {
            Some('}') => {
                *pos += 1;
                let raw: String = s[start..*pos].iter().collect();
                Some(Part::Var(self.vars.intern(&name), raw.into()))
            }
            Some('(') => {
                let Some(function) = Function::from_name(&name) else {
                    // An unknown function is a variable whose name runs to the closing brace.
                    let close = s[*pos..].iter().position(|&c| c == '}')? + *pos;
                    let var_name: String = s[name_start..close].iter().collect();
                    *pos = close + 1;
                    if name.starts_with("__") {
                        self.unknown.push(UnknownFunction(name));
                    }
                    let raw: String = s[start..*pos].iter().collect();
                    return Some(Part::Var(self.vars.intern(&var_name), raw.into()));
                };
                *pos += 1;
                let mut args = Vec::new();
                loop {
                    let parts = self.parse_seq(s, pos, Stop::Arg, depth + 1);
                    args.push(Template {
                        parts: parts.into_boxed_slice(),
                    });
                    match s.get(*pos) {
                        Some(',') => *pos += 1,
                        Some(')') => {
                            *pos += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
                if s.get(*pos) != Some(&'}') {
                    return None;
                }
                *pos += 1;
                // `${__f()}` has no arguments, not one empty argument.
                if args.len() == 1 && args[0].is_empty() {
                    args.clear();
                }
                if function == Function::StringFromFile && args.len() > 2 {
                    self.unsupported.push(
                        "__StringFromFile with a file sequence (start and end numbers)".into(),
                    );
                }
                if function == Function::RegexFunction
                    && args.get(6).is_none_or(|a| a.as_literal() == Some(""))
                {
                    self.reads_previous_response = true;
                }
                if function == Function::RandomDate {
                    let locale = args.get(3).map(|a| a.as_literal().map(str::trim));
                    if let Some(locale) =
                        locale.filter(|l| l.is_none_or(|l| !l.is_empty() && !l.starts_with("en")))
                    {
                        self.unsupported.push(format!(
                            "__RandomDate with the locale {} (rmeter writes dates in English)",
                            locale.unwrap_or("from a variable")
                        ));
                    }
                }
                if matches!(function, Function::Groovy | Function::BeanShell) {
                    if let Some(expr) = args.first().and_then(Template::as_literal) {
                        if let Err(why) = function::check_script(expr) {
                            self.unsupported.push(format!(
                                "{}({expr}): {why} (rmeter runs the JavaScript subset with vars, props, ctx.getThreadNum() and System.getenv)",
                                function.name()
                            ));
                        }
                    }
                }
                let slot = *self.next_slot;
                *self.next_slot += 1;
                Some(Part::Func(Box::new(FuncCall {
                    function,
                    args,
                    slot,
                })))
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    End,
    Arg,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::function::tests::TestCtx;

    fn render(src: &str, vars: &[(&str, &str)]) -> String {
        let mut table = VarTable::default();
        let mut slot = 0;
        let mut compiler = Compiler::new(&mut table, &mut slot);
        let template = compiler.compile(src);
        let mut ctx = TestCtx::new(table);
        for (k, v) in vars {
            ctx.set_var(k, v.to_string());
        }
        template.render(&mut ctx)
    }

    #[test]
    fn variables_and_literals() {
        assert_eq!(render("Bearer ${token}", &[("token", "abc")]), "Bearer abc");
        assert_eq!(render("${missing} stays", &[]), "${missing} stays");
        assert_eq!(render("a\\${b}c\\,d\\e", &[("b", "X")]), "a${b}c,d\\e");
        assert_eq!(render("${unclosed", &[]), "${unclosed");
        assert_eq!(render("$x {y}", &[]), "$x {y}");
    }

    #[test]
    fn functions_nest() {
        assert_eq!(render("${__intSum(1,${n},3)}", &[("n", "2")]), "6");
        assert_eq!(render("${__P(nope,${d})}", &[("d", "dflt")]), "dflt");
        assert_eq!(render("${__urlencode(a b\\,c)}", &[]), "a+b%2Cc");
        assert_eq!(render("${__V(A${N})}", &[("N", "1"), ("A1", "ok")]), "ok");
    }

    #[test]
    fn unknown_functions_stay_literal() {
        assert_eq!(render("${__nosuch(1,2)}", &[]), "${__nosuch(1,2)}");
        let mut table = VarTable::default();
        let mut slot = 0;
        let mut compiler = Compiler::new(&mut table, &mut slot);
        compiler.compile("x ${__python(1+1)} y");
        assert_eq!(compiler.unknown, vec![UnknownFunction("__python".into())]);
    }

    #[test]
    fn arguments_keep_balanced_parentheses() {
        assert_eq!(render("${__urlencode(f(x))}", &[]), "f%28x%29");
    }
}
