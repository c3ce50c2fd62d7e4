//! JMX bytes → [`Element`] tree.
//!
//! A `.jmx` file is XStream output: a `jmeterTestPlan` root holding a `<hashTree>` of pairs
//! (element, `<hashTree>` of that element's children).
//! This module reads the XML once into a small generic node tree (an explicit stack, so deep input
//! cannot overflow ours) and then folds each element's sibling `<hashTree>` into
//! [`Element::children`], so that no module outside `jmx` knows that `hashTree` exists.
//!
//! It accepts what real files contain: character references that XML 1.0 forbids (`&#x1;`), files
//! without a `TestPlan` root (a saved selection), old files without a `jmeter` attribute, and plugin
//! classes as fully qualified tag names. A DOCTYPE is skipped and entities other than the five
//! predefined ones are kept as literal text: nothing external is ever read or expanded.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod xml;

use std::fmt;

pub use xml::{decode_references, XmlError};

/// One test element: a `<TestPlan>`, `<HTTPSamplerProxy>`, `<kg.apc…UltimateThreadGroup>`, or an
/// `elementProp` nested inside another element's properties.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    /// The class that runs this element: the tag name, as JMeter picks it.
    pub testclass: String,
    /// The `guiclass` attribute; it tells apart the flavours of a generic class such as `ResultCollector`.
    pub guiclass: String,
    /// The `testname` attribute: what the user sees in the GUI tree and in element paths.
    pub name: String,
    /// `enabled="false"` removes the element and its subtree from a run; a missing attribute means enabled.
    pub enabled: bool,
    /// For an `elementProp`, its `elementType` attribute; empty for tree elements.
    pub element_type: String,
    /// Properties in file order.
    pub props: Vec<Prop>,
    /// The elements of this element's `<hashTree>`, in tree order.
    pub children: Vec<Element>,
    /// 1-based line of the start tag, for messages.
    pub line: u32,
}

/// A named property of an element.
#[derive(Debug, Clone, PartialEq)]
pub struct Prop {
    pub name: String,
    pub value: PropValue,
}

/// The value of a property, keeping the kind the file declared.
#[derive(Debug, Clone, PartialEq)]
pub enum PropValue {
    /// `stringProp`, `boolProp`, `intProp`, `longProp`, `doubleProp`, `floatProp`: the text as written.
    Scalar(ScalarKind, String),
    /// `elementProp`: a nested element.
    Element(Box<Element>),
    /// `collectionProp`: a list of properties whose names carry no meaning.
    Collection(Vec<Prop>),
    /// `mapProp`.
    Map(Vec<Prop>),
    /// `objProp`: an XStream object such as a listener's `saveConfig`, as (field, text) pairs.
    Object {
        class: String,
        fields: Vec<(String, String)>,
    },
}

/// Which scalar tag a property was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    String,
    Bool,
    Int,
    Long,
    Double,
    Float,
}

/// The parsed file: the top-level elements, usually one `TestPlan` (plus a `WorkBench` in old files).
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub roots: Vec<Element>,
}

/// Why a file could not be read as a JMX document.
#[derive(Debug, thiserror::Error)]
pub enum JmxError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("line {line}: {message}")]
    Structure { line: u32, message: String },
}

/// Nesting deeper than this is refused: real plans stay far below it.
const MAX_DEPTH: usize = 400;

/// Parses JMX bytes into the element tree.
pub fn parse(src: &[u8]) -> Result<Tree, JmxError> {
    let root = xml::parse(src, MAX_DEPTH)?;
    let hash_tree = match root.name.as_str() {
        "jmeterTestPlan" => match root.children.iter().find(|n| n.name == "hashTree") {
            Some(tree) => tree,
            None => {
                return Err(JmxError::Structure {
                    line: root.line,
                    message: "`jmeterTestPlan` has no `hashTree`".into(),
                })
            }
        },
        "hashTree" => &root,
        other => {
            return Err(JmxError::Structure {
                line: root.line,
                message: format!(
                "not a JMeter test plan: the root element is `{other}`, expected `jmeterTestPlan`"
            ),
            })
        }
    };
    Ok(Tree {
        roots: fold_hash_tree(hash_tree)?,
    })
}

/// Turns the pairs of a `<hashTree>` into elements with their children.
fn fold_hash_tree(tree: &xml::Node) -> Result<Vec<Element>, JmxError> {
    let mut out: Vec<Element> = Vec::new();
    for node in &tree.children {
        if node.name == "hashTree" {
            match out.last_mut() {
                Some(last) if last.children.is_empty() => last.children = fold_hash_tree(node)?,
                Some(_) | None => {
                    if !node.children.is_empty() {
                        return Err(JmxError::Structure {
                            line: node.line,
                            message: "a `hashTree` that follows no element".into(),
                        });
                    }
                }
            }
        } else {
            out.push(element_from_node(node)?);
        }
    }
    Ok(out)
}

fn element_from_node(node: &xml::Node) -> Result<Element, JmxError> {
    let mut element = Element {
        testclass: node.name.clone(),
        enabled: true,
        line: node.line,
        ..Element::default()
    };
    for (key, value) in &node.attrs {
        match key.as_str() {
            "guiclass" => element.guiclass = value.clone(),
            "testname" => element.name = value.clone(),
            "enabled" => element.enabled = !value.trim().eq_ignore_ascii_case("false"),
            "elementType" => element.element_type = value.clone(),
            // JMeter: a `class` attribute overrides the class the tag names.
            "class" => element.testclass = value.clone(),
            _ => {}
        }
    }
    for child in &node.children {
        if let Some(prop) = prop_from_node(child)? {
            element.props.push(prop);
        }
    }
    Ok(element)
}

fn prop_from_node(node: &xml::Node) -> Result<Option<Prop>, JmxError> {
    let child = |tag: &str| node.children.iter().find(|c| c.name == tag);
    // TestBean properties are often saved in the long form:
    // `<doubleProp><name>throughput</name><value>60.0</value><savedValue>0.0</savedValue></doubleProp>`.
    let long_form = node.attr("name").is_none() && child("name").is_some();
    let name = match node.attr("name") {
        Some(name) => name.to_string(),
        None => child("name").map(|c| c.text.clone()).unwrap_or_default(),
    };
    let scalar = |kind| Prop {
        name: name.clone(),
        value: PropValue::Scalar(
            kind,
            if long_form {
                child("value").map(|c| c.text.clone()).unwrap_or_default()
            } else {
                node.text.clone()
            },
        ),
    };
    let prop = match node.name.as_str() {
        "stringProp" => scalar(ScalarKind::String),
        "boolProp" => scalar(ScalarKind::Bool),
        "intProp" => scalar(ScalarKind::Int),
        "longProp" => scalar(ScalarKind::Long),
        "doubleProp" => scalar(ScalarKind::Double),
        "floatProp" => scalar(ScalarKind::Float),
        "elementProp" => {
            let mut element = element_from_node(node)?;
            element.testclass = node
                .attr("testclass")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| node.attr("elementType").unwrap_or_default())
                .to_string();
            Prop {
                name,
                value: PropValue::Element(Box::new(element)),
            }
        }
        "collectionProp" => Prop {
            name,
            value: PropValue::Collection(props_of(node)?),
        },
        "mapProp" => Prop {
            name,
            value: PropValue::Map(props_of(node)?),
        },
        "objProp" => object_prop(node),
        // The long form (`<FloatProperty><name>…</name><value>50.0</value><savedValue>…`), as
        // the Throughput Controller saves its percentage.
        "FloatProperty" => scalar(ScalarKind::Float),
        "DoubleProperty" => scalar(ScalarKind::Double),
        "IntegerProperty" => scalar(ScalarKind::Int),
        "LongProperty" => scalar(ScalarKind::Long),
        "StringProperty" => scalar(ScalarKind::String),
        "BooleanProperty" => scalar(ScalarKind::Bool),
        _ => return Ok(None),
    };
    Ok(Some(prop))
}

fn props_of(node: &xml::Node) -> Result<Vec<Prop>, JmxError> {
    let mut props = Vec::new();
    for child in &node.children {
        if let Some(prop) = prop_from_node(child)? {
            props.push(prop);
        }
    }
    Ok(props)
}

/// `<objProp><name>saveConfig</name><value class="…"><time>true</time>…</value></objProp>`.
fn object_prop(node: &xml::Node) -> Prop {
    let name = node
        .children
        .iter()
        .find(|c| c.name == "name")
        .map(|c| c.text.clone())
        .unwrap_or_default();
    let (class, fields) = match node.children.iter().find(|c| c.name == "value") {
        Some(value) => (
            value.attr("class").unwrap_or_default().to_string(),
            value
                .children
                .iter()
                .map(|f| (f.name.clone(), f.text.clone()))
                .collect(),
        ),
        None => (String::new(), Vec::new()),
    };
    Prop {
        name,
        value: PropValue::Object { class, fields },
    }
}

impl Element {
    /// The first property with this name.
    pub fn prop(&self, name: &str) -> Option<&PropValue> {
        self.props.iter().find(|p| p.name == name).map(|p| &p.value)
    }

    /// The text of a scalar property, if present.
    pub fn text(&self, name: &str) -> Option<&str> {
        match self.prop(name)? {
            PropValue::Scalar(_, text) => Some(text),
            _ => None,
        }
    }

    /// The element of an `elementProp`, if present.
    pub fn element(&self, name: &str) -> Option<&Element> {
        match self.prop(name)? {
            PropValue::Element(e) => Some(e),
            _ => None,
        }
    }

    /// The items of a `collectionProp`, or an empty slice.
    pub fn collection(&self, name: &str) -> &[Prop] {
        match self.prop(name) {
            Some(PropValue::Collection(items)) => items,
            _ => &[],
        }
    }
}

impl fmt::Display for ScalarKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScalarKind::String => "stringProp",
            ScalarKind::Bool => "boolProp",
            ScalarKind::Int => "intProp",
            ScalarKind::Long => "longProp",
            ScalarKind::Double => "doubleProp",
            ScalarKind::Float => "floatProp",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Tree {
        parse(s.as_bytes()).unwrap()
    }

    #[test]
    fn reads_the_long_property_form() {
        let tree = parse_str(
            r#"<jmeterTestPlan><hashTree><ThroughputController testname="T">
<FloatProperty><name>ThroughputController.percentThroughput</name><value>50.0</value><savedValue>0.0</savedValue></FloatProperty>
</ThroughputController><hashTree/></hashTree></jmeterTestPlan>"#,
        );
        assert_eq!(
            tree.roots[0].text("ThroughputController.percentThroughput"),
            Some("50.0")
        );
        let tree = parse_str(
            r#"<jmeterTestPlan><hashTree><ConstantThroughputTimer testname="T">
<doubleProp><name>throughput</name><value>60.0</value><savedValue>0.0</savedValue></doubleProp>
</ConstantThroughputTimer><hashTree/></hashTree></jmeterTestPlan>"#,
        );
        assert_eq!(tree.roots[0].text("throughput"), Some("60.0"));
    }

    #[test]
    fn folds_hash_trees_into_children() {
        let tree = parse_str(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<jmeterTestPlan version="1.2" properties="5.0" jmeter="5.6.3">
  <hashTree>
    <TestPlan guiclass="TestPlanGui" testclass="TestPlan" testname="Plan">
      <boolProp name="TestPlan.functional_mode">false</boolProp>
    </TestPlan>
    <hashTree>
      <ThreadGroup guiclass="ThreadGroupGui" testclass="ThreadGroup" testname="Users" enabled="false">
        <elementProp name="ThreadGroup.main_controller" elementType="LoopController">
          <stringProp name="LoopController.loops">3</stringProp>
        </elementProp>
      </ThreadGroup>
      <hashTree>
        <HTTPSamplerProxy guiclass="HttpTestSampleGui" testclass="HTTPSamplerProxy" testname="a &amp; b&#x1;"/>
        <hashTree/>
      </hashTree>
    </hashTree>
  </hashTree>
</jmeterTestPlan>"#,
        );
        assert_eq!(tree.roots.len(), 1);
        let plan = &tree.roots[0];
        assert_eq!(plan.name, "Plan");
        assert!(plan.enabled);
        let group = &plan.children[0];
        assert!(!group.enabled);
        assert_eq!(
            group
                .element("ThreadGroup.main_controller")
                .unwrap()
                .text("LoopController.loops"),
            Some("3")
        );
        assert_eq!(group.children[0].name, "a & b\u{1}");
        assert_eq!(group.children[0].testclass, "HTTPSamplerProxy");
    }

    #[test]
    fn reads_object_props_and_collections() {
        let tree = parse_str(
            r#"<jmeterTestPlan><hashTree>
<ResultCollector guiclass="SimpleDataWriter" testclass="ResultCollector" testname="w">
  <objProp><name>saveConfig</name><value class="SampleSaveConfiguration"><time>true</time><xml>false</xml></value></objProp>
  <collectionProp name="c"><stringProp name="1">x</stringProp><stringProp name="2"></stringProp></collectionProp>
</ResultCollector><hashTree/></hashTree></jmeterTestPlan>"#,
        );
        let rc = &tree.roots[0];
        match rc.prop("saveConfig").unwrap() {
            PropValue::Object { class, fields } => {
                assert_eq!(class, "SampleSaveConfiguration");
                assert_eq!(fields[0], ("time".to_string(), "true".to_string()));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rc.collection("c").len(), 2);
    }

    #[test]
    fn entities_are_never_expanded() {
        let tree = parse_str(
            r#"<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<jmeterTestPlan><hashTree><TestPlan guiclass="g" testname="&xxe;"/><hashTree/></hashTree></jmeterTestPlan>"#,
        );
        assert_eq!(tree.roots[0].name, "&xxe;");
    }

    #[test]
    fn broken_xml_names_the_line() {
        let err = parse(b"<jmeterTestPlan>\n<hashTree>\n<TestPlan></hashTree></jmeterTestPlan>")
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("line 3"), "{message}");
    }

    #[test]
    fn a_selection_without_test_plan_loads() {
        let tree = parse_str(
            r#"<jmeterTestPlan><hashTree><ThreadGroup testname="g"/><hashTree/></hashTree></jmeterTestPlan>"#,
        );
        assert_eq!(tree.roots[0].testclass, "ThreadGroup");
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let alphabet = b"<>/=\"' &#x;abhashTreeelementPropstringProp\n";
        for _ in 0..2000 {
            let mut bytes = Vec::new();
            for _ in 0..(seed % 80) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            let _ = parse(&bytes);
        }
    }
}
