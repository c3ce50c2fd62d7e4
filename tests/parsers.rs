//! Property tests for the parsers that read user input: JMX XML, `${...}` templates, Java
//! properties. Whatever the input, they return a value or an error, and never panic.

use proptest::prelude::*;

/// Fragments that real JMX files are made of, so that random input reaches deep paths.
fn jmx_fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "<jmeterTestPlan version=\"1.2\">",
        "</jmeterTestPlan>",
        "<hashTree>",
        "</hashTree>",
        "<hashTree/>",
        "<TestPlan guiclass=\"TestPlanGui\" testclass=\"TestPlan\" testname=\"P\">",
        "</TestPlan>",
        "<ThreadGroup testname=\"G\" enabled=\"false\">",
        "</ThreadGroup>",
        "<HTTPSamplerProxy testname=\"${x}\">",
        "</HTTPSamplerProxy>",
        "<stringProp name=\"ThreadGroup.num_threads\">",
        "</stringProp>",
        "<boolProp name=\"b\">true</boolProp>",
        "<elementProp name=\"e\" elementType=\"Arguments\">",
        "</elementProp>",
        "<collectionProp name=\"c\">",
        "</collectionProp>",
        "<objProp><name>saveConfig</name><value class=\"S\"><time>true</time></value></objProp>",
        "&#x1;",
        "&amp;",
        "&bogus;",
        "<![CDATA[x]]>",
        "<!-- c -->",
        "<!DOCTYPE x [<!ENTITY e \"e\">]>",
        "text",
        "${__P(a,${b})}",
        "\u{e9}",
        "<",
        ">",
        "\"",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn jmx_parse_and_plan_build_never_panic(parts in prop::collection::vec(jmx_fragment(), 0..40)) {
        let text = parts.concat();
        if let Ok(tree) = rmeter::jmx::parse(text.as_bytes()) {
            let props = rmeter::properties::Properties::with_jmeter_defaults();
            let _ = rmeter::plan::build(&tree, &props);
        }
    }

    #[test]
    fn jmx_parse_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = rmeter::jmx::parse(&bytes);
    }

    #[test]
    fn templates_compile_and_render(text in "[${}()_,\\\\a-zA-Z0-9 ]{0,60}") {
        let mut tree_text = String::from("<jmeterTestPlan><hashTree><TestPlan testname=\"P\"/><hashTree>");
        tree_text.push_str("<ThreadGroup testname=\"G\"><stringProp name=\"ThreadGroup.num_threads\">0</stringProp></ThreadGroup><hashTree>");
        tree_text.push_str(&format!("<HTTPSamplerProxy testname=\"{}\"/><hashTree/>", text.replace('"', "")));
        tree_text.push_str("</hashTree></hashTree></hashTree></jmeterTestPlan>");
        let tree = rmeter::jmx::parse(tree_text.as_bytes()).unwrap();
        let (plan, _) = rmeter::plan::build(&tree, &rmeter::properties::Properties::with_jmeter_defaults());
        prop_assert_eq!(plan.groups.len(), 1);
    }

    #[test]
    fn properties_files_never_panic(text in "[a-z=: \\\\\n#!u0-9]{0,80}") {
        let _ = rmeter::properties::parse_properties(&text);
    }

    /// A template without `$` or `\\` renders to itself.
    #[test]
    fn plain_text_is_literal(text in "[a-zA-Z0-9 ,()_{}]{0,40}") {
        let mut vars = rmeter::plan::VarTable::default();
        let mut slot = 0;
        let mut compiler = rmeter::plan::template::Compiler::new(&mut vars, &mut slot);
        let template = compiler.compile(&text);
        prop_assert_eq!(template.as_literal(), Some(text.as_str()));
    }
}

/// Fragments of HTML and CSS, to reach the link collector's paths.
fn html_fragment() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "<img src=\"a.png\">",
        "<img src=a.png>",
        "<script src='x.js'>",
        "</script>",
        "<script>",
        "<style>",
        "</style>",
        "<!--",
        "-->",
        "<base href=\"/b/\">",
        "<link rel=stylesheet href=s.css>",
        "<div style=\"background: url('u.png')\">",
        "<input type=image src=i.png>",
        "&amp;",
        "&#x1F600;",
        "&eacute;",
        "&#9999999999;",
        "&",
        ";",
        "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        "<",
        ">",
        "\"",
        "'",
        "=",
        "@import url(\"i.css\");",
        "@import 'j.css'",
        "url(",
        ")",
        "<applet codebase=c code=k>",
        "<object data=d codebase=e>",
        "<iframe src=f>",
        "</iframe>",
        " ",
        "\n",
    ])
    .prop_map(str::to_string)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn embedded_link_collection_never_panics(parts in prop::collection::vec(html_fragment(), 0..40)) {
        use rmeter::runtime::embedded::{collect, Parser};
        let text = parts.concat();
        let base = url::Url::parse("http://h/d/p.html").unwrap();
        for url in collect(Parser::Html, &text, &base).into_iter().chain(collect(Parser::Css, &text, &base)) {
            prop_assert!(matches!(url.scheme(), "http" | "https"));
        }
    }

    #[test]
    fn open_model_schedule_parsing_never_panics(text in "[a-z_()/*. 0-9]{0,60}") {
        let _ = rmeter::plan::schedule::parse_open_model(&text);
    }
}
