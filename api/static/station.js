/* 扫码台 — the scan station's outbox.
 *
 * Each scan is captured at once as an outbox entry: a fresh idempotency key, the capture time (ISO with its
 * offset), the mode and its fields, and the exact request body. The outbox lives in IndexedDB, else in
 * localStorage, else in memory (with a warning). It is sent when the service answers a probe (navigator.onLine
 * is only a hint), one entry at a time, in capture order; a network error or a 5xx waits with exponential
 * backoff and resends the SAME key and body, so an action the server applied before the answer was lost is
 * answered "replayed" and written once. Refusals (403/404/409/410/422) go to the 需处理 list with their reason;
 * 401 stops sending and asks to sign in again. No service worker is needed: one is registered only where the
 * browser has one (a secure context), to reopen the page offline.
 *
 * Plain ES2017 without optional chaining: WeChat's and older phones' web views run it.
 */
(function () {
  "use strict";

  /* ---- Label codes: a port of labels/codes.py (Crockford base32, Luhn mod 32 check character) ---- */
  var Codes = (function () {
    var ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    var N = ALPHABET.length;
    var CODE_LENGTH = 10;
    var SCAN_PATH = "/s/";
    var VALUES = {};
    for (var i = 0; i < N; i++) VALUES[ALPHABET.charAt(i)] = i;
    var PREFIX_VALUES = { A: VALUES.A, L: VALUES["1"], P: VALUES.P };
    var KIND_NAMES = [["A", "装备"], ["L", "批次"], ["P", "位置"]];
    var LOOK_ALIKES = { O: "0", I: "1", L: "1" };
    // Python's str.split() whitespace (str.isspace), which JavaScript's \s does not match exactly.
    var PY_SPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/g;
    var PY_SPACE_EDGES = /^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;

    function InvalidCode(reason) {
      this.reasonZh = reason;
      this.message = reason;
    }

    function has(obj, key) {
      return Object.prototype.hasOwnProperty.call(obj, key);
    }

    function checkChar(payload) {
      var total = 0;
      var factor = 2;
      for (var position = payload.length - 1; position >= 0; position--) {
        var ch = payload.charAt(position);
        var addend = factor * (position === 0 ? PREFIX_VALUES[ch] : VALUES[ch]);
        total += Math.floor(addend / N) + (addend % N);
        factor = 3 - factor;
      }
      return ALPHABET.charAt((N - (total % N)) % N);
    }

    function normalise(text) {
      var cleaned = text.normalize("NFKC").replace(PY_SPACE, "").split("-").join("").split("\u2010").join("")
        .toUpperCase();
      var chars = Array.from(cleaned);
      if (!chars.length) return "";
      var out = chars[0];
      for (var j = 1; j < chars.length; j++) out += has(LOOK_ALIKES, chars[j]) ? LOOK_ALIKES[chars[j]] : chars[j];
      return out;
    }

    function parseCode(text) {
      var code = normalise(text);
      var chars = Array.from(code);
      if (!chars.length) throw new InvalidCode("编码为空");
      if (chars.length !== CODE_LENGTH) {
        throw new InvalidCode("编码应为 " + CODE_LENGTH + " 位（1 位类别字母 + 8 位编码 + 1 位校验位），现在是 "
          + chars.length + " 位");
      }
      var prefix = chars[0];
      if (!has(PREFIX_VALUES, prefix)) {
        throw new InvalidCode("首字母“" + prefix + "”不是已知的类别（"
          + KIND_NAMES.map(function (k) { return k[0] + "=" + k[1]; }).join("、") + "）");
      }
      var bad = [];
      chars.slice(1).forEach(function (c) {
        if (!has(VALUES, c) && bad.indexOf(c) < 0) bad.push(c);
      });
      if (bad.length) {
        bad.sort(function (a, b) { return a.codePointAt(0) - b.codePointAt(0); });
        throw new InvalidCode("含有无效字符“" + bad.join("") + "”（只能用数字和字母，不含 U）");
      }
      if (checkChar(code.slice(0, -1)) !== code.slice(-1)) throw new InvalidCode("校验位不符，可能输错或看错了一个字符");
      return code;
    }

    function unquote(text) {
      // urllib.parse.unquote: %XX runs decoded as UTF-8, invalid bytes replaced.
      return text.replace(/(%[0-9A-Fa-f]{2})+/g, function (run) {
        var bytes = new Uint8Array(run.length / 3);
        for (var k = 0; k < bytes.length; k++) bytes[k] = parseInt(run.substr(k * 3 + 1, 2), 16);
        return new TextDecoder("utf-8").decode(bytes);
      });
    }

    function urlPath(text) {
      // urllib.parse.urlsplit(text).path for the texts a label or a scanner gives.
      var rest = text.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "");
      var colon = rest.indexOf(":");
      if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.\-]*$/.test(rest.slice(0, colon))) rest = rest.slice(colon + 1);
      if (rest.slice(0, 2) === "//") {
        var end = rest.slice(2).search(/[\/?#]/);
        rest = end < 0 ? "" : rest.slice(2 + end);
      }
      return rest.split("#")[0].split("?")[0];
    }

    function pyStrip(text) {
      return text.replace(PY_SPACE_EDGES, "");
    }

    function codeFromPayload(payload) {
      var text = pyStrip(payload);
      if (text.indexOf("://") >= 0 || text.charAt(0) === "/") {
        var path = unquote(urlPath(text)).replace(/\/+$/, "");
        var marker = path.lastIndexOf(SCAN_PATH);
        if (marker < 0) throw new InvalidCode("不是本系统的标签二维码（网址中没有 /s/ 编码）");
        text = path.slice(marker + SCAN_PATH.length);
        if (text.indexOf("/") >= 0) throw new InvalidCode("不是本系统的标签二维码（/s/ 后面应只有编码）");
      }
      return parseCode(text);
    }

    return { checkChar: checkChar, normalise: normalise, parseCode: parseCode, codeFromPayload: codeFromPayload,
             InvalidCode: InvalidCode };
  })();
  window.StationCodes = Codes;

  var root = document.getElementById("station");
  if (!root) return;

  var USER = root.getAttribute("data-user") || "";
  var csrf = root.getAttribute("data-csrf") || "";
  var BACKOFF_BASE = 1000;
  var BACKOFF_CAP = 30000;
  var IDLE_PROBE = 60000;
  var PROBE_TIMEOUT = 5000;
  var SEND_TIMEOUT = 20000;
  var REPEAT_WINDOW = 3000; // a scanner that reads the same label twice in a row
  var REFUSED = [403, 404, 409, 410, 422];

  function $(id) { return document.getElementById(id); }

  /* ---- Keys and times ---- */
  function newKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID(); // secure contexts only
    var bytes = new Uint8Array(16);
    if (c && typeof c.getRandomValues === "function") {
      c.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-"
      + hex.slice(20);
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function isoWithOffset(d) {
    var offset = -d.getTimezoneOffset();
    var sign = offset >= 0 ? "+" : "-";
    offset = Math.abs(offset);
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":"
      + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + sign + pad(Math.floor(offset / 60)) + ":" + pad(offset % 60);
  }

  function clock(ms) {
    var d = new Date(ms);
    return pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":"
      + pad(d.getSeconds());
  }

  /* ---- Storage: IndexedDB, else localStorage, else memory ---- */
  var STORES = ["outbox", "attention", "meta"];

  function bySeq(a, b) { return a.seq - b.seq; }

  function idbStore(name) {
    return new Promise(function (resolve, reject) {
      var request;
      try {
        request = window.indexedDB.open(name, 1);
      } catch (e) {
        reject(e);
        return;
      }
      var timer = setTimeout(function () { reject(new Error("indexedDB open timed out")); }, 4000);
      request.onupgradeneeded = function () {
        STORES.forEach(function (s) { request.result.createObjectStore(s, { keyPath: "key" }); });
      };
      request.onerror = function () { clearTimeout(timer); reject(request.error); };
      request.onblocked = function () { clearTimeout(timer); reject(new Error("indexedDB blocked")); };
      request.onsuccess = function () {
        clearTimeout(timer);
        var db = request.result;
        function run(store, mode, work) {
          return new Promise(function (ok, fail) {
            var tx = db.transaction(store, mode);
            var result;
            var req = work(tx.objectStore(store));
            if (req) req.onsuccess = function () { result = req.result; };
            tx.oncomplete = function () { ok(result); };
            tx.onerror = function () { fail(tx.error); };
            tx.onabort = function () { fail(tx.error || new Error("aborted")); };
          });
        }
        resolve({
          kind: "indexeddb",
          list: function (store) {
            return run(store, "readonly", function (s) { return s.getAll(); }).then(function (rows) {
              return (rows || []).sort(bySeq);
            });
          },
          put: function (store, row) { return run(store, "readwrite", function (s) { return s.put(row); }); },
          remove: function (store, key) { return run(store, "readwrite", function (s) { return s["delete"](key); }); },
        });
      };
    });
  }

  function arrayStore(kind, load, save) {
    var data = {};
    STORES.forEach(function (s) { data[s] = load(s); });
    function commit(store) { save(store, data[store]); return Promise.resolve(); }
    return {
      kind: kind,
      list: function (store) {
        data[store] = load(store); // another tab may have changed it
        return Promise.resolve(data[store].slice().sort(bySeq));
      },
      put: function (store, row) {
        data[store] = load(store).filter(function (r) { return r.key !== row.key; });
        data[store].push(row);
        return commit(store);
      },
      remove: function (store, key) {
        data[store] = load(store).filter(function (r) { return r.key !== key; });
        return commit(store);
      },
    };
  }

  function localStore(prefix) {
    var ls = window.localStorage;
    var probeKey = prefix + "probe";
    ls.setItem(probeKey, "1");
    ls.removeItem(probeKey);
    return arrayStore("localstorage", function (s) {
      try { return JSON.parse(ls.getItem(prefix + s) || "[]"); } catch (e) { return []; }
    }, function (s, rows) { ls.setItem(prefix + s, JSON.stringify(rows)); });
  }

  function memoryStore() {
    var mem = {};
    return arrayStore("memory", function (s) { return (mem[s] || []).slice(); },
      function (s, rows) { mem[s] = rows.slice(); });
  }

  function openStorage() {
    var name = "station-" + USER;
    return Promise.resolve().then(function () {
      if (!window.indexedDB) throw new Error("no indexedDB");
      return idbStore(name);
    })["catch"](function () {
      return localStore(name + ":");
    })["catch"](function () {
      return memoryStore();
    });
  }

  /* ---- The page ---- */
  var store = null;
  var form = $("capture");
  var codeInput = $("code");
  var lastScan = { code: "", action: "", at: 0 };
  var seq = 0;

  function currentMode() {
    var checked = form.querySelector('input[name="mode"]:checked');
    return checked ? {
      action: checked.value, zh: checked.getAttribute("data-zh"),
      needs: (checked.getAttribute("data-needs") || "").split(" ").filter(Boolean),
      optional: (checked.getAttribute("data-optional") || "").split(" ").filter(Boolean),
      fixed: JSON.parse(checked.getAttribute("data-fixed") || "{}"),
    } : null;
  }

  function showFields() {
    var mode = currentMode();
    var shown = mode ? mode.needs.concat(mode.optional) : [];
    Array.prototype.forEach.call(form.querySelectorAll("[data-field]"), function (el) {
      el.hidden = shown.indexOf(el.getAttribute("data-field")) < 0;
    });
    Array.prototype.forEach.call(form.querySelectorAll("[data-when]"), function (el) {
      el.hidden = !mode || el.getAttribute("data-when") !== mode.action;
    });
  }

  function setLast(text, kind) {
    var last = $("last");
    last.textContent = text;
    last.setAttribute("data-kind", kind || "");
  }

  function setNet(state, text) {
    var net = $("net");
    net.setAttribute("data-net", state);
    net.textContent = text;
  }

  function codeError(text) {
    var el = $("code-error");
    el.textContent = text || "";
    el.hidden = !text;
  }

  function fieldValue(name) {
    var el = form.querySelector('[name="' + name + '"]');
    return el ? String(el.value || "").trim() : "";
  }

  var FIELD_MISSING = {
    counterparty: "请先填写领用人、单位或事件",
    location_id: "请先选择归还到哪个地点",
    to: "请先填写移到 / 归还到的地点，或扫描货架、地点标签",
  };

  function describe(entry) {
    var detail = entry.fields.counterparty || entry.fields.to || entry.placeName || "";
    return detail;
  }

  function item(entry, withDismiss) {
    var li = document.createElement("li");
    li.setAttribute("data-key", entry.key);
    li.setAttribute("data-code", entry.code);
    var what = document.createElement("span");
    what.className = "what";
    what.textContent = entry.modeZh;
    var code = document.createElement("a");
    code.className = "code";
    code.href = "/s/" + entry.code;
    code.textContent = entry.code;
    var time = document.createElement("time");
    time.textContent = clock(entry.capturedAt);
    li.appendChild(what);
    li.appendChild(code);
    li.appendChild(time);
    var detail = describe(entry);
    if (detail) {
      var d = document.createElement("span");
      d.className = "detail";
      d.textContent = detail;
      li.appendChild(d);
    }
    if (withDismiss) {
      var reason = document.createElement("span");
      reason.className = "reason";
      reason.textContent = entry.reason || "";
      li.appendChild(reason);
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "知道了";
      button.setAttribute("data-dismiss", entry.key);
      li.appendChild(button);
    }
    return li;
  }

  var SHOWN = 100;

  function renderList(id, noneId, rows, withDismiss) {
    var list = $(id);
    list.textContent = "";
    rows.slice(-SHOWN).reverse().forEach(function (row) { list.appendChild(item(row, withDismiss)); });
    if (rows.length > SHOWN) {
      var more = document.createElement("li");
      more.className = "none";
      more.textContent = "另有 " + (rows.length - SHOWN) + " 条较早的记录未列出";
      list.appendChild(more);
    }
    $(noneId).hidden = rows.length > 0;
  }

  function render() {
    return Promise.all([store.list("outbox"), store.list("attention")]).then(function (lists) {
      var pending = lists[0];
      var attention = lists[1];
      $("pending-count").textContent = String(pending.length);
      $("attention-count").textContent = String(attention.length);
      renderList("pending", "pending-none", pending, false);
      renderList("attention", "attention-none", attention, true);
      pending.forEach(function (row) { if (row.seq > seq) seq = row.seq; });
      return pending.length;
    });
  }

  function remember(text, kind) {
    setLast(text, kind);
    return store.put("meta", { key: "last", seq: 0, text: text, kind: kind || "" })["catch"](function () {});
  }

  /* ---- Capture ---- */
  function placeByLabel(code) {
    var options = $("f-location") ? $("f-location").options : [];
    for (var i = 0; i < options.length; i++) {
      if (options[i].getAttribute("data-label") === code) return options[i];
    }
    return null;
  }

  function takePlace(code, mode) {
    // A place's label scanned: it says where to (移库, 动用归还) or where back to (归还入库); never an entry.
    if (mode.needs.indexOf("to") >= 0 || mode.optional.indexOf("to") >= 0) {
      $("f-to").value = code;
      codeError("");
      remember("移到 / 归还到：" + code + "（地点标签）", "ok");
      return;
    }
    if (mode.needs.indexOf("location_id") >= 0) {
      var option = placeByLabel(code);
      if (!option) {
        codeError("地点标签 " + code + " 不在您的辖区地点列表中，请从“归还到”中选择");
        return;
      }
      $("f-location").value = option.value;
      codeError("");
      remember("归还到：" + option.textContent, "ok");
      return;
    }
    codeError("这是地点（货架）的标签：" + mode.zh + "请扫描装备的标签");
  }

  function capture(raw) {
    var mode = currentMode();
    if (!mode || !store) return Promise.resolve(false);
    var code;
    try {
      code = Codes.codeFromPayload(raw);
    } catch (e) {
      if (!e || !e.reasonZh) throw e;
      codeError(e.reasonZh + "。请核对标签上的编码。");
      setLast("未记录：编码有误", "error");
      return Promise.resolve(false);
    }
    if (code.charAt(0) === "P") {
      takePlace(code, mode);
      return Promise.resolve(false);
    }
    if (code.charAt(0) === "L") {
      codeError("这是批次的标签：批次物资的出库、移库要填数量，请打开扫码页 /s/" + code + " 办理");
      return Promise.resolve(false);
    }
    var fields = {};
    for (var name in mode.fixed) fields[name] = mode.fixed[name];
    for (var i = 0; i < mode.needs.length; i++) {
      var need = mode.needs[i];
      var value = fieldValue(need);
      if (!value) {
        codeError(FIELD_MISSING[need] || "请先填写" + need);
        return Promise.resolve(false);
      }
      fields[need] = value;
    }
    mode.optional.forEach(function (name) {
      var value = fieldValue(name);
      if (value) fields[name] = value;
    });
    var now = Date.now();
    if (lastScan.code === code && lastScan.action === mode.action && now - lastScan.at < REPEAT_WINDOW) {
      codeError("");
      setLast(code + " 刚刚已记录（重复扫码已忽略）", "");
      return Promise.resolve(false);
    }
    lastScan = { code: code, action: mode.action, at: now };
    var key = newKey();
    var occurredAt = isoWithOffset(new Date(now));
    seq = Math.max(seq + 1, now);
    var entry = {
      key: key, seq: seq, code: code, action: mode.action, modeZh: mode.zh, fields: fields, occurredAt: occurredAt,
      capturedAt: now,
      placeName: mode.needs.indexOf("location_id") >= 0 ? $("f-location").selectedOptions[0].textContent : "",
      body: JSON.stringify({ idempotency_key: key, code: code, action: mode.action, fields: fields,
                             occurred_at: occurredAt }),
    };
    codeError("");
    return store.put("outbox", entry).then(render).then(function () {
      return remember("已记录 " + code + "（" + mode.zh + "），待上传", "ok");
    }).then(function () {
      flushSoon(0);
      return true;
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var raw = codeInput.value;
    if (!raw.trim()) {
      codeInput.focus();
      return;
    }
    codeInput.value = "";
    capture(raw).then(function () { codeInput.focus(); });
  });

  codeInput.addEventListener("keydown", function (event) {
    // Some scanners end a code with Tab instead of Enter: record it and stay in the field.
    if (event.key === "Tab" && !event.shiftKey && codeInput.value.trim()) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });

  form.addEventListener("change", function (event) {
    if (event.target && event.target.name === "mode") {
      showFields();
      codeError("");
      codeInput.focus();
    }
  });

  $("attention").addEventListener("click", function (event) {
    var key = event.target && event.target.getAttribute && event.target.getAttribute("data-dismiss");
    if (key) store.remove("attention", key).then(render);
  });

  $("flush-now").addEventListener("click", function () {
    backoff = 0;
    flushSoon(0);
  });

  /* ---- Photo: jsQR on a canvas, no camera API needed ---- */
  function loadImage(file) {
    if (window.createImageBitmap) {
      return window.createImageBitmap(file)["catch"](function () { return loadByDataUrl(file); });
    }
    return loadByDataUrl(file);
  }

  function loadByDataUrl(file) {
    // data: URLs, not blob: ones: the pages' Content-Security-Policy allows images from data: only.
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () {
        var img = new Image();
        img.onload = function () { resolve(img); };
        img.onerror = function () { reject(new Error("image")); };
        img.src = reader.result;
      };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsDataURL(file);
    });
  }

  function decode(image) {
    var width = image.width || image.naturalWidth;
    var height = image.height || image.naturalHeight;
    var canvas = document.createElement("canvas");
    var ctx = canvas.getContext("2d");
    var sizes = [1024, 1600, 640, 2400];
    for (var i = 0; i < sizes.length; i++) {
      var scale = Math.min(1, sizes[i] / Math.max(width, height));
      canvas.width = Math.max(1, Math.round(width * scale));
      canvas.height = Math.max(1, Math.round(height * scale));
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      var pixels = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(pixels.data, canvas.width, canvas.height, { inversionAttempts: "attemptBoth" });
      if (found && found.data) return found.data;
      if (scale === 1) break;
    }
    return null;
  }

  $("photo").addEventListener("change", function () {
    var input = this;
    var file = input.files && input.files[0];
    if (!file) return;
    if (typeof window.jsQR !== "function") {
      codeError("识别程序未加载，请刷新页面后再试，或手动输入编码");
      return;
    }
    setLast("正在识别照片中的二维码…", "");
    loadImage(file).then(function (image) {
      var text = decode(image);
      if (!text) {
        codeError("照片中没有识别到二维码：请靠近标签、对准后重拍，或手动输入编码");
        setLast("未识别到二维码", "error");
        return false;
      }
      return capture(text);
    })["catch"](function () {
      codeError("照片无法读取，请重拍，或手动输入编码");
    }).then(function () {
      input.value = "";
      codeInput.focus();
    });
  });

  /* ---- Flush: probe, then one entry at a time ---- */
  var flushing = false;
  var again = false;
  var timer = null;
  var backoff = 0;

  function flushSoon(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, delay);
  }

  function retryLater() {
    var delay = Math.min(BACKOFF_CAP, BACKOFF_BASE * Math.pow(2, backoff));
    backoff = Math.min(backoff + 1, 16);
    flushSoon(Math.round(delay * (0.8 + Math.random() * 0.4)));
  }

  function timedFetch(url, options, ms) {
    var controller = window.AbortController ? new AbortController() : null;
    if (controller) options.signal = controller.signal;
    return new Promise(function (resolve, reject) {
      var t = setTimeout(function () {
        if (controller) controller.abort();
        reject(new Error("timeout"));
      }, ms);
      fetch(url, options).then(function (r) { clearTimeout(t); resolve(r); },
        function (e) { clearTimeout(t); reject(e); });
    });
  }

  function readJson(response) {
    var type = response.headers.get("content-type") || "";
    if (type.indexOf("json") < 0) return Promise.resolve(null);
    return response.json()["catch"](function () { return null; });
  }

  function probe() {
    return timedFetch("/station/probe", { cache: "no-store", credentials: "same-origin" }, PROBE_TIMEOUT)
      .then(function (r) { return r.ok ? readJson(r) : null; })
      .then(function (answer) {
        if (!answer || answer.ok !== true) return null;
        if (answer.csrf) csrf = answer.csrf;
        checkClock(answer.now);
        return answer;
      }, function () { return null; });
  }

  function checkClock(serverNow) {
    var server = Date.parse(serverNow || "");
    if (isNaN(server)) return;
    var minutes = Math.round((Date.now() - server) / 60000);
    var warning = $("clock-warning");
    warning.hidden = Math.abs(minutes) < 5;
    warning.textContent = "本机时间比服务器" + (minutes > 0 ? "快" : "慢") + " " + Math.abs(minutes)
      + " 分钟：记录的办理时间以本机为准，请校正手机时间。";
  }

  function send(entry) {
    return timedFetch("/station/actions", {
      method: "POST", cache: "no-store", credentials: "same-origin", body: entry.body,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    }, SEND_TIMEOUT).then(function (response) {
      return readJson(response).then(function (answer) { return { status: response.status, answer: answer }; });
    }, function () { return { status: 0, answer: null }; });
  }

  function refuse(entry, reason, status) {
    var row = {};
    for (var k in entry) row[k] = entry[k];
    row.reason = reason;
    row.status = status;
    row.refusedAt = Date.now();
    return store.put("attention", row).then(function () { return store.remove("outbox", entry.key); })
      .then(function () { return remember("需处理：" + entry.code + "（" + entry.modeZh + "）" + reason, "refused"); });
  }

  function showSignedIn(answer) {
    var signedOut = !answer.signed_in;
    var wrongUser = answer.signed_in && answer.user !== USER;
    $("signin").hidden = !signedOut;
    var wrong = $("wrong-user");
    wrong.hidden = !wrongUser;
    wrong.textContent = wrongUser ? "现在登录的是 " + answer.user + "，这些记录是 " + USER
      + " 扫的：请以 " + USER + " 的身份登录后再上传，或刷新本页。" : "";
    if (signedOut) setNet("signed_out", "需重新登录");
    if (wrongUser) setNet("wrong_user", "账号不符");
    return !signedOut && !wrongUser;
  }

  // One entry: "next" (sent or refused), "wait" (network or server trouble), "stop" (signed out).
  function deliver(entry, csrfRetried) {
    return send(entry).then(function (result) {
      var status = result.status;
      var answer = result.answer;
      if (status === 200 && answer && answer.status === "done") {
        return store.remove("outbox", entry.key).then(function () {
          return remember("已上传 " + entry.code + "：" + answer.message + (answer.replayed ? "（此前已办理，未重复记录）" : ""),
            "ok");
        }).then(function () { return "next"; });
      }
      if (status === 401) {
        showSignedIn({ signed_in: false });
        return "stop";
      }
      if (answer && answer.status === "refused" && REFUSED.indexOf(status) >= 0) {
        return refuse(entry, answer.message, status).then(function () { return "next"; });
      }
      if (status === 403 && !csrfRetried) {
        // Not JSON: the CSRF check (the session cookie changed). A fresh token from the probe, then once more.
        return probe().then(function (p) {
          if (!p || !showSignedIn(p)) return p ? "stop" : "wait";
          return deliver(entry, true);
        });
      }
      if (status === 400 || status === 413 || (status === 422 && !answer)) {
        return refuse(entry, (answer && answer.message) || "请求有误，此条无法上传", status)
          .then(function () { return "next"; });
      }
      setNet("offline", status ? "服务器暂时无法办理，稍后重试" : "连不上服务器，稍后重试");
      return "wait"; // 0 (network), 5xx, 429, a captive portal's page…
    });
  }

  function flush() {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (!store) return Promise.resolve();
    if (flushing) {
      again = true;
      return Promise.resolve();
    }
    flushing = true;
    again = false;
    return store.list("outbox").then(function (pending) {
      if (!pending.length) {
        return probe().then(function (p) {
          if (p) {
            showSignedIn(p);
            if (p.signed_in && p.user === USER) setNet("online", "已连接");
          } else {
            setNet("offline", "连不上服务器");
          }
          flushSoon(IDLE_PROBE);
        });
      }
      return probe().then(function (p) {
        if (!p) {
          setNet("offline", "连不上服务器");
          retryLater();
          return null;
        }
        if (!showSignedIn(p)) {
          retryLater();
          return null;
        }
        setNet("sending", "正在上传");
        return sendAll();
      });
    })["catch"](function () {
      retryLater();
    }).then(function () {
      flushing = false;
      return render();
    }).then(function () {
      if (again) flushSoon(0);
    });
  }

  function sendAll() {
    return store.list("outbox").then(function (pending) {
      if (!pending.length) {
        backoff = 0;
        setNet("online", "已连接");
        flushSoon(IDLE_PROBE);
        return null;
      }
      return deliver(pending[0], false).then(function (step) {
        if (step === "next") {
          backoff = 0;
          return render().then(sendAll);
        }
        retryLater(); // "wait": trouble on the way; "stop": signed out (probed again until signed in)
        return null;
      });
    });
  }

  /* ---- Start ---- */
  function registerServiceWorker() {
    var hint = $("offline-hint");
    if (!("serviceWorker" in navigator)) {
      root.setAttribute("data-sw", "none");
      hint.textContent = "此网址不能离线重新打开本页：断网时请勿刷新或关闭本页（记录已保存在本机，联网后自动上传）。";
      return;
    }
    navigator.serviceWorker.register("/station-sw.js", { scope: "/station" }).then(function () {
      root.setAttribute("data-sw", "registered");
      hint.textContent = "断网时也可重新打开本页；记录保存在本机，联网后自动上传。";
    }, function () {
      root.setAttribute("data-sw", "failed");
      hint.textContent = "断网时请勿刷新或关闭本页（记录已保存在本机，联网后自动上传）。";
    });
  }

  window.addEventListener("online", function () { flushSoon(0); });
  window.addEventListener("offline", function () { setNet("offline", "网络已断开"); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") flushSoon(0);
  });
  window.addEventListener("storage", function () { if (store) render(); });

  openStorage().then(function (opened) {
    store = opened;
    root.setAttribute("data-storage", store.kind);
    $("storage-warning").hidden = store.kind !== "memory";
    return store.list("meta");
  }).then(function (meta) {
    meta.forEach(function (row) { if (row.key === "last") setLast(row.text, row.kind); });
    showFields();
    return render();
  }).then(function () {
    root.setAttribute("data-ready", "1");
    registerServiceWorker();
    flushSoon(0);
  });

  window.StationDebug = { flush: function () { return flush(); }, probe: probe };
})();
