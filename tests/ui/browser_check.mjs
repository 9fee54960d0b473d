// Drives Debian's Chromium with playwright-core against a running `pipeline ui`, as a user would, and
// checks what the page shows against the expectations the Python test computed from the same events.
// Usage: node browser_check.mjs EXPECTATIONS.json SCREENSHOT_DIR
// Prints one JSON line with what it saw; exits non-zero with the reason on the first failed check.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [, , expectationsPath, shots] = process.argv;
const want = JSON.parse(readFileSync(expectationsPath, "utf8"));
const base = want.url.replace(/\/$/, "");
const seen = {};

function check(ok, message) {
  if (!ok) throw new Error(`check failed: ${message}`);
}

async function rendered(page, after) {
  // The page stamps body[data-rendered] when a view finished loading (success or error).
  await page.waitForFunction((t) => Number(document.body.dataset.rendered || 0) > t && document.body.dataset.loading === "false",
    after, { timeout: 20000 });
}

async function open(page, hash) {
  const before = Date.now() - 1;
  await page.goto(`${base}/#/${hash}`);
  await rendered(page, 0);
  return before;
}

async function total(page) {
  return Number((await page.textContent("#hits-total")).replace(/[^0-9]/g, ""));
}

async function histogramSum(page) {
  const values = JSON.parse(await page.getAttribute("#histogram", "data-values"));
  return { sum: values.reduce((s, [, n]) => s + n, 0), bars: values.filter(([, n]) => n > 0).length, values };
}

const browser = await chromium.launch({
  executablePath: want.chromium,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: "en-US" });
  const page = await context.newPage();
  const range = `from=${encodeURIComponent(want.from)}&to=${encodeURIComponent(want.to)}`;

  // Discover: everything, then a KQL query narrows the table and the histogram.
  await open(page, `discover?q=&lang=kuery&${range}`);
  seen.all = await total(page);
  check(seen.all === want.total, `all events: page says ${seen.all}, expected ${want.total}`);
  check((await histogramSum(page)).sum === want.total, "histogram bars add up to the total");
  await page.screenshot({ path: `${shots}/discover.png` });

  await page.fill("#query", want.query);
  let stamp = Date.now();
  await page.press("#query", "Enter");
  await rendered(page, stamp);
  seen.narrowed = await total(page);
  check(seen.narrowed === want.query_total, `query ${want.query}: ${seen.narrowed} hits, expected ${want.query_total}`);
  const hist = await histogramSum(page);
  check(hist.sum === want.query_total, `narrowed histogram adds up to ${want.query_total}, got ${hist.sum}`);
  const services = await page.$$eval("#events tbody tr.event td:nth-child(3)", (cells) => cells.map((c) => c.textContent));
  check(services.length > 0 && services.every((s) => s === want.query_service),
    `every row is from ${want.query_service}: ${[...new Set(services)]}`);

  // Expand a row: the whole event as a field table; "-" on a value filters it out.
  await page.click("#events tbody tr.event");
  await page.waitForSelector("#events tr.detail .fields");
  seen.fields = await page.$$eval("#events tr.detail .fields td:first-child", (cells) => cells.map((c) => c.textContent));
  check(seen.fields.includes("service.name") && seen.fields.includes("message"), `field table: ${seen.fields}`);

  // Clicking a bar of the histogram zooms to that bucket.
  const chartBox = await page.$("#histogram canvas");
  const box = await chartBox.boundingBox();
  const bars = hist.values.filter(([, n]) => n > 0);
  const target = bars[Math.floor(bars.length / 2)];
  const point = await page.evaluate(([t, n]) => window.__charts.histogram.convertToPixel({ seriesIndex: 0 }, [t, n / 2]), target);
  stamp = Date.now();
  await page.mouse.click(box.x + point[0], box.y + point[1]);
  await rendered(page, stamp);
  seen.zoomed = await total(page);
  const zoomHash = decodeURIComponent(await page.evaluate(() => location.hash));
  check(zoomHash.includes(`from=${new Date(target[0]).toISOString()}`), `zoomed to the clicked bucket: ${zoomHash}`);
  check(seen.zoomed === target[1], `zoomed hits ${seen.zoomed} equal the clicked bar ${target[1]}`);

  // A malformed query shows the parser's message in the page, not a stack trace.
  await page.fill("#query", "service.name:(auth or");
  stamp = Date.now();
  await page.press("#query", "Enter");
  await rendered(page, stamp);
  seen.error = await page.textContent("#error");
  check(seen.error.includes("Expected") && !seen.error.includes("Traceback"), `error shown: ${seen.error}`);

  // The users' dashboard: bars of events per service, and a line of all events per 5 minutes.
  await open(page, `dashboards/services?q=&lang=kuery&${range}`);
  await page.waitForSelector('.panel[data-key="events-by-service"][data-values]');
  await page.waitForSelector('.panel[data-key="events-per-5-minutes"][data-values]');
  const bySvc = JSON.parse(await page.getAttribute('.panel[data-key="events-by-service"]', "data-values"));
  seen.by_service = Object.fromEntries(bySvc.map((b) => [b.key, b.count]));
  check(JSON.stringify(seen.by_service) === JSON.stringify(want.by_service),
    `bars by service ${JSON.stringify(seen.by_service)}, expected ${JSON.stringify(want.by_service)}`);
  const line = JSON.parse(await page.getAttribute('.panel[data-key="events-per-5-minutes"]', "data-values"));
  check(line.length === 1, "one line of all events");
  const steps = line[0].buckets.map(([t]) => t);
  check(steps.every((t, i) => i === 0 || t - steps[i - 1] === 300000), "the line has 5-minute buckets");
  seen.line_sum = line[0].buckets.reduce((s, [, n]) => s + n, 0);
  check(seen.line_sum === want.total, `the line adds up to ${want.total}, got ${seen.line_sum}`);
  for (const [t, n] of line[0].buckets.filter(([, n]) => n > 0).slice(0, 3)) {
    check(want.per_5m[String(t)] === n, `5-minute bucket ${new Date(t).toISOString()}: ${n}, expected ${want.per_5m[String(t)]}`);
  }
  await page.screenshot({ path: `${shots}/dashboard-services.png` });

  // Alerts: the rule that fired is listed with its delivery.
  await open(page, "alerts");
  seen.rules = await page.$$eval("#alert-rules tbody td:first-child", (cells) => cells.map((c) => c.textContent));
  seen.history = await page.$$eval("#alert-history tbody td:nth-child(2)", (cells) => cells.map((c) => c.textContent));
  check(seen.rules.includes(want.rule), `rules listed: ${seen.rules}`);
  check(seen.history.includes(want.rule), `recent alerts: ${seen.history}`);
  await page.screenshot({ path: `${shots}/alerts.png` });
  await context.close();

  // A Chinese browser gets the Chinese interface.
  const zh = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: "zh-CN" });
  const zhPage = await zh.newPage();
  await open(zhPage, `discover?q=&lang=kuery&${range}`);
  seen.zh_nav = await zhPage.$$eval("header nav a", (links) => links.map((a) => a.textContent));
  check(seen.zh_nav.join(",") === "发现,仪表板,告警,管道", `Chinese navigation: ${seen.zh_nav}`);
  seen.zh_hits = await zhPage.textContent('[data-i18n="discover.hits"]');
  check(seen.zh_hits === "条命中", `Chinese label: ${seen.zh_hits}`);
  await zhPage.screenshot({ path: `${shots}/discover-zh.png` });
  await zh.close();
  console.log(JSON.stringify({ ok: true, seen }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err && err.message || err), seen }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
