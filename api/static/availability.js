// 就近调配 /availability: a click on the server-drawn map fills the form's coordinates (WGS-84).
// The page works without this script: the coordinates can be typed, or a township chosen.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    var svg = document.querySelector("#pick svg.svgmap");
    var form = document.getElementById("ask");
    if (!svg || !form || !svg.getScreenCTM) { return; }
    var box = (svg.getAttribute("data-bbox") || "").split(",").map(Number);
    var view = svg.viewBox && svg.viewBox.baseVal;
    if (box.length !== 4 || box.some(isNaN) || !view || !view.width) { return; }
    var west = box[0], south = box[1], east = box[2], north = box[3];
    var lat = form.elements.namedItem("lat"), lon = form.elements.namedItem("lon");
    var crs = form.elements.namedItem("crs"), byPoint = document.getElementById("by-point");
    var said = document.getElementById("picked");
    var pin = null;

    svg.addEventListener("click", function (event) {
      if (event.target.closest && event.target.closest("a")) { return; }  // a marker's link: follow it
      var ctm = svg.getScreenCTM();
      if (!ctm) { return; }
      var pt = svg.createSVGPoint();
      pt.x = event.clientX;
      pt.y = event.clientY;
      var p = pt.matrixTransform(ctm.inverse());
      var x = p.x - view.x, y = p.y - view.y;
      var picked = {
        lon: west + x / view.width * (east - west),
        lat: north - y / view.height * (north - south)
      };
      lat.value = picked.lat.toFixed(6);
      lon.value = picked.lon.toFixed(6);
      if (crs) { crs.value = "wgs84"; }
      if (byPoint) { byPoint.checked = true; }
      if (!pin) {
        pin = document.createElementNS(NS, "circle");
        pin.setAttribute("class", "picked");
        pin.setAttribute("r", "7");
        pin.setAttribute("fill", "none");
        pin.setAttribute("stroke", "#b3261e");
        pin.setAttribute("stroke-width", "3");
        svg.appendChild(pin);
      }
      pin.setAttribute("cx", String(p.x));
      pin.setAttribute("cy", String(p.y));
      if (said) { said.textContent = "已选取：纬度 " + lat.value + "，经度 " + lon.value + "（WGS-84），请点“查询就近可用”。"; }
    });

    // Typing coordinates or choosing a township says which place the question is from.
    var byTownship = document.getElementById("by-township");
    var township = form.elements.namedItem("township");
    [lat, lon].forEach(function (input) {
      input.addEventListener("input", function () { if (byPoint) { byPoint.checked = true; } });
    });
    if (township && byTownship) {
      township.addEventListener("change", function () { if (township.value) { byTownship.checked = true; } });
    }
  });
})();
