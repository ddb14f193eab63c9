/* Chunked, resumable slide upload (no inline script: the CSP allows none).
 *
 * Each file goes in pieces of data-chunk bytes to the upload's chunk URL with its byte offset in
 * X-Upload-Offset. The server answers with the bytes it holds; after a network error, a 409
 * (offset mismatch) or a page reload, the upload continues from there: choosing the same file
 * again finds the unfinished upload on the server (by name and size). Nothing is kept in browser
 * storage.
 */
(function () {
  "use strict";
  var root = document.getElementById("chunked-uploader");
  var form = document.getElementById("plain-upload-form");
  if (!root || !form || !window.fetch || !window.Blob || !Blob.prototype.slice) {
    return; // the plain form stays
  }
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var sessionsUrl = root.getAttribute("data-sessions");
  var chunkSize = parseInt(root.getAttribute("data-chunk"), 10);
  var doneUrl = root.getAttribute("data-done");
  var input = document.getElementById("slide-files");
  var startButton = document.getElementById("slide-upload-start");
  var list = document.getElementById("slide-upload-list");
  root.hidden = false;
  form.hidden = true;

  function sleep(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  function post(url, body, headers) {
    var all = { "X-CSRFToken": token };
    Object.keys(headers || {}).forEach(function (k) { all[k] = headers[k]; });
    return fetch(url, { method: "POST", body: body, headers: all, credentials: "same-origin" });
  }

  function readJson(response) {
    return response.json().catch(function () { return { error: "The server answered " + response.status + "." }; });
  }

  function row(file) {
    var li = document.createElement("li");
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    var state = document.createElement("span");
    state.className = "upload-state";
    li.appendChild(name);
    li.appendChild(bar);
    li.appendChild(state);
    list.appendChild(li);
    return {
      li: li,
      progress: function (done, total) {
        bar.value = total ? Math.floor(100 * done / total) : 0;
        state.textContent = bar.value + "%";
      },
      say: function (text, kind) {
        state.textContent = text;
        li.className = kind || "";
      }
    };
  }

  async function session(file) {
    var response = await fetch(sessionsUrl, { credentials: "same-origin" });
    var data = await readJson(response);
    var found = (data.uploads || []).filter(function (u) {
      return u.name === file.name && u.size === file.size;
    })[0];
    if (found) {
      return found;
    }
    var body = new FormData();
    body.append("name", file.name);
    body.append("size", String(file.size));
    response = await post(sessionsUrl, body);
    data = await readJson(response);
    if (!response.ok) {
      throw new Error(data.error || "The upload could not start.");
    }
    return data;
  }

  async function uploadOne(file, ui) {
    var s = await session(file);
    var offset = s.received;
    var failures = 0;
    ui.progress(offset, file.size);
    while (offset < file.size) {
      var end = Math.min(offset + chunkSize, file.size);
      var response;
      try {
        response = await post(s.chunk, file.slice(offset, end), {
          "X-Upload-Offset": String(offset),
          "Content-Type": "application/octet-stream"
        });
      } catch (networkError) {
        failures += 1;
        if (failures > 8) {
          throw new Error("The connection was lost. Choose the file again to continue where it stopped.");
        }
        ui.say("Connection lost; retrying…", "retrying");
        await sleep(Math.min(30000, 1000 * Math.pow(2, failures)));
        continue;
      }
      var data = await readJson(response);
      if (response.status === 409 && typeof data.received === "number") {
        offset = data.received; // the server knows better where the file stands
        continue;
      }
      if (!response.ok) {
        throw new Error(data.error || "The upload was refused.");
      }
      failures = 0;
      offset = data.received;
      ui.progress(offset, file.size);
    }
    var finish = await post(s.finish, null);
    var result = await readJson(finish);
    if (!finish.ok) {
      throw new Error(result.error || "The upload could not be completed.");
    }
    ui.say("Received; processing in the background.", "done");
  }

  startButton.addEventListener("click", async function () {
    var files = Array.prototype.slice.call(input.files || []);
    if (!files.length) {
      return;
    }
    startButton.disabled = true;
    var allDone = true;
    for (var i = 0; i < files.length; i += 1) {
      var ui = row(files[i]);
      try {
        await uploadOne(files[i], ui);
      } catch (error) {
        allDone = false;
        ui.say(error.message, "error");
      }
    }
    startButton.disabled = false;
    if (allDone) {
      window.location.assign(doneUrl);
    }
  });
})();
