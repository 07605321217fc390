/* The enumerator's day without signal: assigned cases kept on the device, visits and rosters
   queued in the outbox, the Kish selection made here with the case's grid row (the server
   repeats it when the roster syncs), interviews on the respondent pages (docs/respondent.md). */
(function () {
  "use strict";
  var S = window.SuyangStore, boot = JSON.parse(document.getElementById("boot").textContent), T = boot.strings;
  var view = document.getElementById("view"), statusEl = document.getElementById("status");
  var group = "field:" + boot.user, bundle = null;

  function fmt(text, vals) { return text.replace(/\{(\w+)\}/g, function (_, k) { return vals[k]; }); }
  function count(key, n) { return fmt(n === 1 && T[key + "_one"] || T[key], { n: n }); } // English: "1 record"
  function esc(v) { return String(v == null ? "" : v).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function say(text, kind) { statusEl.textContent = text || ""; statusEl.className = "status" + (kind ? " " + kind : ""); }
  function caseOf(code) { return bundle && bundle.cases.find(function (c) { return c.code === code; }); }
  function label(value) { return bundle.dispositions[value] || value; }
  function localTime(iso) {
    var d = new Date(iso); d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
    return d.toISOString().slice(0, 16).replace("T", " ");
  }
  function localCase(code) { return S.get("kv", "field-case:" + code).then(function (r) { return r || { key: "field-case:" + code }; }); }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(boot.sw).catch(function () {});
    navigator.serviceWorker.ready.then(function (r) {  // see survey.js: a page loaded mid-activation
      if (!navigator.serviceWorker.controller && r.active) r.active.postMessage("claim");
    });
  }
  S.put("kv", { key: "csrf", value: document.getElementById("csrf").value });

  /* --- sync ---------------------------------------------------------------------------------- */
  function showPending() {
    return S.pending().then(function (recs) {
      var p = document.getElementById("pending");
      p.textContent = recs.length ? count("pending", recs.length) : T.all_synced;
      p.className = "pending-count" + (recs.length ? " waiting" : "");
      var says = statusEl.textContent.indexOf(T.offline) >= 0; // alone or after "saved on this phone"
      if (recs.some(function (r) { return r.last_status === 403; })) say(T.login_again, "error");
      else if (!navigator.onLine) { if (!says) say(T.offline, "waiting"); }
      else if (says) say("");
      return recs.length;
    });
  }
  var fetchedAt = 0;
  function sync(rendered) { // RENDERED: the screen shows the device's records already
    return S.drain().then(function () { return S.all("outbox"); }).then(function (recs) {
      // Dispositions change on the server once visits and interviews are in (sent from this
      // page or by the worker): fetch the cases again.
      var newer = recs.some(function (r) { return r.state === "sent" && r.done_at > fetchedAt; });
      if (newer && navigator.onLine) return prepare(false); // quietly: not the answer to what was saved
      if (rendered !== true) return redraw();
    }).then(showPending);
  }
  if (navigator.serviceWorker) navigator.serviceWorker.addEventListener("message", function (e) {
    if (e.data && e.data.type === "suyang-synced") sync();
  });
  window.addEventListener("online", sync);
  window.addEventListener("offline", showPending);
  document.getElementById("sync-now").addEventListener("click", function () { sync(); });
  setInterval(function () { if (navigator.onLine) S.pending().then(function (p) { if (p.length) sync(); }); }, 15000);

  /* --- the bundle: cases taken out for offline work ------------------------------------------ */
  var loading = false, prepareButton = document.getElementById("prepare");
  function prepare(loud) {
    if (loading) return Promise.resolve();
    loading = prepareButton.disabled = true;
    prepareButton.setAttribute("aria-busy", "true");
    if (loud && bundle) say(T.downloading, "waiting");
    if (!bundle) render(); // the first download: "downloading", not "no cases on this phone"
    return fetch(boot.bundle, { method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": document.getElementById("csrf").value, "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (got) {
        bundle = got;
        fetchedAt = Date.now();
        return S.put("kv", { key: "field-bundle", value: got, at: fetchedAt });
      })
      .then(function () { return caches.open(boot.pages); })
      .then(function (cache) {
        var urls = [location.pathname];
        bundle.cases.forEach(function (c) { urls = urls.concat(c.pages); });
        return Promise.all(urls.map(function (url) {
          return fetch(url, { headers: { "X-Suyang-Precache": "1" }, credentials: "same-origin", redirect: "manual" })
            .then(function (r) { if (r.status === 200) return cache.put(url, r); });
        }));
      })
      .then(function () {
        done();
        if (loud) say(count("prepared", bundle.cases.length) + (bundle.more ? " " + count("more", bundle.more) : ""), "ok");
        document.documentElement.dataset.cached = "1";
        return loud ? render() : redraw();
      })
      .catch(function () { done(); if (loud || !bundle) say(T.prepare_failed, "error"); return loud ? render() : redraw(); });
    function done() { loading = prepareButton.disabled = false; prepareButton.removeAttribute("aria-busy"); }
  }
  prepareButton.addEventListener("click", function () { prepare(true); });

  /* --- Kish selection: the server's rule (assessment/sampling.py kish_select) ---------------- */
  function kish(members, ages, u) {
    var order = members.map(function (m, i) { return i; }).sort(function (a, b) {
      var sa = members[a].sex === "male" ? 0 : 1, sb = members[b].sex === "male" ? 0 : 1;
      return sa - sb || members[b].age - members[a].age || a - b;
    }).filter(function (i) { return members[i].age >= ages[0] && members[i].age <= ages[1]; });
    if (!order.length) return null;
    return { line: order[Math.floor(u * order.length)] + 1, k: order.length };
  }

  /* --- screens ------------------------------------------------------------------------------- */
  // Typing on the open screen (a roster, a visit note) and not yet saved: a background refresh
  // must not redraw it under the enumerator; the next screen shows the fresh data.
  var editing = false;
  view.addEventListener("input", function () { editing = true; });
  view.addEventListener("submit", function () { editing = false; }, true);
  function redraw() { return editing ? Promise.resolve() : render(); }
  function render() {
    editing = false;
    if (!bundle) {
      view.innerHTML = '<p class="notice">' + esc(loading ? T.downloading : T.no_cases) + "</p>";
      return Promise.resolve();
    }
    var code = decodeURIComponent((location.hash.match(/^#case=(.+)$/) || [])[1] || "");
    document.getElementById("prepare").textContent = T.refresh;
    return S.all("outbox").then(function (recs) { return code && caseOf(code) ? caseScreen(caseOf(code), recs) : listScreen(recs); });
  }

  function listScreen(recs) {
    var html = "<h2>" + esc(T.cases) + '</h2><ul class="cases">';
    bundle.cases.forEach(function (c) {
      var waiting = recs.filter(function (r) { return r.case === c.code && r.state === "pending"; }).length;
      html += '<li><a class="case-card" href="#case=' + encodeURIComponent(c.code) + '"><strong>' + esc(c.code) + "</strong>" +
        "<span>" + esc(c.town) + " · " + esc(c.psu) + (c.household ? " · " + esc(T.household) + " " + esc(c.household) : "") + "</span>" +
        '<em class="disp">' + esc(label(c.disposition)) + (waiting ? ' · <b class="waiting">' + esc(count("pending", waiting)) + "</b>" : "") + "</em></a></li>";
    });
    view.innerHTML = html + "</ul>";
    document.title = T.cases;
  }

  function now() {
    var d = new Date(); d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
    return d.toISOString().slice(0, 16);
  }
  function memberRow(m, i) {
    m = m || { sex: "", age: "", name: "" };
    return '<fieldset class="member"><legend>' + (i + 1) + "</legend>" +
      '<label>' + esc(T.sex) + '<select name="sex"><option value=""></option>' +
      '<option value="male"' + (m.sex === "male" ? " selected" : "") + ">" + esc(T.male) + "</option>" +
      '<option value="female"' + (m.sex === "female" ? " selected" : "") + ">" + esc(T.female) + "</option></select></label>" +
      '<label>' + esc(T.age) + '<input name="age" type="number" inputmode="numeric" min="0" max="120" value="' + esc(m.age) + '"></label>' +
      '<label>' + esc(T.name) + '<input name="name" type="text" maxlength="64" value="' + esc(m.name) + '"></label>' +
      '<button type="button" class="link remove">' + esc(T.remove) + "</button></fieldset>";
  }

  function caseScreen(c, recs) {
    return localCase(c.code).then(function (local) {
      var mine = recs.filter(function (r) { return r.case === c.code; });
      var visits = mine.filter(function (r) { return r.kind === "visit"; });
      var members = local.roster || c.members;
      var locked = c.answered > 0;
      var selection = selectionOf(c, local, mine);
      var html = '<p><a href="#" class="link">' + esc(T.back) + "</a></p><h2>" + esc(c.code) + "</h2><dl class=\"facts\">" +
        "<dt>" + esc(T.household) + "</dt><dd>" + esc(c.household || "—") + "</dd>" +
        (c.address ? "<dt>" + esc(T.address) + "</dt><dd>" + esc(c.address) + "</dd>" : "") +
        "<dt>" + esc(T.disposition) + "</dt><dd>" + esc(label(c.disposition)) + (c.answered ? " · " + esc(count("answered", c.answered)) : "") + "</dd></dl>";
      html += '<form id="visit" class="card"><h3>' + esc(T.visit) + "</h3>" +
        '<label for="v-at">' + esc(T.visited_at) + '</label><input id="v-at" name="visited_at" type="datetime-local" required value="' + now() + '">' +
        '<label for="v-out">' + esc(T.outcome) + '</label><select id="v-out" name="outcome" required><option value=""></option>' +
        bundle.outcomes.map(function (o) { return '<option value="' + esc(o.value) + '">' + esc(o.label) + "</option>"; }).join("") + "</select>" +
        '<label for="v-note">' + esc(T.note) + '</label><input id="v-note" name="note" type="text" maxlength="255">' +
        '<button class="button big" type="submit">' + esc(T.save_visit) + "</button></form>";
      if (visits.length) {
        html += "<h3>" + esc(T.visits) + '</h3><ul class="visits">' + visits.map(function (v) {
          var b = v.body.visits[0];
          return "<li>" + esc(localTime(b.visited_at)) + " · " + esc(label(b.outcome)) + ' <em class="' + v.state + '">' + esc(T["state_" + v.state]) + "</em></li>";
        }).join("") + "</ul>";
      }
      html += '<form id="roster" class="card"><h3>' + esc(T.roster) + '</h3><p class="hint">' + esc(locked ? T.locked : T.roster_hint) + "</p>" +
        '<p class="error" id="roster-error" role="alert" hidden></p><div id="members">' +
        (members.length ? members : [null]).map(memberRow).join("") + "</div>";
      if (!locked) html += '<button type="button" class="button secondary" id="add-member">' + esc(T.add_member) + "</button>" +
        '<button class="button big" type="submit">' + esc(T.save_roster) + "</button>";
      html += '<p class="selection" id="selection" aria-live="polite"></p></form>';
      html += '<p><a class="button big" id="interview" href="' + esc(c.invitation) + '">' + esc(T.interview) + "</a></p>";
      view.innerHTML = html;
      document.title = c.code;
      if (locked) view.querySelectorAll("#roster input, #roster select, #roster .remove").forEach(function (i) { i.disabled = true; });
      showSelection(c, members, selection);
      wireCase(c);
    });
  }

  /* The selection to show: the server's once it has the roster (its answer to the latest roster
     sent, or the bundle's members), the device's own while the roster waits to be sent.
     {line, k}; false: nobody eligible; null: none yet. */
  function selectionOf(c, local, mine) {
    var rosters = mine.filter(function (r) { return r.kind === "roster"; }).sort(function (a, b) { return a.created - b.created; });
    var last = rosters[rosters.length - 1], res = last && last.result;
    if (last && last.state === "pending") return local.selection === undefined ? null : local.selection;
    if (last && last.state === "sent" && res && "selected_line" in res && !(last.done_at < fetchedAt)) {
      return res.selected_line ? { line: res.selected_line, k: res.eligible } : false;
    }
    var chosen = c.members.find(function (m) { return m.selected; });
    var k = c.members.filter(function (m) { return m.eligible; }).length;
    if (chosen) return { line: chosen.line, k: k };
    if (c.members.length && !k) return false;
    return local.selection === undefined ? null : local.selection;
  }

  function showSelection(c, members, selection) {
    var out = document.getElementById("selection");
    if (selection === null || selection === undefined) { out.textContent = ""; return; }
    if (selection === false) { out.textContent = T.nobody; return; }
    var m = members[selection.line - 1] || {};
    var who = [m.name, m.sex === "male" ? T.male : m.sex === "female" ? T.female : "", m.age].filter(function (v) { return v || v === 0; });
    out.textContent = fmt(T.selected, { line: selection.line, k: selection.k, who: who.join(T.sep) });
  }

  function readRoster() {
    var members = [], problem = "";
    view.querySelectorAll("#members fieldset").forEach(function (fs) {
      var sex = fs.querySelector("[name=sex]").value, age = fs.querySelector("[name=age]").value.trim(), name = fs.querySelector("[name=name]").value.trim();
      if (!sex && !age && !name) return;
      var line = members.length + 1;
      if (!problem && !sex) problem = fmt(T.bad_sex, { line: line });
      if (!problem && !(/^\d{1,3}$/.test(age) && Number(age) <= 120)) problem = fmt(T.bad_age, { line: line });
      members.push({ sex: sex, age: Number(age), name: name });
    });
    if (!problem && !members.length) problem = T.need_member;
    return { members: members, problem: problem };
  }

  /* Saved on the device: say so and show it at once (the visit in the list, the selection); then
     what the server answered; only then fetch the cases again, quietly. */
  function saved(id, what, note) {
    return showPending().then(function () { // the count first: the new record is in it
      say(T[what + "_saved"] + (note ? " " + note : ""), note ? "waiting" : "ok");
      return render();
    }).then(S.drain).then(function () { return S.get("outbox", id); }).then(function (r) {
      if (r && r.state === "sent") say(T[what + "_synced"], "ok");
      else if (r && r.state === "rejected") say(T.record_rejected, "error");
      else if (r && r.last_status !== 403) say(T[what + "_saved"] + " " + (navigator.onLine ? T.sync_later : T.offline), "waiting");
      return sync(true); // no second drawing of the screen under the enumerator's fingers
    });
  }

  function wireCase(c) {
    document.getElementById("visit").addEventListener("submit", function (e) {
      e.preventDefault();
      var f = e.target, id = S.uuid();
      var at = new Date(f.visited_at.value);
      S.enqueue({ client_id: id, group: group, session: true, kind: "visit", case: c.code, url: boot.visits,
        body: { visits: [{ client_id: id, case: c.code, visited_at: at.toISOString(), outcome: f.outcome.value, note: f.note.value }] } })
        .then(function () { return saved(id, "visit"); });
    });
    var add = document.getElementById("add-member");
    if (add) add.addEventListener("click", function () {
      var box = document.getElementById("members");
      box.insertAdjacentHTML("beforeend", memberRow(null, box.children.length));
      box.lastElementChild.querySelector("select").focus();
    });
    view.querySelectorAll("#members .remove").forEach(function (b) {
      b.addEventListener("click", function () { b.closest("fieldset").remove(); });
    });
    document.getElementById("roster").addEventListener("submit", function (e) {
      e.preventDefault();
      var got = readRoster(), err = document.getElementById("roster-error");
      err.hidden = !got.problem; err.textContent = got.problem;
      if (got.problem) return;
      var selection = c.kish_u === null ? null : (kish(got.members, c.ages, c.kish_u) || false);
      // Only the latest roster of a household is sent: an earlier unsent one is replaced.
      S.all("outbox").then(function (recs) {
        return Promise.all(recs.filter(function (r) { return r.kind === "roster" && r.case === c.code && r.state === "pending"; })
          .map(function (r) { return S.del("outbox", r.client_id); }));
      }).then(function () {
        return localCase(c.code);
      }).then(function (local) {
        local.roster = got.members; local.selection = selection;
        return S.put("kv", local);
      }).then(function () {
        return S.enqueue({ client_id: S.uuid(), group: group, session: true, kind: "roster", case: c.code,
          url: boot.roster.replace("CASE", encodeURIComponent(c.code)), body: { members: got.members } });
      }).then(function (rec) { return saved(rec.client_id, "roster", c.kish_u === null ? T.no_grid : ""); });
    });
    document.getElementById("interview").addEventListener("click", function (e) {
      // Answer sheets of this household wait behind its roster and visits in the outbox.
      e.preventDefault();
      var token = c.invitation.split("/").filter(Boolean).pop(), href = e.target.href;
      S.put("kv", { key: "group:" + token, value: group }).then(function () { location.assign(href); });
    });
  }

  window.addEventListener("hashchange", render);
  window.addEventListener("suyang-synced", function () { showPending(); });
  S.get("kv", "field-bundle").then(function (got) {
    bundle = got ? got.value : null;
    fetchedAt = got ? got.at : 0;
    return render();
  }).then(function () {
    showPending();
    if (!bundle && navigator.onLine) return prepare(true);
    if (navigator.onLine) return sync();
  });
})();
