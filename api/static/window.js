// The pages' small script (served from /static, no CDN): a confirmation before a form
// (or button) that carries data-confirm is sent; a select with data-follow reloads its
// page for the chosen value at once, so that the desk's 一次性告知单 and form always belong
// to the item chosen; a box with data-fragment (the workspace's Monte-Carlo risk, the
// planner's advice when not yet computed) is filled after load with the fragment at that
// address, showing 计算中… with a progress bar meanwhile. Without script, the forms work as
// they are and such a box is a link to the fragment's own page.
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

function loadFragment(box) {
  const src = box.dataset.fragment;
  box.setAttribute("aria-busy", "true");
  box.innerHTML = "";
  const waiting = document.createElement("p");
  waiting.className = "computing";
  waiting.textContent = box.dataset.computing + " ";
  waiting.appendChild(document.createElement("progress"));
  box.appendChild(waiting);
  fetch(src, {headers: {"X-Fragment": "1"}, credentials: "same-origin"})
    .then((answer) => answer.ok ? answer.text() : Promise.reject(answer.status))
    .then((fragment) => { box.innerHTML = fragment; })
    .catch(() => {
      box.innerHTML = "";
      const link = document.createElement("a");
      link.href = src;
      link.textContent = box.dataset.computing.replace("…", "");
      box.appendChild(link);
    })
    .finally(() => box.removeAttribute("aria-busy"));
}
document.addEventListener("DOMContentLoaded", () => {
  for (const box of document.querySelectorAll("[data-fragment]")) {
    loadFragment(box);
  }
});
