// Browser test of the dashboard: Debian's Chromium, driven by playwright-core,
// logs in to a running gateway and checks that every panel shows data.
//   node web/test/dashboard.test.mjs BASE_URL ADMIN_TOKEN SCREENSHOT.png [empty]
// With "empty", the gateway has no usage history: the calibration and
// forecast panels must say so, without a script error.
// Exits 0 when every check holds, 1 with the first failure otherwise.
import { chromium } from "playwright-core";

const [base, token, screenshot, mode] = process.argv.slice(2);
if (!base || !token || !screenshot || (mode !== undefined && mode !== "empty")) {
  console.error("usage: dashboard.test.mjs BASE_URL ADMIN_TOKEN SCREENSHOT.png [empty]");
  process.exit(2);
}

function check(ok, what) {
  if (!ok) throw new Error("check failed: " + what);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  // The closed network: no background fetches, no first-run or sync traffic.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));

  await page.goto(base + "/dashboard");
  check(await page.isVisible("#login"), "the login form shows first");
  check(await page.isHidden("#dashboard"), "nothing shows before login");

  await page.fill("#token", "not-the-token");
  await page.click("#login button[type=submit]");
  await page.waitForSelector("#login-error:has-text('refused')", { timeout: 10000 });

  await page.fill("#token", token);
  await page.click("#login button[type=submit]");
  await page.waitForSelector("body[data-loaded=yes]", { timeout: 20000 });

  if (mode === "empty") {
    check((await page.textContent("#calibration-note")).includes("Not enough data"),
      "calibration says there is not enough data");
    check(await page.locator("#calibration-skipped tr").count() >= 2,
      "calibration lists the skipped workflows with their reasons");
    check((await page.textContent("#forecast-note")).includes("nothing to forecast"),
      "the forecast says there is nothing to forecast");
    check(await page.locator("#forecast-chart canvas").count() === 0, "no empty forecast chart");
    check(errors.length === 0, "no script errors: " + errors.join("; "));
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log("empty dashboard ok:", screenshot);
  } else {
    await checkEveryPanel(page, errors);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log("dashboard ok:", screenshot);
  }
} finally {
  await browser.close();
}

// The panels of a gateway with a usage history (tests/integration/test_dashboard.py seeds it).
async function checkEveryPanel(page, errors) {
  for (const id of ["jobs-chart", "tokens-chart"]) {
    check(await page.locator("#" + id + " canvas").count() >= 1, id + " draws a canvas");
    const points = Number(await page.getAttribute("#" + id, "data-points"));
    check(points > 0, id + " has data points (" + points + ")");
  }
  const heat = await page.$$eval("#heatmap td span", (cells) =>
    cells.filter((c) => c.textContent.trim() !== "").length);
  check(heat > 0, "the heatmap has a busy hour");
  const total = await page.$$eval("#economics tr", (rows) =>
    rows.map((r) => [...r.children].map((c) => c.textContent)));
  check(total.length >= 3 && total[total.length - 1][0] === "total", "economics has a total row");
  check(Number(total[total.length - 1][1]) > 0, "the total counts jobs");
  check(await page.locator("#accounts tr").count() >= 2, "top accounts lists an account");
  check(await page.locator("#waits tr").count() >= 2, "queue wait lists a workflow");
  check(await page.locator("#workers tr").count() >= 2, "the live view lists the workers");
  check((await page.textContent("#inflight")).includes("Jobs in flight"), "jobs in flight show");
  const accountId = await page.textContent("#accounts tr:nth-child(2) td:first-child");
  await page.fill("#account-id", accountId);
  await page.click("#account-search button");
  await page.waitForSelector("#account-ledger tr:nth-child(2)", { timeout: 10000 });
  check((await page.textContent("#account-summary")).includes("available"),
    "the account search shows the balance");
  check(await page.locator("#account-grants tr").count() >= 2, "the account's grants show");
  await page.fill("#account-id", "acct_nobody");
  await page.click("#account-search button");
  await page.waitForSelector("#account-summary:has-text('no such account')", { timeout: 10000 });
  await page.fill("#account-id", accountId);
  await page.click("#account-search button");
  await page.waitForSelector("#account-ledger tr:nth-child(2)", { timeout: 10000 });

  // Calibration: a fitted row of numbers per workflow, prices as exact decimals.
  const fitted = await page.$$eval("#calibration tr", (rows) =>
    rows.slice(1).map((r) => [...r.children].map((c) => c.textContent)));
  check(fitted.length >= 1, "calibration has a fitted workflow");
  for (const row of fitted) {
    const [workflow, jobs, metered, a, b, r2, spread] = row;
    check(Number(jobs) > 2, workflow + ": calibration counts its jobs (" + jobs + ")");
    check(metered.trim() !== "" && Number(metered) >= 0 && Number(metered) <= Number(jobs),
      workflow + ": the jobs timed by the reporting node are some of them (" + metered + ")");
    for (const [name, v] of [["a", a], ["b", b], ["R²", r2], ["spread", spread]]) {
      check(v.trim() !== "" && Number.isFinite(Number(v)),
        workflow + ": " + name + " is a number (" + v + ")");
    }
    for (const prices of [row[7], row[8]]) {
      check(/^\d+(\.\d+)? → \d+(\.\d+)?$/.test(prices),
        workflow + ": prices now and suggested are decimals (" + prices + ")");
    }
  }
  check((await page.textContent("#calibration-note")).includes("tokens per GPU-second"),
    "calibration names its target");

  // Forecast: a line per pool over the next week, and the workers each needs.
  check(await page.locator("#forecast-chart canvas").count() >= 1, "the forecast draws a canvas");
  const predicted = Number(await page.getAttribute("#forecast-chart", "data-points"));
  check(predicted > 0, "the forecast chart has data points (" + predicted + ")");
  const pools = await page.$$eval("#forecast tr", (rows) =>
    rows.slice(1).map((r) => [...r.children].map((c) => c.textContent)));
  check(pools.length >= 1, "the forecast lists a pool");
  for (const row of pools) {
    check(Number(row[4]) >= 1 && Number.isInteger(Number(row[4])),
      row[0] + ": workers needed at the peak (" + row[4] + ")");
    check(Number.isInteger(Number(row[6])), row[0] + ": workers now (" + row[6] + ")");
  }
  check((await page.textContent("#forecast-note")).includes("WAPE"), "the backtest error shows");
  check(errors.length === 0, "no script errors: " + errors.join("; "));
}
