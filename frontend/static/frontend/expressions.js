/* Evaluates the JSON expression trees made by questionnaires/expressions.py, with the same
   XPath coercions, so skip logic on the page matches the server's. */
(function (root) {
  "use strict";
  function num(v) {
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    if (Array.isArray(v)) v = v.join(" ");
    if (v === null || v === undefined) return NaN;
    var s = String(v).trim();
    return s === "" ? NaN : Number(s);
  }
  function str(v) {
    if (v === null || v === undefined) return "";
    if (typeof v === "boolean") return v ? "true" : "false";
    if (Array.isArray(v)) return v.join(" ");
    return String(v);
  }
  function bool(v) {
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return !(v === 0 || isNaN(v));
    if (Array.isArray(v)) return v.length > 0;
    return !!v;
  }
  function sel(v) { return Array.isArray(v) ? v.map(String) : str(v).split(/\s+/).filter(Boolean); }
  function cmp(op, a, b) {
    if (op === "=" || op === "!=") {
      var eq;
      if (typeof a === "boolean" || typeof b === "boolean") eq = bool(a) === bool(b);
      else if (typeof a === "number" || typeof b === "number") eq = num(a) === num(b);
      else eq = str(a) === str(b);
      return op === "=" ? eq : !eq;
    }
    var x = num(a), y = num(b);
    if (isNaN(x) || isNaN(y)) return false;
    return op === "<" ? x < y : op === "<=" ? x <= y : op === ">" ? x > y : x >= y;
  }
  var fns = {
    "selected": function (a) { return sel(a[0]).indexOf(str(a[1])) >= 0; },
    "count-selected": function (a) { return sel(a[0]).length; },
    "not": function (a) { return !bool(a[0]); },
    "true": function () { return true; }, "false": function () { return false; },
    "string-length": function (a) { return Array.from(str(a[0])).length; },
    "number": function (a) { return num(a[0]); },
    "int": function (a) { var n = num(a[0]); return isNaN(n) ? n : Math.trunc(n); },
    "regex": function (a) { return new RegExp(str(a[1])).test(str(a[0])); },
    "coalesce": function (a) { return str(a[0]) !== "" ? a[0] : a[1]; },
    "contains": function (a) { return str(a[0]).indexOf(str(a[1])) >= 0; }
  };
  function ev(n, vals, cur) {
    switch (n[0]) {
      case "num": return n[1];
      case "str": return n[1];
      case "ref": var v = vals[n[1]]; return v === undefined || v === null ? "" : v;
      case "self": return cur === undefined || cur === null ? "" : cur;
      case "neg": return -num(ev(n[1], vals, cur));
      case "call":
        if (n[1] === "if") return bool(ev(n[2][0], vals, cur)) ? ev(n[2][1], vals, cur) : ev(n[2][2], vals, cur);
        return fns[n[1]](n[2].map(function (x) { return ev(x, vals, cur); }));
    }
    var op = n[1];
    if (op === "and") return bool(ev(n[2], vals, cur)) && bool(ev(n[3], vals, cur));
    if (op === "or") return bool(ev(n[2], vals, cur)) || bool(ev(n[3], vals, cur));
    var a = ev(n[2], vals, cur), b = ev(n[3], vals, cur);
    if (["=", "!=", "<", "<=", ">", ">="].indexOf(op) >= 0) return cmp(op, a, b);
    var x = num(a), y = num(b);
    if (op === "+") return x + y; if (op === "-") return x - y; if (op === "*") return x * y;
    if (op === "div") return y !== 0 ? x / y : (x === 0 || isNaN(x) ? NaN : (x > 0 ? Infinity : -Infinity));
    if (op === "mod") return y !== 0 ? x % y : NaN;
    throw new Error("unknown operator " + op);
  }
  root.SuyangExpr = { evaluate: ev, holds: function (n, vals, cur) { return n ? bool(ev(n, vals, cur)) : true; } };
})(this);
