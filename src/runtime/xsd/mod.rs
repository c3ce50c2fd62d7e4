//! The XML Schema Assertion: a response validated against an XSD as JMeter 5.6's
//! `XMLSchemaAssertion` does with Xerces 2.12 (validating, namespace-aware, stopping at the first
//! error), with Xerces' messages and positions: `error: line=1 col=46 cvc-complex-type.2.4.a:
//! ...`, `fatal: line=1 col=28 The element type "id" must be terminated ...`.
//!
//! `xml` reads the response and the schema documents, `schema` compiles the schema (a subset of
//! XSD 1.0: no identity constraints, substitution groups or redefinitions, which are reported as
//! unsupported), `simple` checks simple-type values.

pub mod schema;
pub mod simple;
pub mod xml;

use schema::{Content, Model, Process, Schema, SchemaError, Term, TypeRef};

const XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const NIL_NAME: &str = "http://www.w3.org/2001/XMLSchema-instance,nil";

/// Validates `text` against `schema` (or the reason it could not be loaded). `Ok` carries
/// the warning Xerces reported without failing, if any; `Err` the error message, which JMeter
/// records with the error flag.
pub fn validate(
    text: &str,
    schema: &Result<Schema, SchemaError>,
) -> Result<Option<String>, String> {
    let mut v = Validator {
        schema,
        stack: Vec::new(),
        skip: 0,
    };
    let result = xml::read(text, |event| v.event(event));
    let position = |offset: usize| {
        let (line, column) = xml::line_and_column(text, offset);
        format!("line={line} col={column}")
    };
    match result {
        Ok(()) => Ok(schema
            .as_ref()
            .ok()
            .and_then(|s| s.warnings.last().cloned())),
        Err(Ok(Stop::Error(offset, message))) => {
            Err(format!("error: {} {message}", position(offset)))
        }
        Err(Ok(Stop::Schema(message))) => Err(message),
        Err(Err(fatal)) => Err(match fatal.offset {
            Some(offset) => format!("fatal: {} {}", position(offset), fatal.message),
            None => format!("fatal: {}", fatal.message),
        }),
    }
}

/// Why validation stopped early.
enum Stop {
    /// A validity error at an offset of the response.
    Error(usize, String),
    /// The schema could not be used; the whole message.
    Schema(String),
}

/// Where the validator is inside an element.
struct Frame {
    raw: String,
    kind: Kind,
    decl: Option<usize>,
    text: String,
    /// Non-white-space characters were seen.
    chars: bool,
    sub_element: bool,
    nil: bool,
}

enum Kind {
    Simple(usize),
    Complex(usize, State),
    /// `xs:anyType`: anything goes below.
    Any,
}

/// A content model's state: the positions reached (with their counts) or, for `xs:all`, the
/// members seen.
enum State {
    Start,
    At(Vec<(usize, u32)>),
    All(Vec<bool>),
    None,
}

struct Validator<'s> {
    schema: &'s Result<Schema, SchemaError>,
    stack: Vec<Frame>,
    /// The depth inside an element whose content is not validated.
    skip: usize,
}

impl Validator<'_> {
    fn event(&mut self, event: xml::Event<'_>) -> Result<(), Stop> {
        match event {
            xml::Event::Start {
                raw,
                uri,
                local,
                attributes,
                scope,
                end,
            } => {
                if self.skip > 0 {
                    self.skip += 1;
                    return Ok(());
                }
                self.start(raw, uri, local, attributes, scope, end)
            }
            xml::Event::Text(text) => {
                if self.skip > 0 {
                    return Ok(());
                }
                if let Some(frame) = self.stack.last_mut() {
                    frame.chars |= text.chars().any(|c| !matches!(c, ' ' | '\t' | '\r' | '\n'));
                    frame.text.push_str(text);
                }
                Ok(())
            }
            xml::Event::End { end, .. } => {
                if self.skip > 0 {
                    self.skip -= 1;
                    return Ok(());
                }
                match self.stack.pop() {
                    Some(frame) => self.end(frame, end),
                    None => Ok(()),
                }
            }
        }
    }

    fn start(
        &mut self,
        raw: &str,
        uri: &str,
        local: &str,
        attributes: &[xml::Attribute],
        scope: &xml::Scope,
        end: usize,
    ) -> Result<(), Stop> {
        let schema = match self.schema {
            Ok(schema) => schema,
            Err(SchemaError::Missing(name)) => {
                return Err(Stop::Error(end, SchemaError::missing_message(name)))
            }
            Err(SchemaError::Invalid {
                fatal,
                line,
                column,
                message,
            }) => {
                let kind = if *fatal { "fatal" } else { "error" };
                return Err(Stop::Schema(format!(
                    "{kind}: line={line} col={column} {message}"
                )));
            }
            Err(SchemaError::Unsupported(what)) => {
                return Err(Stop::Schema(format!(
                    "rmeter cannot validate against this schema: {what} is not supported"
                )))
            }
        };
        let global = || {
            schema
                .globals
                .get(&(uri.to_string(), local.to_string()))
                .copied()
        };
        let decl = match self.stack.last_mut() {
            None => match global() {
                Some(d) => d,
                None => {
                    return Err(Stop::Error(
                        end,
                        format!("cvc-elt.1.a: Cannot find the declaration of element '{raw}'."),
                    ))
                }
            },
            Some(parent) => {
                parent.sub_element = true;
                let term = match &mut parent.kind {
                    Kind::Complex(ty, state) => match &schema.complex[*ty].content {
                        Content::Elements { model, .. } => Some(
                            transition(schema, model, state, raw, uri, local)
                                .map_err(|m| Stop::Error(end, m))?,
                        ),
                        _ => None,
                    },
                    _ => None,
                };
                match term {
                    Some(Term::Element(d)) => d,
                    Some(Term::Any(w)) => match (schema.wildcards[w].process, global()) {
                        (Process::Skip, _) | (Process::Lax, None) => {
                            self.skip = 1;
                            return Ok(());
                        }
                        (_, Some(d)) => d,
                        (Process::Strict, None) => {
                            return Err(Stop::Error(end, format!("cvc-complex-type.2.4.c: The matching wildcard is strict, but no declaration can be found for element '{raw}'.")))
                        }
                    },
                    // No content model (simple, empty or any content): a declared global is
                    // validated, anything else is not.
                    None => match global() {
                        Some(d) => d,
                        None => {
                            self.skip = 1;
                            return Ok(());
                        }
                    },
                }
            }
        };
        let element = &schema.elements[decl];
        let mut ty = element.ty;
        let xsi = |name: &str| attributes.iter().find(|a| a.uri == XSI && a.local == name);
        if let Some(xsi_type) = xsi("type") {
            let (prefix, type_local) = xml::split(xsi_type.value.trim());
            let type_uri = scope.resolve(prefix).unwrap_or("");
            let Some(&named) = schema
                .types
                .get(&(type_uri.to_string(), type_local.to_string()))
            else {
                return Err(Stop::Error(end, format!("cvc-elt.4.2: Cannot resolve '{}' to a type definition for element '{raw}'.", xsi_type.value)));
            };
            if !schema.derives(named, ty) {
                return Err(Stop::Error(end, format!("cvc-elt.4.3: Type '{}' is not validly derived from the type definition, '{}', of element '{raw}'.", xsi_type.value, schema.type_name(ty))));
            }
            ty = named;
        }
        let mut nil = false;
        if let Some(n) = xsi("nil") {
            if !element.nillable {
                return Err(Stop::Error(end, format!("cvc-elt.3.1: Attribute '{NIL_NAME}' must not appear on element '{raw}', because the {{nillable}} property of '{raw}' is false.")));
            }
            nil = matches!(n.value.trim(), "true" | "1");
        }
        let kind = match ty {
            TypeRef::Simple(s) => {
                if let Some(a) = attributes.iter().find(|a| a.uri != XSI) {
                    return Err(Stop::Error(end, format!("cvc-type.3.1.1: Element '{raw}' is a simple type, so it cannot have attributes, excepting those whose namespace name is identical to 'http://www.w3.org/2001/XMLSchema-instance' and whose [local name] is one of 'type', 'nil', 'schemaLocation' or 'noNamespaceSchemaLocation'. However, the attribute, '{}' was found.", a.raw)));
                }
                Kind::Simple(s)
            }
            TypeRef::Any => Kind::Any,
            TypeRef::Complex(c) => {
                check_attributes(schema, c, raw, attributes).map_err(|m| Stop::Error(end, m))?;
                let state = match &schema.complex[c].content {
                    Content::Elements {
                        model: Model::All { members, .. },
                        ..
                    } => State::All(vec![false; members.len()]),
                    Content::Elements { .. } => State::Start,
                    _ => State::None,
                };
                Kind::Complex(c, state)
            }
        };
        self.stack.push(Frame {
            raw: raw.to_string(),
            kind,
            decl: Some(decl),
            text: String::new(),
            chars: false,
            sub_element: false,
            nil,
        });
        Ok(())
    }

    fn end(&mut self, mut frame: Frame, end: usize) -> Result<(), Stop> {
        let Ok(schema) = self.schema else {
            return Ok(());
        };
        let raw = &frame.raw;
        let error = |message: String| Err(Stop::Error(end, message));
        if frame.nil {
            if frame.sub_element || !frame.text.is_empty() {
                return error(format!("cvc-elt.3.2.1: Element '{raw}' cannot have character or element information [children], because '{NIL_NAME}' is specified."));
            }
            return Ok(());
        }
        let element = frame.decl.map(|d| &schema.elements[d]);
        let mut text = std::mem::take(&mut frame.text);
        if let Some(default) = element.and_then(|e| e.default.as_ref()) {
            if text.is_empty() && !frame.sub_element {
                text = default.clone();
            }
        }
        let simple = match &frame.kind {
            Kind::Any => None,
            Kind::Simple(s) => {
                if frame.sub_element {
                    return error(format!("cvc-type.3.1.2: Element '{raw}' is a simple type, so it must have no element information item [children]."));
                }
                schema.simple[*s].validate(&text).or_else(error)?;
                Some(*s)
            }
            Kind::Complex(c, state) => match &schema.complex[*c].content {
                Content::Empty => {
                    if frame.sub_element || frame.chars {
                        return error(format!("cvc-complex-type.2.1: Element '{raw}' must have no character or element information item [children], because the type's content type is empty."));
                    }
                    None
                }
                Content::Simple(s) => {
                    if frame.sub_element {
                        return error(format!("cvc-complex-type.2.2: Element '{raw}' must have no element [children], and the value must be valid."));
                    }
                    schema.simple[*s].validate(&text).or_else(error)?;
                    Some(*s)
                }
                Content::Elements { model, mixed } => {
                    if !mixed && frame.chars {
                        return error(format!("cvc-complex-type.2.3: Element '{raw}' cannot have character [children], because the type's content type is element-only."));
                    }
                    end_of_content(schema, model, state, raw).or_else(error)?;
                    None
                }
            },
        };
        if let (Some(fixed), Some(s)) = (element.and_then(|e| e.fixed.as_ref()), simple) {
            let ty = &schema.simple[s];
            if ty.normalized(&text) != ty.normalized(fixed) {
                return error(format!("cvc-elt.5.2.2.2.2: The value '{}' of element '{raw}' does not match the {{value constraint}} value '{fixed}'.", ty.normalized(&text)));
            }
        }
        Ok(())
    }
}

/// A start tag's attributes against a complex type's attribute uses.
fn check_attributes(
    schema: &Schema,
    ty: usize,
    raw: &str,
    attributes: &[xml::Attribute],
) -> Result<(), String> {
    let ty = &schema.complex[ty];
    for a in attributes.iter().filter(|a| a.uri != XSI) {
        let declared = ty
            .attributes
            .iter()
            .find(|u| !u.prohibited && u.name.0 == a.uri && u.name.1 == a.local);
        match declared {
            Some(use_) => {
                let simple = &schema.simple[use_.ty];
                simple.validate(&a.value)?;
                if let Some(fixed) = &use_.fixed {
                    if simple.normalized(&a.value) != simple.normalized(fixed) {
                        return Err(format!("cvc-complex-type.3.1: Value '{}' of attribute '{}' of element '{raw}' is not valid with respect to the corresponding attribute use. Attribute '{}' has a fixed value of '{fixed}'.", a.value, a.raw, a.raw));
                    }
                }
            }
            None if ty.any_attribute.as_ref().is_some_and(|w| w.allows(&a.uri)) => {}
            None => {
                return Err(format!("cvc-complex-type.3.2.2: Attribute '{}' is not allowed to appear in element '{raw}'.", a.raw))
            }
        }
    }
    for use_ in ty.attributes.iter().filter(|u| u.required && !u.prohibited) {
        if !attributes
            .iter()
            .any(|a| a.uri == use_.name.0 && a.local == use_.name.1)
        {
            return Err(format!(
                "cvc-complex-type.4: Attribute '{}' must appear on element '{raw}'.",
                use_.name.1
            ));
        }
    }
    Ok(())
}

fn matches(schema: &Schema, term: Term, uri: &str, local: &str) -> bool {
    match term {
        Term::Element(e) => {
            let name = &schema.elements[e].name;
            name.0 == uri && name.1 == local
        }
        Term::Any(w) => schema.wildcards[w].allows(uri),
    }
}

/// The positions a model can go to next from `state`, with their counts.
fn candidates(a: &schema::Automaton, state: &State) -> Vec<(usize, u32)> {
    let mut next = Vec::new();
    match state {
        State::Start => next.extend(a.first.iter().map(|&p| (p, 1))),
        State::At(current) => {
            for &(p, count) in current {
                match a.counting[p] {
                    Some((min, max)) => {
                        if max.is_none_or(|m| count < m) {
                            next.push((p, count.saturating_add(1)));
                        }
                        if count >= min {
                            next.extend(a.follow[p].iter().filter(|&&q| q != p).map(|&q| (q, 1)));
                        }
                    }
                    None => next.extend(a.follow[p].iter().map(|&q| (q, 1))),
                }
            }
        }
        State::All(_) | State::None => {}
    }
    next.sort_unstable();
    next.dedup();
    next
}

/// Xerces' list of what may come next: `{a, "ns":b, WC[##any]}`, in declaration order.
fn expected(schema: &Schema, a: &schema::Automaton, next: &[(usize, u32)]) -> (String, bool) {
    let terms: Vec<String> = a
        .order
        .iter()
        .filter(|t| next.iter().any(|(p, _)| a.terms[*p] == **t))
        .map(|t| schema.term_display(*t))
        .collect();
    (format!("{{{}}}", terms.join(", ")), !terms.is_empty())
}

/// A counting position the model is in, alone: `(min, max, count, position)`.
fn occurrence(a: &schema::Automaton, state: &State) -> Option<(u32, Option<u32>, u32, usize)> {
    match state {
        State::At(current) if current.len() == 1 => {
            let (p, count) = current[0];
            a.counting[p].map(|(min, max)| (min, max, count, p))
        }
        _ => None,
    }
}

/// Moves the model on by a child element; the term it matched, or Xerces' message.
fn transition(
    schema: &Schema,
    model: &Model,
    state: &mut State,
    raw: &str,
    uri: &str,
    local: &str,
) -> Result<Term, String> {
    let expanded = if uri.is_empty() {
        local.to_string()
    } else {
        format!("{{\"{uri}\":{local}}}")
    };
    match model {
        Model::All { members, .. } => {
            let State::All(seen) = state else {
                return Err(format!("cvc-complex-type.2.4.d: Invalid content was found starting with element '{raw}'. No child element is expected at this point."));
            };
            if let Some(i) = members
                .iter()
                .position(|(e, _)| matches(schema, Term::Element(*e), uri, local))
            {
                if !seen[i] {
                    seen[i] = true;
                    return Ok(Term::Element(members[i].0));
                }
            }
            if seen.iter().all(|s| *s) {
                Err(format!("cvc-complex-type.2.4.d: Invalid content was found starting with element '{raw}'. No child element is expected at this point."))
            } else {
                Err(format!("cvc-complex-type.2.4.a: Invalid content was found starting with element '{expanded}'. One of '{}' is expected.", unseen(schema, members, seen)))
            }
        }
        Model::Positions(a) => {
            let next = candidates(a, state);
            let element_match: Vec<(usize, u32)> = next
                .iter()
                .copied()
                .filter(|(p, _)| {
                    matches!(a.terms[*p], Term::Element(_))
                        && matches(schema, a.terms[*p], uri, local)
                })
                .collect();
            let matched = if element_match.is_empty() {
                next.iter()
                    .copied()
                    .filter(|(p, _)| matches(schema, a.terms[*p], uri, local))
                    .collect()
            } else {
                element_match
            };
            if let Some(&(p, _)) = matched.first() {
                let term = a.terms[p];
                *state = State::At(matched);
                return Ok(term);
            }
            let (list, any) = expected(schema, a, &next);
            let occurs = occurrence(a, state);
            if any {
                match occurs {
                    Some((min, _, count, p)) if count < min => {
                        let term = schema.term_display(a.terms[p]);
                        let required = min - count;
                        Err(if required > 1 {
                            format!("cvc-complex-type.2.4.h: Invalid content was found starting with element '{raw}'. '{term}' is expected to occur a minimum of '{min}' times in the current sequence. '{required}' more instances are required to satisfy this constraint.")
                        } else {
                            format!("cvc-complex-type.2.4.g: Invalid content was found starting with element '{raw}'. '{term}' is expected to occur a minimum of '{min}' times in the current sequence. One more instance is required to satisfy this constraint.")
                        })
                    }
                    Some((_, Some(max), count, _)) if count >= max => Err(format!("cvc-complex-type.2.4.e: '{raw}' can occur a maximum of '{max}' times in the current sequence. This limit was exceeded. At this point one of '{list}' is expected.")),
                    _ => Err(format!("cvc-complex-type.2.4.a: Invalid content was found starting with element '{expanded}'. One of '{list}' is expected.")),
                }
            } else {
                match occurs {
                    Some((_, Some(max), count, p)) if count >= max => Err(format!("cvc-complex-type.2.4.f: '{}' can occur a maximum of '{max}' times in the current sequence. This limit was exceeded. No child element is expected at this point.", schema.term_display(a.terms[p]))),
                    _ => Err(format!("cvc-complex-type.2.4.d: Invalid content was found starting with element '{raw}'. No child element is expected at this point.")),
                }
            }
        }
    }
}

/// The members of an `xs:all` group not seen yet, as Xerces lists them: `{a, b}`.
fn unseen(schema: &Schema, members: &[(usize, bool)], seen: &[bool]) -> String {
    let names: Vec<String> = members
        .iter()
        .zip(seen)
        .filter(|(_, s)| !**s)
        .map(|((e, _), _)| schema.elements[*e].display())
        .collect();
    format!("{{{}}}", names.join(", "))
}

/// The content of an element ends: the model must be complete.
fn end_of_content(schema: &Schema, model: &Model, state: &State, raw: &str) -> Result<(), String> {
    match (model, state) {
        (Model::All { members, optional }, State::All(seen)) => {
            // An optional group may be absent altogether.
            let absent = *optional && !seen.iter().any(|s| *s);
            let missing = !absent
                && members
                    .iter()
                    .zip(seen.iter())
                    .any(|((_, required), s)| *required && !s);
            if missing {
                return Err(format!("cvc-complex-type.2.4.b: The content of element '{raw}' is not complete. One of '{}' is expected.", unseen(schema, members, seen)));
            }
            Ok(())
        }
        (Model::Positions(a), state) => {
            let complete = match state {
                State::Start => a.nullable,
                State::At(current) => current.iter().any(|&(p, count)| {
                    a.last[p] && a.counting[p].is_none_or(|(min, _)| count >= min)
                }),
                _ => true,
            };
            if complete {
                return Ok(());
            }
            if let Some((min, _, count, p)) = occurrence(a, state) {
                if count < min {
                    let term = schema.term_display(a.terms[p]);
                    let required = min - count;
                    return Err(if required > 1 {
                        format!("cvc-complex-type.2.4.j: The content of element '{raw}' is not complete. '{term}' is expected to occur a minimum of '{min}' times. '{required}' more instances are required to satisfy this constraint.")
                    } else {
                        format!("cvc-complex-type.2.4.i: The content of element '{raw}' is not complete. '{term}' is expected to occur a minimum of '{min}' times. One more instance is required to satisfy this constraint.")
                    });
                }
            }
            let (list, _) = expected(schema, a, &candidates(a, state));
            Err(format!("cvc-complex-type.2.4.b: The content of element '{raw}' is not complete. One of '{list}' is expected."))
        }
        _ => Ok(()),
    }
}
