// Board mode: arrow keys (and PageUp/PageDown from presentation clickers) follow the
// previous/next links, so the wall screen can be driven without a mouse. Links still work alone.
// Keys typed into the decision form stay in the form.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
        target instanceof HTMLSelectElement || (target instanceof HTMLElement && target.isContentEditable)) {
      return;
    }
    var id = null;
    if (event.key === "ArrowRight" || event.key === "PageDown") { id = "board-next"; }
    if (event.key === "ArrowLeft" || event.key === "PageUp") { id = "board-prev"; }
    var link = id ? document.getElementById(id) : null;
    if (link) {
      event.preventDefault();
      window.location.assign(link.getAttribute("href"));
    }
  });
})();
