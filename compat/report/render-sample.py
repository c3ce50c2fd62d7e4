#!/usr/bin/env python3
"""Builds a standalone report page from the template, the page script, the vendored uPlot and
sample-data.json, with the substitutions src/report/html.rs makes, for working on the page
without a Rust build:

    python3 compat/report/render-sample.py /tmp/r/index.html [data.json]
    bash compat/report/chromium-check.sh /tmp/r/index.html /tmp/r/shot.png
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
report = os.path.join(here, "..", "..", "src", "report")


def read(*path):
    with open(os.path.join(*path), encoding="utf-8") as f:
        return f.read()


out = sys.argv[1]
data_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "sample-data.json")
with open(data_path, encoding="utf-8") as f:
    data = json.dumps(json.load(f), separators=(",", ":")).replace("</", "<\\/")
page = read(report, "page", "index.html")
for placeholder, text in [
    ("/*RMETER_UPLOT_CSS*/", read(report, "vendor", "uplot", "uPlot.min.css")),
    ("/*RMETER_PAGE_CSS*/", read(report, "page", "style.css")),
    ("/*RMETER_UPLOT_JS*/", read(report, "vendor", "uplot", "uPlot.iife.min.js")),
    ("/*RMETER_PAGE_JS*/", read(report, "page", "report.js")),
    # Last, as in html.rs, so that no text in the data can be taken for a placeholder.
    ("/*RMETER_DATA*/", data),
]:
    if page.count(placeholder) != 1:
        sys.exit("%s: expected %s exactly once" % (os.path.join(report, "page", "index.html"), placeholder))
    page = page.replace(placeholder, text, 1)
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
with open(out, "w", encoding="utf-8") as f:
    f.write(page)
print("wrote", out)
