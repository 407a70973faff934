/**
 * A strict parser of the Prometheus text exposition format (0.0.4) for the /metrics tests: it
 * fails on anything it does not understand and checks the naming conventions.
 */
import assert from "node:assert/strict";

export interface Family {
  name: string;
  type: string;
  help: string;
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

/** A strict parser of the text format (0.0.4): fails on anything it does not understand. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line))) {
      assert.ok(!families.has(m[1]), `family ${m[1]} appears twice`);
      current = { name: m[1], type: "", help: m[2], samples: [] };
      families.set(m[1], current);
    } else if (
      (m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)$/.exec(
        line,
      ))
    ) {
      assert.equal(m[1], current?.name, `TYPE ${m[1]} right after its HELP`);
      current!.type = m[2];
    } else if ((m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line))) {
      assert.ok(current, `sample before any family: ${line}`);
      const base = current.name;
      assert.ok(
        m[1] === base || (["summary", "histogram"].includes(current.type) &&
          [`${base}_sum`, `${base}_count`, `${base}_bucket`].includes(m[1])),
        `sample ${m[1]} belongs to family ${base}`,
      );
      const labels: Record<string, string> = {};
      if (m[2]) {
        const body = m[2].slice(1, -1);
        const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;
        let lm: RegExpExecArray | null;
        let consumed = 0;
        while ((lm = re.exec(body))) {
          labels[lm[1]] = lm[2];
          consumed = re.lastIndex;
        }
        assert.equal(consumed, body.length, `labels parse: ${m[2]}`);
      }
      const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
      assert.ok(!Number.isNaN(value) || m[3] === "NaN", `numeric value: ${line}`);
      current.samples.push({ name: m[1], labels, value });
    } else {
      assert.fail(`unparsable line: ${JSON.stringify(line)}`);
    }
  }
  for (const f of families.values()) {
    assert.notEqual(f.type, "", `${f.name} has a TYPE`);
    assert.match(f.name, /^(edgemq|process)_/, `${f.name} has our prefix`);
    if (f.type === "counter") assert.match(f.name, /_total$/, `counter ${f.name} ends in _total`);
    else assert.doesNotMatch(f.name, /_total$/, `non-counter ${f.name} does not end in _total`);
    assert.doesNotMatch(f.name, /_(ms|milliseconds|kb|mb)$/, `${f.name} uses base units`);
    if (f.type === "histogram") checkHistogram(f);
  }
  return families;
}

/**
 * A histogram's samples: per label set (without `le`), buckets with increasing `le` ending at
 * +Inf, cumulative (never decreasing) counts, the +Inf bucket equal to `_count`, and a `_sum`.
 */
function checkHistogram(f: Family): void {
  const series = new Map<
    string,
    { buckets: Array<[number, number]>; sum?: number; count?: number }
  >();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let entry = series.get(key);
    if (entry === undefined) series.set(key, entry = { buckets: [] });
    if (s.name === `${f.name}_bucket`) {
      assert.ok(le !== undefined, `${f.name}_bucket has an le label`);
      const bound = le === "+Inf" ? Infinity : Number(le);
      assert.ok(!Number.isNaN(bound), `${f.name}: le=${le} is a number`);
      entry.buckets.push([bound, s.value]);
    } else if (s.name === `${f.name}_sum`) entry.sum = s.value;
    else if (s.name === `${f.name}_count`) entry.count = s.value;
    else assert.fail(`histogram ${f.name} has a plain sample ${s.name}`);
  }
  assert.ok(series.size > 0, `histogram ${f.name} has samples`);
  for (const [key, h] of series) {
    const what = `${f.name}${key}`;
    assert.ok(h.buckets.length > 0, `${what} has buckets`);
    for (let i = 1; i < h.buckets.length; i++) {
      assert.ok(h.buckets[i][0] > h.buckets[i - 1][0], `${what}: le increases`);
      assert.ok(h.buckets[i][1] >= h.buckets[i - 1][1], `${what}: bucket counts are cumulative`);
    }
    const [lastLe, lastCount] = h.buckets[h.buckets.length - 1];
    assert.equal(lastLe, Infinity, `${what} ends with le="+Inf"`);
    assert.equal(h.count, lastCount, `${what}: _count equals the +Inf bucket`);
    assert.ok(h.sum !== undefined, `${what} has a _sum`);
  }
}

export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const f = families.get(name) ?? families.get(name.replace(/_(count|sum|bucket)$/, ""));
  assert.ok(f, `metric ${name} present`);
  const s = f.samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  assert.ok(s, `sample ${name}${JSON.stringify(labels)} present`);
  return s.value;
}
