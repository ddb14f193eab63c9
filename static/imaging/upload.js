// Upload progress: send the form with XMLHttpRequest so the <progress> bar follows the bytes
// sent; the server answers with a redirect to the upload's status page. Without this script the
// form posts normally (same result, no bar).
(function () {
  "use strict";
  var form = document.getElementById("imaging-upload-form");
  var bar = document.getElementById("imaging-upload-progress");
  if (!form || !bar || !window.FormData) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    bar.hidden = false;
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
        bar.textContent = bar.value + "%";
      }
    });
    xhr.addEventListener("load", function () {
      if (xhr.responseURL && xhr.status < 400) {
        window.location.assign(xhr.responseURL);
      } else {
        document.open();
        document.write(xhr.responseText);
        document.close();
      }
    });
    xhr.addEventListener("error", function () {
      bar.hidden = true;
      window.alert("The upload was interrupted; nothing was stored. Try again.");
    });
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    xhr.send(new FormData(form));
  });
})();
