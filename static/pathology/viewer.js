/* The slide viewer: OpenSeadragon over the Deep Zoom tiles, with a scale bar from microns per
 * pixel, the tissue outline and a heatmap overlay (toggle and opacity). Configuration comes from
 * data attributes (no inline script: the CSP allows none). */
(function () {
  "use strict";
  var el = document.getElementById("slide-viewer");
  if (!el || !window.OpenSeadragon) {
    return;
  }
  var mpp = parseFloat(el.getAttribute("data-mpp"));
  var imageWidth = parseInt(el.getAttribute("data-width"), 10);
  // OpenSeadragon 6 appends an inline <style> (a touch-screen rule that hides the canvas focus
  // ring) unless it finds style[data-openseadragon-mobile-css]; the CSP blocks it and logs a
  // violation on every page. A MathML "style" element matches that selector but is not a style
  // sheet, so nothing inline is applied or blocked, and the keyboard focus ring stays visible.
  if (!document.querySelector("style[data-openseadragon-mobile-css]")) {
    var marker = document.createElementNS("http://www.w3.org/1998/Math/MathML", "style");
    marker.setAttribute("data-openseadragon-mobile-css", "not-needed");
    marker.setAttribute("hidden", "");
    document.head.appendChild(marker);
  }
  var viewer = window.OpenSeadragon({
    element: el,
    prefixUrl: el.getAttribute("data-prefix"),
    tileSources: el.getAttribute("data-dzi"),
    showNavigator: true,
    navigatorPosition: "TOP_RIGHT",
    maxZoomPixelRatio: 2,
    visibilityRatio: 0.5,
    gestureSettingsMouse: { clickToZoom: false }
  });

  // Scale bar: a round length (1, 2 or 5 x 10^k µm) about 120 screen pixels long.
  var bar = document.getElementById("scale-bar");
  var line = bar.querySelector(".scale-bar-line");
  var label = bar.querySelector(".scale-bar-label");
  function updateScale() {
    if (!(mpp > 0) || !(imageWidth > 0)) {
      return;
    }
    var container = viewer.viewport.getContainerSize().x;
    var screenPerImage = viewer.viewport.getZoom(true) * container / imageWidth;
    var micronsPerScreen = mpp / screenPerImage;
    var target = 120 * micronsPerScreen;
    var power = Math.pow(10, Math.floor(Math.log10(target)));
    var nice = [1, 2, 5, 10].map(function (m) { return m * power; })
      .filter(function (v) { return v <= target; }).pop() || power;
    line.style.width = Math.round(nice / micronsPerScreen) + "px";
    label.textContent = nice >= 1000 ? (nice / 1000) + " mm" : (nice >= 1 ? nice : nice.toPrecision(1)) + " µm";
  }
  if (mpp > 0) {
    bar.hidden = false;
    viewer.addControl(bar, { anchor: window.OpenSeadragon.ControlAnchor.BOTTOM_LEFT });
    viewer.addHandler("open", updateScale);
    viewer.addHandler("animation", updateScale);
    viewer.addHandler("resize", updateScale);
  }

  function overlay(url, opacity, done) {
    viewer.addTiledImage({
      tileSource: { type: "image", url: url },
      x: 0,
      y: 0,
      width: 1,
      opacity: opacity,
      success: function (event) { done(event.item); }
    });
  }

  var tissueBox = document.getElementById("overlay-tissue");
  var tissueItem = null;
  tissueBox.addEventListener("change", function () {
    if (tissueItem) {
      tissueItem.setOpacity(tissueBox.checked ? 1 : 0);
    } else if (tissueBox.checked) {
      overlay(el.getAttribute("data-tissue"), 1, function (item) { tissueItem = item; });
    }
  });

  var select = document.getElementById("heatmap-source");
  var slider = document.getElementById("heatmap-opacity");
  var heatItem = null;
  function heatOpacity() {
    return parseInt(slider.value, 10) / 100;
  }
  select.addEventListener("change", function () {
    if (heatItem) {
      viewer.world.removeItem(heatItem);
      heatItem = null;
    }
    if (select.value) {
      overlay(select.value, heatOpacity(), function (item) { heatItem = item; });
    }
  });
  slider.addEventListener("input", function () {
    if (heatItem) {
      heatItem.setOpacity(heatOpacity());
    }
  });
})();
