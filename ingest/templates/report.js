// One "Download CSV" link under every data table: the mart's exact number where a cell carries
// one (data-value), else the cell's text without its unit note. The charts are static SVG and
// need no script; without JavaScript only these links are missing.
(function () {
  "use strict";
  var month = document.body.getAttribute("data-month");
  function csvCell(cell) {
    var v;
    if (cell.hasAttribute("data-value")) { v = cell.getAttribute("data-value"); }
    else {
      var copy = cell.cloneNode(true);
      Array.prototype.forEach.call(copy.querySelectorAll(".unit"), function (u) {
        u.parentNode.removeChild(u); });
      v = copy.textContent.trim();
    }
    return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.data"), function (t) {
    var lines = Array.prototype.map.call(t.querySelectorAll("tr"), function (tr) {
      return Array.prototype.map.call(tr.children, csvCell).join(",");
    });
    var a = document.createElement("a");
    a.className = "csv";
    a.setAttribute("data-csv-for", t.getAttribute("data-table"));
    a.download = month + "-" + t.getAttribute("data-table") + ".csv";
    a.href = "data:text/csv;charset=utf-8," + encodeURIComponent(lines.join("\r\n") + "\r\n");
    a.textContent = "Download CSV";
    t.parentNode.insertBefore(a, t.nextSibling);
  });
  document.body.setAttribute("data-rendered", "true");
})();
