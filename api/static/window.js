// The window's small script (served from /static, no CDN): a confirmation before a form
// (or button) that carries data-confirm is sent, and a select with data-follow reloads its
// page for the chosen value at once, so that the desk's 一次性告知单 and form always belong
// to the item chosen. Without script, the forms work as they are.
"use strict";
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const text = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (text && !window.confirm(text)) {
    event.preventDefault();
  }
});
document.addEventListener("change", (event) => {
  const field = event.target;
  if (field.matches("select[data-follow]")) {
    field.form.submit();
  }
});
