(function () {
  "use strict";
  var main = document.getElementById("cards");
  var brandSel = document.getElementById("filter-brand");
  var decSel = document.getElementById("filter-decision");
  var count = document.getElementById("count");
  var order = {takedown: 0, review: 1, error: 2, pass: 3};
  function cards() { return Array.prototype.slice.call(main.querySelectorAll("article.card")); }
  function filter() {
    var b = brandSel.value, d = decSel.value, n = 0, all = cards();
    all.forEach(function (c) {
      var ok = (b === "*" || c.dataset.brand === b) && (d === "*" || c.dataset.decision === d);
      c.hidden = !ok;
      if (ok) { n++; }
    });
    count.textContent = n + " of " + all.length + " shown";
  }
  function key(c, by) {
    if (by === "confidence") { return parseFloat(c.dataset.confidence) || 0; }
    if (by === "decision") { return order[c.dataset.decision] === undefined ? 9 : order[c.dataset.decision]; }
    return c.dataset.brand ? c.dataset.brand.toLowerCase() : "\uffff";
  }
  function sort(by, dir) {
    var sign = dir === "desc" ? -1 : 1;
    var sorted = cards().sort(function (a, b) {
      var ka = key(a, by), kb = key(b, by);
      if (ka < kb) { return -sign; }
      if (ka > kb) { return sign; }
      var ca = parseFloat(a.dataset.confidence) || 0, cb = parseFloat(b.dataset.confidence) || 0;
      return cb - ca;   // ties: most confident first
    });
    sorted.forEach(function (c) { main.appendChild(c); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("button.sort"), function (btn) {
    btn.addEventListener("click", function () {
      var active = btn.classList.contains("active");
      var dir = active ? (btn.dataset.dir === "asc" ? "desc" : "asc") : btn.dataset.default;
      btn.dataset.dir = dir;
      Array.prototype.forEach.call(document.querySelectorAll("button.sort"), function (o) {
        o.classList.remove("active");
        o.textContent = o.dataset.sort;
      });
      btn.classList.add("active");
      btn.textContent = btn.dataset.sort + (dir === "asc" ? " ↑" : " ↓");
      sort(btn.dataset.sort, dir);
    });
  });
  brandSel.addEventListener("change", filter);
  decSel.addEventListener("change", filter);
  filter();
})();
