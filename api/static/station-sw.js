/* 扫码台 service worker: lets the station page be reopened without a network.
 *
 * Registered by station.js only where the browser has service workers (a secure context: https or
 * localhost). It serves the station page and its files network-first, falling back to the copy kept here;
 * it never touches the outbox's requests (/station/probe, /station/actions), which go to the network
 * as they would without it. Served as /station-sw.js so that its scope may be /station.
 */
"use strict";

var CACHE = "station-v1";
var PAGE = "/station";
var FILES = [PAGE, "/static/app.css", "/static/station.css", "/static/station.js", "/static/vendor/jsqr/jsQR.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    // One at a time and each may fail: the page itself may answer a redirect to the sign-in page.
    return Promise.all(FILES.map(function (url) {
      return fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
        if (response.ok && !response.redirected) return cache.put(url, response);
        return null;
      })["catch"](function () { return null; });
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name !== CACHE; }).map(function (name) {
      return caches["delete"](name);
    }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var path = url.pathname;
  if (FILES.indexOf(path) < 0) return; // the probe, the actions and everything else: straight to the network
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && !response.redirected) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { return cache.put(path, copy); });
    }
    return response;
  })["catch"](function () {
    return caches.match(path).then(function (cached) {
      return cached || Response.error();
    });
  }));
});
