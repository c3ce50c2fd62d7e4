//! Schema documents compiled into the components the validator walks: global element
//! declarations, complex types with their content models (as position automata, with Xerces'
//! counting leaves), attribute uses and simple types.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::simple::{self, Facets, SimpleType, Variety, WhiteSpace};
use super::xml::{self, Node};

pub const XS: &str = "http://www.w3.org/2001/XMLSchema";

/// A namespace and local name.
pub type QName = (String, String);

/// What reading or compiling a schema stopped on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    /// The document could not be read: Xerces' `schema_reference.4`, reported at the root start
    /// tag of the response.
    Missing(String),
    /// An error in a schema document, reported at its position there (`fatal: ` when not
    /// well-formed).
    Invalid {
        fatal: bool,
        line: usize,
        column: usize,
        message: String,
    },
    /// A construct rmeter does not validate.
    Unsupported(String),
}

impl SchemaError {
    pub fn missing_message(name: &str) -> String {
        format!("schema_reference.4: Failed to read schema document '{name}', because 1) could not find the document; 2) the document could not be read; 3) the root element of the document is not <xsd:schema>.")
    }
}

#[derive(Debug)]
pub struct ElementDecl {
    pub name: QName,
    pub ty: TypeRef,
    pub nillable: bool,
    pub fixed: Option<String>,
    pub default: Option<String>,
}

impl ElementDecl {
    /// As Xerces lists it among the expected elements: `"ns":name` or `name`.
    pub fn display(&self) -> String {
        if self.name.0.is_empty() {
            self.name.1.clone()
        } else {
            format!("\"{}\":{}", self.name.0, self.name.1)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeRef {
    Simple(usize),
    Complex(usize),
    /// `xs:anyType`: anything goes.
    Any,
}

#[derive(Debug)]
pub enum Content {
    Empty,
    Simple(usize),
    /// Element-only or mixed content.
    Elements {
        model: Model,
        mixed: bool,
    },
}

#[derive(Debug)]
pub struct ComplexType {
    pub name: String,
    pub base: Option<TypeRef>,
    pub content: Content,
    pub attributes: Vec<AttributeUse>,
    pub any_attribute: Option<Wildcard>,
}

#[derive(Debug, Clone)]
pub struct AttributeUse {
    pub name: QName,
    pub ty: usize,
    pub required: bool,
    pub prohibited: bool,
    pub fixed: Option<String>,
    pub default: Option<String>,
}

/// `xs:any` and `xs:anyAttribute`.
#[derive(Debug, Clone)]
pub struct Wildcard {
    pub namespaces: WildcardNs,
    pub process: Process,
}

#[derive(Debug, Clone)]
pub enum WildcardNs {
    Any,
    /// `##other`: neither the target namespace nor no namespace.
    Other(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    Strict,
    Lax,
    Skip,
}

impl Wildcard {
    pub fn allows(&self, uri: &str) -> bool {
        match &self.namespaces {
            WildcardNs::Any => true,
            WildcardNs::Other(target) => uri != target && !uri.is_empty(),
            WildcardNs::List(list) => list.iter().any(|n| n == uri),
        }
    }

    /// As Xerces lists it: `WC[##any]`, `WC[##other:"ns"]`, `WC["a","b"]`.
    fn display(&self) -> String {
        match &self.namespaces {
            WildcardNs::Any => "WC[##any]".into(),
            WildcardNs::Other(target) => format!("WC[##other:\"{target}\"]"),
            WildcardNs::List(list) => format!(
                "WC[{}]",
                list.iter()
                    .map(|n| format!("\"{n}\""))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        }
    }
}

/// What a leaf of a content model matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    Element(usize),
    Any(usize),
}

/// A content model: a position automaton over its leaves, or an `xs:all` group.
#[derive(Debug)]
pub enum Model {
    Positions(Automaton),
    /// `optional`: the group itself may be absent (`minOccurs="0"`).
    All {
        members: Vec<(usize, bool)>,
        optional: bool,
    },
}

/// Glushkov automaton: each leaf of the expanded model is a position; a counting leaf (Xerces'
/// compact models) is one position with its occurrence bounds.
#[derive(Debug, Default)]
pub struct Automaton {
    pub terms: Vec<Term>,
    /// `(min, max)` of a counting position (`max` `None`: unbounded).
    pub counting: Vec<Option<(u32, Option<u32>)>>,
    pub first: Vec<usize>,
    pub follow: Vec<Vec<usize>>,
    pub last: Vec<bool>,
    pub nullable: bool,
    /// The distinct terms in the order Xerces lists them.
    pub order: Vec<Term>,
    /// The particle it was built from, for types that extend this one.
    pub source: Option<Particle>,
}

/// A compiled schema.
#[derive(Debug, Default)]
pub struct Schema {
    pub elements: Vec<ElementDecl>,
    pub globals: HashMap<QName, usize>,
    pub complex: Vec<ComplexType>,
    pub simple: Vec<SimpleType>,
    pub wildcards: Vec<Wildcard>,
    /// Named types, for `xsi:type`.
    pub types: HashMap<QName, TypeRef>,
    /// Warnings Xerces reports without failing (an import or include that cannot be read).
    pub warnings: Vec<String>,
}

impl Schema {
    pub fn term_display(&self, term: Term) -> String {
        match term {
            Term::Element(e) => self.elements[e].display(),
            Term::Any(w) => self.wildcards[w].display(),
        }
    }

    /// The name a type has in messages.
    pub fn type_name(&self, ty: TypeRef) -> String {
        match ty {
            TypeRef::Simple(s) => self.simple[s].name.clone(),
            TypeRef::Complex(c) => self.complex[c].name.clone(),
            TypeRef::Any => "anyType".into(),
        }
    }

    /// Whether `derived` is `base` or derives from it.
    pub fn derives(&self, derived: TypeRef, base: TypeRef) -> bool {
        let mut current = Some(derived);
        let mut steps = 0;
        while let Some(ty) = current {
            if ty == base || base == TypeRef::Any {
                return true;
            }
            steps += 1;
            if steps > 64 {
                return false;
            }
            current = match ty {
                TypeRef::Complex(c) => self.complex[c].base,
                TypeRef::Simple(s) => self.simple[s]
                    .base
                    .as_deref()
                    .and_then(|b| {
                        self.types
                            .get(&(XS.to_string(), b.to_string()))
                            .or_else(|| {
                                // By local name; the same one in every run when two namespaces
                                // share it.
                                self.types
                                    .iter()
                                    .filter(|((_, n), _)| n == b)
                                    .min_by(|x, y| x.0.cmp(y.0))
                                    .map(|(_, t)| t)
                            })
                    })
                    .copied(),
                TypeRef::Any => None,
            };
        }
        false
    }
}

/// Reads and compiles the schema named `location` (relative names against `cwd`, as Xerces
/// resolves a system id against the working directory; `file:` URLs too).
pub fn load(location: &str, cwd: &Path) -> Result<Schema, SchemaError> {
    if location.starts_with("http:") || location.starts_with("https:") {
        return Err(SchemaError::Unsupported(format!(
            "a schema read over HTTP ({location})"
        )));
    }
    let path = resolve(location, cwd).ok_or_else(|| SchemaError::Missing(location.to_string()))?;
    let mut compiler = Compiler::default();
    for name in simple::BUILTIN_NAMES {
        let ty = simple::builtin(name).expect("every listed built-in is defined");
        compiler.schema.simple.push(ty);
        let index = TypeRef::Simple(compiler.schema.simple.len() - 1);
        compiler
            .named
            .insert((XS.to_string(), name.to_string()), index);
    }
    compiler.document(&path, location, None)?;
    compiler.finish()
}

fn resolve(location: &str, base: &Path) -> Option<PathBuf> {
    if location.starts_with("http:") || location.starts_with("https:") {
        return None;
    }
    let path = match location.strip_prefix("file://") {
        Some(rest) => PathBuf::from(rest),
        None => PathBuf::from(location.strip_prefix("file:").unwrap_or(location)),
    };
    Some(if path.is_absolute() {
        path
    } else {
        base.join(path)
    })
}

/// A top-level definition waiting to be compiled, with the document it came from.
#[derive(Clone)]
struct Source {
    node: Node,
    target: String,
    qualified_elements: bool,
    qualified_attributes: bool,
    text: std::sync::Arc<str>,
}

#[derive(Default)]
struct Compiler {
    schema: Schema,
    loaded: Vec<PathBuf>,
    complex_defs: HashMap<QName, Source>,
    simple_defs: HashMap<QName, Source>,
    element_defs: HashMap<QName, Source>,
    attribute_defs: HashMap<QName, Source>,
    group_defs: HashMap<QName, Source>,
    attribute_group_defs: HashMap<QName, Source>,
    /// Named types being compiled or compiled.
    named: HashMap<QName, TypeRef>,
    /// Global elements compiled (their declaration index).
    global_elements: HashMap<QName, usize>,
    depth: usize,
    /// Particles built so far: group references are built again where they are used.
    particles: usize,
}

impl Compiler {
    /// Loads a schema document and the documents it includes and imports. `chameleon`: the
    /// including document's target namespace, for an included document without one.
    fn document(
        &mut self,
        path: &Path,
        name: &str,
        chameleon: Option<&str>,
    ) -> Result<(), SchemaError> {
        if self.loaded.iter().any(|p| p == path) {
            return Ok(());
        }
        self.loaded.push(path.to_path_buf());
        let text: std::sync::Arc<str> = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into(),
            Err(_) => return Err(SchemaError::Missing(name.to_string())),
        };
        let root = xml::tree(&text).map_err(|e| match e {
            xml::TreeError::Fatal(f) => {
                let (line, column) = f.offset.map_or((1, 1), |o| xml::line_and_column(&text, o));
                SchemaError::Invalid {
                    fatal: true,
                    line,
                    column,
                    message: f.message,
                }
            }
            xml::TreeError::TooDeep => SchemaError::Unsupported(format!(
                "schema documents nested deeper than {} elements",
                xml::MAX_TREE_DEPTH
            )),
        })?;
        if root.uri != XS || root.local != "schema" {
            return Err(SchemaError::Missing(name.to_string()));
        }
        let target = root
            .attribute("targetNamespace")
            .map(str::to_string)
            .or_else(|| chameleon.map(str::to_string))
            .unwrap_or_default();
        let qualified = |attr: &str| root.attribute(attr) == Some("qualified");
        let base = path.parent().unwrap_or(Path::new("."));
        for child in &root.children {
            if child.uri != XS {
                continue;
            }
            let source = Source {
                node: child.clone(),
                target: target.clone(),
                qualified_elements: qualified("elementFormDefault"),
                qualified_attributes: qualified("attributeFormDefault"),
                text: text.clone(),
            };
            let key = |n: &Node| {
                (
                    target.clone(),
                    n.attribute("name").unwrap_or("").to_string(),
                )
            };
            match child.local.as_str() {
                "element" => {
                    self.element_defs.insert(key(child), source);
                }
                "complexType" => {
                    self.complex_defs.insert(key(child), source);
                }
                "simpleType" => {
                    self.simple_defs.insert(key(child), source);
                }
                "attribute" => {
                    self.attribute_defs.insert(key(child), source);
                }
                "group" => {
                    self.group_defs.insert(key(child), source);
                }
                "attributeGroup" => {
                    self.attribute_group_defs.insert(key(child), source);
                }
                "include" | "import" => {
                    let Some(location) = child.attribute("schemaLocation") else {
                        continue;
                    };
                    let Some(path) = resolve(location, base) else {
                        return Err(SchemaError::Unsupported(format!(
                            "schemaLocation {location}"
                        )));
                    };
                    let chameleon = (child.local == "include").then_some(target.as_str());
                    match self.document(&path, location, chameleon) {
                        Err(SchemaError::Missing(missing)) => {
                            let (line, column) = xml::line_and_column(&text, child.end);
                            self.schema.warnings.push(format!(
                                "warning: line={line} col={column} {}",
                                SchemaError::missing_message(&missing)
                            ));
                        }
                        other => other?,
                    }
                }
                "annotation" | "notation" => {}
                other => return Err(SchemaError::Unsupported(format!("xs:{other}"))),
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Schema, SchemaError> {
        let mut names: Vec<QName> = self.element_defs.keys().cloned().collect();
        names.sort();
        for name in names {
            self.global_element(&name, None)?;
        }
        let mut types: Vec<QName> = self
            .complex_defs
            .keys()
            .chain(self.simple_defs.keys())
            .cloned()
            .collect();
        types.sort();
        for name in types {
            self.named_type(&name)?;
        }
        self.schema.types = self.named.clone();
        self.schema
            .types
            .insert((XS.to_string(), "anyType".to_string()), TypeRef::Any);
        Ok(self.schema)
    }

    fn error(&self, source: &Source, node: &Node, message: String) -> SchemaError {
        let (line, column) = xml::line_and_column(&source.text, node.end);
        SchemaError::Invalid {
            fatal: false,
            line,
            column,
            message,
        }
    }

    /// A QName attribute's value resolved against the node's prefixes.
    fn qname(&self, source: &Source, node: &Node, value: &str) -> Result<QName, SchemaError> {
        let (prefix, local) = xml::split(value);
        match node.scope.resolve(prefix) {
            Some(uri) => Ok((uri.to_string(), local.to_string())),
            None if prefix.is_empty() => Ok((String::new(), local.to_string())),
            None => Err(self.error(source, node, format!("src-resolve: Cannot resolve the name '{value}' to a(n) 'type definition' component."))),
        }
    }

    fn global_element(
        &mut self,
        name: &QName,
        referrer: Option<(&Source, &Node)>,
    ) -> Result<usize, SchemaError> {
        if let Some(&e) = self.global_elements.get(name) {
            return Ok(e);
        }
        let Some(source) = self.element_defs.get(name).cloned() else {
            let (source, node) =
                referrer.expect("global elements are compiled by name or by reference");
            return Err(self.error(source, node, format!("src-resolve: Cannot resolve the name '{}' to a(n) 'element declaration' component.", display_qname(node, name))));
        };
        let index = self.schema.elements.len();
        self.schema.elements.push(ElementDecl {
            name: name.clone(),
            ty: TypeRef::Any,
            nillable: false,
            fixed: None,
            default: None,
        });
        self.global_elements.insert(name.clone(), index);
        self.schema.globals.insert(name.clone(), index);
        let node = source.node.clone();
        self.fill_element(index, &source, &node, &[])?;
        Ok(index)
    }

    /// Sets a declaration's type and value constraints from its `xs:element`.
    fn fill_element(
        &mut self,
        index: usize,
        source: &Source,
        node: &Node,
        ancestors: &[String],
    ) -> Result<(), SchemaError> {
        for unsupported in ["substitutionGroup", "abstract"] {
            if node.attribute(unsupported).is_some_and(|v| v != "false") {
                return Err(SchemaError::Unsupported(format!(
                    "xs:element {unsupported}"
                )));
            }
        }
        if node
            .children
            .iter()
            .any(|c| matches!(c.local.as_str(), "key" | "keyref" | "unique"))
        {
            return Err(SchemaError::Unsupported(
                "identity constraints (xs:key, xs:keyref, xs:unique)".into(),
            ));
        }
        let mut names = vec![node.attribute("name").unwrap_or("").to_string()];
        names.extend(ancestors.iter().cloned());
        let ty = if let Some(ty) = node.attribute("type") {
            let q = self.qname(source, node, ty)?;
            self.type_by_name(&q, Some((source, node)))?
        } else if let Some(child) = node.children.iter().find(|c| c.local == "complexType") {
            TypeRef::Complex(self.complex_type(source, child, None, &names)?)
        } else if let Some(child) = node.children.iter().find(|c| c.local == "simpleType") {
            TypeRef::Simple(self.simple_type(source, child, None, &names)?)
        } else {
            TypeRef::Any
        };
        let decl = &mut self.schema.elements[index];
        decl.ty = ty;
        decl.nillable = node.attribute("nillable") == Some("true");
        decl.fixed = node.attribute("fixed").map(str::to_string);
        decl.default = node.attribute("default").map(str::to_string);
        Ok(())
    }

    fn type_by_name(
        &mut self,
        name: &QName,
        referrer: Option<(&Source, &Node)>,
    ) -> Result<TypeRef, SchemaError> {
        if name.0 == XS && name.1 == "anyType" {
            return Ok(TypeRef::Any);
        }
        match self.named_type(name)? {
            Some(ty) => Ok(ty),
            None => {
                let (source, node) =
                    referrer.expect("named types are compiled by name or by reference");
                if name.0 == XS
                    || (!name.0.is_empty()
                        && name.0 != source.target
                        && !self.declares_namespace(&name.0))
                {
                    let system_id = format!(
                        "file://{}",
                        self.loaded
                            .first()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    );
                    let raw = display_qname(node, name);
                    return Err(self.error(source, node, format!("src-resolve.4.2: Error resolving component '{raw}'. It was detected that '{raw}' is in namespace '{}', but components from this namespace are not referenceable from schema document '{system_id}'. If this is the incorrect namespace, perhaps the prefix of '{raw}' needs to be changed. If this is the correct namespace, then an appropriate 'import' tag should be added to '{system_id}'.", name.0)));
                }
                Err(self.error(source, node, format!("src-resolve: Cannot resolve the name '{}' to a(n) 'type definition' component.", display_qname(node, name))))
            }
        }
    }

    fn declares_namespace(&self, uri: &str) -> bool {
        self.complex_defs
            .keys()
            .chain(self.simple_defs.keys())
            .chain(self.element_defs.keys())
            .any(|(ns, _)| ns == uri)
    }

    /// A named type, compiled on first use; `None` when the schema defines none by that name.
    fn named_type(&mut self, name: &QName) -> Result<Option<TypeRef>, SchemaError> {
        if let Some(&ty) = self.named.get(name) {
            return Ok(Some(ty));
        }
        self.depth += 1;
        if self.depth > 200 {
            return Err(SchemaError::Unsupported(
                "type definitions nested deeper than 200".into(),
            ));
        }
        let result = if let Some(source) = self.complex_defs.get(name).cloned() {
            let node = source.node.clone();
            Some(TypeRef::Complex(self.complex_type(
                &source,
                &node,
                Some(name),
                &[],
            )?))
        } else if let Some(source) = self.simple_defs.get(name).cloned() {
            let node = source.node.clone();
            Some(TypeRef::Simple(self.simple_type(
                &source,
                &node,
                Some(name),
                &[],
            )?))
        } else {
            None
        };
        self.depth -= 1;
        Ok(result)
    }

    /// `#AnonType_` and the names of the enclosing declarations, innermost first.
    fn anonymous(ancestors: &[String]) -> String {
        format!("#AnonType_{}", ancestors.concat())
    }

    fn simple_type(
        &mut self,
        source: &Source,
        node: &Node,
        name: Option<&QName>,
        ancestors: &[String],
    ) -> Result<usize, SchemaError> {
        let type_name = name.map_or_else(|| Self::anonymous(ancestors), |n| n.1.clone());
        let index = self.schema.simple.len();
        // A placeholder, so that a reference to this type while it compiles finds it.
        self.schema.simple.push(SimpleType {
            name: type_name.clone(),
            variety: Variety::Atomic(simple::Primitive::String),
            facets: Facets::default(),
            base: None,
        });
        if let Some(name) = name {
            self.named.insert(name.clone(), TypeRef::Simple(index));
        }
        let mut inner_ancestors = vec![];
        inner_ancestors.extend(ancestors.iter().cloned());
        let Some(derivation) = node
            .children
            .iter()
            .find(|c| c.uri == XS && c.local != "annotation")
        else {
            return Err(self.error(source, node, "s4s-elt-must-match.2: The content of 'simpleType' must match (annotation?, (restriction | list | union)). A problem was found starting at: simpleType.".into()));
        };
        let ty = match derivation.local.as_str() {
            "restriction" => {
                let base = self.simple_operand(source, derivation, "base", &inner_ancestors)?;
                let facets = self.facets(source, derivation, base.facets.clone())?;
                SimpleType {
                    name: type_name,
                    variety: base.variety.clone(),
                    facets,
                    base: Some(base.name.clone()),
                }
            }
            "list" => {
                let item = self.simple_operand(source, derivation, "itemType", &inner_ancestors)?;
                SimpleType {
                    name: type_name,
                    variety: Variety::List(Box::new(item)),
                    facets: Facets {
                        white_space: Some(WhiteSpace::Collapse),
                        ..Facets::default()
                    },
                    base: Some("anySimpleType".into()),
                }
            }
            "union" => {
                let mut members = Vec::new();
                for t in derivation
                    .attribute("memberTypes")
                    .unwrap_or("")
                    .split_ascii_whitespace()
                {
                    let q = self.qname(source, derivation, t)?;
                    match self.type_by_name(&q, Some((source, derivation)))? {
                        TypeRef::Simple(s) => members.push(self.schema.simple[s].clone()),
                        _ => {
                            return Err(SchemaError::Unsupported(
                                "a union of a complex type".into(),
                            ))
                        }
                    }
                }
                for inner in derivation
                    .children
                    .iter()
                    .filter(|c| c.local == "simpleType")
                {
                    let s = self.simple_type(source, inner, None, &inner_ancestors)?;
                    members.push(self.schema.simple[s].clone());
                }
                SimpleType {
                    name: type_name,
                    variety: Variety::Union(members),
                    facets: Facets::default(),
                    base: Some("anySimpleType".into()),
                }
            }
            other => {
                return Err(SchemaError::Unsupported(format!(
                    "xs:{other} in xs:simpleType"
                )))
            }
        };
        self.schema.simple[index] = ty;
        Ok(index)
    }

    /// The simple type a restriction (`base`) or a list (`itemType`) works on: named by the
    /// attribute, or defined inside.
    fn simple_operand(
        &mut self,
        source: &Source,
        derivation: &Node,
        attribute: &str,
        ancestors: &[String],
    ) -> Result<SimpleType, SchemaError> {
        let index = match derivation.attribute(attribute) {
            Some(name) => {
                let q = self.qname(source, derivation, name)?;
                match self.type_by_name(&q, Some((source, derivation)))? {
                    TypeRef::Simple(s) => s,
                    _ => {
                        return Err(SchemaError::Unsupported(format!(
                            "a complex type as the {attribute} of xs:{}",
                            derivation.local
                        )))
                    }
                }
            }
            None => {
                let inner = derivation
                    .children
                    .iter()
                    .find(|c| c.local == "simpleType")
                    .ok_or_else(|| {
                        SchemaError::Unsupported(format!(
                            "xs:{} without {attribute}",
                            derivation.local
                        ))
                    })?;
                self.simple_type(source, inner, None, ancestors)?
            }
        };
        Ok(self.schema.simple[index].clone())
    }

    /// A restriction's facets over its base's.
    fn facets(
        &self,
        source: &Source,
        restriction: &Node,
        mut facets: Facets,
    ) -> Result<Facets, SchemaError> {
        let mut patterns = Vec::new();
        let mut enumeration = Vec::new();
        for facet in &restriction.children {
            if facet.uri != XS {
                continue;
            }
            let value = facet.attribute("value").unwrap_or("").to_string();
            let number = || match value.trim().parse::<usize>() {
                Ok(n) => Ok(Some(n)),
                Err(_) => Err(self.error(
                    source,
                    facet,
                    format!(
                        "cvc-datatype-valid.1.2.1: '{value}' is not a valid value for 'integer'."
                    ),
                )),
            };
            match facet.local.as_str() {
                "length" => facets.length = number()?,
                "minLength" => facets.min_length = number()?,
                "maxLength" => facets.max_length = number()?,
                "totalDigits" => facets.total_digits = number()?,
                "fractionDigits" => facets.fraction_digits = number()?,
                "maxInclusive" => facets.max_inclusive = Some(value),
                "maxExclusive" => facets.max_exclusive = Some(value),
                "minInclusive" => facets.min_inclusive = Some(value),
                "minExclusive" => facets.min_exclusive = Some(value),
                "enumeration" => enumeration.push(value),
                "whiteSpace" => {
                    facets.white_space = Some(match value.as_str() {
                        "preserve" => WhiteSpace::Preserve,
                        "replace" => WhiteSpace::Replace,
                        _ => WhiteSpace::Collapse,
                    })
                }
                "pattern" => {
                    let translated = simple::translate_pattern(&value).ok_or_else(|| {
                        SchemaError::Unsupported(format!(
                            "the pattern '{value}' (a Unicode block escape)"
                        ))
                    })?;
                    let re = regex::Regex::new(&translated).map_err(|e| self.error(source, facet, format!("InvalidRegex: Pattern value '{value}' is not a valid regular expression. The reported error was: '{e}'.")))?;
                    patterns.push((value, re));
                }
                "annotation" | "simpleType" | "attribute" | "attributeGroup" | "anyAttribute"
                | "sequence" | "choice" | "all" | "group" => {}
                other => return Err(SchemaError::Unsupported(format!("the facet xs:{other}"))),
            }
        }
        if !patterns.is_empty() {
            facets.patterns.push(patterns);
        }
        if !enumeration.is_empty() {
            facets.enumeration = Some(enumeration);
        }
        Ok(facets)
    }

    fn complex_type(
        &mut self,
        source: &Source,
        node: &Node,
        name: Option<&QName>,
        ancestors: &[String],
    ) -> Result<usize, SchemaError> {
        let type_name = name.map_or_else(|| Self::anonymous(ancestors), |n| n.1.clone());
        let index = self.schema.complex.len();
        self.schema.complex.push(ComplexType {
            name: type_name,
            base: None,
            content: Content::Empty,
            attributes: Vec::new(),
            any_attribute: None,
        });
        if let Some(name) = name {
            self.named.insert(name.clone(), TypeRef::Complex(index));
        }
        if node.attribute("abstract") == Some("true") {
            return Err(SchemaError::Unsupported("abstract complex types".into()));
        }
        let mut mixed = node.attribute("mixed") == Some("true");
        let mut base = None;
        let mut attributes = Vec::new();
        let mut any_attribute = None;
        let mut particle: Option<Particle> = None;
        let mut simple_content = None;
        for child in node.children.iter().filter(|c| c.uri == XS) {
            match child.local.as_str() {
                "annotation" => {}
                "sequence" | "choice" | "all" | "group" => {
                    particle = Some(self.particle(source, child, ancestors)?)
                }
                "attribute" | "attributeGroup" | "anyAttribute" => self.attribute_part(
                    source,
                    child,
                    &mut attributes,
                    &mut any_attribute,
                    ancestors,
                )?,
                "simpleContent" | "complexContent" => {
                    // `mixed` on complexContent overrides the complexType's.
                    if let Some(m) = child.attribute("mixed") {
                        mixed = m == "true";
                    }
                    let Some(derivation) = child
                        .children
                        .iter()
                        .find(|c| c.local == "extension" || c.local == "restriction")
                    else {
                        return Err(SchemaError::Unsupported(format!(
                            "xs:{} without a derivation",
                            child.local
                        )));
                    };
                    let extension = derivation.local == "extension";
                    let q = self.qname(
                        source,
                        derivation,
                        derivation.attribute("base").unwrap_or(""),
                    )?;
                    let base_type = self.type_by_name(&q, Some((source, derivation)))?;
                    base = Some(base_type);
                    // The base's attributes, then this derivation's. A restriction's
                    // attribute wildcard is its own; an extension's adds to the base's.
                    let mut base_wildcard = None;
                    if let TypeRef::Complex(b) = base_type {
                        attributes = self.schema.complex[b].attributes.clone();
                        if extension {
                            base_wildcard = self.schema.complex[b].any_attribute.clone();
                        }
                    }
                    any_attribute = None;
                    let mut own = Vec::new();
                    for part in derivation.children.iter().filter(|c| c.uri == XS) {
                        match part.local.as_str() {
                            "attribute" | "attributeGroup" | "anyAttribute" => self
                                .attribute_part(
                                    source,
                                    part,
                                    &mut own,
                                    &mut any_attribute,
                                    ancestors,
                                )?,
                            "sequence" | "choice" | "all" | "group" => {
                                let own_particle = self.particle(source, part, ancestors)?;
                                particle = Some(match (extension, base_type) {
                                    (true, TypeRef::Complex(b)) => match self.base_particle(b) {
                                        Some(base_particle) => Particle::Group {
                                            kind: GroupKind::Sequence,
                                            children: vec![base_particle, own_particle],
                                            min: 1,
                                            max: Some(1),
                                        },
                                        None => own_particle,
                                    },
                                    _ => own_particle,
                                });
                            }
                            _ => {}
                        }
                    }
                    for a in own {
                        attributes.retain(|x: &AttributeUse| x.name != a.name);
                        if !a.prohibited {
                            attributes.push(a);
                        }
                    }
                    any_attribute = match (base_wildcard, any_attribute.take()) {
                        (Some(b), Some(o)) => Some(union(b, o)),
                        (b, o) => o.or(b),
                    };
                    if child.local == "simpleContent" {
                        let simple = match base_type {
                            TypeRef::Simple(s) => s,
                            TypeRef::Complex(b) => match self.schema.complex[b].content {
                                Content::Simple(s) => s,
                                _ => {
                                    return Err(SchemaError::Unsupported(
                                        "simple content from a complex type without it".into(),
                                    ))
                                }
                            },
                            TypeRef::Any => {
                                return Err(SchemaError::Unsupported(
                                    "simple content from xs:anyType".into(),
                                ))
                            }
                        };
                        let simple = if extension {
                            simple
                        } else {
                            let mut restricted = self.schema.simple[simple].clone();
                            restricted.facets =
                                self.facets(source, derivation, restricted.facets.clone())?;
                            restricted.name = Self::anonymous(ancestors);
                            self.schema.simple.push(restricted);
                            self.schema.simple.len() - 1
                        };
                        simple_content = Some(simple);
                    } else if extension && particle.is_none() {
                        if let TypeRef::Complex(b) = base_type {
                            particle = self.base_particle(b);
                        }
                    }
                }
                other => {
                    return Err(SchemaError::Unsupported(format!(
                        "xs:{other} in xs:complexType"
                    )))
                }
            }
        }
        let content = match (simple_content, particle) {
            (Some(s), _) => Content::Simple(s),
            (None, None) if !mixed => Content::Empty,
            (None, particle) => Content::Elements {
                model: self.model(particle.unwrap_or(Particle::Group {
                    kind: GroupKind::Sequence,
                    children: vec![],
                    min: 1,
                    max: Some(1),
                }))?,
                mixed,
            },
        };
        let ty = &mut self.schema.complex[index];
        ty.base = base;
        ty.content = content;
        ty.attributes = attributes;
        ty.any_attribute = any_attribute;
        Ok(index)
    }

    /// The particle of a complex base type, rebuilt from its model's source (kept below).
    fn base_particle(&self, base: usize) -> Option<Particle> {
        match &self.schema.complex[base].content {
            Content::Elements { model, .. } => model_particle(model),
            _ => None,
        }
    }

    fn attribute_part(
        &mut self,
        source: &Source,
        node: &Node,
        uses: &mut Vec<AttributeUse>,
        any: &mut Option<Wildcard>,
        ancestors: &[String],
    ) -> Result<(), SchemaError> {
        match node.local.as_str() {
            "anyAttribute" => *any = Some(self.wildcard(source, node)),
            "attributeGroup" => {
                let q = self.qname(source, node, node.attribute("ref").unwrap_or(""))?;
                let Some(group) = self.attribute_group_defs.get(&q).cloned() else {
                    return Err(self.error(source, node, format!("src-resolve: Cannot resolve the name '{}' to a(n) 'attribute group' component.", node.attribute("ref").unwrap_or(""))));
                };
                let group_node = group.node.clone();
                for part in group_node.children.iter().filter(|c| c.uri == XS) {
                    if matches!(
                        part.local.as_str(),
                        "attribute" | "attributeGroup" | "anyAttribute"
                    ) {
                        self.attribute_part(&group, part, uses, any, ancestors)?;
                    }
                }
            }
            _ => {
                let use_ = node.attribute("use").unwrap_or("optional");
                let (decl_source, decl_node, name) = match node.attribute("ref") {
                    Some(r) => {
                        let q = self.qname(source, node, r)?;
                        let Some(global) = self.attribute_defs.get(&q).cloned() else {
                            return Err(self.error(source, node, format!("src-resolve: Cannot resolve the name '{r}' to a(n) 'attribute declaration' component.")));
                        };
                        let global_node = global.node.clone();
                        (global, global_node, q)
                    }
                    None => {
                        let qualified = node
                            .attribute("form")
                            .map_or(source.qualified_attributes, |f| f == "qualified");
                        let ns = if qualified {
                            source.target.clone()
                        } else {
                            String::new()
                        };
                        (
                            source.clone(),
                            node.clone(),
                            (ns, node.attribute("name").unwrap_or("").to_string()),
                        )
                    }
                };
                let mut names = vec![name.1.clone()];
                names.extend(ancestors.iter().cloned());
                let ty = if let Some(t) = decl_node.attribute("type") {
                    let q = self.qname(&decl_source, &decl_node, t)?;
                    match self.type_by_name(&q, Some((&decl_source, &decl_node)))? {
                        TypeRef::Simple(s) => s,
                        _ => {
                            return Err(SchemaError::Unsupported(
                                "an attribute of a complex type".into(),
                            ))
                        }
                    }
                } else if let Some(inner) =
                    decl_node.children.iter().find(|c| c.local == "simpleType")
                {
                    self.simple_type(&decl_source, inner, None, &names)?
                } else {
                    self.schema
                        .simple
                        .push(simple::builtin("anySimpleType").expect("anySimpleType is built in"));
                    self.schema.simple.len() - 1
                };
                uses.retain(|u| u.name != name);
                uses.push(AttributeUse {
                    name,
                    ty,
                    required: use_ == "required",
                    prohibited: use_ == "prohibited",
                    fixed: node
                        .attribute("fixed")
                        .or(decl_node.attribute("fixed"))
                        .map(str::to_string),
                    default: node
                        .attribute("default")
                        .or(decl_node.attribute("default"))
                        .map(str::to_string),
                });
            }
        }
        Ok(())
    }

    fn wildcard(&self, source: &Source, node: &Node) -> Wildcard {
        let namespaces = match node.attribute("namespace").unwrap_or("##any").trim() {
            "##any" => WildcardNs::Any,
            "##other" => WildcardNs::Other(source.target.clone()),
            list => WildcardNs::List(
                list.split_ascii_whitespace()
                    .map(|n| match n {
                        "##targetNamespace" => source.target.clone(),
                        "##local" => String::new(),
                        other => other.to_string(),
                    })
                    .collect(),
            ),
        };
        let process = match node.attribute("processContents") {
            Some("lax") => Process::Lax,
            Some("skip") => Process::Skip,
            _ => Process::Strict,
        };
        Wildcard {
            namespaces,
            process,
        }
    }

    fn occurs(&self, source: &Source, node: &Node) -> Result<(u32, Option<u32>), SchemaError> {
        let min = node
            .attribute("minOccurs")
            .map_or(Ok(1), |v| v.trim().parse::<u32>())
            .map_err(|_| {
                self.error(
                    source,
                    node,
                    "minOccurs must be a non-negative integer".into(),
                )
            })?;
        let max = match node.attribute("maxOccurs").map(str::trim) {
            Some("unbounded") => None,
            Some(v) => Some(v.parse::<u32>().map_err(|_| {
                self.error(
                    source,
                    node,
                    "maxOccurs must be a non-negative integer or unbounded".into(),
                )
            })?),
            None => Some(1),
        };
        Ok((min, max))
    }

    /// A content model particle; nesting (through groups too) is bounded, since building,
    /// expanding and dropping the model recurse on it.
    fn particle(
        &mut self,
        source: &Source,
        node: &Node,
        ancestors: &[String],
    ) -> Result<Particle, SchemaError> {
        self.depth += 1;
        let result = if self.depth > xml::MAX_TREE_DEPTH {
            Err(SchemaError::Unsupported(format!(
                "content models nested deeper than {} levels (groups included)",
                xml::MAX_TREE_DEPTH
            )))
        } else {
            self.particle_at(source, node, ancestors)
        };
        self.depth -= 1;
        result
    }

    fn particle_at(
        &mut self,
        source: &Source,
        node: &Node,
        ancestors: &[String],
    ) -> Result<Particle, SchemaError> {
        self.particles += 1;
        if self.particles > MAX_WORK {
            return Err(too_large());
        }
        let (min, max) = self.occurs(source, node)?;
        match node.local.as_str() {
            "element" => {
                let index = match node.attribute("ref") {
                    Some(r) => {
                        let q = self.qname(source, node, r)?;
                        self.global_element(&q, Some((source, node)))?
                    }
                    None => {
                        let qualified = node
                            .attribute("form")
                            .map_or(source.qualified_elements, |f| f == "qualified");
                        let ns = if qualified {
                            source.target.clone()
                        } else {
                            String::new()
                        };
                        let index = self.schema.elements.len();
                        self.schema.elements.push(ElementDecl {
                            name: (ns, node.attribute("name").unwrap_or("").to_string()),
                            ty: TypeRef::Any,
                            nillable: false,
                            fixed: None,
                            default: None,
                        });
                        self.fill_element(index, source, node, ancestors)?;
                        index
                    }
                };
                Ok(Particle::Leaf {
                    term: Term::Element(index),
                    min,
                    max,
                })
            }
            "any" => {
                let wildcard = self.wildcard(source, node);
                self.schema.wildcards.push(wildcard);
                Ok(Particle::Leaf {
                    term: Term::Any(self.schema.wildcards.len() - 1),
                    min,
                    max,
                })
            }
            "group" => {
                let q = self.qname(source, node, node.attribute("ref").unwrap_or(""))?;
                let Some(group) = self.group_defs.get(&q).cloned() else {
                    return Err(self.error(
                        source,
                        node,
                        format!(
                            "src-resolve: Cannot resolve the name '{}' to a(n) 'group' component.",
                            node.attribute("ref").unwrap_or("")
                        ),
                    ));
                };
                self.depth += 1;
                if self.depth > 200 {
                    return Err(SchemaError::Unsupported("recursive model groups".into()));
                }
                let group_node = group.node.clone();
                let inner = group_node
                    .children
                    .iter()
                    .find(|c| matches!(c.local.as_str(), "sequence" | "choice" | "all"));
                let result = match inner {
                    Some(inner) => {
                        let p = self.particle(&group, inner, ancestors)?;
                        Ok(with_occurs(p, min, max))
                    }
                    None => Ok(Particle::Group {
                        kind: GroupKind::Sequence,
                        children: vec![],
                        min,
                        max,
                    }),
                };
                self.depth -= 1;
                result
            }
            kind @ ("sequence" | "choice" | "all") => {
                let mut children = Vec::new();
                for child in node
                    .children
                    .iter()
                    .filter(|c| c.uri == XS && c.local != "annotation")
                {
                    children.push(self.particle(source, child, ancestors)?);
                }
                let kind = match kind {
                    "sequence" => GroupKind::Sequence,
                    "choice" => GroupKind::Choice,
                    _ => GroupKind::All,
                };
                Ok(Particle::Group {
                    kind,
                    children,
                    min,
                    max,
                })
            }
            other => Err(SchemaError::Unsupported(format!(
                "xs:{other} in a content model"
            ))),
        }
    }

    fn model(&self, particle: Particle) -> Result<Model, SchemaError> {
        if let Particle::Group {
            kind: GroupKind::All,
            children,
            ..
        } = &particle
        {
            let mut members = Vec::new();
            for child in children {
                match child {
                    Particle::Leaf {
                        term: Term::Element(e),
                        min,
                        ..
                    } => members.push((*e, *min > 0)),
                    _ => {
                        return Err(SchemaError::Unsupported(
                            "xs:all holding more than elements".into(),
                        ))
                    }
                }
            }
            let (min, _) = particle_occurs(&particle);
            return Ok(Model::All {
                members,
                optional: min == 0,
            });
        }
        let compact = compact(&particle);
        let mut automaton = Automaton::default();
        let mut work = 0;
        let tree = expand(
            &particle,
            compact,
            &mut automaton.terms,
            &mut automaton.counting,
            &mut work,
        )?;
        let n = automaton.terms.len();
        automaton.follow = vec![Vec::new(); n];
        automaton.last = vec![false; n];
        let mut entries = 0;
        let (first, last, nullable) = glushkov(&tree, &mut automaton.follow, &mut entries)?;
        for follow in &mut automaton.follow {
            follow.sort_unstable();
            follow.dedup();
        }
        automaton.first = first;
        for l in last {
            automaton.last[l] = true;
        }
        automaton.nullable = nullable;
        for term in &automaton.terms {
            if !automaton.order.contains(term) {
                automaton.order.push(*term);
            }
        }
        automaton.source = Some(particle);
        Ok(Model::Positions(automaton))
    }
}

/// The union of two attribute wildcards (an extension's and its base's): any namespace when
/// either allows any, the lists together, else the extension's.
fn union(base: Wildcard, own: Wildcard) -> Wildcard {
    let namespaces = match (base.namespaces, own.namespaces) {
        (WildcardNs::Any, _) | (_, WildcardNs::Any) => WildcardNs::Any,
        (WildcardNs::List(mut a), WildcardNs::List(b)) => {
            a.extend(b);
            WildcardNs::List(a)
        }
        (_, own) => own,
    };
    Wildcard {
        namespaces,
        process: own.process,
    }
}

fn display_qname(node: &Node, name: &QName) -> String {
    for attr in ["type", "ref", "base", "itemType"] {
        if let Some(v) = node.attribute(attr) {
            if xml::split(v).1 == name.1 {
                return v.to_string();
            }
        }
    }
    name.1.clone()
}

/// A content model particle before compilation.
#[derive(Debug, Clone)]
pub enum Particle {
    Leaf {
        term: Term,
        min: u32,
        max: Option<u32>,
    },
    Group {
        kind: GroupKind,
        children: Vec<Particle>,
        min: u32,
        max: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Sequence,
    Choice,
    All,
}

fn particle_occurs(p: &Particle) -> (u32, Option<u32>) {
    match p {
        Particle::Leaf { min, max, .. } | Particle::Group { min, max, .. } => (*min, *max),
    }
}

fn with_occurs(p: Particle, min: u32, max: Option<u32>) -> Particle {
    match p {
        Particle::Group { kind, children, .. } => Particle::Group {
            kind,
            children,
            min,
            max,
        },
        Particle::Leaf { term, .. } => Particle::Leaf { term, min, max },
    }
}

fn model_particle(model: &Model) -> Option<Particle> {
    match model {
        Model::Positions(a) => a.source.clone(),
        Model::All { members, optional } => Some(Particle::Group {
            kind: GroupKind::All,
            children: members
                .iter()
                .map(|(e, required)| Particle::Leaf {
                    term: Term::Element(*e),
                    min: u32::from(*required),
                    max: Some(1),
                })
                .collect(),
            min: u32::from(!*optional),
            max: Some(1),
        }),
    }
}

/// Xerces' `useRepeatingLeafNodes`: every group occurs once, or a repeated group holds one
/// leaf that occurs once.
fn compact(p: &Particle) -> bool {
    match p {
        Particle::Leaf { .. } => true,
        Particle::Group {
            children, min, max, ..
        } => {
            if (*min, *max) != (1, Some(1)) {
                children.len() == 1
                    && matches!(
                        children[0],
                        Particle::Leaf {
                            min: 1,
                            max: Some(1),
                            ..
                        }
                    )
            } else {
                children.iter().all(compact)
            }
        }
    }
}

/// A regular expression over positions.
enum Re {
    Pos(usize),
    Seq(Vec<Re>),
    Alt(Vec<Re>),
    Opt(Box<Re>),
    Star(Box<Re>),
    Plus(Box<Re>),
    Empty,
}

/// The most particles an expanded content model may take (repetitions and positions), and the
/// most follow-set entries its automaton may have: bounds on what a schema can make rmeter do.
const MAX_WORK: usize = 100_000;
const MAX_FOLLOW: usize = 4_000_000;

fn too_large() -> SchemaError {
    SchemaError::Unsupported(format!(
        "content models larger than {MAX_WORK} particles once repetitions are expanded (large minOccurs or maxOccurs)"
    ))
}

/// Expands a particle into a regular expression over positions, counting its work against
/// [`MAX_WORK`].
fn expand(
    p: &Particle,
    compact: bool,
    terms: &mut Vec<Term>,
    counting: &mut Vec<Option<(u32, Option<u32>)>>,
    work: &mut usize,
) -> Result<Re, SchemaError> {
    *work += 1;
    if *work > MAX_WORK {
        return Err(too_large());
    }
    if let Particle::Group {
        kind: GroupKind::All,
        ..
    } = p
    {
        return Err(SchemaError::Unsupported(
            "xs:all inside another model group".into(),
        ));
    }
    let (min, max) = match p {
        Particle::Leaf { min, max, .. } | Particle::Group { min, max, .. } => (*min, *max),
    };
    let standard = matches!(
        (min, max),
        (1, Some(1)) | (0, Some(1)) | (0, None) | (1, None)
    );
    // A counting leaf: one position that counts its occurrences.
    if compact && !standard {
        let term = match p {
            Particle::Leaf { term, .. } => Some(*term),
            Particle::Group { children, .. } if children.len() == 1 => match &children[0] {
                Particle::Leaf { term, .. } => Some(*term),
                _ => None,
            },
            _ => None,
        };
        if let Some(term) = term {
            terms.push(term);
            counting.push(Some((min, max)));
            let re = Re::Pos(terms.len() - 1);
            return Ok(if min == 0 { Re::Opt(Box::new(re)) } else { re });
        }
    }
    let mut once = || -> Result<Re, SchemaError> {
        *work += 1;
        if *work > MAX_WORK {
            return Err(too_large());
        }
        Ok(match p {
            Particle::Leaf { term, .. } => {
                terms.push(*term);
                counting.push(None);
                Re::Pos(terms.len() - 1)
            }
            Particle::Group { kind, children, .. } => {
                let parts = children
                    .iter()
                    .map(|c| expand(c, compact, terms, counting, work))
                    .collect::<Result<Vec<_>, _>>()?;
                match kind {
                    GroupKind::Choice => Re::Alt(parts),
                    _ => Re::Seq(parts),
                }
            }
        })
    };
    Ok(match (min, max) {
        (1, Some(1)) => once()?,
        (0, Some(1)) => Re::Opt(Box::new(once()?)),
        (0, None) => Re::Star(Box::new(once()?)),
        (1, None) => Re::Plus(Box::new(once()?)),
        (_, Some(0)) => Re::Empty,
        (min, max) => {
            let mut seq = Vec::new();
            for _ in 0..min {
                seq.push(once()?);
            }
            match max {
                None => seq.push(Re::Star(Box::new(once()?))),
                Some(max) => {
                    for _ in min..max {
                        seq.push(Re::Opt(Box::new(once()?)));
                    }
                }
            }
            Re::Seq(seq)
        }
    })
}

/// First positions, last positions and nullability of `re`; fills the follow sets.
fn glushkov(
    re: &Re,
    follow: &mut [Vec<usize>],
    entries: &mut usize,
) -> Result<(Vec<usize>, Vec<usize>, bool), SchemaError> {
    // Duplicates are removed once the automaton is built.
    fn add(
        follow: &mut [Vec<usize>],
        from: &[usize],
        to: &[usize],
        entries: &mut usize,
    ) -> Result<(), SchemaError> {
        *entries += from.len() * to.len();
        if *entries > MAX_FOLLOW {
            return Err(too_large());
        }
        for &f in from {
            follow[f].extend_from_slice(to);
        }
        Ok(())
    }
    Ok(match re {
        Re::Pos(p) => (vec![*p], vec![*p], false),
        Re::Empty => (vec![], vec![], true),
        Re::Opt(inner) => {
            let (f, l, _) = glushkov(inner, follow, entries)?;
            (f, l, true)
        }
        Re::Star(inner) | Re::Plus(inner) => {
            let (f, l, n) = glushkov(inner, follow, entries)?;
            add(follow, &l, &f, entries)?;
            (f, l, n || matches!(re, Re::Star(_)))
        }
        Re::Alt(parts) => {
            let (mut first, mut last, mut nullable) = (vec![], vec![], parts.is_empty());
            for part in parts {
                let (f, l, n) = glushkov(part, follow, entries)?;
                first.extend(f);
                last.extend(l);
                nullable |= n;
            }
            (first, last, nullable)
        }
        Re::Seq(parts) => {
            let (mut first, mut last, mut nullable) = (vec![], vec![], true);
            for part in parts {
                let (f, l, n) = glushkov(part, follow, entries)?;
                add(follow, &last, &f, entries)?;
                if nullable {
                    first.extend(f.iter().copied());
                }
                if n {
                    last.extend(l);
                } else {
                    last = l;
                }
                nullable &= n;
            }
            (first, last, nullable)
        }
    })
}
