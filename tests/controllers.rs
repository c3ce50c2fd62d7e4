//! Logic controllers whose behaviour depends on time, chance or several users, which the
//! compatibility cases (one user, fixed order) cannot pin down. The samplers are JMeter's own
//! test Java Request, so no server is needed.

mod support;

use std::collections::HashSet;

/// A Java Request that sleeps `sleep_ms` exactly (no random mask).
fn java(label: &str, sleep_ms: u64) -> String {
    format!(
        r#"<JavaSampler guiclass="JavaTestSamplerGui" testclass="JavaSampler" testname="{label}">
  <elementProp name="arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">
    <elementProp name="Sleep_Time" elementType="Argument"><stringProp name="Argument.name">Sleep_Time</stringProp><stringProp name="Argument.value">{sleep_ms}</stringProp></elementProp>
    <elementProp name="Sleep_Mask" elementType="Argument"><stringProp name="Argument.name">Sleep_Mask</stringProp><stringProp name="Argument.value">0</stringProp></elementProp>
  </collectionProp></elementProp>
  <stringProp name="classname">org.apache.jmeter.protocol.java.test.JavaTest</stringProp>
</JavaSampler><hashTree/>"#
    )
}

/// A Java Request that fails (`Status` other than OK), with a Result Status Action Handler.
fn failing_with_action(label: &str, action: u8) -> String {
    java(label, 0).replace(
        "</collectionProp></elementProp>",
        r#"<elementProp name="Status" elementType="Argument"><stringProp name="Argument.name">Status</stringProp><stringProp name="Argument.value">FAIL</stringProp></elementProp></collectionProp></elementProp>"#,
    ).replace(
        "</JavaSampler><hashTree/>",
        &format!(r#"</JavaSampler><hashTree><ResultAction testclass="ResultAction" testname="On error"><intProp name="OnError.action">{action}</intProp></ResultAction><hashTree/></hashTree>"#),
    )
}

fn controller(class: &str, name: &str, props: &str, children: &str) -> String {
    format!(
        r#"<{class} testclass="{class}" testname="{name}">{props}</{class}><hashTree>{children}</hashTree>"#
    )
}

fn plan(users: u32, loops: u32, body: &str) -> String {
    format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Controllers"/><hashTree>
<ThreadGroup testclass="ThreadGroup" testname="Users">
  <stringProp name="ThreadGroup.num_threads">{users}</stringProp>
  <elementProp name="ThreadGroup.main_controller" elementType="LoopController"><stringProp name="LoopController.loops">{loops}</stringProp></elementProp>
</ThreadGroup><hashTree>{body}</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    )
}

/// Runs a plan; returns the rows (header first).
async fn run(plan_text: &str) -> Vec<Vec<String>> {
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.jmx");
    std::fs::write(&plan, plan_text).unwrap();
    let jtl = dir.path().join("out.jtl");
    support::run_plan(&plan, &jtl, &[]).await.unwrap();
    support::read_jtl(&std::fs::read_to_string(&jtl).unwrap())
}

fn column(rows: &[Vec<String>], name: &str) -> usize {
    rows[0].iter().position(|h| h == name).unwrap()
}

/// The samples' start times, sorted.
fn start_times(rows: &[Vec<String>]) -> Vec<i64> {
    let start = column(rows, "timeStamp");
    let mut stamps: Vec<i64> = rows[1..]
        .iter()
        .map(|r| r[start].parse().unwrap())
        .collect();
    stamps.sort();
    stamps
}

/// Asserts that building the plan reports a diagnostic at `place` that says `text`.
fn assert_reported(plan_text: &str, place: &str, text: &str) {
    let tree = rmeter::jmx::parse(plan_text.as_bytes()).unwrap();
    let (_, diagnostics) = rmeter::plan::build(
        &tree,
        &rmeter::properties::Properties::with_jmeter_defaults(),
    );
    let found: Vec<String> = diagnostics.iter().map(|d| d.to_string()).collect();
    assert!(
        found.iter().any(|d| d.contains(place) && d.contains(text)),
        "no `{text}` at {place}: {found:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_order_runs_each_child_once_per_pass_in_changing_orders() {
    let children: String = ["a", "b", "c", "d"].iter().map(|l| java(l, 0)).collect();
    let rows = run(&plan(
        1,
        30,
        &controller("RandomOrderController", "RO", "", &children),
    ))
    .await;
    let label = column(&rows, "label");
    let labels: Vec<&str> = rows[1..].iter().map(|r| r[label].as_str()).collect();
    assert_eq!(labels.len(), 4 * 30);
    let mut orders = HashSet::new();
    for pass in labels.chunks(4) {
        let mut sorted = pass.to_vec();
        sorted.sort();
        assert_eq!(sorted, ["a", "b", "c", "d"], "{pass:?}");
        orders.insert(pass.to_vec());
    }
    assert!(orders.len() > 1, "30 passes in one order: {orders:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_time_loops_until_its_seconds_have_passed() {
    let started = std::time::Instant::now();
    let body = controller(
        "RunTime",
        "For 1 s",
        r#"<stringProp name="RunTime.seconds">1</stringProp>"#,
        &java("tick", 100),
    ) + &java("after", 0);
    let rows = run(&plan(1, 1, &body)).await;
    let label = column(&rows, "label");
    let ticks = rows[1..].iter().filter(|r| r[label] == "tick").count();
    assert!((8..=11).contains(&ticks), "{ticks} ticks of 100 ms in 1 s");
    assert_eq!(rows.last().unwrap()[label], "after");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_section_lets_one_user_in_at_a_time() {
    let body = controller(
        "CriticalSectionController",
        "Locked",
        r#"<stringProp name="CriticalSectionController.lockName">the-lock</stringProp>"#,
        &java("inside", 40),
    );
    let rows = run(&plan(4, 2, &body)).await;
    let (start, elapsed) = (column(&rows, "timeStamp"), column(&rows, "elapsed"));
    let mut spans: Vec<(i64, i64)> = rows[1..]
        .iter()
        .map(|r| {
            let s: i64 = r[start].parse().unwrap();
            (s, s + r[elapsed].parse::<i64>().unwrap())
        })
        .collect();
    assert_eq!(spans.len(), 8);
    spans.sort();
    for pair in spans.windows(2) {
        // Millisecond stamps: a sample may start in the millisecond the previous one ended.
        assert!(pair[1].0 >= pair[0].1, "overlapping samples: {spans:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleave_across_threads_starts_each_user_at_its_own_child() {
    let children: String = ["first", "second", "third"]
        .iter()
        .map(|l| java(l, 0))
        .collect();
    let props = r#"<intProp name="InterleaveControl.style">1</intProp><boolProp name="InterleaveControl.accrossThreads">true</boolProp>"#;
    let rows = run(&plan(
        3,
        2,
        &controller("InterleaveControl", "I", props, &children),
    ))
    .await;
    let (label, thread) = (column(&rows, "label"), column(&rows, "threadName"));
    let mut seen: Vec<(String, String)> = rows[1..]
        .iter()
        .map(|r| (r[thread].clone(), r[label].clone()))
        .collect();
    seen.sort();
    let expected: Vec<(String, String)> = [
        ("Users 1-1", "first"),
        ("Users 1-1", "second"),
        ("Users 1-2", "second"),
        ("Users 1-2", "third"),
        ("Users 1-3", "first"),
        ("Users 1-3", "third"),
    ]
    .iter()
    .map(|(t, l)| (t.to_string(), l.to_string()))
    .collect();
    assert_eq!(seen, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_throughput_controller_counts_executions_over_all_users() {
    let props = r#"<intProp name="ThroughputController.style">0</intProp><boolProp name="ThroughputController.perThread">false</boolProp><intProp name="ThroughputController.maxThroughput">5</intProp>"#;
    let body =
        controller("ThroughputController", "Five", props, &java("limited", 0)) + &java("always", 0);
    let rows = run(&plan(3, 4, &body)).await;
    let label = column(&rows, "label");
    let count = |l: &str| rows[1..].iter().filter(|r| r[label] == l).count();
    assert_eq!((count("limited"), count("always")), (5, 12));
}

/// "Ignore sub-controller blocks" over other child controllers, one sampler per visit, as
/// JMeter 5.6 pulls them: If, Once Only and Transaction keep their place (a transaction is
/// reported at the visit after its last child, a parent sample being that visit's only sample,
/// written with its sub-results); Loop, While and ForEach are rewound
/// at every visit (they give the first sampler of a fresh pass); a nested Interleave gives one
/// sampler by itself; a child with nothing to give ends the user (JMeter's thread dies of a
/// `StackOverflowError` there). The sequences are the JMeter 2.13 oracle's, with JMeter 5's
/// rewinding of Loop, While and ForEach Controllers back-ported (`LoopIterationListener`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleave_steps_through_other_controllers() {
    let s = |class: &str, props: &str, children: &str| controller(class, "X", props, children);
    let bc = java("B", 0) + &java("C", 0);
    let loops = |n: u32| {
        format!(
            r#"<stringProp name="LoopController.loops">{n}</stringProp><boolProp name="LoopController.continue_forever">true</boolProp>"#
        )
    };
    let condition = |c: &str| {
        format!(
            r#"<stringProp name="IfController.condition">{c}</stringProp><boolProp name="IfController.useExpression">true</boolProp>"#
        )
    };
    let while_ =
        |c: &str| format!(r#"<stringProp name="WhileController.condition">{c}</stringProp>"#);
    let foreach = r#"<stringProp name="ForeachController.inputVal">in</stringProp><stringProp name="ForeachController.returnVal">out</stringProp><boolProp name="ForeachController.useSeparator">true</boolProp>"#;
    let variables = r#"<Arguments testclass="Arguments" testname="vars"><collectionProp name="Arguments.arguments">
  <elementProp name="in_1" elementType="Argument"><stringProp name="Argument.name">in_1</stringProp><stringProp name="Argument.value">x</stringProp></elementProp>
  <elementProp name="in_2" elementType="Argument"><stringProp name="Argument.name">in_2</stringProp><stringProp name="Argument.value">y</stringProp></elementProp>
</collectionProp></Arguments><hashTree/>"#;
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "loop",
            s("LoopController", &loops(2), &bc),
            "A B D A B D A B D",
        ),
        // Rewound at every visit, a Loop that does not continue forever is never done.
        (
            "loop not forever",
            s(
                "LoopController",
                &loops(2).replace(r#"continue_forever">true"#, r#"continue_forever">false"#),
                &bc,
            ),
            "A B D A B D A B D",
        ),
        // A ForEach whose start is past its end is done: the visit moves on.
        (
            "foreach past its end",
            s(
                "ForeachController",
                &(foreach.to_string()
                    + r#"<stringProp name="ForeachController.startIndex">2</stringProp><stringProp name="ForeachController.endIndex">1</stringProp>"#),
                &java("B", 0),
            ),
            "A D A D A D A D A",
        ),
        (
            "if true",
            s("IfController", &condition("true"), &bc),
            "A B D A C D A B D",
        ),
        (
            "if false",
            s("IfController", &condition("false"), &java("B", 0)),
            "A",
        ),
        (
            "once only",
            s("OnceOnlyController", "", &bc),
            "A B D A C D A",
        ),
        (
            "while",
            s("WhileController", &while_("true"), &bc),
            "A B D A B D A B D",
        ),
        (
            "foreach",
            s("ForeachController", foreach, &java("B-${out}", 0)),
            "A B-x D A B-x D A B-x D",
        ),
        (
            "transaction",
            s("TransactionController", "", &bc),
            "A B D A C D A X B D A C D A",
        ),
        (
            "transaction with parent",
            s(
                "TransactionController",
                r#"<boolProp name="TransactionController.parent">true</boolProp>"#,
                &bc,
            ),
            "A D A D A X B C D A D A",
        ),
        (
            "nested",
            s(
                "InterleaveControl",
                r#"<intProp name="InterleaveControl.style">1</intProp>"#,
                &bc,
            ),
            "A B D A C D A B D",
        ),
    ];
    for (name, child, expected) in cases {
        let children = java("A", 0) + &child + &java("D", 0);
        let visits = if name.starts_with("transaction") {
            13
        } else {
            9
        };
        let rows = run(&plan(
            1,
            visits,
            &(variables.to_string() + &controller("InterleaveControl", "I", "", &children)),
        ))
        .await;
        let label = column(&rows, "label");
        let got: Vec<&str> = rows[1..].iter().map(|r| r[label].as_str()).collect();
        assert_eq!(got.join(" "), expected, "{name}");
    }
    // Two controllers: the Simple keeps its place, the Loop starts afresh at every visit.
    let children = controller("GenericController", "S", "", &bc)
        + &s("LoopController", &loops(2), &(java("E", 0) + &java("F", 0)))
        + &java("D", 0);
    let rows = run(&plan(
        1,
        7,
        &controller("InterleaveControl", "I", "", &children),
    ))
    .await;
    let label = column(&rows, "label");
    let got: Vec<&str> = rows[1..].iter().map(|r| r[label].as_str()).collect();
    assert_eq!(got.join(" "), "B E D C E D B");
}

#[test]
fn what_cannot_run_is_reported_with_its_place() {
    // "Ignore sub-controller blocks" (style 0, also when missing) over a controller child.
    let interleave = plan(
        1,
        1,
        &controller(
            "InterleaveControl",
            "I",
            "",
            &controller(
                "LoopController",
                "Block",
                "",
                &controller("GenericController", "Inner", "", &java("x", 0)),
            ),
        ),
    );
    // Only controllers of samplers can be stepped through one sampler at a time.
    assert_reported(
        &interleave,
        "Controllers › Users › I",
        "InterleaveControl.style",
    );

    let include = plan(
        1,
        1,
        &controller(
            "IncludeController",
            "Inc",
            r#"<stringProp name="IncludeController.includepath">no-such-fragment.jmx</stringProp>"#,
            "",
        ),
    );
    assert_reported(
        &include,
        "Controllers › Users › Inc",
        "cannot include no-such-fragment.jmx",
    );

    let module = plan(
        1,
        1,
        &controller(
            "ModuleController",
            "Mod",
            r#"<collectionProp name="ModuleController.node_path"><stringProp name="1">Test Plan</stringProp><stringProp name="2">Controllers</stringProp><stringProp name="3">Users</stringProp><stringProp name="4">Gone</stringProp></collectionProp>"#,
            "",
        ),
    );
    assert_reported(
        &module,
        "Controllers › Users › Mod",
        "target `Controllers › Users › Gone` is not in the plan",
    );

    // A module whose target holds the module would run itself forever.
    let recursive = plan(
        1,
        1,
        &controller(
            "GenericController",
            "Outer",
            "",
            &controller(
                "ModuleController",
                "Again",
                r#"<collectionProp name="ModuleController.node_path"><stringProp name="1">Test Plan</stringProp><stringProp name="2">Controllers</stringProp><stringProp name="3">Users</stringProp><stringProp name="4">Outer</stringProp></collectionProp>"#,
                "",
            ),
        ),
    );
    assert_reported(
        &recursive,
        "Controllers › Users",
        "would run itself forever",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_status_action_handler_acts_on_failed_samples() {
    // 4: start the next thread loop; 6: leave the innermost loop.
    let body = failing_with_action("fails", 4)
        + &java("skipped", 0)
        + &controller(
            "LoopController",
            "Three",
            r#"<stringProp name="LoopController.loops">3</stringProp>"#,
            &(java("in loop", 0) + &failing_with_action("breaks", 6) + &java("never", 0)),
        );
    let rows = run(&plan(1, 2, &body)).await;
    let label = column(&rows, "label");
    let labels: Vec<&str> = rows[1..].iter().map(|r| r[label].as_str()).collect();
    assert_eq!(labels, ["fails", "fails"]);

    let body = controller(
        "LoopController",
        "Three",
        r#"<stringProp name="LoopController.loops">3</stringProp>"#,
        &(java("in loop", 0) + &failing_with_action("breaks", 6) + &java("never", 0)),
    ) + &java("after", 0);
    let rows = run(&plan(1, 1, &body)).await;
    let labels: Vec<&str> = rows[1..].iter().map(|r| r[label].as_str()).collect();
    assert_eq!(labels, ["in loop", "breaks", "after"]);
}

/// A Constant Throughput Timer shared by all threads spaces every sample by 60 s / rate, whatever
/// the number of users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn constant_throughput_timer_shared_by_all_threads_holds_the_rate() {
    let timer = r#"<ConstantThroughputTimer testclass="ConstantThroughputTimer" testname="Rate"><intProp name="calcMode">3</intProp><doubleProp><name>throughput</name><value>1200.0</value><savedValue>0.0</savedValue></doubleProp></ConstantThroughputTimer><hashTree/>"#;
    let rows = run(&plan(4, 6, &(timer.to_string() + &java("paced", 0)))).await;
    let stamps = start_times(&rows);
    assert_eq!(stamps.len(), 24);
    // 24 samples at 20 per second: 23 intervals of 50 ms.
    let span = stamps[23] - stamps[0];
    assert!(
        (1100..=1400).contains(&span),
        "{span} ms for 23 intervals of 50 ms"
    );
}

/// A Precise Throughput Timer plans an exact number of random times per stretch of its schedule:
/// 20 per second here, with one-second stretches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn precise_throughput_timer_keeps_the_exact_count_per_stretch() {
    let timer = r#"<PreciseThroughputTimer testclass="PreciseThroughputTimer" testname="Rate">
  <stringProp name="throughput">20</stringProp><intProp name="throughputPeriod">1</intProp>
  <longProp name="duration">1</longProp><intProp name="exactLimit">10000</intProp>
  <intProp name="batchSize">1</intProp><intProp name="batchThreadDelay">0</intProp><longProp name="randomSeed">0</longProp>
</PreciseThroughputTimer><hashTree/>"#;
    let rows = run(&plan(4, 10, &(timer.to_string() + &java("paced", 0)))).await;
    let stamps = start_times(&rows);
    assert_eq!(stamps.len(), 40);
    // The schedule starts when the first user reaches the timer, just before the first sample:
    // the first 20 samples fall in its first second, all 40 in two seconds.
    assert!(stamps[19] - stamps[0] <= 1100, "{stamps:?}");
    assert!(stamps[39] - stamps[0] <= 2100, "{stamps:?}");
    assert!(stamps[39] - stamps[0] >= 600, "too fast: {stamps:?}");
}

/// A Synchronizing Timer holds users until the group is complete (or its timeout), then
/// releases them together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronizing_timer_releases_users_together() {
    let timer = |size: u32, timeout: u32| {
        format!(
            r#"<SyncTimer testclass="SyncTimer" testname="Gather"><stringProp name="groupSize">{size}</stringProp><longProp name="timeoutInMs">{timeout}</longProp></SyncTimer><hashTree/>"#
        )
    };
    // Users start 300 ms apart; all three go together once the last arrives.
    let staggered = |body: &str| {
        plan(3, 1, body).replace(
            "<stringProp name=\"ThreadGroup.num_threads\">3</stringProp>",
            "<stringProp name=\"ThreadGroup.num_threads\">3</stringProp><stringProp name=\"ThreadGroup.ramp_time\">1</stringProp>",
        )
    };
    let rows = run(&staggered(&(timer(0, 0) + &java("together", 0)))).await;
    let s = start_times(&rows);
    assert_eq!(s.len(), 3);
    assert!(s[2] - s[0] <= 30, "{s:?}");
    // Groups of 2 with a 500 ms timeout: the first two go together when the second arrives
    // (about 333 ms); the third arrives at about 667 ms and goes alone at its timeout.
    let rows = run(&staggered(&(timer(2, 500) + &java("pairs", 0)))).await;
    let s = start_times(&rows);
    assert!(s[1] - s[0] <= 30, "{s:?}");
    assert!((700..=1000).contains(&(s[2] - s[1])), "{s:?}");
}

/// The jmeter-plugins Dummy Sampler writes what its settings say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dummy_sampler_answers_from_its_settings() {
    let dummy = r#"<kg.apc.jmeter.samplers.DummySampler testclass="kg.apc.jmeter.samplers.DummySampler" testname="fake">
  <boolProp name="WAITING">false</boolProp><boolProp name="SUCCESFULL">false</boolProp>
  <stringProp name="RESPONSE_CODE">503</stringProp><stringProp name="RESPONSE_MESSAGE">Busy</stringProp>
  <stringProp name="RESPONSE_DATA">four</stringProp><stringProp name="RESPONSE_TIME">${__javaScript(40 + 2)}</stringProp>
  <stringProp name="LATENCY">7</stringProp><stringProp name="CONNECT">3</stringProp><stringProp name="URL">http://example.invalid/x</stringProp>
  <stringProp name="RESULT_CLASS">org.apache.jmeter.samplers.SampleResult</stringProp>
</kg.apc.jmeter.samplers.DummySampler><hashTree/>"#;
    let rows = run(&plan(1, 1, dummy)).await;
    let get = |name: &str| rows[1][column(&rows, name)].clone();
    assert_eq!(
        [
            get("elapsed"),
            get("responseCode"),
            get("responseMessage"),
            get("success"),
            get("bytes"),
            get("Latency"),
            get("Connect"),
            get("URL")
        ],
        [
            "42",
            "503",
            "Busy",
            "false",
            "4",
            "7",
            "3",
            "http://example.invalid/x"
        ]
    );
}

/// A Regular Expression Extractor whose expression is built from variables.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn regex_built_from_variables() {
    let producer = java("producer", 0).replace(
        "</collectionProp></elementProp>",
        r#"<elementProp name="ResultData" elementType="Argument"><stringProp name="Argument.name">ResultData</stringProp><stringProp name="Argument.value">id=42;name=x</stringProp></elementProp></collectionProp></elementProp>"#,
    ).replace(
        "</JavaSampler><hashTree/>",
        r#"</JavaSampler><hashTree><RegexExtractor testclass="RegexExtractor" testname="take"><stringProp name="RegexExtractor.refname">got</stringProp><stringProp name="RegexExtractor.regex">${__javaScript("id")}=(\d+)</stringProp><stringProp name="RegexExtractor.template">$1$</stringProp><stringProp name="RegexExtractor.match_number">1</stringProp><stringProp name="RegexExtractor.default">none</stringProp></RegexExtractor><hashTree/></hashTree>"#,
    );
    let rows = run(&plan(1, 1, &(producer + &java("value ${got}", 0)))).await;
    let label = column(&rows, "label");
    assert_eq!(rows[2][label], "value 42");
}

/// The Parallel Controller plugin: its children run at the same time (three 300 ms children
/// take about 300 ms, not 900), as one parent sample whose sub-results are theirs, failed when
/// a child failed; a variable a child extracts is there after it; with the thread limit at 1
/// they run one after another; without a parent sample each child is reported by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_controller() {
    let parallel = |name: &str, parent: bool, limit: Option<u32>, children: &str| {
        let limit_props = match limit {
            Some(n) => format!(r#"<intProp name="MAX_THREAD_NUMBER">{n}</intProp><boolProp name="LIMIT_MAX_THREAD_NUMBER">true</boolProp>"#),
            None => r#"<intProp name="MAX_THREAD_NUMBER">6</intProp><boolProp name="LIMIT_MAX_THREAD_NUMBER">false</boolProp>"#.into(),
        };
        controller(
            "com.blazemeter.jmeter.controller.ParallelSampler",
            name,
            &format!(r#"<boolProp name="PARENT_SAMPLE">{parent}</boolProp>{limit_props}"#),
            children,
        )
    };
    let producer = java("producer", 300).replace(
        "</collectionProp></elementProp>",
        r#"<elementProp name="ResultData" elementType="Argument"><stringProp name="Argument.name">ResultData</stringProp><stringProp name="Argument.value">id=42</stringProp></elementProp></collectionProp></elementProp>"#,
    ).replace(
        "</JavaSampler><hashTree/>",
        r#"</JavaSampler><hashTree><RegexExtractor testclass="RegexExtractor" testname="take"><stringProp name="RegexExtractor.refname">got</stringProp><stringProp name="RegexExtractor.regex">id=(\d+)</stringProp><stringProp name="RegexExtractor.template">$1$</stringProp><stringProp name="RegexExtractor.match_number">1</stringProp><stringProp name="RegexExtractor.default">none</stringProp></RegexExtractor><hashTree/></hashTree>"#,
    );
    let together = parallel(
        "together",
        true,
        None,
        &(producer
            + &java("b", 300)
            + &failing_with_action("c", 0).replace(
                "Sleep_Time</stringProp><stringProp name=\"Argument.value\">0",
                "Sleep_Time</stringProp><stringProp name=\"Argument.value\">300",
            )),
    );
    let one_by_one = parallel(
        "one by one",
        true,
        Some(1),
        &(java("d", 200) + &java("e", 200)),
    );
    let loose = parallel("loose", false, None, &(java("f", 0) + &java("g", 0)));
    let body = together + &java("after ${got}", 0) + &one_by_one + &loose;
    let rows = run(&plan(1, 1, &body)).await;
    let (label, elapsed, success, thread) = (
        column(&rows, "label"),
        column(&rows, "elapsed"),
        column(&rows, "success"),
        column(&rows, "threadName"),
    );
    let find = |name: &str| {
        rows.iter()
            .find(|r| r[label] == name)
            .unwrap_or_else(|| panic!("{name}: {rows:?}"))
    };
    let parent = find("together");
    let ms: u64 = parent[elapsed].parse().unwrap();
    assert!((300..800).contains(&ms), "{parent:?}");
    assert_eq!(parent[success], "false", "{parent:?}");
    for child in ["producer", "b", "c"] {
        assert_eq!(
            find(child)[thread],
            "Users 1-1 - together - ".to_string() + child
        );
    }
    find("after 42");
    let serial: u64 = find("one by one")[elapsed].parse().unwrap();
    assert!(serial >= 400, "{serial}");
    assert!(find("f")[thread].ends_with(" - loose - f"));
    assert!(!rows.iter().any(|r| r[label] == "loose"), "{rows:?}");
}

/// The MD5Hex Assertion compares the body's MD5 without case, with JMeter's failure message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn md5_hex_assertion() {
    let checked = |label: &str, expected: &str| {
        java(label, 0).replace(
            "</collectionProp></elementProp>",
            r#"<elementProp name="ResultData" elementType="Argument"><stringProp name="Argument.name">ResultData</stringProp><stringProp name="Argument.value">abc</stringProp></elementProp></collectionProp></elementProp>"#,
        ).replace(
            "</JavaSampler><hashTree/>",
            &format!(r#"</JavaSampler><hashTree><MD5HexAssertion testclass="MD5HexAssertion" testname="md5"><stringProp name="MD5HexAssertion.size">{expected}</stringProp></MD5HexAssertion><hashTree/></hashTree>"#),
        )
    };
    let body = checked("right", "900150983CD24FB0D6963F7D28E17F72") + &checked("wrong", "00");
    let rows = run(&plan(1, 1, &body)).await;
    let (success, message) = (column(&rows, "success"), column(&rows, "failureMessage"));
    assert_eq!(rows[1][success], "true", "{rows:?}");
    assert_eq!(rows[2][success], "false");
    assert_eq!(
        rows[2][message],
        "Error asserting MD5 sum : got 900150983cd24fb0d6963f7d28e17f72 but should have been 00"
    );
}

/// `__StringFromFile` hands out the next line at each call, from the first again after the
/// last; `__CSVRead` gives a user's current row until `next`, rows going round the users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_from_file_and_csv_read() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.txt");
    std::fs::write(&lines, "one\ntwo\n").unwrap();
    std::fs::write(dir.path().join("table.csv"), "a,1\nb,2\n").unwrap();
    let body = format!(
        "{}{}",
        java(&format!("${{__StringFromFile({})}}", lines.display()), 0),
        java(
            "${__CSVRead(table.csv,0)}-${__CSVRead(table.csv,1)}${__CSVRead(table.csv,next)}",
            0
        ),
    );
    let path = dir.path().join("plan.jmx");
    std::fs::write(&path, plan(1, 3, &body)).unwrap();
    let jtl = dir.path().join("out.jtl");
    support::run_plan(&path, &jtl, &[]).await.unwrap();
    let rows = support::read_jtl(&std::fs::read_to_string(&jtl).unwrap());
    let label = column(&rows, "label");
    let labels: Vec<&str> = rows[1..].iter().map(|r| r[label].as_str()).collect();
    assert_eq!(labels, ["one", "a-1", "two", "b-2", "one", "a-1"]);
}

/// "Ignore sub-controller blocks" (style 0) takes one sampler from a child Simple Controller per
/// visit, which keeps its place; style 1 runs the child's whole pass. The sequences are what
/// JMeter 2.13 (the oracle) wrote for this plan with 7 loops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleave_ignore_sub_controller_blocks() {
    let children = java("A", 0)
        + &controller(
            "GenericController",
            "S",
            "",
            &(java("B", 0) + &java("C", 0)),
        )
        + &java("D", 0);
    for (style, expected) in [(0, "A B D A C D A"), (1, "A B C D A B C D A")] {
        let props = format!(r#"<intProp name="InterleaveControl.style">{style}</intProp>"#);
        let rows = run(&plan(
            1,
            7,
            &controller("InterleaveControl", "I", &props, &children),
        ))
        .await;
        let label = column(&rows, "label");
        let got: Vec<&str> = rows[1..].iter().map(|r| r[label].as_str()).collect();
        assert_eq!(got.join(" "), expected, "style {style}");
    }
}
