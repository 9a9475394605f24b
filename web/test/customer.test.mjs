// Browser test of the customer page (web/customer): Debian's Chromium, driven
// by playwright-core, uses a running gateway as a customer would.
//   node web/test/customer.test.mjs BASE_URL SHOT_DIR STEP API_KEY [OTHER_KEY]
// STEP is one of:
//   journey  sign in, price the bundled portrait, colorize it behind two jobs
//            of another account (OTHER_KEY's) so that it waits in the gateway's
//            queue (one job ahead, then next in line) and then runs, watch
//            a job fail on the building pool (its worker always fails), a bad
//            upload, the history, the keyboard, the language switch;
//   window   a photo dropped on the page, priced under a whole-day time window
//            (its time-of-day, rounding and minimum lines);
//   short    a balance that does not cover the job: the plans from the 402;
//   phone    the page on a 390x844 screen.
// tests/integration/test_customer_page.py sets the gateway up for each step.
// Screenshots go to SHOT_DIR as <step>-<what>.png. Exits 0 when every check
// holds, 1 with the first failure otherwise.
import path from "node:path";
import { fileURLToPath } from "node:url";

import { check, launch, openPage } from "./browser.mjs";

const [base, shotDir, step, key, otherKey] = process.argv.slice(2);
const steps = { journey, window: timeWindow, short, phone };
if (!base || !shotDir || !steps[step] || !key) {
  console.error("usage: customer.test.mjs BASE_URL SHOT_DIR journey|window|short|phone " +
    "API_KEY [OTHER_KEY]");
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const portrait = path.join(here, "..", "..", "config", "samples", "portrait_800x600.jpg");

// What the API itself says, to compare the page with.
async function api(method, route, body, as = key) {
  const r = await fetch(base + route, { method, body, headers: { Authorization: "Bearer " + as } });
  return { status: r.status, json: await r.json() };
}
const available = async () => (await api("GET", "/v1/account")).json.available;
const shot = (page, what) =>
  page.screenshot({ path: path.join(shotDir, step + "-" + what + ".png"), fullPage: true });
const text = (page, selector) => page.textContent(selector);
const number = async (page, selector) =>
  Number((await text(page, selector)).replace(/[^\d-]/g, ""));

async function signIn(page) {
  await page.goto(base + "/");
  await page.waitForSelector("body[data-ready=yes]");
  check(await page.isVisible("#sign-in"), "the sign-in form shows first");
  check(await page.isHidden("#app"), "nothing else shows before signing in");
  await page.fill("#key", key);
  await page.press("#key", "Enter");  // the form submits from the keyboard
  await page.waitForSelector("#app:not([hidden])", { timeout: 10000 });
  check(await page.evaluate(() => sessionStorage.getItem("tollgate-api-key")) === key,
    "the key is kept in sessionStorage");
  check(await page.evaluate(() => localStorage.getItem("tollgate-api-key")) === null,
    "the key is not kept in localStorage");
}

async function upload(page, file) {
  await page.setInputFiles("#file", file);
  await page.waitForSelector("#quote tbody tr", { timeout: 10000 });
}

// The quote table's rows: [rule label, detail, tokens].
const quoteRows = (page) => page.$$eval("#quote tbody tr",
  (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));

async function checkQuote(page, tokens, rules) {
  const quote = (await api("POST", "/v1/quote?workflow=person", await readPortrait())).json;
  check(quote.tokens === tokens, "the API quotes " + tokens + " tokens (" + quote.tokens + ")");
  check(JSON.stringify(quote.items.map((i) => i.rule)) === JSON.stringify(rules),
    "the API's items are " + rules.join(", ") + ": " + quote.items.map((i) => i.rule));
  const rows = await quoteRows(page);
  check(rows.length === quote.items.length + 1, "one row per item, and the total");
  quote.items.forEach((item, i) => {
    check(rows[i][1] === item.detail && rows[i][2] === item.tokens,
      "item " + item.rule + " shows as the API has it: " + rows[i].join(" | "));
  });
  check(rows[rows.length - 1][2] === String(tokens), "the total is " + tokens);
  check(await text(page, "#run") === "Colorize for " + tokens + " tokens",
    "the button states the price: " + await text(page, "#run"));
  check((await text(page, "#photo-size")).startsWith("800 × 600 pixels, JPEG"),
    "the size is the server's: " + await text(page, "#photo-size"));
  return quote;
}

let portraitBytes = null;
async function readPortrait() {
  const { readFile } = await import("node:fs/promises");
  portraitBytes ??= await readFile(portrait);
  return portraitBytes;
}

function checkOnlyPublicApi(page) {
  for (const url of page.requested) {
    const u = new URL(url);
    const own = u.origin === new URL(base).origin;
    check(url.startsWith("blob:") || (own && (u.pathname === "/" ||
      u.pathname.startsWith("/app/") || u.pathname.startsWith("/v1/"))),
    "the page asks only its own files and /v1: " + url);
  }
  check(page.errors.length === 0, "no script errors: " + page.errors.join("; "));
}

async function journey(page) {
  await page.goto(base + "/");
  await page.fill("#key", "tg_" + "0".repeat(64));
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#sign-in-error:has-text('unauthorized')", { timeout: 10000 });
  await signIn(page);
  const before = await available();
  check(await number(page, "#balance") === before, "the balance shows " + before);
  await upload(page, portrait);
  const quote = await checkQuote(page, 10, ["base", "per_megapixel", "rounding"]);
  check(await number(page, "#balance-before") === before, "balance before the job");
  check(await number(page, "#balance-after") === before - 10, "balance after the job");
  await shot(page, "quote");

  // Two jobs of another account go first. The gateway runs one job at a time
  // ([dispatch] concurrent_jobs_max = 1), each for two seconds, so this one
  // waits in the gateway's queue, one job ahead, then next in line; the page
  // learns from the job's events where it stands and when it runs.
  for (let i = 0; i < 2; i++) {
    const ahead = await api("POST", "/v1/jobs?workflow=person", await readPortrait(), otherKey);
    check(ahead.status === 202, "the other account's job is admitted: " + ahead.status);
  }
  await page.click("#run");
  await page.waitForSelector("#job-status:has-text('10 tokens are held for job')",
    { timeout: 10000 });
  check(!(await text(page, "#job-status")).includes("Running"), "the job waits at first");
  await page.waitForSelector("#job-status:has-text('Waiting, 1 job ahead.')", { timeout: 10000 });
  await shot(page, "waiting");
  await page.waitForSelector("#job-status:has-text('Next in line.')", { timeout: 10000 });
  await page.waitForSelector("#job-status:has-text('Running')", { timeout: 10000 });
  await page.waitForSelector("#job[data-state=succeeded]", { timeout: 30000 });
  check(page.requested.some((u) => /\/v1\/jobs\/job_\w+\/events$/.test(u)),
    "the page followed the job's events");
  await page.waitForFunction(() => {
    const img = document.getElementById("after-image");
    return img.complete && img.naturalWidth === 800;
  }, null, { timeout: 10000 });
  check(await available() === before - quote.tokens, "the balance dropped by the quote exactly");
  await page.waitForFunction((n) => document.getElementById("balance").textContent.includes(n),
    String(before - quote.tokens));
  check((await page.getAttribute("#download", "href")).startsWith("/v1/results/"),
    "the download is the signed result link");
  await page.focus("#compare-slider");
  for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowRight");
  check(await page.inputValue("#compare-slider") === "55", "the arrow keys move the slider");
  check(await page.$eval("#compare", (e) => e.style.getPropertyValue("--pos")) === "55%",
    "the slider moves the cut");
  await shot(page, "result");

  await page.selectOption("#quality", "high");
  await page.waitForSelector("#run:has-text('for 12 tokens')", { timeout: 10000 });
  check((await quoteRows(page)).some((r) => r[0] === "Quality" && r[2] === "2"),
    "the quality surcharge is a line of its own");

  await page.selectOption("#workflow", "building");
  await page.waitForSelector("#run:has-text('for 15 tokens')", { timeout: 10000 });
  const held = await available();
  await page.click("#run");
  await page.waitForSelector("#job[data-state=failed]", { timeout: 30000 });
  await page.waitForSelector("#job-balance:has-text('returned')", { timeout: 10000 });
  check(await available() === held, "the failed job's tokens are back");
  check((await text(page, "#job-balance")).includes(held + " tokens, as before"),
    "the page shows the balance as before: " + await text(page, "#job-balance"));
  check(await page.isHidden("#result"), "no result for a failed job");
  await shot(page, "failed");

  const junk = { name: "notes.png", mimeType: "image/png", buffer: Buffer.from("not a photo") };
  const refused = await api("POST", "/v1/quote?workflow=person", junk.buffer);
  check(refused.status === 415, "the API refuses a file that is no image: " + refused.status);
  await page.setInputFiles("#file", junk);
  await page.waitForSelector("#photo-error:not(:empty)", { timeout: 10000 });
  check((await text(page, "#photo-error")).includes(refused.json.error.message),
    "the page shows the gateway's message: " + await text(page, "#photo-error"));
  check(await page.isHidden("#price"), "no price for a refused file");

  await page.click("#history-refresh");
  await page.waitForSelector("#jobs tbody tr.job-failed", { timeout: 10000 });
  check(await page.locator("#jobs tbody tr.job-succeeded img.thumb").count() === 1,
    "the succeeded job has a thumbnail");
  for (const kind of ["grant", "hold", "capture", "void"]) {
    check(await page.locator("#statement tbody tr.entry-" + kind).count() >= 1,
      "the statement has a " + kind + " entry");
  }
  check(await page.$$eval(".table-wrap",
    (wraps) => wraps.every((w) => w.scrollWidth <= w.clientWidth)),
  "every table fits its column, without scrolling sideways");
  await shot(page, "history");

  await page.click("#language");
  await page.waitForSelector("html[lang=zh-CN]");
  check(await text(page, "h1") === "老照片上色", "the title is in Chinese");
  check((await text(page, "#jobs th:nth-child(4)")) === "状态", "the history is in Chinese");
  check((await text(page, "#language")) === "English", "the switch offers English back");
  await shot(page, "chinese");
  await page.reload();
  await page.waitForSelector("#app:not([hidden])");
  check(await text(page, "h1") === "老照片上色", "the choice and the session survive a reload");
  await page.click("#language");
  check(await text(page, "h1") === "Photo colorizer", "back in English");
  checkOnlyPublicApi(page);
}

// Drops the portrait on the drop zone, as a drag from the desktop would.
async function drop(page) {
  const bytes = [...await readPortrait()];
  await page.evaluate((data) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(data)], "portrait.jpg", { type: "image/jpeg" }));
    const zone = document.getElementById("drop");
    for (const type of ["dragenter", "dragover", "drop"]) {
      zone.dispatchEvent(new DragEvent(type, { dataTransfer: transfer, bubbles: true,
        cancelable: true }));
    }
  }, bytes);
  await page.waitForSelector("#quote tbody tr", { timeout: 10000 });
}

async function timeWindow(page) {
  await signIn(page);
  await drop(page);
  await checkQuote(page, 10, ["base", "per_megapixel", "time_window", "rounding", "minimum"]);
  const labels = (await quoteRows(page)).map((r) => r[0]);
  for (const label of ["Time of day", "Rounding", "Minimum price"]) {
    check(labels.includes(label), "the quote has its " + label + " line");
  }
  check((await text(page, "#quote-note")).includes("night"), "the note names the window");
  await shot(page, "quote");
  checkOnlyPublicApi(page);
}

async function short(page) {
  await signIn(page);
  const before = await available();
  await upload(page, portrait);
  check(await number(page, "#balance-after") === before - 10, "the quote shows the balance short");
  check(await page.isVisible("#quote-warning"), "the quote warns that the balance is short");
  await page.click("#run");
  await page.waitForSelector("#plans:not([hidden])", { timeout: 10000 });
  const refused = await api("POST", "/v1/jobs?workflow=person", await readPortrait());
  check(refused.status === 402, "the API answers 402");
  const plans = await page.$$eval("#plan-list li", (items) => items.map((i) => i.textContent));
  check(plans.length === refused.json.plans.length && plans.length > 0,
    "the page lists the 402's plans: " + plans.join("; "));
  refused.json.plans.forEach((p, i) => {
    check(plans[i].includes(p.display_name) && plans[i].includes(p.price),
      "plan " + p.name + " with its price: " + plans[i]);
  });
  check(await available() === before, "nothing was held");
  await shot(page, "plans");
  checkOnlyPublicApi(page);
}

// On a phone whose language is Chinese: the page speaks it from the start.
async function phone(page) {
  await page.goto(base + "/");
  await page.waitForSelector("body[data-ready=yes]");
  check(await text(page, "h1") === "老照片上色", "a Chinese browser gets the page in Chinese");
  await signIn(page);
  await upload(page, portrait);
  check(await text(page, "#run") === "上色（10 个令牌）", "the button states the price in Chinese");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  check(width <= 390, "nothing is wider than the phone's screen (" + width + " px)");
  for (const id of ["#run", "#file", "#workflow", "#quote", "#balance-change"]) {
    const box = await page.locator(id).boundingBox();
    check(box && box.x >= 0 && box.x + box.width <= 390, id + " fits the screen width");
  }
  await page.waitForSelector("#statement tbody tr.entry-grant", { timeout: 10000 });
  const cells = await page.$$eval("#statement tbody td, #jobs tbody td", (tds) =>
    tds.map((td) => td.getBoundingClientRect().width).filter((w) => w > 0));
  check(cells.length > 0 && cells.every((w) => w > 250),
    "the history's rows are cards as wide as the screen: " + cells.join(", "));
  await shot(page, "quote");
  checkOnlyPublicApi(page);
}

const browser = await launch();
try {
  const phoneSized = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true,
    locale: "zh-CN" };
  const page = await openPage(browser, step === "phone" ? phoneSized
    : { viewport: { width: 1200, height: 900 }, locale: "en-US" });
  await steps[step](page);
  console.log("customer page", step, "ok");
} finally {
  await browser.close();
}
