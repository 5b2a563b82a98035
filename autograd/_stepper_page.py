"""The page of ``animate_backward`` and ``BackwardStepper``: one self-contained HTML file.

Everything is inline: the pictures (one SVG per step, rendered by ``dot`` when the
page is written), the step data (JSON) and the script. A Content-Security-Policy
forbids every connection, so the page works offline and can reach nothing.
"""

from __future__ import annotations

import html
import json

# default-src 'none': no network, no frames, no fonts; only the inline style and script run
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
       "img-src data:")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="@CSP@">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@TITLE@</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 12px; color: #222; }
  h1 { font-size: 1.15em; margin: 0 0 8px 0; }
  #controls { margin-bottom: 8px; display: flex; gap: 6px; align-items: center; }
  #controls button { font-size: 1em; padding: 3px 12px; min-width: 5em; }
  #counter { margin-left: 10px; font-family: monospace; }
  #main { display: flex; gap: 12px; align-items: flex-start; flex-wrap: wrap; }
  #graph { flex: 3 1 500px; overflow: auto; border: 1px solid #ddd; max-height: 80vh; }
  #graph.fit svg { max-width: 100%; height: auto; }
  #panel { flex: 1 1 280px; font-size: 0.92em; border: 1px solid #ddd; padding: 8px;
           background: #fafafa; }
  #panel h2 { font-size: 1em; margin: 0 0 6px 0; }
  #panel pre { margin: 2px 0 8px 0; white-space: pre-wrap; font-size: 0.95em; }
  #panel .to { font-weight: bold; }
  .hint { color: #a33; font-family: monospace; padding: 8px; }
</style>
</head>
<body>
<h1>@TITLE@</h1>
<div id="controls">
  <button id="reset" type="button" title="back to the start (Home)">Reset</button>
  <button id="back" type="button" title="one step back (left arrow)">Back</button>
  <button id="step" type="button" title="one step forward (right arrow)">Step</button>
  <button id="play" type="button" title="step through on a timer (space)">Play</button>
  <button id="fit" type="button" title="fit the picture to the width, or full size">Fit</button>
  <span id="counter"></span>
</div>
<div id="main">
  <div id="graph"></div>
  <div id="panel"></div>
</div>
<script id="data" type="application/json">@DATA@</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var n = data.steps.length;
  var k = Math.max(0, Math.min(n, data.start));
  var timer = null;
  var graph = document.getElementById("graph");
  var panel = document.getElementById("panel");
  var counter = document.getElementById("counter");
  var play = document.getElementById("play");

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) { el.className = cls; }
    return el;
  }

  function showPanel() {
    panel.textContent = "";
    if (k === 0) {
      panel.appendChild(text("h2", "Before the backward pass"));
      panel.appendChild(text("p", data.intro));
      return;
    }
    var s = data.steps[k - 1];
    var head = text("h2", "Step " + k + " of " + n + ": ");
    head.appendChild(text("span", s.title, "node"));
    panel.appendChild(head);
    panel.appendChild(text("p", s.what));
    panel.appendChild(text("div", "upstream gradient (what its consumers sent, summed):"));
    panel.appendChild(text("pre", s.upstream, "upstream"));
    if (s.contributions.length === 0) {
      panel.appendChild(text("p", "A leaf: it sends nothing on. " + s.leaf, "leaf"));
      return;
    }
    panel.appendChild(text("div", "sends to its inputs (upstream times local derivative):"));
    var list = document.createElement("ul");
    list.className = "contributions";
    s.contributions.forEach(function (c) {
      var item = document.createElement("li");
      item.appendChild(text("span", c.to, "to"));
      item.appendChild(text("pre", c.grad, "grad"));
      list.appendChild(item);
    });
    panel.appendChild(list);
  }

  function show() {
    if (data.svgs) {
      graph.innerHTML = data.svgs[k];
    } else {
      graph.textContent = "";
      graph.appendChild(text("div", data.hint, "hint"));
    }
    var current = k > 0 ? data.steps[k - 1].node_id : "";
    graph.setAttribute("data-current", current);
    var box = current ? document.getElementById(current) : null;
    if (box && box.scrollIntoView) {  // keep the node being processed in sight
      box.scrollIntoView({block: "nearest", inline: "center"});
    }
    document.body.setAttribute("data-step", String(k));
    counter.textContent = "step " + k + " of " + n;
    document.getElementById("back").disabled = k === 0;
    document.getElementById("step").disabled = k === n;
    showPanel();
  }

  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.textContent = "Play";
  }

  function go(to) { k = Math.max(0, Math.min(n, to)); show(); }

  document.getElementById("step").addEventListener("click", function () { stop(); go(k + 1); });
  document.getElementById("back").addEventListener("click", function () { stop(); go(k - 1); });
  document.getElementById("reset").addEventListener("click", function () { stop(); go(0); });
  play.addEventListener("click", function () {
    if (timer !== null) { stop(); return; }
    if (k === n) { go(0); }
    play.textContent = "Pause";
    timer = setInterval(function () {
      if (k >= n) { stop(); return; }
      go(k + 1);
    }, data.interval_ms);
  });
  document.getElementById("fit").addEventListener("click", function () {
    var fit = graph.classList.toggle("fit");
    document.getElementById("fit").textContent = fit ? "Full size" : "Fit";
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight") { stop(); go(k + 1); }
    else if (e.key === "ArrowLeft") { stop(); go(k - 1); }
    else if (e.key === "Home") { stop(); go(0); }
    else if (e.key === " ") { e.preventDefault(); play.click(); }
  });
  show();
}());
</script>
</body>
</html>
"""


def page(title: str, data: dict) -> str:
    """The HTML page: ``data`` has 'steps' (one dict per step), 'svgs' (k = 0..n, or None
    without dot), 'hint', 'intro', 'start' and 'interval_ms'."""
    # "</" inside the JSON could end the script element early: write it as "<\\/"
    blob = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return (PAGE.replace("@CSP@", CSP).replace("@TITLE@", html.escape(title))
            .replace("@DATA@", blob))
