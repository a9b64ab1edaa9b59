// report.cjs SITE OUT: drive the report page in headless Chromium as a
// reviewer would: check the page's RLE against pycocotools' string, filter
// the rejected records, open r0, paint a stroke, reject, export. The
// corrections go to OUT; tests/cli/report_browser.sh merges and checks them.
//
// Environment: AOI_PEERS (where playwright-core is installed, default
// ~/.cache/aoi-peers), AOI_CHROMIUM (default /usr/bin/chromium).
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

const peers = process.env.AOI_PEERS || path.join(os.homedir(), ".cache", "aoi-peers");
const [site, out] = process.argv.slice(2);

// A browser that is there but cannot run here is no failure of the page:
// exit 77, which tests/cli/report_browser.sh reports as SKIPPED.
function skip(why) {
  console.log("SKIPPED: " + String(why).split("\n")[0]);
  process.exit(77);
}

let chromium;
try {
  ({ chromium } = require(path.join(peers, "node_modules", "playwright-core")));
} catch (e) {
  skip("playwright-core does not load: " + (e.message || e));
}

function check(ok, what) {
  if (!ok) throw new Error("FAILED: " + what);
  console.log("ok: " + what);
}

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "aoi-chromium-"));
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.AOI_CHROMIUM || "/usr/bin/chromium",
      headless: true,
      acceptDownloads: true,
      viewport: { width: 1280, height: 860 },
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    skip("chromium does not start: " + (e.message || e));
  }
  const errors = [];
  const requests = [];
  try {
    const page = await ctx.newPage();
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("request", (r) => { if (!r.url().startsWith("file:") && !r.url().startsWith("blob:")) requests.push(r.url()); });
    await page.goto("file://" + path.resolve(site, "index.html"));
    await page.waitForSelector(".tile");

    // the page's RLE against pycocotools (a 25x25 mask, its top-left 5x5 set)
    const rle = await page.evaluate(() => {
      const m = new Uint8Array(625);
      for (let y = 0; y < 5; y++) for (let x = 0; x < 5; x++) m[y * 25 + x] = 1;
      const s = AOI.rleEncode(m, 25, 25, 1);
      const back = AOI.rleDecode(s, 25, 25, new Uint8Array(625), 1);
      return [s, back.every((v, i) => v === m[i])];
    });
    check(rle[0] === "05d00000000d?" && rle[1], "RLE as pycocotools writes it, and back");
    check((await page.locator(".tile").count()) === 6, "six records in the gallery");
    check((await page.locator("#figures .figure").count()) >= 3, "metrics at the top");

    // filters: the rejected ones, then those that disagree with the truth
    await page.selectOption("#f-decision", "reject");
    check((await page.locator(".tile").count()) === 3, "three rejected");
    check((await page.textContent("#count")).startsWith("3 of 6"), "count of shown records");
    await page.selectOption("#f-agree", "disagree");
    check((await page.locator(".tile").count()) === 1, "one rejected against the truth");
    await page.selectOption("#f-agree", "");
    await page.selectOption("#sort", "score");
    check((await page.locator(".tile").first().getAttribute("data-id")) === "r0", "highest score first");

    // open r0, paint a stroke away from its truth box, reject it
    await page.click('.tile[data-id="r0"]');
    await page.waitForSelector('#v-edit[data-ready="r0"]');
    await page.fill("#reviewer", "tester");
    await page.dispatchEvent("#reviewer", "change");
    await page.click("#zoom-in");
    await page.click("#zoom-fit");
    await page.click("#tool-paint");
    await page.$eval("#brush", (e) => { e.value = "8"; e.dispatchEvent(new Event("input")); });
    const box = await page.locator("#v-edit").boundingBox();
    const at = (x, y) => [box.x + x * box.width / 96, box.y + y * box.height / 96];
    await page.mouse.move(...at(60.5, 80.5));
    await page.mouse.down();
    await page.mouse.move(...at(70.5, 80.5), { steps: 5 });
    await page.mouse.move(...at(80.5, 80.5), { steps: 5 });
    await page.mouse.up();
    await page.click("#v-reject");
    check((await page.textContent("#v-state")).includes("verdict: reject"), "verdict shown");
    await page.keyboard.press("Escape");
    check(await page.locator("#viewer").isHidden(), "viewer closed");
    check((await page.textContent("#count")).includes("1 reviewed"), "one reviewed");

    // the work survives a reload (kept in the browser), then export
    await page.reload();
    await page.waitForSelector(".tile");
    check((await page.textContent("#count")).includes("1 reviewed"), "review kept over a reload");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#export")]);
    await download.saveAs(out);
    check(fs.readFileSync(out, "utf8").trim().split("\n").length === 1, "one correction exported");
    check(errors.length === 0, "no error in the page: " + errors.join("; "));
    check(requests.length === 0, "no request outside the report: " + requests.join(" "));
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
