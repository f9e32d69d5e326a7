// A real headless Chromium from npm (@sparticuz/chromium: the browser build ships inside the package and is
// unpacked to /tmp on first use), driven by puppeteer-core. No GPU: graphics mode off (software rendering).
import chromium from "@sparticuz/chromium";
import puppeteer from "puppeteer-core";

export async function launch() {
  chromium.setGraphicsMode = false;
  return puppeteer.launch({
    executablePath: await chromium.executablePath(),
    args: chromium.args,
    headless: "shell",
    defaultViewport: { width: 1200, height: 900, deviceScaleFactor: 1 },
  });
}
