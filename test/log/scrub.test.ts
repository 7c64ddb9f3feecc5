import { Writable } from 'node:stream';
import test from 'ava';
import { createLogger } from '../../agent/log/logger.js';
import { MIN_SCRUB_LENGTH, REDACTED, Scrubber } from '../../agent/log/scrub.js';

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

test('every held value is replaced wherever it appears, the longest first', (t) => {
  const scrubber = new Scrubber();
  scrubber.rotate(['hunter22', 'hunter22-admin']);
  t.is(scrubber.scrub('a hunter22-admin b hunter22 c'), `a ${REDACTED} b ${REDACTED} c`);
});

test('values with regex characters are matched literally', (t) => {
  const scrubber = new Scrubber();
  scrubber.rotate(['a.b*c(d)$']);
  t.is(scrubber.scrub('x a.b*c(d)$ y aXbbc'), `x ${REDACTED} y aXbbc`);
});

test('the previous generation stays scrubbed for one more rotation', (t) => {
  const scrubber = new Scrubber();
  scrubber.rotate(['old-secret']);
  scrubber.rotate(['new-secret']);
  t.is(scrubber.scrub('old-secret new-secret'), `${REDACTED} ${REDACTED}`);
  scrubber.rotate(['newer-secret']);
  t.is(scrubber.scrub('old-secret'), 'old-secret');
});

test(`values shorter than ${MIN_SCRUB_LENGTH} characters are not scrubbed`, (t) => {
  const scrubber = new Scrubber();
  scrubber.rotate(['1', 'abc', 'abcd']);
  t.is(scrubber.scrub('1 abc abcd'), `1 abc ${REDACTED}`);
});

test('a log line is scrubbed in its decoded strings, so JSON escapes cannot hide a value', (t) => {
  const scrubber = new Scrubber();
  const secret = 'p"a\\ss\nword\u2028end';
  scrubber.rotate([secret]);
  const out = capture();
  const log = createLogger({ level: 'debug', format: 'json', stream: out.stream, scrubber });
  log.error({ detail: `before ${secret} after`, nested: { list: [secret] }, [secret]: 1 }, `message with ${secret}`);
  const line = JSON.parse(out.text()) as Record<string, unknown>;
  t.is(line['msg'], `message with ${REDACTED}`);
  t.is(line['detail'], `before ${REDACTED} after`);
  t.deepEqual(line['nested'], { list: [REDACTED] });
  t.is(line[REDACTED], 1);
  for (const piece of ['p\\"a', 'word', JSON.stringify(secret).slice(1, -1)]) t.false(out.text().includes(piece), piece);
});

test('errors logged with their stack are scrubbed too, and pretty output as well', (t) => {
  const scrubber = new Scrubber();
  scrubber.rotate(['s3cr3t-value']);
  const out = capture();
  const log = createLogger({ level: 'info', format: 'pretty', stream: out.stream, scrubber });
  log.child({ component: 'test' }).error({ err: new Error('boom s3cr3t-value') }, 'failed');
  t.regex(out.text(), /\[test\] failed/);
  t.false(out.text().includes('s3cr3t-value'));
  t.true(out.text().includes(REDACTED));
});

test('scrubDeep leaves non-strings alone', (t) => {
  const scrubber = new Scrubber();
  scrubber.rotate(['secret-1']);
  t.deepEqual(scrubber.scrubDeep({ a: 1, b: true, c: null, d: ['secret-1'] }), { a: 1, b: true, c: null, d: [REDACTED] });
});

test('a value equal to a word the agent prints itself (a path segment) is not scrubbed', (t) => {
  const scrubber = new Scrubber();
  scrubber.rotate(['postgres', 'p4ssw0rd-xyz'], ['database', 'postgres', 'host']);
  t.is(scrubber.scrub('database/postgres/host p4ssw0rd-xyz'), `database/postgres/host ${REDACTED}`);
});

test('scrubbing matches one regular expression of every value, longest first, on 2,000 random texts', (t) => {
  // A seeded generator over a small alphabet, so values overlap, nest and share prefixes with the text.
  let seed = 42;
  const next = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed % n;
  };
  const alphabet = 'ab.*(é😀$\\';
  const word = (length: number): string => Array.from({ length }, () => alphabet[next(alphabet.length)]).join('');
  const values = Array.from({ length: 60 }, () => word(4 + next(6)));
  const scrubber = new Scrubber();
  scrubber.rotate(values.slice(0, 30));
  scrubber.rotate(values.slice(30));
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const reference = new RegExp([...new Set(values)].sort((a, b) => b.length - a.length).map(escape).join('|'), 'g');
  let replaced = 0;
  for (let round = 0; round < 2000; round += 1) {
    const text = word(next(40));
    const expected = text.replace(reference, REDACTED);
    if (expected !== text) replaced += 1;
    t.is(scrubber.scrub(text), expected, text);
  }
  t.true(replaced > 200, `the texts exercised replacement (${replaced} of 2000)`);
});
