//! S6 micro benches (issue 5): the per-plan and per-sample costs that do not need a network.
//!
//!     cargo bench --bench micro            # run
//!     cargo bench --bench micro --no-run   # CI: compile only
//!
//! - `plan/parse_and_build`: JMX bytes → element tree → typed plan, for the demo journey.
//! - `template/render`: a label with two variables and a function call, as a sampler renders it.
//! - `jtl/csv_row`: one CSV JTL row with JMeter 5.6's default columns (goal: ≥ 2M rows/s).
//! - `report/read_and_aggregate`: the report's reader and statistics, per row.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rmeter::plan::function::Env;
use rmeter::plan::template::{Compiler, Context};
use rmeter::plan::vars::{VarId, VarTable};
use rmeter::properties::Properties;
use rmeter::sample::Sample;

fn parse_and_build(c: &mut Criterion) {
    let bytes = rmeter::demo::DEMO_PLAN.as_bytes();
    let props = Properties::with_jmeter_defaults();
    c.bench_function("plan/parse_and_build", |b| {
        b.iter(|| {
            let tree = rmeter::jmx::parse(black_box(bytes)).expect("the demo plan parses");
            black_box(rmeter::plan::build(&tree, &props))
        })
    });
}

/// A user's context with a few variables, as the runtime offers it.
struct Ctx {
    slots: Vec<Option<String>>,
    props: Properties,
    rng: fastrand::Rng,
}

impl Env for Ctx {
    fn props(&self) -> &Properties {
        &self.props
    }
    fn thread_num(&self) -> u32 {
        1
    }
    fn thread_group_name(&self) -> &str {
        "Bank Users"
    }
    fn sampler_name(&self) -> &str {
        "TX01 Login"
    }
    fn test_plan_name(&self) -> &str {
        "Test Plan"
    }
    fn rng(&mut self) -> &mut fastrand::Rng {
        &mut self.rng
    }
    fn user_counter(&mut self, _slot: usize) -> u64 {
        1
    }
    fn global_counter(&self, _slot: usize) -> u64 {
        1
    }
    fn machine_name(&self) -> &str {
        "bench"
    }
    fn machine_ip(&self) -> &str {
        "127.0.0.1"
    }
    fn now_millis(&self) -> i64 {
        1_795_000_000_000
    }
    fn utc_offset_seconds(&self) -> i32 {
        0
    }
}

impl Context for Ctx {
    fn var(&self, id: VarId) -> Option<&str> {
        self.slots.get(id.0 as usize).and_then(|v| v.as_deref())
    }
    fn var_by_name(&self, _name: &str) -> Option<&str> {
        None
    }
    fn set_var(&mut self, _name: &str, _value: String) {}
    fn remove_var(&mut self, _name: &str) {}
    fn env(&mut self) -> &mut dyn Env {
        self
    }
}

fn template_render(c: &mut Criterion) {
    let mut vars = VarTable::default();
    let mut next_slot = 0;
    let template = Compiler::new(&mut vars, &mut next_slot)
        .compile("/api/accounts/${account}/transactions?user=${user}&n=${__threadNum}");
    let mut ctx = Ctx {
        slots: vec![None; vars.len()],
        props: Properties::with_jmeter_defaults(),
        rng: fastrand::Rng::with_seed(1),
    };
    for (name, value) in [("account", "ACC-1001"), ("user", "alice")] {
        if let Some(id) = vars.get(name) {
            ctx.slots[id.0 as usize] = Some(value.to_string());
        }
    }
    let mut out = String::with_capacity(128);
    c.bench_function("template/render", |b| {
        b.iter(|| {
            out.clear();
            template.render_into(&mut ctx, &mut out);
            black_box(out.len())
        })
    });
}

fn jtl_row(c: &mut Criterion) {
    let props = Properties::with_jmeter_defaults();
    let save = rmeter::plan::listener::SaveConfig::from_properties(&props);
    let format = rmeter::output::jtl::CsvFormat::new(save, &props).expect("default format");
    let mut sample = Sample::new(
        "TX03 Transfer".into(),
        Arc::from("Bank Users 1-17"),
        1_795_000_000_000,
    );
    sample.elapsed = 23;
    sample.latency = 21;
    sample.connect = 1;
    sample.response_code = "201".into();
    sample.response_message = "Created".into();
    sample.bytes = 412;
    sample.sent_bytes = 233;
    sample.grp_threads = 50;
    sample.all_threads = 50;
    sample.url = Some("http://127.0.0.1:8080/api/transfers".into());
    sample.http = true;
    let mut out = String::with_capacity(512);
    let mut group = c.benchmark_group("jtl");
    group.throughput(Throughput::Elements(1));
    group.bench_function("csv_row", |b| {
        b.iter(|| {
            out.clear();
            format.write_sample(black_box(&sample), &mut out);
            black_box(out.len())
        })
    });
    group.finish();
}

fn report_rows(c: &mut Criterion) {
    let mut text = String::from("timeStamp,elapsed,label,responseCode,responseMessage,threadName,dataType,success,failureMessage,bytes,sentBytes,grpThreads,allThreads,URL,Latency,IdleTime,Connect\n");
    let rows = 20_000u64;
    for i in 0..rows {
        text.push_str(&format!(
            "{},{},TX0{} Step,200,OK,Bank Users 1-{},text,true,,412,233,50,50,http://127.0.0.1:8080/x,{},0,1\n",
            1_795_000_000_000u64 + i * 2,
            10 + i % 300,
            i % 8,
            i % 50,
            5 + i % 100
        ));
    }
    let dir = std::env::temp_dir().join(format!("rmeter-micro-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let jtl = dir.join("rows.jtl");
    std::fs::write(&jtl, text).expect("write rows");
    let props = Properties::with_jmeter_defaults();
    let settings = rmeter::report::settings(&props).expect("default settings");
    let mut group = c.benchmark_group("report");
    group.throughput(Throughput::Elements(rows));
    group.bench_function("read_and_aggregate", |b| {
        b.iter(|| {
            let mut collector = rmeter::report::stats::Collector::new(settings.clone());
            rmeter::report::read::read_jtl(&jtl, b',', true, |row| collector.add(row))
                .expect("read rows");
            black_box(collector.total.count)
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(
    benches,
    parse_and_build,
    template_render,
    jtl_row,
    report_rows
);
criterion_main!(benches);
