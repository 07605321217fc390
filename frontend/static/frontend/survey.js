/* The respondent's pages on the phone: one question per screen, answers kept on the device as
   they are given (IndexedDB), submitted through the JSON API with the client's id, resumed
   where they were after a reload or offline (docs/respondent.md). Without this script the
   page stays a plain form that the server validates. */
(function () {
  "use strict";
  var S = window.SuyangStore, X = window.SuyangExpr;
  var bootEl = document.getElementById("boot");
  if (!bootEl || !S) return;
  var boot = JSON.parse(bootEl.textContent), T = boot.strings, token = boot.token;
  var statusEl = document.getElementById("status");

  function fmt(text, vals) { return text.replace(/\{(\w+)\}/g, function (_, k) { return vals[k]; }); }
  function count(key, n) { return fmt(n === 1 && T[key + "_one"] || T[key], { n: n }); } // English: "1 answer sheet"
  function say(text, kind) {
    if (!statusEl) return;
    statusEl.textContent = text || "";
    statusEl.className = "status" + (kind ? " " + kind : "");
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function draftKey(code) { return token + ":" + code; }

  /* --- offline: worker, page cache, background sync ---------------------------------------- */
  if ("serviceWorker" in navigator && boot.sw) {
    navigator.serviceWorker.register(boot.sw).catch(function () {});
    // A page loaded while the worker was still activating is not yet controlled: ask for it.
    navigator.serviceWorker.ready.then(function (r) {
      if (!navigator.serviceWorker.controller && r.active) r.active.postMessage("claim");
    });
  }
  function precache() {
    if (!window.caches || !navigator.onLine) return Promise.resolve();
    var urls = [boot.home].concat(boot.plan.filter(function (s) {
      return s.status === "todo" || s.status === "waiting";
    }).map(function (s) { return s.url; }));
    return caches.open(boot.pages).then(function (cache) {
      return Promise.all(urls.map(function (url) {
        return fetch(url, { headers: { "X-Suyang-Precache": "1" }, credentials: "same-origin", redirect: "manual" })
          .then(function (r) { if (r.status === 200) return cache.put(url, r); })
          .catch(function () {});
      }));
    }).then(function () { document.documentElement.dataset.cached = "1"; });
  }
  var lead = ""; // what the page says before the count, e.g. that every questionnaire is answered
  var finished = false, waitingShown = false; // nothing left to answer here; the count is on screen
  function offlineText() { return finished ? T.offline_done : T.offline; }
  function showPending() {
    return S.pending(token).then(function (recs) {
      if (recs.length) {
        waitingShown = true;
        say(lead + count("pending", recs.length) + (navigator.onLine ? "" : " · " + offlineText()), "waiting");
      } else if (waitingShown) { // the outbox drained: the banner must not go on saying it waits
        waitingShown = false; lead = "";
        say(T.all_sent, "ok");
      } else if (navigator.onLine && statusEl && statusEl.textContent === offlineText()) say("");
      return recs.length;
    });
  }
  function sync() {
    return S.drain().then(showPending);
  }
  window.addEventListener("online", sync);
  if (navigator.serviceWorker) navigator.serviceWorker.addEventListener("message", function (e) {
    if (e.data && e.data.type === "suyang-synced") sync(); // the worker sent something: show it
  });
  window.addEventListener("offline", function () {
    S.pending(token).then(function (p) { if (p.length) showPending(); else say(offlineText(), "waiting"); });
  });
  setInterval(function () { if (navigator.onLine) S.pending(token).then(function (p) { if (p.length) sync(); }); }, 15000);

  /* --- the plan: which questionnaire comes next, decided on the device ---------------------- */
  /* The device's answer sheets of this invitation, with what the outbox learnt since. */
  function drafts() {
    return Promise.all([Promise.all(boot.plan.map(function (s) { return S.get("drafts", draftKey(s.code)); })), S.all("outbox")])
      .then(function (got) {
        var by = {}, recs = {};
        got[1].forEach(function (r) { recs[r.client_id] = r; });
        got[0].forEach(function (d) {
          if (!d) return;
          var r = recs[d.client_id];
          if (d.state === "queued" && r && r.state === "sent") { d.state = "sent"; S.put("drafts", d); }
          if (d.state === "queued" && r && r.state === "rejected") d.state = "open"; // to be corrected on its page
          by[d.code] = d;
        });
        return by;
      });
  }
  function localState(step, by, demo) {
    var d = by[step.code];
    if (step.status === "done" || (d && d.state === "sent")) return "sent";
    if (d && d.state === "queued") return "queued";
    if (step.status === "not_eligible") return "skip";
    if (step.status === "waiting") {
      if (!demo) return "todo";
      if (step.eligible && !X.holds(step.eligible, demo)) return "skip";
    }
    return d ? "open" : "todo";
  }
  function demographics(by) {
    var d = by.demographics;
    return d && (d.state === "queued" || d.state === "sent") ? d.answers : null;
  }
  function nextUrl(by) {
    var demo = demographics(by);
    var step = boot.plan.find(function (s) {
      var st = localState(s, by, demo);
      return st === "todo" || st === "open";
    });
    return step ? step.url : boot.home;
  }

  /* --- consent page ------------------------------------------------------------------------- */
  function invitationPage() {
    drafts().then(function (by) {
      var demo = demographics(by), waiting = 0, open = 0;
      boot.plan.forEach(function (s) {
        var st = localState(s, by, demo), li = document.querySelector('.plan li[data-code="' + s.code + '"]');
        if (st === "queued") waiting += 1;
        if (st === "todo" || st === "open") open += 1;
        if (!li || s.status === "done") return;
        if (st === "queued") li.querySelector("em").textContent = T.waiting_upload;
        if (st === "sent") li.querySelector("em").textContent = T.sent;
        if (st === "skip") li.querySelector("em").textContent = T.not_needed;
        li.className = st === "queued" ? "waiting-upload" : st === "sent" ? "done" : st === "skip" ? "not_eligible" : li.className;
      });
      S.get("kv", "group:" + token).then(function (g) {
        if (!g) return;
        var a = el("a", "button secondary", T.field);
        a.href = boot.field;
        document.getElementById("invitation").append(a);
      });
      var start = document.getElementById("start");
      if (start) {
        if (open) {
          start.href = nextUrl(by);
          if (Object.keys(by).length) start.textContent = T.continue;
        } else start.hidden = true;
      }
      if (!open && waiting) {
        lead = T.done_waiting + " ";
        finished = true; // nothing left to answer: "you can keep answering" would be wrong
        var consent = document.querySelector("ul.consent"); // read and agreed to already
        if (consent) { consent.hidden = true; consent.previousElementSibling.hidden = true; }
      }
      showPending();
    });
    window.addEventListener("suyang-synced", function () {
      // Every answer sheet confirmed: the server's page says so, not this script.
      drafts().then(function (by) {
        var demo = demographics(by);
        var left = boot.plan.filter(function (s) { return localState(s, by, demo) === "queued"; });
        var done = boot.plan.every(function (s) { var st = localState(s, by, demo); return st === "sent" || st === "skip"; });
        var stale = boot.plan.some(function (s) { return s.status === "todo" || s.status === "waiting"; });
        if (!left.length && done && stale && navigator.onLine) location.reload();
      });
    });
    precache().then(sync);
  }

  /* --- questionnaire page ------------------------------------------------------------------- */
  function questionnairePage() {
    var form = document.getElementById("questionnaire");
    var blocks = Array.prototype.slice.call(form.querySelectorAll(".question"));
    var context = JSON.parse(document.getElementById("context").textContent || "{}");
    var code = boot.code, draft, screens = [], at = 0;
    var stored = Promise.all([S.get("drafts", draftKey(code)), drafts()]); // read while the screens are laid out

    // A note travels with the question after it; a section heading with its first question.
    var pendingNotes = [];
    blocks.forEach(function (b) {
      var head = b.previousElementSibling && b.previousElementSibling.matches("h2.section") ? b.previousElementSibling : null;
      if (head) pendingNotes.push(head);
      pendingNotes.push(b);
      if (!b.classList.contains("note")) { screens.push({ parts: pendingNotes, q: b }); pendingNotes = []; }
    });
    if (pendingNotes.length && screens.length) screens[screens.length - 1].parts = screens[screens.length - 1].parts.concat(pendingNotes);
    screens.forEach(function (s) { s.q.tabIndex = -1; });
    var rules = {};
    blocks.forEach(function (b) { rules[b.dataset.name] = b.dataset.relevant ? JSON.parse(b.dataset.relevant) : null; });

    function raw(b) {
      var inputs = b.querySelectorAll("input");
      if (!inputs.length) return null;
      if (inputs[0].type === "checkbox") return Array.prototype.filter.call(inputs, function (i) { return i.checked; }).map(function (i) { return i.value; });
      if (inputs[0].type === "radio") { var c = form.querySelector('input[name="' + inputs[0].name + '"]:checked'); return c ? c.value : ""; }
      return inputs[0].value.trim();
    }
    function typed(b, v) {
      var t = b.dataset.type;
      if ((t === "integer" || t === "decimal") && v !== "" && isFinite(Number(v))) return Number(v);
      return v;
    }
    function empty(v) { return v === null || v === "" || (Array.isArray(v) && !v.length); }
    /* Relevance in question order, over the answers before each question (as the server does). */
    function evaluate() {
      var vals = Object.assign({}, context), out = {};
      blocks.forEach(function (b) {
        var name = b.dataset.name, rel = rules[name];
        var on = X.holds(rel, vals), v = raw(b);
        out[name] = on;
        if (on && !empty(v)) vals[name] = typed(b, v);
      });
      return { on: out, vals: vals };
    }
    function problem(b, state) {
      var v = raw(b), t = b.dataset.type;
      if (v === null || !state.on[b.dataset.name]) return "";
      if (empty(v)) return b.dataset.required ? T.required : "";
      if (t === "integer" && !/^-?\d{1,9}$/.test(v)) return T.integer;
      if (t === "decimal" && !(v !== "" && isFinite(Number(v)))) return T.number;
      if (b.dataset.constraint && !X.holds(JSON.parse(b.dataset.constraint), state.vals, typed(b, v))) return b.dataset.cmsg || T.range;
      return "";
    }
    function mark(b, message) {
      var p = b.querySelector("p.error");
      if (p) { p.textContent = message; p.hidden = !message; }
      b.classList.toggle("invalid", !!message);
      b.querySelectorAll("input").forEach(function (i) { if (message) i.setAttribute("aria-invalid", "true"); else i.removeAttribute("aria-invalid"); });
    }
    function visible(state) { return screens.filter(function (s) { return state.on[s.q.dataset.name]; }); }

    // The pager replaces the plain submit button.
    var pager = el("div", "pager"), back = el("button", "button secondary", T.back), next = el("button", "button big", T.next);
    back.type = next.type = "button";
    var read = el("button", "link read", T.read);
    read.type = "button";
    read.hidden = !("speechSynthesis" in window);
    pager.append(back, next);
    form.append(read, pager);
    document.getElementById("submit").hidden = true;
    form.classList.add("paged");
    var bar = document.getElementById("bar"), qprogress = document.getElementById("qprogress");
    bar.hidden = false;

    function show(index, focus) {
      var state = evaluate(), list = visible(state);
      at = Math.max(0, Math.min(index, list.length - 1));
      var cur = list[at];
      screens.forEach(function (s) { s.parts.forEach(function (p) { p.classList.toggle("on", s === cur); }); });
      blocks.forEach(function (b) {
        b.classList.toggle("hidden", !state.on[b.dataset.name]);
        b.querySelectorAll("input").forEach(function (i) { i.disabled = !state.on[b.dataset.name]; });
      });
      qprogress.textContent = " · " + fmt(T.progress, { n: at + 1, total: list.length });
      bar.firstElementChild.style.width = Math.round(100 * (at + 1) / list.length) + "%";
      back.hidden = at === 0;
      next.textContent = at === list.length - 1 ? T.submit : T.next;
      next.dataset.last = at === list.length - 1 ? "1" : "";
      if (focus) { cur.q.focus(); window.scrollTo(0, 0); }
      if (window.speechSynthesis) { speechSynthesis.cancel(); read.textContent = T.read; }
      if (draft) { draft.screen = cur.q.dataset.name; save(); }
    }
    function answers() {
      var state = evaluate(), out = {};
      blocks.forEach(function (b) {
        var v = raw(b);
        if (state.on[b.dataset.name] && !empty(v)) out[b.dataset.name] = v;
      });
      return out;
    }
    function save() {
      draft.answers = answers(); draft.all = {};
      blocks.forEach(function (b) { var v = raw(b); if (!empty(v)) draft.all[b.dataset.name] = v; });
      draft.updated = Date.now();
      return S.put("drafts", draft);
    }
    function restore(d) {
      Object.keys(d.order || {}).forEach(function (name) {
        var fs = form.querySelector('.question[data-name="' + name + '"] fieldset');
        d.order[name].forEach(function (v) {
          var input = fs && fs.querySelector('input[value="' + CSS.escape(v) + '"]');
          if (input) fs.appendChild(input.closest("label"));
        });
      });
      Object.keys(d.all || {}).forEach(function (name) {
        var b = form.querySelector('.question[data-name="' + name + '"]'), v = d.all[name];
        if (!b) return;
        b.querySelectorAll("input").forEach(function (i) {
          if (i.type === "checkbox") i.checked = v.indexOf(i.value) >= 0;
          else if (i.type === "radio") i.checked = i.value === v;
          else i.value = v;
        });
      });
    }
    function fresh() {
      var order = {};
      blocks.forEach(function (b) {
        var opts = b.querySelectorAll("input[type=radio],input[type=checkbox]");
        if (opts.length) order[b.dataset.name] = Array.prototype.map.call(opts, function (i) { return i.value; });
      });
      return { key: draftKey(code), token: token, code: code, client_id: document.getElementById("client_id").value,
        started_at: new Date().toISOString(), order: order, all: {}, answers: {}, state: "open" };
    }

    function submit() {
      next.disabled = true;
      say(T.sending, "waiting");
      draft.answers = answers();
      draft.state = "queued";
      draft.submitted_at = new Date().toISOString();
      var rec = { client_id: draft.client_id, group: token, token: token, url: boot.submit, body: {
        client_id: draft.client_id, instrument: code, answers: draft.answers,
        language: document.documentElement.lang === "en" ? "en" : "zh-hans",
        started_at: draft.started_at, submitted_at: draft.submitted_at } };
      return S.put("drafts", draft).then(function () { return S.get("kv", "group:" + token); }).then(function (g) {
        if (g) { // an interview: after the household's roster in the enumerator's queue, sent as the enumerator
          rec.group = g.value; rec.session = true; rec.body.mode = "interviewer";
        }
        return S.enqueue(rec);
      }).then(S.drain).then(function () { return S.get("outbox", draft.client_id); }).then(function (got) {
        // Not through: the worker sends it when the connection returns, even if this tab is closed.
        if (got.state === "pending" && navigator.serviceWorker && navigator.serviceWorker.ready) {
          navigator.serviceWorker.ready.then(function (r) { if (r.sync) r.sync.register("suyang-outbox").catch(function () {}); });
        }
        if (got.state === "rejected") return rejected(got);
        if (got.state === "sent") { draft.state = "sent"; return S.put("drafts", draft).then(leave); }
        say(T.queued, "waiting");
        return leave();
      });
    }
    function rejected(rec) {
      var errors = (rec.result && rec.result.errors) || {}, first = null, state = evaluate();
      draft.state = "open";
      say(T.rejected, "error");
      blocks.forEach(function (b) {
        var msg = errors["answers." + b.dataset.name] ? (problem(b, state) || T.range) : "";
        mark(b, msg);
        if (msg && first === null) first = b;
      });
      next.disabled = false;
      return S.del("outbox", rec.client_id).then(save).then(function () {
        if (first) show(visible(state).findIndex(function (s) { return s.parts.indexOf(first) >= 0; }), true);
      });
    }
    function leave() {
      return drafts().then(function (by) { location.assign(nextUrl(by)); });
    }

    next.addEventListener("click", function () {
      var state = evaluate(), cur = visible(state)[at], bad = null;
      cur.parts.forEach(function (b) {
        if (!b.classList.contains("question")) return;
        var msg = problem(b, state);
        mark(b, msg);
        if (msg && !bad) bad = b;
      });
      if (bad) { var i = bad.querySelector("input"); if (i) i.focus(); return; }
      if (at < visible(state).length - 1) return show(at + 1, true);
      // Last screen: check every shown question once more, as the server will.
      var list = visible(state);
      for (var k = 0; k < list.length; k += 1) {
        if (problem(list[k].q, state)) { mark(list[k].q, problem(list[k].q, state)); return show(k, true); }
      }
      submit();
    });
    back.addEventListener("click", function () { show(at - 1, true); });
    form.addEventListener("submit", function (e) { e.preventDefault(); next.click(); });
    // Errors clear while the answer is typed, not on blur: a message vanishing on blur would
    // move the Next button from under the finger that is tapping it.
    function recheck(e) {
      var b = e.target.closest(".question");
      if (b && b.classList.contains("invalid")) mark(b, problem(b, evaluate()));
    }
    form.addEventListener("change", function (e) { recheck(e); show(at, false); });
    form.addEventListener("input", function (e) { recheck(e); if (draft) save(); });
    read.addEventListener("click", function () {
      if (speechSynthesis.speaking) { speechSynthesis.cancel(); read.textContent = T.read; return; }
      var cur = visible(evaluate())[at], text = cur.parts.map(function (p) {
        return Array.prototype.map.call(p.querySelectorAll("h2,p:not(.error):not([hidden]),legend,label"), function (n) { return n.textContent.trim(); }).join("。");
      }).join("。");
      var u = new SpeechSynthesisUtterance(text);
      u.lang = document.documentElement.lang === "en" ? "en-US" : "zh-CN";
      u.rate = document.documentElement.classList.contains("elder") ? 0.8 : 1;
      u.onend = function () { read.textContent = T.read; };
      read.textContent = T.stop;
      speechSynthesis.speak(u);
    });

    show(0, false);
    stored.then(function (got) {
      var d = got[0], by = got[1];
      if (!Object.keys(context).length && code !== "demographics") context = demographics(by) || context;
      if (d && d.state === "queued" && by[code].state === "open") {
        // Refused by the server while away (background sync): show why, here.
        draft = d;
        restore(d);
        return S.get("outbox", d.client_id).then(function (rec) { form.classList.add("ready"); return rejected(rec); });
      }
      if (d && (d.state === "queued" || d.state === "sent")) {
        // Answered on this device already: move on, unless the server still waits for this
        // sheet while reachable (it would send the respondent straight back here).
        return S.drain().then(function () { return S.get("outbox", d.client_id); }).then(function (rec) {
          if (!rec || rec.state !== "pending" || !navigator.onLine) return leave();
          say(T.queued, "waiting");
          window.addEventListener("suyang-synced", function () {
            S.get("outbox", d.client_id).then(function (r) { if (r.state !== "pending") leave(); });
          });
        });
      }
      draft = d || fresh();
      document.getElementById("client_id").value = draft.client_id;
      document.getElementById("started_at").value = draft.started_at;
      if (d) {
        restore(d);
        var list = visible(evaluate()), i = list.findIndex(function (s) { return s.q.dataset.name === d.screen; });
        show(i < 0 ? 0 : i, false);
        if (Object.keys(d.all || {}).length) say(T.resumed);
      } else save();
      if (!navigator.onLine) say(T.offline, "waiting");
      form.classList.add("ready");
      if (window.performance && performance.mark) performance.mark("suyang-first-question"); // bench/frontend
      return precache().then(sync);
    });
  }

  if (boot.code) questionnairePage(); else invitationPage();
})();
