#include "admin/dashboard_page.h"

namespace gw::admin {

// Kept as plain text (textContent only, never innerHTML) so that no metric label or
// account field can inject markup.
const std::string_view kDashboardHtml = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>kallglot-gateway</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
  h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 2em; }
  table { border-collapse: collapse; } td, th { padding: 2px 10px; border-bottom: 1px solid #ddd; }
  td.v { text-align: right; font-variant-numeric: tabular-nums; }
  #status { color: #666; } .bad { color: #b00; }
  pre { background: #f6f6f6; padding: 1em; max-width: 60em; overflow: auto; }
  input { margin-right: .5em; }
</style>
</head>
<body>
<h1>kallglot-gateway</h1>
<p id="status">loading /metrics &hellip;</p>

<h2>Account usage</h2>
<form id="usage-form">
  <input id="account" placeholder="account id" required>
  <input id="token" type="password" placeholder="admin token" autocomplete="off" required>
  <button>Show usage</button>
</form>
<pre id="usage"></pre>

<h2>Metrics</h2>
<table><thead><tr><th>series</th><th>labels</th><th>value</th></tr></thead>
<tbody id="metrics"></tbody></table>

<script>
"use strict";
const $ = (id) => document.getElementById(id);

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

// Prometheus text format: "name{labels} value"; histogram buckets are left out.
function parse(text) {
  const rows = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)/);
    if (!m || m[1].endsWith("_bucket")) continue;
    rows.push([m[1], m[2] ? m[2].slice(1, -1) : "", m[3]]);
  }
  return rows;
}

async function refresh() {
  try {
    const res = await fetch("/metrics", { cache: "no-store" });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const body = $("metrics");
    body.replaceChildren();
    for (const [name, labels, value] of parse(await res.text())) {
      const row = document.createElement("tr");
      cell(row, name); cell(row, labels); cell(row, value, "v");
      body.appendChild(row);
    }
    $("status").className = "";
    $("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("status").className = "bad";
    $("status").textContent = "cannot read /metrics: " + e.message;
  }
}

$("usage-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = encodeURIComponent($("account").value.trim());
  try {
    const res = await fetch("/admin/v1/accounts/" + id + "/usage", {
      headers: { "Authorization": "Bearer " + $("token").value },
      cache: "no-store",
    });
    $("usage").textContent = JSON.stringify(await res.json(), null, 2);
  } catch (e) {
    $("usage").textContent = "request failed: " + e.message;
  }
});

refresh();
setInterval(refresh, 5000);
</script>
</body>
</html>
)html";

}  // namespace gw::admin
