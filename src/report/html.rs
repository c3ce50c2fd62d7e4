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
