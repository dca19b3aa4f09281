// Progressive enhancement only: every page works without this file.
document.documentElement.classList.add("js");
document.addEventListener("submit", function (event) {
  // One click, one message: disable "send" buttons once their form is submitted.
  var form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  form.querySelectorAll("button.js-once").forEach(function (button) {
    window.setTimeout(function () { button.disabled = true; button.textContent = "Sending…"; }, 0);
  });
});
