//! `compat/ELEMENTS.md` is generated from the support table; this test fails when it is stale.
//! Regenerate with `cargo run -- elements > compat/ELEMENTS.md`.

#[test]
fn elements_md_is_fresh() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compat/ELEMENTS.md");
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = rmeter::plan::support::elements_markdown();
    assert!(
        on_disk == generated,
        "compat/ELEMENTS.md is stale: run `cargo run -- elements > compat/ELEMENTS.md`\n--- generated ---\n{generated}"
    );
}
