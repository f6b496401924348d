// Drives the dashboard in Debian's headless Chromium while a real
// `gridsearch run --http` is training: the sweeps page's progress advances
// without a reload, the sweep page's ranking sorts, clicking a ranking row
// adds and removes its loss curve, and a failed job's message opens in one
// click. Saves screenshots. Any script error on the page fails the test.
//
// With --login, against a coordinator that has a token: the page asks for
// it, refuses a wrong one, and shows the sweep once the right one is given;
// the session then holds across a reload.
//
// usage: node dashboard_test.mjs SWEEP_PAGE_URL SCREENSHOT_DIR
//        node dashboard_test.mjs --login SWEEP_PAGE_URL SCREENSHOT_DIR TOKEN
import { chromium } from 'playwright-core';

const login = process.argv[2] === '--login';
const [sweepUrl, shots, token] = process.argv.slice(login ? 3 : 2);
if (!sweepUrl || !shots || (login && !token)) {
  console.error('usage: node dashboard_test.mjs [--login] SWEEP_PAGE_URL SCREENSHOT_DIR [TOKEN]');
  process.exit(2);
}
const base = new URL('/', sweepUrl).href;
const problems = [];
const step = (what) => console.log('dashboard_test: ' + what);
function check(cond, message) {
  if (!cond) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let page;
try {
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.setDefaultTimeout(30000);
  page.on('pageerror', (e) => problems.push('script error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
  page.on('requestfailed', (r) => {
    // A poll cut short by a navigation is not a failure.
    if (!(r.failure()?.errorText || '').includes('ERR_ABORTED')) problems.push('request failed: ' + r.url());
  });

  if (login) {
    await page.goto(sweepUrl);
    await page.waitForSelector('#login-form');
    const data = await page.$$('#ranking tr[data-config-id]');
    check(data.length === 0, 'data shown before the login');
    await page.fill('#token', 'not-the-token');
    await page.click('#login');
    await page.waitForSelector('#login-error:not([hidden])');
    step('login: a wrong token is refused: ' + (await page.textContent('#login-error')));
    await page.fill('#token', token);
    await page.click('#login');
    await page.waitForSelector('#ranking tr[data-config-id]');
    await page.reload();
    await page.waitForSelector('#ranking tr[data-config-id]');
    check(await page.$('#login-form') === null, 'asked for the token again after a reload');
    step('login: the right token shows the sweep, and the session holds across a reload');
    await page.screenshot({ path: shots + '/after-login.png' });
    check(problems.filter((p) => !p.includes('401')).length === 0,
          'the page reported problems:\n  ' + problems.join('\n  '));
    console.log('dashboard_test: 1 passed, 0 failed');
    await browser.close();
    process.exit(0);
  }

  // The sweeps page: the sweep's progress advances while we watch.
  await page.goto(base);
  const segDone = '#sweeps tr[data-sweep-id="1"] .seg-done';
  await page.waitForSelector(segDone);
  const first = Number(await page.getAttribute(segDone, 'data-count'));
  await page.evaluate(() => { window.gsNoReload = true; });
  await page.waitForFunction(
    ([sel, n]) => Number(document.querySelector(sel).dataset.count) > n, [segDone, first],
    { timeout: 90000 });
  const later = Number(await page.getAttribute(segDone, 'data-count'));
  check(await page.evaluate(() => window.gsNoReload === true), 'the sweeps page reloaded itself');
  step(`sweeps page: done went from ${first} to ${later} without a reload`);
  await page.screenshot({ path: shots + '/sweeps.png' });

  // To the sweep's page, inside the app.
  await page.click('#sweeps tr[data-sweep-id="1"] a');
  await page.waitForURL(/\/sweeps\/1$/);
  await page.waitForSelector('#ranking tr[data-config-id]');
  // At least three configurations with a finished seed, to sort.
  await page.waitForFunction(() => [...document.querySelectorAll('#ranking tr[data-config-id]')]
    .filter((tr) => tr.children[3].textContent.trim() !== '–').length >= 3, null, { timeout: 90000 });
  step('sweep page: ranking shown');

  // Sorting by a column, both ways.
  const lossColumn = async () => page.$$eval('#ranking tr[data-config-id]', (rows) =>
    rows.map((tr) => tr.children[3].textContent.trim()).filter((t) => t !== '–').map(Number));
  const header = '#ranking th[data-sort="mean_final_train_loss"]';
  await page.click(header);
  check(await page.getAttribute(header, 'aria-sort') === 'ascending', 'the header does not say ascending');
  let values = await lossColumn();
  check(values.length >= 2, 'too few finished configurations to sort: ' + values);
  check(values.every((v, i) => i === 0 || values[i - 1] <= v), 'not ascending: ' + values);
  await page.click(header);
  check(await page.getAttribute(header, 'aria-sort') === 'descending', 'the header does not say descending');
  values = await lossColumn();
  check(values.every((v, i) => i === 0 || values[i - 1] >= v), 'not descending: ' + values);
  const sortMs = await page.evaluate(() => window.gsDashboard.lastSortMs);
  step(`ranking sorted both ways by final train loss (${values.length} rows, last sort ${sortMs.toFixed(1)} ms)`);

  // Clicking a ranking row adds its curve; clicking it again removes it.
  await page.waitForFunction(() => window.gsDashboard.shownConfigs().length > 0, null, { timeout: 60000 });
  const shown = await page.evaluate(() => window.gsDashboard.shownConfigs());
  const ids = await page.$$eval('#ranking tr[data-config-id]', (rows) =>
    rows.filter((tr) => tr.children[0].textContent.trim() !== '–').map((tr) => Number(tr.dataset.configId)));
  const target = ids.find((id) => !shown.includes(id));
  check(target !== undefined, 'every ranked configuration is already shown: ' + ids);
  const datasets = () => page.evaluate(() => window.gsDashboard.lossChart.data.datasets.length);
  const before = await datasets();
  const row = `#ranking tr[data-config-id="${target}"]`;
  await page.click(row);
  await page.waitForFunction((id) => window.gsDashboard.shownConfigs().includes(id), target);
  await page.waitForFunction((n) => window.gsDashboard.lossChart.data.datasets.length > n, before);
  check(await page.$eval(row, (tr) => tr.classList.contains('selected')), 'the clicked row is not marked');
  step(`clicking configuration ${target} added its curve (${before} -> ${await datasets()} datasets)`);
  await page.screenshot({ path: shots + '/sweep-curve-added.png', fullPage: true });
  await page.click(row);
  await page.waitForFunction((id) => !window.gsDashboard.shownConfigs().includes(id), target);
  await page.waitForFunction((n) => window.gsDashboard.lossChart.data.datasets.length === n, before);
  step(`clicking it again removed it`);

  // A failed job's message is one click away.
  await page.selectOption('#job-state', 'failed');
  await page.waitForSelector('#jobs tr[data-state="failed"] button.show-error', { timeout: 90000 });
  await page.click('#jobs tr[data-state="failed"] button.show-error');
  await page.waitForSelector('#error-dialog[open]');
  const message = await page.textContent('#error-text');
  check(message.includes("could not convert string to float: 'oops'"),
        'the error dialog does not show the program\'s error: ' + message);
  step('a failed job\'s error opened: ' + message.split('\n')[0]);
  await page.screenshot({ path: shots + '/failed-job-error.png' });
  await page.click('#error-close');
  await page.waitForFunction(() => !document.querySelector('#error-dialog').open);

  // The whole page, while the sweep still runs (the run, and with it the
  // dashboard, ends with the sweep).
  await page.selectOption('#job-state', 'all');
  await page.waitForSelector('#jobs tr[data-state="done"]');
  await page.screenshot({ path: shots + '/sweep.png', fullPage: true });
  const state = await page.textContent('#sweep-state');
  check(state.includes('running'), 'the sweep ended before the checks did (state ' + state + ')');
  step('screenshots in ' + shots);

  check(problems.length === 0, 'the page reported problems:\n  ' + problems.join('\n  '));
  console.log('dashboard_test: 1 passed, 0 failed');
} catch (e) {
  console.error('dashboard_test: FAILED: ' + e.message);
  if (problems.length) console.error('  also: ' + problems.join('\n  '));
  if (page) await page.screenshot({ path: shots + '/failure.png', fullPage: true }).catch(() => {});
  await browser.close();
  process.exit(1);
}
await browser.close();
