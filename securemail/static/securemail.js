// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function disableOnce(form) {
    form.querySelectorAll("button.js-once").forEach(function (button) {
      window.setTimeout(function () { button.disabled = true; }, 0);
    });
  }

  function fileList(zone) {
    var input = zone.querySelector("input[type=file]");
    var list = zone.querySelector(".chosen-files");
    var max = parseInt(input.dataset.maxBytes || "0", 10);
    list.textContent = "";
    var tooBig = [];
    Array.prototype.forEach.call(input.files, function (file) {
      var item = document.createElement("li");
      item.textContent = file.name + " (" + Math.ceil(file.size / 1024) + " KB)";
      if (max && file.size > max) {
        item.className = "error";
        item.textContent += ": larger than " + Math.round(max / 1048576) + " MB, the limit for one file";
        tooBig.push(file.name);
      }
      list.appendChild(item);
    });
    return tooBig;
  }

  // Drag and drop onto an attachment field.
  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    input.addEventListener("change", function () { fileList(zone); });
    zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        fileList(zone);
      }
    });
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var zone = form.querySelector("[data-dropzone]");
    var input = zone && zone.querySelector("input[type=file]");
    if (!input || !input.files.length) { disableOnce(form); return; }
    if (fileList(zone).length) { event.preventDefault(); return; }
    // Upload with a progress bar; the server answers as for a normal submit.
    event.preventDefault();
    disableOnce(form);
    var progress = zone.querySelector(".upload-progress");
    var data = new FormData(form);
    if (event.submitter && event.submitter.name) data.append(event.submitter.name, event.submitter.value);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { progress.hidden = false; progress.value = Math.round((e.loaded / e.total) * 100); }
    });
    xhr.addEventListener("load", function () {
      // The XHR already followed the redirect and so took the one-time "sent" notice with
      // it: show that page as it came, and put its address in the location bar.
      var landed = xhr.status < 400 && xhr.responseURL;
      document.open();
      document.write(xhr.responseText);
      document.close();
      if (landed) window.history.replaceState(null, "", xhr.responseURL);
    });
    xhr.addEventListener("error", function () {
      progress.hidden = true;
      form.querySelectorAll("button.js-once").forEach(function (b) { b.disabled = false; });
      window.alert("The upload was interrupted. Check your connection and try again.");
    });
    xhr.send(data);
  });
})();
