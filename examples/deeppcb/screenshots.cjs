// screenshots.cjs REPORT_DIR OUT_DIR: the pictures of the DeepPCB report in
// README.md, taken in headless Chromium (playwright-core, as the browser
// test: scripts/deps.sh install all). Writes OUT_DIR/report-*.png:
//   report-top.png      the metrics and charts at the top
//   report-gallery.png  the gallery, the records that disagree with the truth first
//   report-view.png     one record full size: prediction, truth boxes, template off
//   report-review.png   the same record under review: a stroke painted, rejected
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

const peers = process.env.AOI_PEERS || path.join(os.homedir(), ".cache", "aoi-peers");
const { chromium } = require(path.join(peers, "node_modules", "playwright-core"));
const [site, out] = process.argv.slice(2);

async function main() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "aoi-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.AOI_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await ctx.newPage();
    await page.goto("file://" + path.resolve(site, "index.html"));
    await page.waitForSelector(".tile img");
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: path.join(out, "report-top.png") });

    await page.click("#metrics summary"); /* folded: the gallery comes up */
    await page.selectOption("#sort", "dis");
    await page.waitForTimeout(1500); /* thumbnails decoded */
    await page.screenshot({ path: path.join(out, "report-gallery.png") });

    const first = await page.locator(".tile").first().getAttribute("data-id");
    await page.click(`.tile[data-id="${first}"]`);
    await page.waitForSelector(`#v-edit[data-ready="${first}"]`);
    await page.check("#show-tboxes");
    await page.uncheck("#show-truth");
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(out, "report-view.png") });

    await page.fill("#reviewer", "ana");
    await page.click("#tool-paint");
    await page.$eval("#brush", (e) => { e.value = "14"; e.dispatchEvent(new Event("input")); });
    const box = await page.locator("#v-edit").boundingBox();
    await page.mouse.move(box.x + box.width * 0.30, box.y + box.height * 0.55);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.42, box.y + box.height * 0.60, { steps: 12 });
    await page.mouse.up();
    await page.click("#v-reject");
    await page.screenshot({ path: path.join(out, "report-review.png") });
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
