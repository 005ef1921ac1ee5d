// Real consumers of wallprof's formats, driven by tests/test_views.py.
//   node check.mjs pprof FILE.pb.gz          decode with pprof-format, print a JSON summary
//   node check.mjs speedscope URL SHOT.png   open speedscope on a profile, print what it shows
//   node check.mjs svg URL SHOT.png ZOOM.png FRAME  open a flame graph, click FRAME, print the zoom
//   node check.mjs schema FILE.json SCHEMA.json     validate a JSON file with ajv
// Chromium comes from the system (CHROMIUM, default /usr/bin/chromium).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

const [cmd, ...args] = process.argv.slice(2);

async function browser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
  });
}

if (cmd === 'pprof') {
  const { Profile } = await import('pprof-format');
  const p = Profile.decode(gunzipSync(readFileSync(args[0])));
  const str = (i) => p.stringTable.strings[Number(i)];
  const out = {
    sampleTypes: p.sampleType.map((t) => `${str(t.type)}/${str(t.unit)}`),
    samples: p.sample.length,
    values: p.sampleType.map((_, k) => p.sample.reduce((a, s) => a + Number(s.value[k]), 0)),
    labelKeys: [...new Set(p.sample.flatMap((s) => s.label.map((l) => str(l.key))))].sort(),
    threads: [...new Set(p.sample.flatMap((s) => s.label.filter((l) => str(l.key) === 'thread').map((l) => str(l.str))))].sort(),
    functions: [...new Set(p.function.map((f) => str(f.name)))].sort(),
    // pprof names the program by the first mapping ("File:" in its reports).
    mainFile: p.mapping.length ? str(p.mapping[0].filename) : null,
    periodType: `${str(p.periodType.type)}/${str(p.periodType.unit)}`,
    period: Number(p.period),
  };
  console.log(JSON.stringify(out));
} else if (cmd === 'schema') {
  // node check.mjs schema FILE.json SCHEMA.json: validate with ajv.
  const Ajv = (await import('ajv')).default;
  const ajv = new Ajv({ allErrors: false, strict: false });
  const validate = ajv.compile(JSON.parse(readFileSync(args[1], 'utf8')));
  const ok = validate(JSON.parse(readFileSync(args[0], 'utf8')));
  console.log(JSON.stringify({ ok, errors: (validate.errors || []).slice(0, 3) }));
} else if (cmd === 'speedscope') {
  const b = await browser();
  const page = await b.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(args[0]);
  // Loaded once the toolbar names the profile ("NAME (TID)"), in its dropdown.
  await page.waitForFunction(() => /\(\d+\)/.test(document.body.innerText), null, { timeout: 20000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: args[1] });
  const text = await page.evaluate(() => document.body.innerText);
  const canvases = await page.evaluate(() => document.querySelectorAll('canvas').length);
  console.log(JSON.stringify({ text, canvases, errors }));
  await b.close();
} else if (cmd === 'svg') {
  const b = await browser();
  const page = await b.newPage({ viewport: { width: 1220, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(args[0]);
  await page.waitForSelector('g.f');
  await page.screenshot({ path: args[1] });
  // The frame whose tooltip starts with FRAME: click the middle of its box.
  const find = (name) => {
    const g = [...document.querySelectorAll('g.f')].find((g) => g.querySelector('title').textContent.startsWith(name + ' ('));
    if (!g) return null;
    const r = g.querySelector('rect'), box = r.getBoundingClientRect();
    return { width: Number(r.getAttribute('width')), x: box.x + box.width / 2, y: box.y + box.height / 2 };
  };
  const visible = () => [...document.querySelectorAll('g.f')].filter((g) => g.style.display !== 'none').length;
  const before = await page.evaluate(find, args[3]);
  const visibleBefore = await page.evaluate(visible);
  if (before) await page.mouse.click(before.x, before.y);
  const after = await page.evaluate(find, args[3]);
  const visibleAfter = await page.evaluate(visible);
  const label = await page.evaluate((name) => {
    const g = [...document.querySelectorAll('g.f')].find((g) => g.querySelector('title').textContent.startsWith(name + ' ('));
    return g ? g.querySelector('text').textContent : null;
  }, args[3]);
  await page.screenshot({ path: args[2] });
  console.log(JSON.stringify({ before: before && before.width, after: after && after.width, visibleBefore, visibleAfter, label, errors }));
  await b.close();
} else {
  console.error('usage: check.mjs pprof FILE | speedscope URL SHOT | svg URL SHOT ZOOMSHOT FRAME');
  process.exit(64);
}
