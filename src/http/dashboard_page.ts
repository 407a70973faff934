/**
 * The dashboard: one self-contained page (HTML, CSS and vanilla JS, no framework, nothing
 * fetched but the API) embedded as a string so that the compiled binary carries it. Overview
 * with live rates (polls /api/v1/stats every 2 s), clients with search and kick, subscriptions,
 * retained messages with delete, a topic tree, and a publish form; bridges (when configured) as
 * a panel of the overview. Responsive down to phone
 * width. Everything from the API is inserted as text (textContent), never as HTML.
 *
 * The script avoids backticks and dollar-brace so that it can live in this template literal.
 *
 * @module
 */

export const DASHBOARD_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgemq dashboard</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Ccircle cx='8' cy='8' r='7' fill='%230f766e'/%3E%3C/svg%3E">
<style>
:root {
  --bg: #f5f7f9; --panel: #fff; --text: #1c2530; --muted: #627082; --line: #e2e7ec;
  --accent: #0f766e; --accent-soft: #e0f2f0; --danger: #b42318; --danger-soft: #fde8e6;
  --ok: #1a7f37; --warn: #9a6700; --radius: 10px;
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body {
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif;
  background: var(--bg); color: var(--text);
}
header {
  display: flex; align-items: center; gap: 12px; flex-wrap: wrap;
  padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--line);
}
.brand { font-weight: 700; font-size: 17px; letter-spacing: .2px; display: flex; align-items: center; gap: 8px; }
.brand .dot { width: 12px; height: 12px; border-radius: 50%; background: var(--accent); display: inline-block; }
.meta { color: var(--muted); font-size: 13px; }
.spacer { flex: 1; }
.live { font-size: 12px; color: var(--muted); display: flex; align-items: center; gap: 6px; }
.live i { width: 8px; height: 8px; border-radius: 50%; background: #b0b8c1; display: inline-block; }
.live.on i { background: var(--ok); }
.live.off i { background: var(--danger); }
nav {
  display: flex; gap: 4px; padding: 0 16px; background: var(--panel); border-bottom: 1px solid var(--line);
  overflow-x: auto; scrollbar-width: none; position: sticky; top: 0; z-index: 5;
}
nav::-webkit-scrollbar { display: none; }
nav button {
  border: 0; background: none; padding: 11px 12px; font: inherit; color: var(--muted); cursor: pointer;
  border-bottom: 2px solid transparent; white-space: nowrap;
}
nav button[aria-selected="true"] { color: var(--accent); border-bottom-color: var(--accent); font-weight: 600; }
main { padding: 18px 20px 40px; max-width: 1200px; margin: 0 auto; }
section[hidden] { display: none; }
h2 { font-size: 15px; margin: 0 0 12px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-bottom: 16px; }
.card, .panel { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); }
.card { padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .4px; }
.card .value { font-size: 24px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card .sub { color: var(--muted); font-size: 12px; }
.panel { padding: 14px; margin-bottom: 16px; }
.chart-head { display: flex; justify-content: space-between; align-items: baseline; gap: 10px; flex-wrap: wrap; }
.legend { font-size: 12px; color: var(--muted); display: flex; gap: 14px; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 3px; margin-right: 5px; vertical-align: middle; background: var(--c); }
canvas { width: 100%; height: 180px; display: block; }
.toolbar { display: flex; gap: 8px; margin-bottom: 12px; flex-wrap: wrap; align-items: center; }
.toolbar .count { color: var(--muted); font-size: 13px; margin-left: auto; }
input, select, textarea {
  font: inherit; color: inherit; background: #fff; border: 1px solid #cfd6dd; border-radius: 8px; padding: 7px 10px;
}
input:focus, select:focus, textarea:focus { outline: 2px solid var(--accent-soft); border-color: var(--accent); }
input[type="search"] { flex: 1; min-width: 160px; max-width: 360px; }
textarea { font-family: var(--mono); font-size: 13px; width: 100%; min-height: 90px; resize: vertical; }
button.btn {
  font: inherit; border: 1px solid #cfd6dd; background: #fff; color: var(--text); border-radius: 8px;
  padding: 6px 12px; cursor: pointer; white-space: nowrap;
}
button.btn:hover { border-color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.primary:hover { filter: brightness(1.08); }
button.danger { color: var(--danger); border-color: #f1c3bf; background: #fff; }
button.danger:hover { background: var(--danger-soft); border-color: var(--danger); }
button.small { padding: 3px 9px; font-size: 13px; }
.table-wrap { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); overflow-x: auto; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 8px 12px; border-bottom: 1px solid var(--line); vertical-align: middle; }
th { font-size: 12px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .3px; background: #fafbfc; }
tr:last-child td { border-bottom: 0; }
td.mono, .mono { font-family: var(--mono); font-size: 12.5px; word-break: break-all; }
td.num { font-variant-numeric: tabular-nums; }
td.actions { text-align: right; white-space: nowrap; }
.empty { padding: 22px; text-align: center; color: var(--muted); }
.badge { display: inline-block; font-size: 11.5px; padding: 1px 8px; border-radius: 99px; background: #eef1f4; color: var(--muted); white-space: nowrap; }
.badge.on { background: #e3f4e8; color: var(--ok); }
.badge.ret { background: var(--accent-soft); color: var(--accent); }
.badge.subs { background: #fff4d6; color: var(--warn); }
.badge.warn { background: #fff4d6; color: var(--warn); }
.badge.bad { background: var(--danger-soft); color: var(--danger); }
.panel .table-wrap { border: 0; border-radius: 0 0 var(--radius) var(--radius); margin: 0 -14px -14px; border-top: 1px solid var(--line); }
td .sub { display: block; color: var(--muted); font-size: 12px; }
td.err { color: var(--danger); max-width: 320px; overflow-wrap: anywhere; }
td.err .sub { color: var(--muted); }
.payload { max-width: 380px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.tree { font-family: var(--mono); font-size: 13px; }
.tree details { margin-left: 16px; }
.tree > details { margin-left: 0; }
.tree summary { cursor: pointer; padding: 3px 0; list-style: none; display: flex; gap: 8px; align-items: center; }
.tree summary::-webkit-details-marker { display: none; }
.tree summary::before { content: "\25B8"; color: var(--muted); width: 10px; display: inline-block; }
.tree details[open] > summary::before { transform: rotate(90deg); }
.tree details.leaf > summary::before { content: "\2022"; transform: none; }
form.grid { display: grid; grid-template-columns: 140px 1fr; gap: 10px 14px; align-items: center; max-width: 760px; }
form.grid label { color: var(--muted); font-size: 13px; }
form.grid .full { grid-column: 2; }
form.grid .row { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
.result { margin-top: 4px; font-size: 13px; }
.result.ok { color: var(--ok); }
.result.err { color: var(--danger); }
#toast {
  position: fixed; left: 50%; bottom: 18px; transform: translateX(-50%); background: #1c2530; color: #fff;
  padding: 9px 16px; border-radius: 8px; font-size: 13px; opacity: 0; pointer-events: none; transition: opacity .2s; max-width: 90vw;
}
#toast.show { opacity: .95; }
#toast.err { background: var(--danger); }
dialog { border: 1px solid var(--line); border-radius: var(--radius); padding: 20px; width: min(380px, 92vw); }
dialog::backdrop { background: rgba(20, 30, 40, .35); }
dialog form { display: grid; gap: 10px; }
dialog h3 { margin: 0 0 4px; }
dialog p { margin: 0; color: var(--muted); font-size: 13px; }
@media (max-width: 720px) {
  header { padding: 10px 14px; }
  nav { padding: 0 6px; }
  nav button { padding: 11px 9px; }
  main { padding: 14px 12px 40px; }
  .cards { grid-template-columns: repeat(2, 1fr); gap: 8px; }
  .card .value { font-size: 20px; }
  form.grid { grid-template-columns: 1fr; }
  form.grid .full { grid-column: 1; }
  /* Tables become one card per row. */
  .table-wrap { background: none; border: 0; overflow: visible; }
  table.cards-sm, table.cards-sm tbody, table.cards-sm tr, table.cards-sm td { display: block; width: 100%; }
  table.cards-sm thead { display: none; }
  table.cards-sm tr { background: var(--panel); border: 1px solid var(--line); border-radius: var(--radius); margin-bottom: 8px; padding: 6px 0; }
  table.cards-sm td { border: 0; padding: 3px 12px; display: flex; justify-content: space-between; gap: 12px; text-align: right; }
  table.cards-sm td::before { content: attr(data-label); color: var(--muted); font-size: 12px; text-align: left; flex: none; }
  table.cards-sm td.actions { justify-content: flex-end; padding-top: 6px; }
  table.cards-sm td.actions::before { content: none; }
  table.cards-sm td .sub { display: inline; margin-left: 6px; }
  table.cards-sm td.err { max-width: none; }
  .panel .table-wrap { margin: 0; border-top: 0; }
  .payload { max-width: 60vw; }
}
</style>
</head>
<body>
<header>
  <div class="brand"><span class="dot"></span>edgemq</div>
  <div class="meta" id="meta">connecting…</div>
  <div class="spacer"></div>
  <div class="live" id="live"><i></i><span>live</span></div>
  <button class="btn small" id="logout" hidden>Sign out</button>
</header>
<nav role="tablist">
  <button role="tab" data-tab="overview" aria-selected="true">Overview</button>
  <button role="tab" data-tab="clients">Clients</button>
  <button role="tab" data-tab="subscriptions">Subscriptions</button>
  <button role="tab" data-tab="retained">Retained</button>
  <button role="tab" data-tab="topics">Topics</button>
  <button role="tab" data-tab="publish">Publish</button>
</nav>
<main>
  <section id="tab-overview">
    <div class="cards">
      <div class="card"><div class="label">Connected</div><div class="value" id="s-connected">–</div><div class="sub" id="s-offline">&nbsp;</div></div>
      <div class="card"><div class="label">Messages in/s</div><div class="value" id="s-in">–</div><div class="sub" id="s-in-total">&nbsp;</div></div>
      <div class="card"><div class="label">Messages out/s</div><div class="value" id="s-out">–</div><div class="sub" id="s-out-total">&nbsp;</div></div>
      <div class="card"><div class="label">Dropped</div><div class="value" id="s-dropped">–</div><div class="sub" id="s-drop-rate">&nbsp;</div></div>
      <div class="card"><div class="label">Subscriptions</div><div class="value" id="s-subs">–</div><div class="sub">&nbsp;</div></div>
      <div class="card"><div class="label">Retained</div><div class="value" id="s-retained">–</div><div class="sub">&nbsp;</div></div>
      <div class="card"><div class="label">Queued</div><div class="value" id="s-queued">–</div><div class="sub" id="s-inflight">&nbsp;</div></div>
      <div class="card"><div class="label">Memory</div><div class="value" id="s-mem">–</div><div class="sub" id="s-heap">&nbsp;</div></div>
    </div>
    <div class="panel">
      <div class="chart-head">
        <h2>Message rate</h2>
        <div class="legend"><span style="--c:#0f766e">in</span><span style="--c:#d97706">out</span></div>
      </div>
      <canvas id="chart" height="180"></canvas>
    </div>
    <div class="panel" id="bridges-panel" hidden>
      <div class="chart-head">
        <h2>Bridges</h2>
        <span class="meta" id="bridge-count"></span>
      </div>
      <div class="table-wrap"><table class="cards-sm" id="bridges-table">
        <thead><tr><th>Bridge</th><th>State</th><th>Queued</th><th>Forwarded</th><th>Received</th><th>Dropped</th><th>Last error</th></tr></thead>
        <tbody></tbody>
      </table></div>
    </div>
  </section>

  <section id="tab-clients" hidden>
    <div class="toolbar">
      <input type="search" id="client-search" placeholder="Search clients" aria-label="Search clients">
      <select id="client-state" aria-label="Connection state">
        <option value="">all</option><option value="true">connected</option><option value="false">offline</option>
      </select>
      <span class="count" id="client-count"></span>
    </div>
    <div class="table-wrap"><table class="cards-sm" id="clients-table">
      <thead><tr><th>Client ID</th><th>State</th><th>Username</th><th>Protocol</th><th>Address</th><th>Keep alive</th><th>Subs</th><th>Queued</th><th></th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>

  <section id="tab-subscriptions" hidden>
    <div class="toolbar">
      <input type="search" id="sub-search" placeholder="Search subscriptions" aria-label="Search subscriptions">
      <span class="count" id="sub-count"></span>
    </div>
    <div class="table-wrap"><table class="cards-sm" id="subs-table">
      <thead><tr><th>Topic filter</th><th>Client ID</th><th>QoS</th><th>Options</th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>

  <section id="tab-retained" hidden>
    <div class="toolbar">
      <input type="search" id="ret-filter" placeholder="Topic filter, e.g. sensors/#" aria-label="Topic filter" value="#">
      <button class="btn" id="ret-refresh">Apply</button>
      <span class="count" id="ret-count"></span>
    </div>
    <div class="table-wrap"><table class="cards-sm" id="ret-table">
      <thead><tr><th>Topic</th><th>Payload</th><th>QoS</th><th>Size</th><th>Stored</th><th></th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>

  <section id="tab-topics" hidden>
    <div class="toolbar">
      <label class="meta"><input type="checkbox" id="tree-sys"> include $SYS</label>
      <span class="count" id="tree-count"></span>
    </div>
    <div class="panel tree" id="tree"></div>
  </section>

  <section id="tab-publish" hidden>
    <div class="panel">
      <h2>Publish a message</h2>
      <form class="grid" id="pub-form" autocomplete="off">
        <label for="pub-topic">Topic</label>
        <input id="pub-topic" required placeholder="devices/42/cmd">
        <label for="pub-payload">Payload</label>
        <textarea id="pub-payload" placeholder="{&quot;on&quot;: true}"></textarea>
        <label for="pub-qos">Options</label>
        <div class="row">
          <select id="pub-qos" aria-label="QoS"><option value="0">QoS 0</option><option value="1">QoS 1</option><option value="2">QoS 2</option></select>
          <select id="pub-encoding" aria-label="Payload encoding"><option value="plain">text</option><option value="base64">base64</option></select>
          <label><input type="checkbox" id="pub-retain"> retain</label>
        </div>
        <label for="pub-ctype">Content type</label>
        <input id="pub-ctype" placeholder="application/json (MQTT 5)">
        <label for="pub-expiry">Expiry (s)</label>
        <input id="pub-expiry" type="number" min="0" placeholder="none">
        <label for="pub-props">User properties</label>
        <textarea id="pub-props" placeholder="one name=value per line (MQTT 5)" style="min-height:54px"></textarea>
        <div></div>
        <div class="row"><button class="btn primary" id="pub-submit" type="submit">Publish</button><span class="result" id="pub-result" role="status"></span></div>
      </form>
    </div>
  </section>
</main>
<div id="toast" role="status"></div>
<dialog id="login">
  <form method="dialog" id="login-form">
    <h3>Sign in</h3>
    <p>This broker's HTTP API needs credentials: a user, or an API key.</p>
    <input id="login-user" placeholder="Username" autocomplete="username">
    <input id="login-pass" type="password" placeholder="Password or API key" autocomplete="current-password">
    <p class="result err" id="login-err"></p>
    <button class="btn primary" type="submit">Sign in</button>
  </form>
</dialog>
<script>
"use strict";
(function () {
  var API = "/api/v1";
  var POLL_MS = 2000;
  var $ = function (id) { return document.getElementById(id); };
  var auth = sessionStorage.getItem("edgemq-auth") || "";
  var current = "overview";
  var last = null;
  var series = [];
  var MAX_POINTS = 90;
  var clientsCache = [];
  var subsCache = [];

  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), attrs[k]);
      else e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) continue;
      e.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  function td(label, content, cls) {
    var cell = el("td", { "data-label": label });
    if (cls) cell.className = cls;
    if (content !== null && typeof content === "object") cell.appendChild(content);
    else cell.textContent = content === null || content === undefined ? "–" : String(content);
    return cell;
  }
  function fmtNum(n) {
    if (n === null || n === undefined || isNaN(n)) return "–";
    if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
    if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
    return String(Math.round(n * 10) / 10);
  }
  function fmtBytes(n) {
    if (n === undefined || n === null) return "–";
    var u = ["B", "KiB", "MiB", "GiB"]; var i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(1)) + " " + u[i];
  }
  function fmtDuration(s) {
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    if (d > 0) return d + "d " + h + "h";
    if (h > 0) return h + "h " + m + "m";
    return m + "m " + (s % 60) + "s";
  }
  function fmtTime(ms) {
    if (!ms) return "–";
    var d = new Date(ms);
    return d.toLocaleString();
  }
  function toast(msg, isErr) {
    var t = $("toast");
    t.textContent = msg;
    t.className = "show" + (isErr ? " err" : "");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.className = ""; }, 3000);
  }

  function api(method, path, body) {
    var headers = { "x-requested-with": "edgemq-dashboard" };
    if (auth) headers.authorization = auth;
    var init = { method: method, headers: headers };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(API + path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (res.status === 401) showLogin();
        if (!res.ok) {
          var msg = data && data.error ? data.error.message : ("HTTP " + res.status);
          var err = new Error(msg); err.status = res.status; throw err;
        }
        return data;
      });
    });
  }

  function showLogin(message) {
    var d = $("login");
    if (d.open) return;
    $("login-err").textContent = message || (auth ? "Those credentials were refused." : "");
    d.showModal();
  }
  $("login-form").addEventListener("submit", function () {
    var user = $("login-user").value, pass = $("login-pass").value;
    auth = user ? "Basic " + btoa(unescape(encodeURIComponent(user + ":" + pass))) : "Bearer " + pass;
    sessionStorage.setItem("edgemq-auth", auth);
    $("logout").hidden = false;
    refresh();
  });
  $("logout").hidden = !auth;
  $("logout").addEventListener("click", function () {
    auth = ""; sessionStorage.removeItem("edgemq-auth"); $("logout").hidden = true; refresh();
  });

  // --- tabs
  var tabs = document.querySelectorAll("nav button");
  function select(name) {
    current = name;
    for (var i = 0; i < tabs.length; i++) {
      var on = tabs[i].getAttribute("data-tab") === name;
      tabs[i].setAttribute("aria-selected", on ? "true" : "false");
      // On a phone the tab bar scrolls: keep the selected tab in view.
      if (on && tabs[i].scrollIntoView) tabs[i].scrollIntoView({ block: "nearest", inline: "nearest" });
      $("tab-" + tabs[i].getAttribute("data-tab")).hidden = !on;
    }
    if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
    refreshTab();
    if (name === "overview") drawChart();
  }
  for (var i = 0; i < tabs.length; i++) {
    tabs[i].addEventListener("click", function (ev) { select(ev.currentTarget.getAttribute("data-tab")); });
  }

  // --- overview
  function setText(id, v) { $(id).textContent = v; }
  function loadStats() {
    return api("GET", "/stats").then(function (s) {
      $("live").className = "live on";
      setText("meta", s.node + " · v" + s.version + " · up " + fmtDuration(s.uptimeSeconds));
      var now = s.time;
      var rin = 0, rout = 0, rdrop = 0;
      if (last && now > last.time) {
        var dt = (now - last.time) / 1000;
        rin = Math.max(0, (s.messages.received - last.messages.received) / dt);
        rout = Math.max(0, (s.messages.sent - last.messages.sent) / dt);
        rdrop = Math.max(0, (s.messages.dropped - last.messages.dropped) / dt);
        series.push({ t: now, rin: rin, rout: rout });
        if (series.length > MAX_POINTS) series.shift();
      }
      last = s;
      setText("s-connected", fmtNum(s.clients.connected));
      setText("s-offline", s.clients.disconnected + " offline · max " + s.clients.maximum);
      setText("s-in", last && series.length ? fmtNum(rin) : "–");
      setText("s-out", last && series.length ? fmtNum(rout) : "–");
      setText("s-in-total", fmtNum(s.messages.received) + " total");
      setText("s-out-total", fmtNum(s.messages.sent) + " total");
      setText("s-dropped", fmtNum(s.messages.dropped + s.messages.expired));
      setText("s-drop-rate", fmtNum(rdrop) + "/s");
      setText("s-subs", fmtNum(s.subscriptions));
      setText("s-retained", fmtNum(s.retained));
      setText("s-queued", fmtNum(s.messages.queued));
      setText("s-inflight", fmtNum(s.messages.inflight) + " in flight");
      setText("s-mem", s.memory ? fmtBytes(s.memory.rss) : "–");
      setText("s-heap", s.memory ? "heap " + fmtBytes(s.memory.heapUsed) : "");
      if (current === "overview") drawChart();
      var hasBridges = !!(s.bridges && s.bridges.total > 0);
      $("bridges-panel").hidden = !hasBridges;
      if (hasBridges && current === "overview") return loadBridges();
    });
  }

  // --- bridges (a panel of the overview)
  function fmtAgo(ms, now) {
    var s = Math.max(0, Math.round((now - ms) / 1000));
    return s < 60 ? s + " s ago" : fmtDuration(s) + " ago";
  }
  function loadBridges() {
    return api("GET", "/bridges?limit=1000").then(function (page) {
      var now = last ? last.time : Date.now();
      var body = $("bridges-table").tBodies[0];
      body.replaceChildren();
      var up = 0;
      page.data.forEach(function (b) {
        if (b.connected) up++;
        var badge = b.connected ? "badge on" : b.state === "connecting" && !b.failedAttempts ? "badge warn" : "badge bad";
        var stateText = b.connected ? "connected" : b.state;
        var since = b.connected && b.connectedSince ? "for " + fmtAgo(b.connectedSince, now).replace(" ago", "")
          : b.failedAttempts ? b.failedAttempts + " failed attempt" + (b.failedAttempts === 1 ? "" : "s") : "";
        var reasons = Object.keys(b.droppedByReason).filter(function (r) { return b.droppedByReason[r] > 0; })
          .map(function (r) { return r.replace(/_/g, " ") + " " + fmtNum(b.droppedByReason[r]); }).join(", ");
        var errCell = td("Last error", null, b.lastError && !b.connected ? "err" : "");
        if (b.lastError) {
          errCell.replaceChildren(el("span", null, b.lastError,
            b.lastErrorAt ? el("span", { class: "sub", text: fmtAgo(b.lastErrorAt, now) }) : null));
        }
        body.appendChild(el("tr", { "data-bridge": b.name },
          td("Bridge", el("span", null, el("strong", { text: b.name }), el("span", { class: "sub mono", text: b.address }))),
          td("State", el("span", null, el("span", { class: badge, text: stateText }), since ? el("span", { class: "sub", text: since }) : null)),
          td("Queued", fmtNum(b.queued) + (b.queued ? " · " + fmtBytes(b.queuedBytes) : ""), "num"),
          td("Forwarded", fmtNum(b.forwarded), "num"),
          td("Received", fmtNum(b.received), "num"),
          td("Dropped", el("span", { title: reasons }, fmtNum(b.dropped), reasons ? el("span", { class: "sub", text: reasons }) : null), "num"),
          errCell));
      });
      setText("bridge-count", up + " of " + page.meta.count + " connected");
    });
  }

  function drawChart() {
    var c = $("chart");
    var w = c.clientWidth, h = c.clientHeight;
    if (!w || !h) return;
    var dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr)) { c.width = Math.round(w * dpr); c.height = Math.round(h * dpr); }
    var g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    var peak = 0;
    for (var i = 0; i < series.length; i++) peak = Math.max(peak, series[i].rin, series[i].rout);
    var max = 4 * niceStep(peak / 4);
    var left = 44, top = 8, bottom = 20, right = 8;
    var pw = w - left - right, ph = h - top - bottom;
    g.font = "11px system-ui, sans-serif"; g.fillStyle = "#627082"; g.strokeStyle = "#e2e7ec"; g.lineWidth = 1;
    for (var k = 0; k <= 4; k++) {
      var y = top + ph - ph * k / 4;
      g.beginPath(); g.moveTo(left, Math.round(y) + 0.5); g.lineTo(w - right, Math.round(y) + 0.5); g.stroke();
      g.textAlign = "right"; g.textBaseline = "middle"; g.fillText(fmtNum(max * k / 4), left - 6, y);
    }
    g.textAlign = "left"; g.textBaseline = "top";
    g.fillText((MAX_POINTS * POLL_MS / 60000) + " min ago", left, h - bottom + 5);
    g.textAlign = "right"; g.fillText("now", w - right, h - bottom + 5);
    if (series.length < 2) {
      g.textAlign = "center"; g.textBaseline = "middle"; g.fillText("collecting…", left + pw / 2, top + ph / 2);
      return;
    }
    function line(key, color) {
      g.strokeStyle = color; g.lineWidth = 2; g.lineJoin = "round"; g.beginPath();
      for (var i = 0; i < series.length; i++) {
        var x = left + pw * (MAX_POINTS - series.length + i) / (MAX_POINTS - 1);
        var y = top + ph - ph * series[i][key] / max;
        if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
      }
      g.stroke();
    }
    line("rin", "#0f766e");
    line("rout", "#d97706");
  }
  // A round tick step (1, 2, 2.5 or 5 times a power of ten) at least v, and at least 1.
  function niceStep(v) {
    if (!(v > 1)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }
  window.addEventListener("resize", drawChart);

  // --- clients
  function loadClients() {
    var state = $("client-state").value;
    return api("GET", "/clients?limit=1000" + (state ? "&connected=" + state : "")).then(function (page) {
      clientsCache = page.data;
      renderClients(page.meta.count);
    });
  }
  function renderClients(total) {
    var q = $("client-search").value.trim().toLowerCase();
    var rows = clientsCache.filter(function (c) {
      return !q || c.clientId.toLowerCase().indexOf(q) >= 0 || (c.username || "").toLowerCase().indexOf(q) >= 0;
    });
    var body = $("clients-table").tBodies[0];
    body.replaceChildren();
    rows.forEach(function (c) {
      var action = c.connected
        ? el("button", { class: "btn danger small", text: "Kick", title: "Disconnect (MQTT 5: reason 0x98 Administrative action)", onclick: function () { kick(c.clientId, false); } })
        : el("button", { class: "btn danger small", text: "Remove", title: "Remove the offline session", onclick: function () { kick(c.clientId, true); } });
      body.appendChild(el("tr", { "data-client-id": c.clientId },
        td("Client ID", c.clientId, "mono"),
        td("State", el("span", { class: "badge" + (c.connected ? " on" : ""), text: c.connected ? "connected" : "offline" })),
        td("Username", c.username),
        td("Protocol", c.protocol),
        td("Address", c.address, "mono"),
        td("Keep alive", c.keepAlive === null ? null : c.keepAlive + " s", "num"),
        td("Subs", c.subscriptions, "num"),
        td("Queued", c.queued + (c.inflight ? " (+" + c.inflight + ")" : ""), "num"),
        td("", action, "actions")));
    });
    if (rows.length === 0) body.appendChild(el("tr", null, el("td", { colspan: "9", class: "empty", text: "No clients" })));
    setText("client-count", rows.length + (rows.length !== total ? " of " + total : "") + " client" + (total === 1 ? "" : "s"));
  }
  function kick(id, discard) {
    api("DELETE", "/clients/" + encodeURIComponent(id) + (discard ? "?session=discard" : "")).then(function () {
      toast((discard ? "Removed session " : "Disconnected ") + id);
      loadClients();
    }, function (e) { toast(e.message, true); });
  }
  $("client-search").addEventListener("input", function () { renderClients(clientsCache.length); });
  $("client-state").addEventListener("change", loadClients);

  // --- subscriptions
  function loadSubs() {
    return api("GET", "/subscriptions?limit=1000").then(function (page) {
      subsCache = page.data;
      renderSubs(page.meta.count);
    });
  }
  function renderSubs(total) {
    var q = $("sub-search").value.trim().toLowerCase();
    var rows = subsCache.filter(function (s) {
      return !q || s.topic.toLowerCase().indexOf(q) >= 0 || s.clientId.toLowerCase().indexOf(q) >= 0;
    });
    var body = $("subs-table").tBodies[0];
    body.replaceChildren();
    rows.forEach(function (s) {
      var opts = [];
      if (s.share) opts.push("shared: " + s.share);
      if (s.noLocal) opts.push("no local");
      if (s.retainAsPublished) opts.push("retain as published");
      if (s.retainHandling) opts.push("retain handling " + s.retainHandling);
      if (s.subscriptionId !== null) opts.push("id " + s.subscriptionId);
      body.appendChild(el("tr", null,
        td("Topic filter", s.topic, "mono"), td("Client ID", s.clientId, "mono"),
        td("QoS", s.qos, "num"), td("Options", opts.join(", ") || "–")));
    });
    if (rows.length === 0) body.appendChild(el("tr", null, el("td", { colspan: "4", class: "empty", text: "No subscriptions" })));
    setText("sub-count", rows.length + (rows.length !== total ? " of " + total : "") + " subscription" + (total === 1 ? "" : "s"));
  }
  $("sub-search").addEventListener("input", function () { renderSubs(subsCache.length); });

  // --- retained
  function loadRetained() {
    var f = $("ret-filter").value.trim() || "#";
    return api("GET", "/retained?limit=1000&topic=" + encodeURIComponent(f)).then(function (page) {
      var body = $("ret-table").tBodies[0];
      body.replaceChildren();
      page.data.forEach(function (m) {
        var shown = m.encoding === "base64" ? "base64: " + m.payload : m.payload;
        body.appendChild(el("tr", { "data-topic": m.topic },
          td("Topic", m.topic, "mono"),
          td("Payload", el("div", { class: "payload mono", title: shown, text: shown + (m.truncated ? "…" : "") })),
          td("QoS", m.qos, "num"), td("Size", fmtBytes(m.size), "num"), td("Stored", fmtTime(m.storedAt)),
          td("", el("button", { class: "btn danger small", text: "Delete", onclick: function () { delRetained(m.topic); } }), "actions")));
      });
      if (page.data.length === 0) body.appendChild(el("tr", null, el("td", { colspan: "6", class: "empty", text: "No retained messages match " + f })));
      setText("ret-count", page.meta.count + " message" + (page.meta.count === 1 ? "" : "s"));
    }, function (e) { setText("ret-count", e.message); throw e; });
  }
  function delRetained(topic) {
    api("DELETE", "/retained/" + encodeURIComponent(topic)).then(function () {
      toast("Deleted retained message on " + topic); loadRetained();
    }, function (e) { toast(e.message, true); });
  }
  $("ret-refresh").addEventListener("click", function () { loadRetained().catch(function () {}); });
  $("ret-filter").addEventListener("keydown", function (e) { if (e.key === "Enter") loadRetained().catch(function () {}); });

  // --- topic tree
  var openPaths = {};
  function loadTree() {
    return api("GET", "/topics" + ($("tree-sys").checked ? "?sys=true" : "")).then(function (root) {
      var box = $("tree");
      box.replaceChildren();
      var count = 0;
      function node(n) {
        count++;
        var d = el("details", { "data-path": n.path });
        if (!n.children.length) d.className = "leaf";
        if (openPaths[n.path] || n.path.split("/").length < 2) d.open = true;
        d.addEventListener("toggle", function () { openPaths[n.path] = d.open; });
        var s = el("summary", null, el("span", { text: n.name === "" ? "(empty)" : n.name }));
        if (n.retained) s.appendChild(el("span", { class: "badge ret", text: "retained" }));
        if (n.subscriptions) s.appendChild(el("span", { class: "badge subs", text: n.subscriptions + " sub" + (n.subscriptions > 1 ? "s" : "") }));
        d.appendChild(s);
        n.children.forEach(function (c) { d.appendChild(node(c)); });
        return d;
      }
      root.children.forEach(function (c) { box.appendChild(node(c)); });
      if (!root.children.length) box.appendChild(el("div", { class: "empty", text: "No topics yet: retained messages and subscriptions show up here." }));
      setText("tree-count", count + " node" + (count === 1 ? "" : "s"));
    });
  }
  $("tree-sys").addEventListener("change", loadTree);

  // --- publish
  $("pub-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var res = $("pub-result");
    var body = {
      topic: $("pub-topic").value,
      payload: $("pub-payload").value,
      encoding: $("pub-encoding").value,
      qos: Number($("pub-qos").value),
      retain: $("pub-retain").checked
    };
    var props = {};
    if ($("pub-ctype").value) props.contentType = $("pub-ctype").value;
    if ($("pub-expiry").value !== "") props.messageExpiryInterval = Number($("pub-expiry").value);
    var ups = $("pub-props").value.split("\n").filter(function (l) { return l.trim(); });
    if (ups.length) {
      props.userProperties = ups.map(function (l) {
        var i = l.indexOf("=");
        return i < 0 ? [l.trim(), ""] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
      });
    }
    if (Object.keys(props).length) body.properties = props;
    res.className = "result"; res.textContent = "publishing…";
    api("POST", "/publish", body).then(function (r) {
      res.className = "result ok";
      res.textContent = "Published to " + r.topic + ": delivered to " + r.delivered + " session" + (r.delivered === 1 ? "" : "s");
    }, function (e) { res.className = "result err"; res.textContent = e.message; });
  });

  // --- polling
  function refreshTab() {
    var p = current === "clients" ? loadClients()
      : current === "subscriptions" ? loadSubs()
      : current === "retained" ? loadRetained()
      : current === "topics" ? loadTree()
      : null;
    if (p) p.catch(function () {});
  }
  function refresh() {
    loadStats().catch(function () { $("live").className = "live off"; });
    // The retained list and the tree keep what the user is looking at; refreshed on demand.
    if (current === "clients" || current === "subscriptions") refreshTab();
  }
  window.addEventListener("hashchange", function () {
    var name = location.hash.slice(1);
    if (name !== current && document.getElementById("tab-" + name)) select(name);
  });
  var initial = location.hash.slice(1);
  select(document.getElementById("tab-" + initial) ? initial : "overview");
  refresh();
  setInterval(refresh, POLL_MS);
})();
</script>
</body>
</html>
`;
