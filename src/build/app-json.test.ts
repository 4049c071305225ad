import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HiyError } from '../errors.js';
import { cronJobId, cronOf, parseAppJson } from './app-json.js';
import { parseCronColumn } from './cron-jobs.js';

const failsWith = (text: string, re: RegExp) => assert.throws(() => parseAppJson(text), (e: unknown) => e instanceof HiyError && e.code === 'build_failed' && re.test(e.message));

describe('app.json cron jobs (Dokku format)', () => {
  test('reads jobs with their defaults; ids are stable and differ by schedule and command', () => {
    const text = JSON.stringify({ name: 'shop', cron: [
      { command: 'node jobs/cleanup.js', schedule: '*/15 * * * *' },
      { command: 'worker', schedule: '@daily', concurrency_policy: 'replace', maintenance: true },
      { command: 'echo tick', schedule: '*/5   * * * * *' },
    ] }, null, 2);
    const { cron, notes } = parseAppJson(text);
    assert.deepEqual(cron.map((j) => [j.command, j.schedule, j.concurrency, j.maintenance]), [
      ['node jobs/cleanup.js', '*/15 * * * *', 'forbid', false],
      ['worker', '@daily', 'replace', true],
      ['echo tick', '*/5 * * * * *', 'forbid', false],
    ]);
    assert.equal(cron[0]!.id, cronJobId('*/15 * * * *', 'node jobs/cleanup.js'));
    assert.match(cron[0]!.id, /^[0-9a-f]{8}$/);
    assert.notEqual(cronJobId('* * * * *', 'a'), cronJobId('*/2 * * * *', 'a'));
    assert.equal(parseAppJson(text).cron[2]!.id, cron[2]!.id, 'the same entry keeps its id');
    assert.match(notes.join('\n'), /3 cron jobs/);
  });

  test('no cron key, or other keys only: no jobs; "allow" is read as forbid with a note', () => {
    assert.deepEqual(parseAppJson('{"name":"x","scripts":{}}').cron, []);
    const r = parseAppJson('{"cron":[{"command":"a","schedule":"* * * * *","concurrency_policy":"allow"}]}');
    assert.equal(r.cron[0]!.concurrency, 'forbid');
    assert.match(r.notes[0]!, /allow.*forbid/);
  });

  test('a bad schedule fails the build naming the line and why', () => {
    const text = '{\n  "cron": [\n    { "command": "a", "schedule": "* * * * *" },\n    {\n      "command": "b",\n      "schedule": "*/61 * * * *"\n    }\n  ]\n}\n';
    failsWith(text, /^app\.json line 6: cron entry 2: "\*\/61 \* \* \* \*" is not a valid schedule: .*steps/);
    failsWith('{"cron":[{"command":"a","schedule":"every day"}]}', /line 1: cron entry 1: "every day" is not a valid schedule: .*five, six, or seven/);
    failsWith('{"cron":[{"command":"a","schedule":"0 0 * * * * 2030"}]}', /not a valid schedule/);
    failsWith('{"cron":[{"command":"a","schedule":"0 0 31 2 *"}]}', /never runs/);
    failsWith('{"cron":[{"command":"a","schedule":"0 0 * * 8"}]}', /dayOfWeek/);
  });

  test('other mistakes fail with the line too', () => {
    failsWith('{\n"cron": [\n{"command": "a", "schedule": "* * * * *",}\n]}', /^app\.json line 3: not valid JSON/);
    failsWith('[]', /must be a JSON object/);
    failsWith('{"cron": {"command": "a"}}', /"cron" must be a list/);
    failsWith('{"cron":[{"schedule":"* * * * *"}]}', /cron entry 1: "command" must be a non-empty string/);
    failsWith('{"cron":[{"command":"a","schedul":"* * * * *"}]}', /unknown key "schedul"/);
    failsWith('{"cron":[{"command":"a","schedule":"* * * * *","concurrency_policy":"never"}]}', /concurrency_policy/);
    failsWith('{"cron":[{"command":"a","schedule":"* * * * *","maintenance":"yes"}]}', /maintenance/);
    failsWith('{"cron":[{"command":"a","schedule":"* * * * *"},{"command":"a","schedule":"* * * * *"}]}', /listed twice/);
    failsWith(JSON.stringify({ cron: Array.from({ length: 51 }, (_, i) => ({ command: `c${i}`, schedule: '* * * * *' })) }), /at most 50/);
  });

  test('the scheduler reads schedules the same way: seconds first with 6 fields, a time zone when given', () => {
    const from = new Date('2026-03-01T10:00:00Z');
    const every5s = cronOf('*/5 * * * * *', 'UTC');
    assert.equal(every5s.nextRun(from)?.toISOString(), '2026-03-01T10:00:05.000Z');
    const nineInTokyo = cronOf('0 9 * * *', 'Asia/Tokyo');
    assert.equal(nineInTokyo.nextRun(from)?.toISOString(), '2026-03-02T00:00:00.000Z');
    every5s.stop();
    nineInTokyo.stop();
  });

  test('a stored cron column reads back; anything unreadable is no jobs', () => {
    const jobs = parseAppJson('{"cron":[{"command":"a","schedule":"@hourly"}]}').cron;
    assert.deepEqual(parseCronColumn(JSON.stringify(jobs)), jobs);
    assert.deepEqual(parseCronColumn(null), []);
    assert.deepEqual(parseCronColumn('{not json'), []);
    assert.deepEqual(parseCronColumn('[{"id":1}]'), []);
  });
});
