//! Extractors and assertions that query a parsed response (XPath 1 and 2, CSS selectors,
//! JMESPath, XML well-formedness), run against an in-process server. Expected values follow
//! JMeter's own unit tests for these elements.

mod support;

const BOOK: &str = "<book><preface title='Intro'>zero</preface><page>one</page><page>two</page><empty></empty><a><b></b></a></book>";

fn plan(body: &str) -> String {
    format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Queries"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users"><stringProp name="ThreadGroup.num_threads">1</stringProp></ThreadGroup><hashTree>
{body}
</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    )
}

/// A GET of `path` with the children's XML after it.
fn get(name: &str, path: &str, children: &str) -> String {
    format!(
        r#"<HTTPSamplerProxy testclass="HTTPSamplerProxy" testname="{name}">
  <stringProp name="HTTPSampler.domain">127.0.0.1</stringProp>
  <stringProp name="HTTPSampler.port">${{__P(port)}}</stringProp>
  <stringProp name="HTTPSampler.path">{path}</stringProp></HTTPSamplerProxy><hashTree>
{children}
</hashTree>"#
    )
}

/// A sample whose label shows variables (a Java Request that does nothing).
fn show(label: &str) -> String {
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    format!(
        r#"<JavaSampler testclass="JavaSampler" testname="{label}"><stringProp name="classname">org.apache.jmeter.protocol.java.test.JavaTest</stringProp></JavaSampler><hashTree/>"#
    )
}

/// Each row after the header as `label|success|failure message`.
fn outcomes(rows: &[Vec<String>]) -> Vec<String> {
    rows[1..]
        .iter()
        .map(|r| format!("{}|{}|{}", r[2], r[7], r[8]))
        .collect()
}

fn routes() -> serde_json::Value {
    serde_json::json!([
        {"method": "GET", "path": "/book", "status": 200, "headers": {"Content-Type": "text/xml"}, "body": BOOK},
        {"method": "GET", "path": "/ns", "status": 200, "headers": {"Content-Type": "text/xml"},
         "body": "<soap:Envelope xmlns:soap=\"urn:s\"><soap:Body><age:ag xmlns:age=\"urn:age\">29</age:ag></soap:Body></soap:Envelope>"},
        {"method": "GET", "path": "/page", "status": 200, "headers": {"Content-Type": "text/html"},
         "body": "<html><head><title>testtitle</title></head><body><p>An <a href='http://example.com/'><b>example1</b></a> link.</p><p>A second <a class='myclass' href='http://example2.com/'><b>example2</b></a> link.</p><p class='single'>Single</p><hr></body></html>"},
        {"method": "GET", "path": "/people", "status": 200, "headers": {"Content-Type": "application/json"},
         "body": "{\"people\":[{\"first\":\"James\",\"age\":30},{\"first\":\"Jacob\",\"age\":40},{\"first\":\"Jayden\",\"last\":\"f\"}],\"one\":\"1\",\"none\":null}"},
        {"method": "GET", "path": "/text", "status": 200, "headers": {"Content-Type": "text/plain"}, "body": "Error:exception occurred"}
    ])
}

fn xpath(name: &str, query: &str, extra: &str) -> String {
    format!(
        r#"<XPathExtractor testclass="XPathExtractor" testname="{name}">
  <stringProp name="XPathExtractor.default">Default</stringProp>
  <stringProp name="XPathExtractor.refname">{name}</stringProp>
  <stringProp name="XPathExtractor.xpathQuery">{query}</stringProp>{extra}</XPathExtractor><hashTree/>"#
    )
}

fn xpath2(name: &str, query: &str, extra: &str) -> String {
    format!(
        r#"<XPath2Extractor testclass="XPath2Extractor" testname="{name}">
  <stringProp name="XPathExtractor2.default">Default</stringProp>
  <stringProp name="XPathExtractor2.refname">{name}</stringProp>
  <stringProp name="XPathExtractor2.xpathQuery">{query}</stringProp>{extra}</XPath2Extractor><hashTree/>"#
    )
}

/// XPath Extractor values (first child's value, all matches by default, `_matchNr`, fragments,
/// Tidy mode, namespaces) and XPath2 Extractor values (string value, declared namespaces).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xpath_extractors() {
    let match_nr =
        |n: i64| format!(r#"<stringProp name="XPathExtractor.matchNumber">{n}</stringProp>"#);
    let book = [
        xpath("pages", "/book/page", ""),
        xpath("second", "/book/page", &match_nr(2)),
        xpath("title", "/book/preface/@title", ""),
        xpath("a", "/book/a", ""),
        xpath("missing", "/book/index", ""),
        xpath(
            "frag",
            "//a",
            r#"<boolProp name="XPathExtractor.fragment">true</boolProp>"#,
        ),
        xpath("count", "count(//page)", ""),
        xpath2("whole", "/book", ""),
        xpath2("empty2", "/book/a", ""),
    ]
    .concat();
    let ns = [
        xpath("plain", "/Envelope/Body/ag", ""),
        xpath("unaware", "count(//soap:Body)", ""),
        xpath(
            "aware",
            "count(//soap:Body)",
            r#"<boolProp name="XPathExtractor.namespace">true</boolProp>"#,
        ),
        // JMeter resolves only the prefixes that the document element declares.
        xpath(
            "inner",
            "//age:ag",
            r#"<boolProp name="XPathExtractor.namespace">true</boolProp>"#,
        ),
        xpath2(
            "declared",
            "/s:Envelope/s:Body/a:ag",
            "<stringProp name=\"XPathExtractor2.namespaces\">s=urn:s\na=urn:age</stringProp>",
        ),
    ]
    .concat();
    let html = xpath(
        "tidy",
        "/html/head/title",
        r#"<boolProp name="XPathExtractor.tolerant">true</boolProp>"#,
    );
    let body = [
        get("book", "/book", &book),
        show("${pages}|${pages_matchNr}|${pages_1}|${pages_2}|${second}|${title}"),
        show("${a}|${a_matchNr}|${a_1}|${missing}|${missing_matchNr}"),
        show("${frag}|${count}|${whole}|[${empty2}]"),
        get("ns", "/ns", &ns),
        show("${plain}|${unaware}|${aware}|${inner}|${declared}"),
        get("html", "/page", &html),
        show("${tidy}"),
        get("text", "/text", &xpath("bad", "/x", "")),
        show("${bad}|${bad_matchNr}"),
    ]
    .concat();
    let (_, rows) = support::run_inline(&plan(&body), routes()).await;
    let labels: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(
        labels,
        [
            "book",
            "one|2|one|two|two|Intro",
            "Default|1|${a_1}|Default|0",
            "<a><b/></a>|2|zeroonetwo|[]",
            "ns",
            "29|0|1|Default|29",
            "html",
            "testtitle",
            "text",
            "Default|0",
        ]
    );
    // A document that is not XML: an assertion result on the sample, which stays successful.
    let text = &rows[9];
    assert_eq!(text[7], "true", "{text:?}");
    assert_eq!(
        text[8],
        "Content is not allowed in prolog.\nSee log file for further details."
    );
}

fn xpath_assertion(name: &str, class: &str, query: &str, negate: bool) -> String {
    format!(
        r#"<{class} testclass="{class}" testname="{name}">
  <stringProp name="XPath.xpath">{query}</stringProp>
  <boolProp name="XPath.negate">{negate}</boolProp></{class}><hashTree/>"#
    )
}

/// XPath assertions: node sets, booleans and numbers with JMeter's messages, negated or not;
/// parse and query errors; the XML well-formedness assertion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xpath_and_xml_assertions() {
    let one = |query: &str, negate: bool| {
        get(
            query,
            "/book",
            &xpath_assertion("XPath Assertion", "XPathAssertion", query, negate),
        )
    };
    let two = |query: &str, negate: bool| {
        get(
            &format!("2 {query}"),
            "/book",
            &xpath_assertion("XPath2 Assertion", "XPath2Assertion", query, negate),
        )
    };
    let xml = r#"<XMLAssertion testclass="XMLAssertion" testname="XML Assertion"/><hashTree/>"#;
    let body = [
        one("/book/page", false),
        one("//x", false),
        one("/book/page", true),
        one("count(//page)=2", false),
        one("count(//page)=1", false),
        one("count(//page)", false),
        one("cou(//page)=1", false),
        two("count(//page)", false),
        two("count(//page)=3", true),
        get("xml ok", "/book", xml),
        get("xml bad", "/text", xml),
        get(
            "xpath on text",
            "/text",
            &xpath_assertion("X", "XPathAssertion", "/", false),
        ),
    ]
    .concat();
    let (_, rows) = support::run_inline(&plan(&body), routes()).await;
    let mut got: Vec<String> = outcomes(&rows);
    let expected = [
        "/book/page|true|",
        "//x|false|No Nodes Matched //x",
        "/book/page|false|Specified XPath was found... Turn off negate if this is not desired",
        "count(//page)=2|true|No Nodes Matched for count(//page)=2",
        "count(//page)=1|false|No Nodes Matched for count(//page)=1",
        "count(//page)|false|Cannot understand: count(//page)",
        "2 count(//page)|true|No Nodes Matched for count(//page)",
        "2 count(//page)=3|true|Nodes Matched for count(//page)=3",
        "xml ok|true|",
        "xml bad|false|Content is not allowed in prolog.",
        "xpath on text|false|SAXException: Content is not allowed in prolog.",
    ];
    // The query error's wording is the XPath parser's; its shape is JMeter's.
    let error = got.remove(6);
    assert!(
        error.starts_with("cou(//page)=1|false|TransformerException: ")
            && error.ends_with(" for: cou(//page)=1"),
        "{error}"
    );
    assert_eq!(got, expected);
}

fn css(name: &str, expr: &str, attribute: &str, number: &str, extra: &str) -> String {
    format!(
        r#"<HtmlExtractor testclass="HtmlExtractor" testname="{name}">
  <stringProp name="HtmlExtractor.refname">{name}</stringProp>
  <stringProp name="HtmlExtractor.expr">{expr}</stringProp>
  <stringProp name="HtmlExtractor.attribute">{attribute}</stringProp>
  <stringProp name="HtmlExtractor.match_number">{number}</stringProp>{extra}</HtmlExtractor><hashTree/>"#
    )
}

fn jmes(name: &str, expr: &str, number: &str) -> String {
    format!(
        r#"<JMESPathExtractor testclass="JMESPathExtractor" testname="{name}">
  <stringProp name="JMESExtractor.referenceName">{name}</stringProp>
  <stringProp name="JMESExtractor.jmesPathExpr">{expr}</stringProp>
  <stringProp name="JMESExtractor.defaultValue">NONE</stringProp>
  <stringProp name="JMESExtractor.matchNumber">{number}</stringProp></JMESPathExtractor><hashTree/>"#
    )
}

fn jmes_assertion(name: &str, path: &str, validate: bool, expected: &str, extra: &str) -> String {
    format!(
        r#"<JMESPathAssertion testclass="JMESPathAssertion" testname="{name}">
  <stringProp name="JMES_PATH">{path}</stringProp>
  <boolProp name="JSONVALIDATION">{validate}</boolProp>
  <stringProp name="EXPECTED_VALUE">{expected}</stringProp>{extra}</JMESPathAssertion><hashTree/>"#
    )
}

/// CSS Selector Extractor (JSoup and Jodd text, attributes, match numbers, defaults) and
/// JMESPath Extractor and Assertion values and messages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn css_and_jmespath() {
    let jodd = r#"<stringProp name="HtmlExtractor.extractor_impl">JODD</stringProp>"#;
    let page = [
        css("single", "p.single", "", "0", ""),
        css("second", "a", "", "2", ""),
        css("href", "a", "href", "-1", ""),
        css("para", "p", "", "1", ""),
        css("jpara", "p", "", "1", jodd),
        css(
            "none",
            "p.missing",
            "",
            "1",
            r#"<boolProp name="HtmlExtractor.default_empty_value">true</boolProp>"#,
        ),
    ]
    .concat();
    let no_regex = r#"<boolProp name="ISREGEX">false</boolProp>"#;
    let invert = r#"<boolProp name="INVERT">true</boolProp>"#;
    let people = [
        jmes("first", "people[:3].first", "2"),
        jmes("all", "people[:2].first", "-1"),
        jmes("person", "people[2]", "1"),
        jmes("age", "people[0].age", ""),
        jmes("gone", "a.b.c", "1"),
    ]
    .concat();
    let body = [
        get("page", "/page", &page),
        show("${single}|${second}|${href_matchNr}|${href_1}|${href_2}|${href}"),
        show("${para}|${jpara}|[${none}]"),
        get("people", "/people", &people),
        show("${first}|${all_1}|${all_2}|${all_matchNr}|${person}|${age}|${gone}|${gone_matchNr}"),
        get(
            "exists",
            "/people",
            &jmes_assertion("J", "one", false, "", ""),
        ),
        get(
            "missing",
            "/people",
            &jmes_assertion("J", "two", false, "", ""),
        ),
        get(
            "equal",
            "/people",
            &jmes_assertion("J", "one", true, "2", no_regex),
        ),
        get(
            "structure",
            "/people",
            &jmes_assertion(
                "J",
                "people[0]",
                true,
                "{ \"age\": 30, \"first\": \"James\" }",
                no_regex,
            ),
        ),
        get(
            "regex",
            "/people",
            &jmes_assertion("J", "people[1].first", true, "Ja.o|x", ""),
        ),
        get(
            "not null",
            "/people",
            &jmes_assertion(
                "J",
                "none",
                true,
                "",
                &format!(r#"<boolProp name="EXPECT_NULL">true</boolProp>{invert}"#),
            ),
        ),
        get(
            "bad expected",
            "/people",
            &jmes_assertion("J", "one", true, "bar", no_regex),
        ),
    ]
    .concat();
    let (_, rows) = support::run_inline(&plan(&body), routes()).await;
    let got: Vec<String> = outcomes(&rows);
    assert_eq!(
        got,
        [
            "page|true|",
            "Single|example2|2|http://example.com/|http://example2.com/|${href}|true|",
            "An example1 link.|An example1 link.|[]|true|",
            "people|true|",
            "Jacob|James|Jacob|2|{\"first\":\"Jayden\",\"last\":\"f\"}|30|NONE|0|true|",
            "exists|true|",
            "missing|false|JMESPATH two expected to exist",
            "equal|false|Value expected to be equal to 2",
            "structure|true|",
            "regex|false|Value expected to match Ja.o|x",
            "not null|false|Value expected not to be null",
            "bad expected|false|expected value at line 1 column 1",
        ]
    );
}

/// `__regexFunction` reads the previous sample's response; `__XPath` hands out a file's nodes
/// in turn, wrapping at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_and_xpath_functions() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.xml");
    std::fs::write(
        &users,
        "<users><user name='u1'/><user name='u2'/><user name='u3'/></users>",
    )
    .unwrap();
    let xpath = format!("${{__XPath({},//user/@name)}}", users.display());
    let body = [
        get("people", "/people", ""),
        show(r#"${__regexFunction("first":"(\w+)",$1$,2,,none,who)}|${who_matchNr}"#),
        show(&format!("{xpath}|{xpath}|{xpath}|{xpath}")),
    ]
    .concat();
    let (_, rows) = support::run_inline(&plan(&body), routes()).await;
    let labels: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(labels, ["people", "Jacob|3", "u1|u2|u3|u1"]);
}

/// The Compare Assertion: responses of one iteration of its controller are compared (content
/// after the substitutions), and the list starts again with the next iteration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_assertion() {
    let compare = |skip: &str| {
        format!(
            r#"<CompareAssertion guiclass="TestBeanGUI" testclass="CompareAssertion" testname="Compare">
  <boolProp name="compareContent">true</boolProp>
  <longProp name="compareTime">-1</longProp>
  <collectionProp name="stringsToSkip">{skip}</collectionProp></CompareAssertion><hashTree/>"#
        )
    };
    let skip = r#"<elementProp name="" elementType="SubstitutionElement"><stringProp name="regex">id=\d+</stringProp><stringProp name="substitute">id=N</stringProp></elementProp>"#;
    let controller = |name: &str, children: &str| {
        format!(
            r#"<GenericController testclass="GenericController" testname="{name}"/><hashTree>{children}</hashTree>"#
        )
    };
    let body = [
        controller(
            "plain",
            &[
                get("same 1", "/book", ""),
                get("same 2", "/book", ""),
                get("other", "/text", ""),
                compare(""),
            ]
            .concat(),
        ),
        controller(
            "skipping",
            &[
                get("id 1", "/id/1", ""),
                get("id 2", "/id/2", ""),
                compare(skip),
            ]
            .concat(),
        ),
    ]
    .concat();
    let mut routes = routes();
    for id in ["1", "2"] {
        routes.as_array_mut().unwrap().push(serde_json::json!(
            {"method": "GET", "path": format!("/id/{id}"), "status": 200, "headers": {"Content-Type": "text/plain"}, "body": format!("id={id} ok")}
        ));
    }
    let plan = plan(&body).replace(
        r#"<stringProp name="ThreadGroup.num_threads">1</stringProp>"#,
        r#"<stringProp name="ThreadGroup.num_threads">1</stringProp><elementProp name="ThreadGroup.main_controller" elementType="LoopController"><stringProp name="LoopController.loops">2</stringProp></elementProp>"#,
    );
    let (_, rows) = support::run_inline(&plan, routes).await;
    let got: Vec<String> = outcomes(&rows);
    let once = [
        "same 1|true|",
        "same 2|true|",
        "other|false|Responses differ in content",
        "id 1|true|",
        "id 2|true|",
    ];
    assert_eq!(got, [once, once].concat());
}

/// Queries the engine cannot read stop the plan at `check`, each naming its element.
#[test]
fn bad_queries_are_reported_with_their_element() {
    let body = get(
        "page",
        "/page",
        &[
            xpath("broken", "//a[", ""),
            xpath2("two", "for $x in //a return $x", ""),
            css("jsoup", "p:contains(Single)", "", "1", ""),
            jmes("jmes", "people[?", "1"),
        ]
        .concat(),
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("plan.jmx"), plan(&body)).unwrap();
    let out = support::rmeter(dir.path(), &["check", "plan.jmx"]);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for (element, words) in [
        ("broken", "an XPath 1.0 expression"),
        ("two", "XPath 1.0 engine"),
        ("jsoup", "JSoup's own pseudo-selectors"),
        ("jmes", "a JMESPath expression"),
    ] {
        let line = text
            .lines()
            .find(|l| l.contains(&format!("page › {element}:")))
            .unwrap_or_else(|| panic!("no line for {element}:\n{text}"));
        assert!(line.contains(words), "{line}");
    }
}
