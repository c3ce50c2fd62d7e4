//! Fills the page template: the data, the page script and the vendored uPlot (MIT, see
//! `vendor/uplot/README.md`) are inlined, so the page works from `file://` with no network.

const TEMPLATE: &str = include_str!("page/index.html");
const PAGE_JS: &str = include_str!("page/report.js");
const UPLOT_JS: &str = include_str!("vendor/uplot/uPlot.iife.min.js");
const UPLOT_CSS: &str = include_str!("vendor/uplot/uPlot.min.css");

/// The page for this data.
pub fn page(data: &serde_json::Value) -> String {
    // `</` would end the inline script early.
    let data = serde_json::to_string(data)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/");
    TEMPLATE
        .replacen("/*RMETER_UPLOT_CSS*/", UPLOT_CSS, 1)
        .replacen("/*RMETER_UPLOT_JS*/", UPLOT_JS, 1)
        .replacen("/*RMETER_PAGE_JS*/", PAGE_JS, 1)
        // Last, so that no text in the data can be taken for a placeholder.
        .replacen("/*RMETER_DATA*/", &data, 1)
}

/// The comparison page: until it has charts of its own, the markdown table in a page.
pub fn compare_page(_data: &serde_json::Value, markdown: &str) -> String {
    let escaped = markdown
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!("<!doctype html>\n<meta charset=\"utf-8\">\n<title>rmeter compare</title>\n<pre>{escaped}</pre>\n")
}
