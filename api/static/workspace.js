// The workspace procedure page's small script (served from /static, no CDN). Without it
// the page works as it is: the table saves by form post, a step's details open from the
// graph by anchor, and the risk is a link to its own page (window.js fetches it after
// load). With it:
// - the step table is checked as the planner types (the form posted to data-check), the
//   problem shown against its row and column;
// - 加一行 adds an empty row to the step table.
"use strict";

function markProblem(form, status, answer) {
  for (const cell of form.querySelectorAll(".fault-cell")) {
    cell.classList.remove("fault-cell");
    cell.removeAttribute("aria-invalid");
    cell.removeAttribute("title");
  }
  for (const row of form.querySelectorAll("tr.fault")) {
    row.classList.remove("fault");
  }
  status.className = answer.ok ? "ok" : "error";
  status.textContent = answer.ok ? status.dataset.ok : "";
  if (answer.ok) {
    return;
  }
  if (answer.heading) {
    const heading = document.createElement("strong");
    heading.textContent = answer.heading;
    status.appendChild(heading);
    status.appendChild(document.createTextNode("："));
  }
  status.appendChild(document.createTextNode(answer.message || ""));
  const row = form.querySelector(`tr[data-row="${answer.row}"]`);
  if (row) {
    row.classList.add("fault");
    const cell = row.querySelector(`input[data-column="${answer.column}"]`);
    if (cell) {
      cell.classList.add("fault-cell");
      cell.setAttribute("aria-invalid", "true");
      cell.title = answer.message || "";
    }
  }
}

function checkTable(form) {
  const status = document.getElementById("table-problem");
  let timer = null;
  let asked = 0;
  const check = () => {
    const mine = ++asked;
    status.textContent = status.dataset.checking;
    fetch(form.dataset.check, {method: "POST", body: new FormData(form),
                               credentials: "same-origin"})
      .then((answer) => answer.json())
      .then((answer) => { if (mine === asked) { markProblem(form, status, answer); } })
      .catch(() => { status.textContent = ""; });
  };
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 400);
  });
}

function addRows(form) {
  const button = document.getElementById("add-row");
  if (!button) {
    return;
  }
  button.classList.remove("hidden");
  button.addEventListener("click", () => {
    const body = form.querySelector("tbody");
    const last = body.lastElementChild;
    const row = last.cloneNode(true);
    const index = body.children.length;
    row.dataset.row = String(index);
    row.classList.remove("fault");
    row.firstElementChild.textContent = String(index + 1);
    for (const field of row.querySelectorAll("input")) {
      if (field.type === "checkbox") {
        field.value = String(index);
        field.checked = false;
      } else {
        field.value = "";
        field.classList.remove("fault-cell");
        field.removeAttribute("aria-invalid");
      }
    }
    body.appendChild(row);
    row.querySelector("input").focus();
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("table-form");
  if (form) {
    checkTable(form);
    addRows(form);
  }
});
