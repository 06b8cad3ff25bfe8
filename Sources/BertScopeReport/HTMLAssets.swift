/// The report page's inline style sheet and script (no libraries, no network).
enum HTMLAssets {
  /// `text` without the indentation of its lines (the page carries less; neither CSS nor this
  /// script has a multi-line string literal).
  static func compact(_ text: String) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.drop { $0 == " " } }.joined(separator: "\n")
  }

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
    .viewer-hint { color: var(--muted); font-size: 12px; flex: 1; text-align: right; white-space: nowrap; }
    #viewer-cell { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; white-space: pre; min-width: 0; overflow: hidden; text-overflow: ellipsis; }
    #viewer-close { font-size: 20px; line-height: 1; border: 0; background: none; cursor: pointer; }
    #viewer-map { position: relative; margin: 8px; }
    #viewer-image { display: block; max-width: calc(96vw - 20px); height: auto; image-rendering: pixelated; }
    #viewer-map.labelled #viewer-image { position: absolute; max-width: none; }
    .viewer-labels { position: absolute; left: 0; top: 0; line-height: 1; color: var(--ink); }
    .viewer-labels span { position: absolute; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 12em; }
    #viewer-rows span { right: 4px; transform: translateY(-50%); text-align: right; }
    #viewer-cols span { bottom: 4px; writing-mode: vertical-rl; text-orientation: sideways; transform: rotate(180deg); max-height: 12em; max-width: none; }
    .viewer-labels span.hot { color: #fff; background: var(--ink); }
    .viewer-axes { margin: 0 10px 8px; color: var(--muted); font-size: 12px; }
    .hv-bar { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center; margin-bottom: 8px; font-size: 13px; }
    .hv-heads { display: flex; flex-wrap: wrap; gap: 3px; }
    .hv-head { width: 20px; height: 20px; padding: 0; border: 2px solid transparent; border-radius: 3px; cursor: pointer; font-size: 10px; color: #fff; }
    .hv-head[aria-pressed="false"] { opacity: 0.2; }
    .hv-body { position: relative; display: flex; width: max-content; font-size: 13px; }
    .hv-col { display: flex; flex-direction: column; }
    .hv-col span { height: 20px; line-height: 20px; padding: 0 6px; white-space: nowrap; cursor: default; border-radius: 3px; }
    .hv-left span { text-align: right; }
    .hv-col span:hover, .hv-col span.hot { background: #e8e8e8; }
    .hv-body canvas { display: block; }
    footer { color: var(--muted); font-size: 13px; padding: 24px; border-top: 1px solid var(--rule); margin-top: 40px; }
    body.solo { background: #fff; }
    body.solo > *:not(.solo-target):not(script):not(dialog) { display: none; }
    body.solo .solo-target { margin: 0; border: 0; width: max-content; }
    """

  /// Marks each figure `data-rendered="ok"` (or "error") once the page has loaded (the head
  /// views once they have been decoded and drawn), and the body `data-report="ok"` when all drew,
  /// so that a headless browser's DOM dump can be checked. `#solo=<id>` shows one figure alone
  /// (for screenshots); `#selftest` opens the first model-view map and records
  /// `data-viewer="ok"` on the body once its image has loaded, `data-readout="ok"` when
  /// pointing at its bottom-left cell names the right tokens, and `data-labels="ok …"` when the
  /// viewer's HTML labels hold the right tokens; on each head view it records the lines drawn
  /// (`data-hv-lines`), with the first head toggled off (`data-hv-toggled`), with only the
  /// second head (`data-hv-solo`, double-click) and while pointing at the first token
  /// (`data-hv-hovered`), each as "count checksum".
  static let script = """
    (function () {
      "use strict";
      var viewer = document.getElementById("viewer");
      var image = document.getElementById("viewer-image");
      var frame = document.getElementById("viewer-map");
      var rowBox = document.getElementById("viewer-rows");
      var colBox = document.getElementById("viewer-cols");
      var heading = document.getElementById("viewer-title");
      var cell = document.getElementById("viewer-cell");
      var current = null;
      var cells = null;  // { tokens, rows: [span by token or null], cols: [...] }
      var hot = [];

      // Token labels as HTML text around the cells: rows (from) on the left, columns (to)
      // rotated on top; sized with the cells and thinned to every k-th token when cells are small.
      function layout(tokens) {
        var n = tokens.length, longest = 1;
        tokens.forEach(function (t) { longest = Math.max(longest, Math.min(t.length, 12)); });
        var room = Math.max(160, Math.min(window.innerWidth * 0.94 - 24, window.innerHeight * 0.96 - 110));
        var c = Math.min(22, room * 0.8 / n), font = 0, gutter = 0;
        for (var pass = 0; pass < 2; pass++) {
          font = Math.max(8, Math.min(13, c * 0.8));
          gutter = Math.ceil(font * 0.62 * longest) + 10;
          c = Math.max(0.5, Math.min(22, (room - gutter) / n));
        }
        var step = Math.max(1, Math.ceil(font * 1.15 / c)), side = c * n;
        frame.classList.add("labelled");
        // A fixed dialog width, so that the read-out's text never resizes (and moves) the map.
        viewer.style.width = Math.min(window.innerWidth * 0.96, Math.max(gutter + side + 20, 800)) + "px";
        frame.style.width = (gutter + side) + "px";
        frame.style.height = (gutter + side) + "px";
        image.style.left = gutter + "px";
        image.style.top = gutter + "px";
        image.style.width = side + "px";
        image.style.height = side + "px";
        rowBox.style.cssText = "top:" + gutter + "px;width:" + gutter + "px;height:" + side + "px;font-size:" + font + "px";
        colBox.style.cssText = "left:" + gutter + "px;height:" + gutter + "px;width:" + side + "px;font-size:" + font + "px";
        rowBox.textContent = "";
        colBox.textContent = "";
        var rows = [], cols = [];
        for (var i = 0; i < n; i++) {
          rows.push(null);
          cols.push(null);
          if (i % step !== 0) { continue; }
          var r = document.createElement("span");
          r.textContent = tokens[i];
          r.title = (i + 1) + " " + tokens[i];
          r.dataset.i = String(i);
          r.style.top = ((i + 0.5) * c) + "px";
          rowBox.appendChild(r);
          rows[i] = r;
          var k = document.createElement("span");
          k.textContent = tokens[i];
          k.title = r.title;
          k.dataset.i = String(i);
          k.style.left = ((i + 0.5) * c - font * 0.5) + "px";
          colBox.appendChild(k);
          cols[i] = k;
        }
        frame.dataset.step = String(step);
        return { rows: rows, cols: cols };
      }
      function unhot() {
        hot.forEach(function (s) { s.classList.remove("hot"); });
        hot = [];
      }
      function open(button) {
        current = button;
        var figure = button.closest("[data-tokens]");
        cells = null;
        viewer.style.width = "";
        if (figure) {
          if (!figure.parsedTokens) { figure.parsedTokens = JSON.parse(figure.dataset.tokens); }
          var labels = layout(figure.parsedTokens);
          cells = { tokens: figure.parsedTokens, rows: labels.rows, cols: labels.cols };
        }
        cell.textContent = "";
        unhot();
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
      // Which tokens the pointer is over: row = query ("from"), column = key ("to").
      image.addEventListener("mousemove", function (e) {
        if (!cells || !image.clientWidth) { return; }
        var n = cells.tokens.length;
        var i = Math.min(n - 1, Math.max(0, Math.floor(e.offsetY / image.clientHeight * n)));
        var j = Math.min(n - 1, Math.max(0, Math.floor(e.offsetX / image.clientWidth * n)));
        cell.textContent = "from " + (i + 1) + " " + cells.tokens[i] + "  →  to " + (j + 1) + " " + cells.tokens[j];
        unhot();
        [cells.rows[i], cells.cols[j]].forEach(function (s) { if (s) { s.classList.add("hot"); hot.push(s); } });
      });
      image.addEventListener("mouseleave", function () { cell.textContent = ""; unhot(); });
      document.getElementById("viewer-close").addEventListener("click", function () { viewer.close(); });
      viewer.addEventListener("click", function (e) { if (e.target === viewer) { viewer.close(); } });
      viewer.addEventListener("keydown", function (e) {
        var d = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[e.key];
        if (d) { e.preventDefault(); move(d[0], d[1]); }
      });

      // The head view: weights [layer][head][from][to] as bytes (0…levels), zlib-compressed, base64.
      var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
        "#bcbd22", "#17becf", "#393b79", "#ad494a"];
      function headColour(h, heads) {
        return heads <= palette.length ? palette[h] : "hsl(" + Math.round(h * 360 / heads) + ", 65%, 45%)";
      }
      function inflate(b64) {
        var bin = atob(b64), bytes = new Uint8Array(bin.length);
        for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
        if (typeof DecompressionStream === "undefined") { return Promise.reject(new Error("no DecompressionStream")); }
        var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
        return new Response(stream).arrayBuffer().then(function (b) { return new Uint8Array(b); });
      }
      function headView(figure) {
        var layers = +figure.dataset.layers, heads = +figure.dataset.heads, n = +figure.dataset.n;
        var levels = +figure.dataset.levels || 255;
        var tokens = JSON.parse(figure.dataset.tokens);
        var rowH = 20, width = 220, ratio = window.devicePixelRatio || 1;
        var state = { layer: 0, on: [], focus: null, lines: 0, sum: 0 };
        for (var h = 0; h < heads; h++) { state.on.push(true); }
        var bar = figure.querySelector(".hv-bar"), body = figure.querySelector(".hv-body");
        var label = document.createElement("label");
        label.textContent = "Layer ";
        var select = document.createElement("select");
        select.className = "hv-layer";
        for (var l = 0; l < layers; l++) {
          var o = document.createElement("option");
          o.value = String(l);
          o.textContent = String(l + 1);
          select.appendChild(o);
        }
        label.appendChild(select);
        bar.appendChild(label);
        var toggles = document.createElement("span");
        toggles.className = "hv-heads";
        toggles.textContent = "Heads ";
        var buttons = [];
        for (var k = 0; k < heads; k++) {
          var b = document.createElement("button");
          b.type = "button";
          b.className = "hv-head";
          b.dataset.head = String(k);
          b.style.background = headColour(k, heads);
          b.textContent = String(k + 1);
          b.title = "head " + (k + 1) + ": click to hide or show, double-click to show it alone";
          b.setAttribute("aria-pressed", "true");
          toggles.appendChild(b);
          buttons.push(b);
        }
        bar.appendChild(toggles);
        function column(side) {
          var col = document.createElement("div");
          col.className = "hv-col hv-" + side;
          tokens.forEach(function (t, i) {
            var s = document.createElement("span");
            s.textContent = t;
            s.dataset.i = String(i);
            s.addEventListener("mouseenter", function () { state.focus = { side: side, i: i }; s.classList.add("hot"); draw(); });
            s.addEventListener("mouseleave", function () { state.focus = null; s.classList.remove("hot"); draw(); });
            col.appendChild(s);
          });
          return col;
        }
        var canvas = document.createElement("canvas");
        canvas.width = Math.round(width * ratio);
        canvas.height = Math.round(n * rowH * ratio);
        canvas.style.width = width + "px";
        canvas.style.height = (n * rowH) + "px";
        body.appendChild(column("left"));
        body.appendChild(canvas);
        body.appendChild(column("right"));
        var ctx = canvas.getContext("2d"), weights = null;
        function draw() {
          if (!weights) { return state; }
          ctx.setTransform(1, 0, 0, 1, 0, 0);
          ctx.clearRect(0, 0, canvas.width, canvas.height);
          ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
          ctx.lineWidth = 2;
          var lines = 0, f = state.focus;
          for (var h = 0; h < heads; h++) {
            if (!state.on[h]) { continue; }
            ctx.strokeStyle = headColour(h, heads);
            var base = (state.layer * heads + h) * n * n;
            for (var i = 0; i < n; i++) {
              if (f && f.side === "left" && f.i !== i) { continue; }
              for (var j = 0; j < n; j++) {
                if (f && f.side === "right" && f.i !== j) { continue; }
                var w = weights[base + i * n + j];
                if (!w) { continue; }
                ctx.globalAlpha = Math.min(1, w / levels);
                ctx.beginPath();
                ctx.moveTo(0, (i + 0.5) * rowH);
                ctx.lineTo(width, (j + 0.5) * rowH);
                ctx.stroke();
                lines++;
              }
            }
          }
          ctx.globalAlpha = 1;
          // A checksum of what is on the canvas: the sum of its alpha channel, every 7th pixel.
          var data = ctx.getImageData(0, 0, canvas.width, canvas.height).data, sum = 0;
          for (var p = 3; p < data.length; p += 28) { sum += data[p]; }
          state.lines = lines;
          state.sum = sum;
          figure.dataset.lines = String(lines);
          return state;
        }
        select.addEventListener("change", function () { state.layer = +select.value; draw(); });
        buttons.forEach(function (b, k) {
          b.addEventListener("click", function () {
            state.on[k] = !state.on[k];
            b.setAttribute("aria-pressed", String(state.on[k]));
            draw();
          });
          b.addEventListener("dblclick", function () {
            buttons.forEach(function (o, m) { state.on[m] = m === k; o.setAttribute("aria-pressed", String(m === k)); });
            draw();
          });
        });
        figure.headView = { draw: draw, state: state, buttons: buttons, body: body };
        return inflate(figure.dataset.weights).then(function (bytes) {
          if (bytes.length !== layers * heads * n * n) { throw new Error("head view: " + bytes.length + " weights"); }
          weights = bytes;
          draw();
          figure.drawn = state.lines > 0 && state.sum > 0;
        }).catch(function (e) {
          figure.drawn = false;
          body.textContent = "The head view could not be drawn: " + e.message;
        });
      }
      var pending = [];
      document.querySelectorAll('[data-kind="head-view"]').forEach(function (f) {
        try { pending.push(headView(f)); } catch (e) { f.drawn = false; }
      });
      function headViewSelftest(figure) {
        var api = figure.headView;
        if (!api) { return; }
        function shot() { return api.state.lines + " " + api.state.sum; }
        api.draw();
        figure.dataset.hvLines = shot();
        api.buttons[0].click();
        figure.dataset.hvToggled = shot();
        api.buttons[0].click();
        if (api.buttons.length > 1) {
          api.buttons[1].dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
          figure.dataset.hvSolo = shot();
          api.buttons.forEach(function (b, k) { if (!api.state.on[k]) { b.click(); } });
        }
        var first = api.body.querySelector(".hv-left span");
        first.dispatchEvent(new MouseEvent("mouseenter"));
        figure.dataset.hvHovered = shot();
        first.dispatchEvent(new MouseEvent("mouseleave"));
        figure.dataset.hvRestored = shot();
      }

      function drew(figure) {
        if (figure.dataset.kind === "head-view") { return figure.drawn === true; }
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

      function loaded() {
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
          document.querySelectorAll('[data-kind="head-view"]').forEach(headViewSelftest);
          var first = document.querySelector(".thumb");
          if (!first) { document.body.dataset.viewer = "none"; return; }
          image.addEventListener("load", function () {
            document.body.dataset.viewer = image.naturalWidth > 0 ? "ok" : "error";
            if (!cells) { return; }
            // Point at the centre of the bottom-left cell: the read-out must name its tokens.
            var b = image.getBoundingClientRect(), n = cells.tokens.length;
            image.dispatchEvent(new MouseEvent("mousemove", {
              clientX: b.left + 0.5 * b.width / n, clientY: b.top + (n - 0.5) * b.height / n, bubbles: true
            }));
            var want = "from " + n + " " + cells.tokens[n - 1] + "  →  to 1 " + cells.tokens[0];
            document.body.dataset.readout = cell.textContent === want ? "ok" : "error: " + cell.textContent;
            // The labels are HTML text holding the tokens, beside their cells.
            var bad = 0, shown = 0;
            b = image.getBoundingClientRect();
            [rowBox, colBox].forEach(function (box, axis) {
              box.querySelectorAll("span").forEach(function (s) {
                shown++;
                var i = +s.dataset.i, r = s.getBoundingClientRect();
                var centre = axis === 0 ? (r.top + r.bottom) / 2 - b.top : (r.left + r.right) / 2 - b.left;
                var want = (i + 0.5) * b.width / n;
                if (s.textContent !== cells.tokens[i] || Math.abs(centre - want) > Math.max(2, b.width / n)) { bad++; }
              });
            });
            document.body.dataset.labels = (bad === 0 && shown > 0 ? "ok " : "error ") + shown + " shown, " + bad + " wrong, every " + frame.dataset.step;
          }, { once: true });
          image.addEventListener("error", function () { document.body.dataset.viewer = "error"; }, { once: true });
          open(first);
        }
      }
      window.addEventListener("load", function () {
        document.body.dataset.loadMs = String(Math.round(performance.now()));
        Promise.all(pending).then(loaded, loaded);
      });
    })();
    """
}
