// Imaging viewer: mouse wheel, arrow/Page keys and the slider change the slice by swapping only
// the <img> source (one PNG request per step, no page or partial reload). Without this script
// the previous/next links and the slider form do the same through htmx or plain navigation.
(function () {
  "use strict";
  var pending = null;

  function panel() { return document.getElementById("viewer-panel"); }

  function show(index) {
    var root = panel();
    var slider = document.getElementById("viewer-index");
    var img = document.getElementById("viewer-slice");
    if (!root || !slider || !img) { return; }
    var last = parseInt(root.dataset.last, 10) || 0;
    index = Math.max(0, Math.min(last, index));
    if (String(index) === slider.value && pending === null) { return; }
    slider.value = String(index);
    var output = document.getElementById("viewer-position");
    if (output) { output.textContent = (index + 1) + " / " + (last + 1); }
    var query = new URLSearchParams({
      axis: root.dataset.axis, index: String(index), window: root.dataset.window,
      contours: root.dataset.contours, fusion: root.dataset.fusion
    });
    // Coalesce fast wheel spins: only the latest requested slice is fetched.
    if (pending !== null) { window.clearTimeout(pending); }
    pending = window.setTimeout(function () {
      pending = null;
      img.src = root.dataset.sliceBase + "?" + query.toString();
    }, 15);
  }

  function current() {
    var slider = document.getElementById("viewer-index");
    return slider ? parseInt(slider.value, 10) || 0 : 0;
  }

  document.addEventListener("wheel", function (event) {
    if (!(event.target instanceof Element) || !event.target.closest("#viewer-slice")) { return; }
    event.preventDefault();
    show(current() + (event.deltaY > 0 ? 1 : -1));
  }, { passive: false });

  document.addEventListener("keydown", function (event) {
    if (!panel() || event.target instanceof HTMLTextAreaElement) { return; }
    if (event.target instanceof HTMLInputElement && event.target.id !== "viewer-index") { return; }
    var step = { ArrowUp: -1, ArrowDown: 1, PageUp: -10, PageDown: 10, ArrowLeft: -1, ArrowRight: 1 }[event.key];
    if (step === undefined) { return; }
    event.preventDefault();
    show(current() + step);
  });

  document.addEventListener("input", function (event) {
    if (event.target instanceof HTMLInputElement && event.target.id === "viewer-index") {
      show(parseInt(event.target.value, 10) || 0);
    }
  });

  // The slider's form would reload the panel on "change"; the image is already up to date.
  document.addEventListener("htmx:confirm", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.classList.contains("viewer-scroll")) {
      event.preventDefault();
    }
  });
})();
