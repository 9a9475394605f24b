// Step 1 and 2: the photo, its options, and the quote. Every change asks the
// gateway for a fresh quote (POST /v1/quote, nothing charged); the size shown
// is the one the gateway read from the file, and the price is the quote's,
// item by item. A quote answered after a newer request was sent is dropped.
import { $, el, fillTable } from "./dom.js";
import * as i18n from "./i18n.js";
import { describe, session } from "./session.js";

let quoteSeq = 0;
let refused = false;  // the gateway refused the last file or options
let newPhoto = () => {};

// onNewPhoto: called when the customer picks another photo.
export function setUp(onNewPhoto) {
  newPhoto = onNewPhoto;
  $("file").addEventListener("change", () => {
    if ($("file").files[0]) choose($("file").files[0]);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  // A photo dropped beside the zone must not make the browser leave the page to show it.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer && e.dataTransfer.files[0];
    if (file) choose(file);
  });
  $("workflow").addEventListener("change", () => {
    fillOptions();
    requote();
  });
  $("quality").addEventListener("change", requote);
  $("upscale").addEventListener("change", requote);
}

function option(value, text) {
  const o = el("option", text);
  o.value = value;
  return o;
}

function fillSelect(select, values, label, preferred) {
  const keep = select.value;
  select.replaceChildren(...values.map((v) => option(v, label(v))));
  select.value = values.includes(keep) ? keep : preferred;
}

const offered = () => session.workflows.find((w) => w.name === $("workflow").value);

// The workflow menu from GET /v1/workflows (portraits first when offered).
export function fillWorkflows() {
  const names = session.workflows.map((w) => w.name);
  fillSelect($("workflow"), names, i18n.workflowName,
    names.includes("person") ? "person" : names[0]);
  fillOptions();
}

function fillOptions() {
  const w = offered();
  const qualities = w ? w.qualities : [];
  fillSelect($("quality"), qualities, i18n.qualityName, w && w.default_quality);
  $("quality-field").hidden = qualities.length === 0;
  const factors = w ? w.upscale_factors : [];
  fillSelect($("upscale"), factors,
    (f) => (f === "1" ? i18n.t("upscaleNone") : i18n.t("upscaleBy", { f })),
    factors.includes("1") ? "1" : factors[0]);
  $("upscale-field").hidden = factors.length === 0;
}

// The query of the quote and of the job: the workflow and its options.
export function query() {
  const q = new URLSearchParams({ workflow: $("workflow").value });
  if (!$("quality-field").hidden && $("quality").value) q.set("quality", $("quality").value);
  if (!$("upscale-field").hidden && $("upscale").value) q.set("upscale_factor", $("upscale").value);
  return q.toString();
}

function choose(file) {
  if (session.photoUrl) URL.revokeObjectURL(session.photoUrl);
  session.file = file;
  session.photoUrl = URL.createObjectURL(file);
  $("photo-image").src = session.photoUrl;
  newPhoto();
  requote();
}

export async function requote() {
  if (!session.file || !session.client) return;
  const seq = ++quoteSeq;
  session.quote = null;
  refused = false;
  $("photo-error").textContent = "";
  render();
  try {
    const quote = await session.client.upload("/v1/quote?" + query(), session.file);
    if (seq !== quoteSeq) return;
    session.quote = { ...quote, query: query() };
  } catch (e) {
    if (seq !== quoteSeq) return;
    refused = true;
    $("photo-error").textContent = describe(e);
  }
  render();
}

export function clear() {
  quoteSeq++;
  refused = false;
  $("photo").hidden = true;
  $("price").hidden = true;
  $("file").value = "";
  $("photo-error").textContent = "";
}

// Draws the photo's size and the price from the last quote, in the current language.
export function render() {
  const q = session.quote;
  $("photo").hidden = !session.file || refused;
  $("photo-size").textContent = !session.file || refused ? "" : !q ? i18n.t("reading") :
    i18n.t("size", { w: q.width, h: q.height, format: q.format.toUpperCase() }) +
    (q.output_width !== q.width || q.output_height !== q.height
      ? " · " + i18n.t("outputSize", { w: q.output_width, h: q.output_height }) : "");
  $("price").hidden = !q;
  if (!q) return;
  const rows = q.items.map((item) => [i18n.ruleName(item.rule), item.detail, item.tokens]);
  rows.push({ className: "total", cells: [i18n.t("total"), "", String(q.tokens)] });
  fillTable($("quote"), [i18n.t("item"), i18n.t("detail"), [i18n.t("tokens"), "num"]], rows);
  $("quote").dataset.tokens = String(q.tokens);
  $("quote-note").textContent =
    i18n.t("pricedAt", { book: q.book_version, time: i18n.formatDate(q.priced_at_ms) }) +
    (q.window ? " " + i18n.t("windowNote", { window: q.window }) : "");
  renderBalance();
  $("run").textContent = i18n.t("runFor", { action: i18n.actionOf(q.workflow), n: q.tokens });
}

// The balance before and after the quoted job.
export function renderBalance() {
  const q = session.quote;
  const a = session.account;
  if (!q || !a) return;
  const after = a.available - q.tokens;
  const list = $("balance-change");
  list.replaceChildren(el("dt", i18n.t("balanceNow")), el("dd", a.available),
    el("dt", i18n.t("balanceAfter")), el("dd", after));
  list.querySelectorAll("dd")[0].id = "balance-before";
  list.querySelectorAll("dd")[1].id = "balance-after";
  $("quote-warning").textContent =
    !a.unlimited && after < -a.credit_limit ? i18n.t("notEnough") : "";
}
