/* Plain questionnaire page: hides questions the skip logic skips, stamps the start time. */
(function () {
  "use strict";
  var form = document.getElementById("questionnaire");
  if (!form) return;
  var started = document.getElementById("started_at");
  if (started && !started.value) started.value = new Date().toISOString();
  var context = JSON.parse(document.getElementById("context").textContent || "{}");
  function values() {
    var vals = Object.assign({}, context);
    form.querySelectorAll(".question").forEach(function (q) {
      var name = q.dataset.name, inputs = q.querySelectorAll("input");
      if (!inputs.length || q.classList.contains("hidden")) return;
      if (inputs[0].type === "checkbox") {
        vals[name] = Array.prototype.filter.call(inputs, function (i) { return i.checked; }).map(function (i) { return i.value; });
      } else if (inputs[0].type === "radio") {
        var c = Array.prototype.find.call(inputs, function (i) { return i.checked; });
        vals[name] = c ? c.value : "";
      } else {
        var v = inputs[0].value.trim();
        vals[name] = v === "" ? "" : (inputs[0].type === "number" ? Number(v) : v);
      }
    });
    return vals;
  }
  function refresh() {
    form.querySelectorAll(".question[data-relevant]").forEach(function (q) {
      if (!q.dataset.relevant) return;
      var show = window.SuyangExpr.holds(JSON.parse(q.dataset.relevant), values());
      q.classList.toggle("hidden", !show);
      q.querySelectorAll("input").forEach(function (i) { i.disabled = !show; });
    });
  }
  form.addEventListener("change", refresh);
  form.addEventListener("input", refresh);
  refresh();
})();
