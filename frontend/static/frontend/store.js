/* The device's own store (IndexedDB) and its outbox, shared by the pages and the service worker.
   Answers and visits live here until the server confirms them; a new deployment replaces the
   worker's caches, never this database (docs/respondent.md). */
(function (root) {
  "use strict";
  var NAME = "suyang", VERSION = 1, opened = null, draining = null;

  function open() {
    if (!opened) opened = new Promise(function (resolve, reject) {
      var req = indexedDB.open(NAME, VERSION);
      // Later versions only ever add stores: an upgrade must never drop queued records.
      req.onupgradeneeded = function () {
        var db = req.result;
        if (!db.objectStoreNames.contains("drafts")) db.createObjectStore("drafts", { keyPath: "key" });
        if (!db.objectStoreNames.contains("outbox")) db.createObjectStore("outbox", { keyPath: "client_id" });
        if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv", { keyPath: "key" });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { opened = null; reject(req.error); };
    });
    return opened;
  }
  function run(store, mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode), out;
        var req = fn(tx.objectStore(store));
        if (req) req.onsuccess = function () { out = req.result; };
        tx.oncomplete = function () { resolve(out); };
        tx.onerror = tx.onabort = function () { reject(tx.error); };
      });
    });
  }
  function get(store, key) { return run(store, "readonly", function (s) { return s.get(key); }); }
  function put(store, value) { return run(store, "readwrite", function (s) { return s.put(value); }); }
  function del(store, key) { return run(store, "readwrite", function (s) { return s.delete(key); }); }
  function all(store) { return run(store, "readonly", function (s) { return s.getAll(); }); }

  function uuid() {
    if (root.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  /* Queue one request; REC has client_id, group (records of a group go in order), url, body. */
  function enqueue(rec) {
    return get("outbox", rec.client_id).then(function (old) {
      if (old) return old; // the same submission again (double tap, second tab): keep the first
      rec.state = "pending"; rec.created = rec.created || Date.now(); rec.tries = 0;
      return put("outbox", rec).then(function () { return rec; });
    });
  }

  function verdict(rec, status, body) {
    if (status === 200 && body && body.results && body.results.some(function (r) { return r.status === "refused"; })) return "rejected";
    if (status === 200 || status === 201) return "sent";
    var errors = (body && body.errors) || {};
    // The household's questionnaire is already in (another device, the plain form): nothing lost.
    if (status === 409 && errors.case) return "sent";
    if (status === 409 && errors.instrument) return "wait"; // demographics not through yet
    if (status === 401 || status === 403 || status >= 500 || status === 0) return "wait";
    return "rejected";
  }

  function send(rec, csrf) {
    var headers = { "Content-Type": "application/json", "Accept": "application/json" };
    if (rec.session && csrf) headers["X-CSRFToken"] = csrf;
    return fetch(rec.url, {
      method: "POST", headers: headers, body: JSON.stringify(rec.body),
      credentials: rec.session ? "same-origin" : "omit", cache: "no-store"
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (body) { return { status: r.status, body: body }; });
    }, function () { return { status: 0, body: null }; });
  }

  /* Send what is pending, oldest first; a group stops at its first record that must wait. */
  function drain() {
    if (draining) return draining;
    // One drain at a time across the pages and the worker (Web Locks), so that a record is
    // not sent twice at once; the server would keep one copy anyway (client_id).
    var locks = root.navigator && root.navigator.locks;
    draining = (locks ? locks.request("suyang-outbox", drainOnce) : drainOnce()).finally(function () { draining = null; });
    return draining.then(function (counts) { announce(counts); return counts; });
  }
  function drainOnce() {
    return Promise.all([all("outbox"), get("kv", "csrf")]).then(function (got) {
      var recs = got[0].filter(function (r) { return r.state === "pending"; })
        .sort(function (a, b) { return a.created - b.created; });
      var csrf = got[1] && got[1].value, blocked = {}, counts = { sent: 0, rejected: 0 };
      return recs.reduce(function (p, rec) {
        return p.then(function () {
          if (blocked[rec.group]) return;
          return send(rec, csrf).then(function (res) {
            var v = verdict(rec, res.status, res.body);
            rec.tries += 1; rec.last_status = res.status;
            if (v === "wait") { blocked[rec.group] = true; return put("outbox", rec); }
            rec.state = v; rec.result = res.body; rec.done_at = Date.now();
            counts[v] += 1;
            return put("outbox", rec);
          });
        });
      }, Promise.resolve()).then(function () { return counts; });
    });
  }

  function announce(counts) {
    if (root.document) root.dispatchEvent(new CustomEvent("suyang-synced", { detail: counts }));
    else if (root.clients) root.clients.matchAll().then(function (cs) {
      cs.forEach(function (c) { c.postMessage({ type: "suyang-synced", counts: counts }); });
    });
  }

  /* The pending records, all or those of one invitation (wherever they queue). */
  function pending(token) {
    return all("outbox").then(function (recs) {
      return recs.filter(function (r) { return r.state === "pending" && (!token || r.token === token || r.group === token); });
    });
  }

  if (root.indexedDB) open().catch(function () {}); // opening takes a while on a slow phone: start now
  root.SuyangStore = { open: open, get: get, put: put, del: del, all: all, uuid: uuid, enqueue: enqueue, drain: drain, pending: pending };
})(self);
