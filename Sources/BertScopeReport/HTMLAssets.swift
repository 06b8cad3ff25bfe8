/// The report page's inline style sheet and script (no libraries, no network).
enum HTMLAssets {
  static let style = """
    :root { --ink: #222; --muted: #555; --rule: #ddd; --accent: #0072b2; --bg: #fff; --panel: #f7f7f7; }
    * { box-sizing: border-box; }
    body { margin: 0; color: var(--ink); background: var(--bg);
      font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
    header, main, footer { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
    header { padding-top: 28px; border-bottom: 1px solid var(--rule); }
    h1 { font-size: 26px; margin: 0 0 4px; }
    h2 { font-size: 20px; margin: 36px 0 8px; padding-top: 8px; }
    .subtitle { color: var(--muted); margin: 0 0 12px; }
    nav { display: flex; flex-wrap: wrap; gap: 6px 18px; padding-bottom: 14px; }
    nav a, .downloads a { color: var(--accent); text-decoration: none; }
    nav a:hover, .downloads a:hover { text-decoration: underline; }
    section > p { max-width: 78ch; }
    .figure { margin: 18px 0 28px; padding: 12px; border: 1px solid var(--rule); border-radius: 6px; background: var(--bg); }
    .figure svg { display: block; max-width: 100%; height: auto; }
    figcaption { color: var(--muted); font-size: 14px; margin-top: 8px; max-width: 90ch; }
    .downloads { white-space: nowrap; margin-left: 6px; }
    .scroll { overflow-x: auto; }
    table.data { border-collapse: collapse; margin: 12px 0 20px; font-size: 14px; }
    .table-caption { color: var(--muted); font-size: 14px; margin: 12px 0 0; }
    table.data th, table.data td { padding: 4px 12px; border-bottom: 1px solid var(--rule); text-align: left; }
    table.data thead th { border-bottom: 2px solid #999; }
    table.data .num { text-align: right; font-variant-numeric: tabular-nums; }
    .mv-grid { display: grid; gap: 2px; align-items: center; justify-items: center; width: max-content; }
    .mv-head, .mv-layer, .mv-corner { font-size: 12px; color: var(--muted); }
    .mv-corner { justify-self: end; padding-right: 6px; }
    .mv-layer { justify-self: end; padding-right: 8px; }
    .thumb { padding: 0; border: 3px solid #e5e5e5; background: #fff; cursor: zoom-in; line-height: 0; }
    .thumb:hover, .thumb:focus-visible { outline: 2px solid var(--ink); outline-offset: 1px; }
    .thumb img { image-rendering: pixelated; display: block; }
    .mv-legend { display: flex; flex-wrap: wrap; gap: 4px 18px; margin-top: 10px; font-size: 13px; }
    .mv-legend i { display: inline-block; width: 14px; height: 14px; border: 3px solid; margin-right: 6px; vertical-align: -2px; }
    .tokens { display: block; margin-top: 4px; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; color: var(--ink); }
    dialog#viewer { max-width: 96vw; max-height: 96vh; padding: 0; border: 1px solid #999; border-radius: 6px; }
    dialog#viewer::backdrop { background: rgba(0, 0, 0, 0.55); }
    .viewer-bar { position: sticky; top: 0; display: flex; gap: 16px; align-items: center; padding: 6px 10px; background: var(--panel); border-bottom: 1px solid var(--rule); }
    #viewer-title { font-weight: 600; }
    .viewer-hint { color: var(--muted); font-size: 13px; flex: 1; }
    #viewer-close { font-size: 20px; line-height: 1; border: 0; background: none; cursor: pointer; }
    #viewer-image { display: block; margin: 8px; max-width: calc(96vw - 20px); height: auto; }
    footer { color: var(--muted); font-size: 13px; padding: 24px; border-top: 1px solid var(--rule); margin-top: 40px; }
    body.solo { background: #fff; }
    body.solo > *:not(.solo-target):not(script):not(dialog) { display: none; }
    body.solo .solo-target { margin: 0; border: 0; width: max-content; }
    """

  /// Marks each figure `data-rendered="ok"` (or "error") once the page has loaded, and the body
  /// `data-report="ok"` when all drew, so that a headless browser's DOM dump can be checked.
  /// `#solo=<id>` shows one figure alone (for screenshots); `#selftest` opens the first
  /// model-view map and records `data-viewer="ok"` on the body once its image has loaded.
  static let script = """
    (function () {
      "use strict";
      var viewer = document.getElementById("viewer");
      var image = document.getElementById("viewer-image");
      var heading = document.getElementById("viewer-title");
      var current = null;

      function open(button) {
        current = button;
        heading.textContent = button.title;
        image.alt = button.title;
        image.src = button.getAttribute("data-full");
        if (!viewer.open) { viewer.showModal(); }
      }
      function move(dl, dh) {
        if (!current) { return; }
        var grid = current.closest(".mv-grid");
        var l = +current.dataset.layer + dl, h = +current.dataset.head + dh;
        var next = grid.querySelector('.thumb[data-layer="' + l + '"][data-head="' + h + '"]');
        if (next) { open(next); }
      }
      document.querySelectorAll(".thumb").forEach(function (b) {
        b.addEventListener("click", function () { open(b); });
      });
      document.getElementById("viewer-close").addEventListener("click", function () { viewer.close(); });
      viewer.addEventListener("click", function (e) { if (e.target === viewer) { viewer.close(); } });
      viewer.addEventListener("keydown", function (e) {
        var d = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[e.key];
        if (d) { e.preventDefault(); move(d[0], d[1]); }
      });

      function drew(figure) {
        if (figure.dataset.kind === "svg") {
          var svg = figure.querySelector("svg");
          if (!svg || svg.childElementCount < 2) { return false; }
          var box = svg.getBBox();
          return box.width > 0 && box.height > 0;
        }
        var images = figure.querySelectorAll("img");
        if (images.length === 0) { return false; }
        for (var i = 0; i < images.length; i++) {
          if (!images[i].complete || images[i].naturalWidth === 0) { return false; }
        }
        return true;
      }

      window.addEventListener("load", function () {
        var ok = true;
        document.querySelectorAll("[data-figure]").forEach(function (f) {
          var good = false;
          try { good = drew(f); } catch (e) { good = false; }
          f.dataset.rendered = good ? "ok" : "error";
          ok = ok && good;
        });
        document.body.dataset.report = ok ? "ok" : "error";
        var hash = decodeURIComponent(location.hash.slice(1));
        if (hash.indexOf("solo=") === 0) {
          var target = document.querySelector('[data-figure="' + hash.slice(5) + '"]');
          if (target) {
            document.body.appendChild(target);
            target.classList.add("solo-target");
            document.body.classList.add("solo");
          }
        } else if (hash === "selftest") {
          var first = document.querySelector(".thumb");
          if (!first) { document.body.dataset.viewer = "none"; return; }
          image.addEventListener("load", function () {
            document.body.dataset.viewer = image.naturalWidth > 0 ? "ok" : "error";
          }, { once: true });
          image.addEventListener("error", function () { document.body.dataset.viewer = "error"; }, { once: true });
          open(first);
        }
      });
    })();
    """
}
