//! Fills the page template: the data, the page script and the vendored uPlot (MIT, see
//! `vendor/uplot/README.md`) are inlined, so the page works from `file://` with no network.

const TEMPLATE: &str = include_str!("page/index.html");
const PAGE_JS: &str = include_str!("page/report.js");
const PAGE_CSS: &str = include_str!("page/style.css");
const UPLOT_JS: &str = include_str!("vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("vendor/uplot/uPlot.min.css");

/// The report page for this data.
pub fn page(data: &serde_json::Value) -> String {
    fill(TEMPLATE, PAGE_JS, data)
}

fn fill(template: &str, script: &str, data: &serde_json::Value) -> String {
    // `</` would end the inline script early.
    let data = serde_json::to_string(data)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/");
    template
        .replacen("/*RMETER_UPLOT_CSS*/", UPLOT_CSS, 1)
        .replacen("/*RMETER_PAGE_CSS*/", PAGE_CSS, 1)
        .replacen("/*RMETER_UPLOT_JS*/", UPLOT_JS, 1)
        .replacen("/*RMETER_PAGE_JS*/", script, 1)
        // Last, so that no text in the data can be taken for a placeholder.
        .replacen("/*RMETER_DATA*/", &data, 1)
}

const COMPARE_TEMPLATE: &str = include_str!("page/compare.html");
const COMPARE_JS: &str = include_str!("page/compare.js");

/// The comparison page, from `compare.json`'s data.
pub fn compare_page(data: &serde_json::Value) -> String {
    fill(COMPARE_TEMPLATE, COMPARE_JS, data)
}
