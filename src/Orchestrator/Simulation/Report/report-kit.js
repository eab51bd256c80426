  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
  window.__charts = [];
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 11;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function fmt(x, digits) {
    if (x === null || x === undefined) return "\u2014";
    if (typeof x === "string") return x;
    if (!isFinite(x)) return String(x);
    var a = Math.abs(x);
    if (a !== 0 && (a < 0.001 || a >= 1e7)) return x.toExponential(3);
    return x.toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 4 : digits });
  }
  function table(id, head, rows) {
    var t = document.getElementById(id), tr = el("tr");
    // A column of text is left-aligned, header included; numbers line up on the right.
    head.forEach(function (h, i) {
      var first = rows.length > 0 ? rows[0][i] : null;
      tr.appendChild(el("th", first && first.cls && first.cls.indexOf("text") >= 0 ? { "class": "text" } : null, h));
    });
    t.appendChild(tr);
    rows.forEach(function (r) {
      var row = el("tr");
      r.forEach(function (c) {
        var td = el("td", c && c.cls ? { "class": c.cls } : null, c && c.text !== undefined ? c.text : fmt(c));
        row.appendChild(td);
      });
      t.appendChild(row);
    });
  }
  function card(parent, title) {
    var c = el("div", { "class": "card" });
    c.appendChild(el("h3", null, title));
    var box = el("div", { "class": "chart" });
    var canvas = el("canvas");
    box.appendChild(canvas);
    c.appendChild(box);
    document.getElementById(parent).appendChild(c);
    return canvas;
  }
