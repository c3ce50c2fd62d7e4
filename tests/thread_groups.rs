//! The jmeter-plugins thread groups that fix each thread's start and end in advance, run with
//! JMeter's test Java Request (no server needed).

mod support;

const SAMPLER: &str = r#"<JavaSampler testclass="JavaSampler" testname="work">
  <elementProp name="arguments" elementType="Arguments"><collectionProp name="Arguments.arguments">
    <elementProp name="Sleep_Time" elementType="Argument"><stringProp name="Argument.name">Sleep_Time</stringProp><stringProp name="Argument.value">100</stringProp></elementProp>
    <elementProp name="Sleep_Mask" elementType="Argument"><stringProp name="Argument.name">Sleep_Mask</stringProp><stringProp name="Argument.value">0</stringProp></elementProp>
  </collectionProp></elementProp>
  <stringProp name="classname">org.apache.jmeter.protocol.java.test.JavaTest</stringProp>
</JavaSampler><hashTree/>"#;

async fn run(group: &str) -> Vec<Vec<String>> {
    let plan_text = format!(
        r#"<jmeterTestPlan><hashTree><TestPlan testclass="TestPlan" testname="Groups"/><hashTree>{group}<hashTree>{SAMPLER}</hashTree></hashTree></hashTree></jmeterTestPlan>"#
    );
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("plan.jmx");
    std::fs::write(&plan, plan_text).unwrap();
    let jtl = dir.path().join("out.jtl");
    support::run_plan(&plan, &jtl, &[("users", "2".to_string())])
        .await
        .unwrap();
    support::read_jtl(&std::fs::read_to_string(&jtl).unwrap())
}

/// (thread name, first start, last start) per thread, relative to the first sample.
fn threads(rows: &[Vec<String>]) -> Vec<(String, i64, i64)> {
    let (ts, thread) = (
        rows[0].iter().position(|h| h == "timeStamp").unwrap(),
        rows[0].iter().position(|h| h == "threadName").unwrap(),
    );
    let t0: i64 = rows[1..]
        .iter()
        .map(|r| r[ts].parse::<i64>().unwrap())
        .min()
        .unwrap();
    let mut by: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for r in &rows[1..] {
        let t = r[ts].parse::<i64>().unwrap() - t0;
        let e = by.entry(r[thread].clone()).or_insert((t, t));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
    }
    by.into_iter().map(|(n, (a, b))| (n, a, b)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ultimate_thread_group_starts_and_stops_each_row_as_the_plugin() {
    // Row: ${users} threads (2), no delay, 1 s startup, 1 s hold, 1 s shutdown. Thread 2 starts
    // at 0.5 s and stops at 2.5 s; thread 1 starts at 1 s and stops at 3 s.
    let group = r#"<kg.apc.jmeter.threads.UltimateThreadGroup testclass="kg.apc.jmeter.threads.UltimateThreadGroup" testname="UTG">
  <collectionProp name="ultimatethreadgroupdata"><collectionProp name="-1">
    <stringProp name="1">${__P(users)}</stringProp><stringProp name="2">0</stringProp><stringProp name="3">1</stringProp><stringProp name="4">1</stringProp><stringProp name="5">1</stringProp>
  </collectionProp></collectionProp>
  <elementProp name="ThreadGroup.main_controller" elementType="LoopController"><intProp name="LoopController.loops">-1</intProp></elementProp>
</kg.apc.jmeter.threads.UltimateThreadGroup>"#;
    let got = threads(&run(group).await);
    assert_eq!(got.len(), 2, "{got:?}");
    let (t1, t2) = (&got[0], &got[1]);
    assert_eq!((t1.0.as_str(), t2.0.as_str()), ("UTG 1-1", "UTG 1-2"));
    // Thread 2 first (the first sample), thread 1 about 500 ms later.
    assert_eq!(t2.1, 0);
    assert!((400..=650).contains(&t1.1), "{got:?}");
    // Thread 2 runs for about 2 s, thread 1 until about 2.5 s after thread 2 began.
    assert!((1800..=2100).contains(&t2.2), "{got:?}");
    assert!((2300..=2600).contains(&t1.2), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stepping_thread_group_adds_threads_per_step() {
    // 2 threads, one per step of 1 s, no ramp-up, 1 s hold after the last, then all stop.
    let group = r#"<kg.apc.jmeter.threads.SteppingThreadGroup testclass="kg.apc.jmeter.threads.SteppingThreadGroup" testname="STG">
  <stringProp name="ThreadGroup.num_threads">2</stringProp>
  <stringProp name="Threads initial delay">0</stringProp>
  <stringProp name="Start users count">1</stringProp>
  <stringProp name="Start users count burst">0</stringProp>
  <stringProp name="Start users period">1</stringProp>
  <stringProp name="Stop users count">0</stringProp>
  <stringProp name="Stop users period">0</stringProp>
  <stringProp name="flighttime">1</stringProp>
  <stringProp name="rampUp">0</stringProp>
  <elementProp name="ThreadGroup.main_controller" elementType="LoopController"><intProp name="LoopController.loops">-1</intProp></elementProp>
</kg.apc.jmeter.threads.SteppingThreadGroup>"#;
    let got = threads(&run(group).await);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].1, 0);
    assert!((900..=1150).contains(&got[1].1), "{got:?}");
    // Both stop at 2 s (1 step + 1 s hold after the last step's start).
    for (_, _, last) in &got {
        assert!((1800..=2100).contains(last), "{got:?}");
    }
}

fn blazemeter(kind: &str, name: &str, props: &str) -> String {
    format!(
        r#"<com.blazemeter.jmeter.threads.{kind} testclass="com.blazemeter.jmeter.threads.{kind}" testname="{name}">
  <elementProp name="ThreadGroup.main_controller" elementType="com.blazemeter.jmeter.control.VirtualUserController"/>
  {props}<stringProp name="Unit">S</stringProp>
</com.blazemeter.jmeter.threads.{kind}>"#
    )
}

/// (samples, per thread name) of a run.
fn per_thread(rows: &[Vec<String>]) -> std::collections::BTreeMap<String, usize> {
    let thread = rows[0].iter().position(|h| h == "threadName").unwrap();
    let mut by = std::collections::BTreeMap::new();
    for r in &rows[1..] {
        *by.entry(r[thread].clone()).or_insert(0) += 1;
    }
    by
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_thread_group_replaces_users_that_end() {
    // 3 users for 1 s; each lives 2 iterations of 100 ms and is replaced at once.
    let group = blazemeter(
        "concurrency.ConcurrencyThreadGroup",
        "CTG",
        r#"<stringProp name="TargetLevel">3</stringProp><stringProp name="RampUp">0</stringProp><stringProp name="Steps">0</stringProp><stringProp name="Hold">1</stringProp><stringProp name="Iterations">2</stringProp>"#,
    );
    let rows = run(&group).await;
    let by = per_thread(&rows);
    let total: usize = by.values().sum();
    assert!((21..=33).contains(&total), "{by:?}");
    assert!(by.len() > 3, "{by:?}");
    assert!(by.values().all(|&n| n <= 2), "{by:?}");
    assert!(by.contains_key("CTG-ThreadStarter 1-1"), "{by:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrivals_thread_group_starts_iterations_at_the_rate() {
    // 10 arrivals per second for 2 s; an iteration takes 100 ms, so a few users serve them all.
    let group = blazemeter(
        "arrivals.ArrivalsThreadGroup",
        "ATG",
        r#"<stringProp name="TargetLevel">10</stringProp><stringProp name="RampUp">0</stringProp><stringProp name="Steps">0</stringProp><stringProp name="Hold">2</stringProp><stringProp name="ConcurrencyLimit">100</stringProp>"#,
    );
    let by = per_thread(&run(&group).await);
    let total: usize = by.values().sum();
    assert!((19..=21).contains(&total), "{by:?}");
    assert!(by.len() <= 4, "idle users are reused: {by:?}");

    // One user at most, iterations of 100 ms, 20 arrivals per second for 1 s: the arrivals
    // that find the user busy are dropped.
    let group = blazemeter(
        "arrivals.ArrivalsThreadGroup",
        "ATG",
        r#"<stringProp name="TargetLevel">20</stringProp><stringProp name="RampUp">0</stringProp><stringProp name="Steps">0</stringProp><stringProp name="Hold">1</stringProp><stringProp name="ConcurrencyLimit">1</stringProp>"#,
    );
    let by = per_thread(&run(&group).await);
    let total: usize = by.values().sum();
    assert!((5..=10).contains(&total), "{by:?}");
    assert_eq!(by.len(), 1, "{by:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_thread_group_makes_a_user_per_arrival() {
    let group = |schedule: &str| {
        format!(
            r#"<OpenModelThreadGroup testclass="OpenModelThreadGroup" testname="OMG">
  <elementProp name="ThreadGroup.main_controller" elementType="OpenModelThreadGroupController"/>
  <stringProp name="OpenModelThreadGroup.schedule">{schedule}</stringProp>
  <stringProp name="OpenModelThreadGroup.random_seed">7</stringProp>
</OpenModelThreadGroup>"#
        )
    };
    // 20 arrivals per second, evenly, for one second: 20 users of one iteration each.
    let rows = run(&group("rate(20/s) even_arrivals(1 s)")).await;
    let by = per_thread(&rows);
    assert_eq!(by.len(), 20, "{by:?}");
    assert!(by.values().all(|&n| n == 1), "{by:?}");
    assert!(by.contains_key("OMG 1-20"), "{by:?}");
    let spans = threads(&rows);
    let last_start = spans.iter().map(|t| t.1).max().unwrap();
    assert!((850..=1100).contains(&last_start), "{spans:?}");
    // Random arrivals keep their count; a pause delays them.
    let started = std::time::Instant::now();
    let rows = run(&group(
        "/* warm */ pause(300 ms) rate(30 per sec) random_arrivals(1 s)",
    ))
    .await;
    assert_eq!(per_thread(&rows).len(), 30);
    assert!(started.elapsed() >= std::time::Duration::from_millis(1300));
}
