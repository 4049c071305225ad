import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerEvent, ContainerInfo, EngineStream, Runtime } from '../runtime/runtime.js';
import { ContainerWatch } from './container-watch.js';

const ct = (id: string, app: string, over: Partial<ContainerInfo> = {}): ContainerInfo => ({
  id, name: id, image: 'i', state: 'running', running: true, app: app, process: 'web', replica: 0, deployId: null, slot: null, run: null, attached: false, instance: null, restartCount: 0, exitCode: null, startedAt: null, hostPort: null, ...over,
});

/** An engine with containers, an event stream the test drives, and counters of what was asked. */
function fakeEngine(initial: ContainerInfo[]) {
  const state = new Map(initial.map((c) => [c.id, c]));
  let emit: ((e: ContainerEvent) => void) | undefined;
  let end!: () => void;
  const calls = { list: 0, inspect: 0, events: 0 };
  const runtime = {
    async containerEvents(onEvent: (e: ContainerEvent) => void): Promise<EngineStream> {
      calls.events++;
      emit = onEvent;
      const done = new Promise<void>((r) => { end = r; });
      return { done, stop: () => end() };
    },
    async list() { calls.list++; return [...state.values()]; },
    async inspect(id: string) { calls.inspect++; return state.get(id); },
  } as unknown as Runtime;
  return {
    runtime, calls, state,
    event(action: string, c: ContainerInfo | string) {
      const id = typeof c === 'string' ? c : c.id;
      if (typeof c !== 'string') state.set(id, c);
      if (action === 'destroy') state.delete(id);
      emit?.({ action, id });
    },
    dropStream: () => end(),
  };
}

describe('container watch', { timeout: 10_000 }, () => {
  it('lists once, then follows events without asking the engine per page', async () => {
    const e = fakeEngine([ct('a1', 'blog'), ct('b1', 'shop')]);
    const w = new ContainerWatch(async () => e.runtime);
    assert.deepEqual([...(await w.byApp())!.keys()].sort(), ['blog', 'shop']);
    for (let i = 0; i < 5; i++) await w.byApp();
    assert.deepEqual(e.calls, { list: 1, inspect: 0, events: 1 });

    e.event('die', ct('a1', 'blog', { state: 'restarting', running: false, restartCount: 3 }));
    await w.settled();
    assert.equal((await w.byApp())!.get('blog')![0]!.state, 'restarting');
    e.event('start', ct('a2', 'blog'));
    e.event('destroy', 'b1');
    await w.settled();
    const by = (await w.byApp())!;
    assert.deepEqual(by.get('blog')!.map((c) => c.id).sort(), ['a1', 'a2']);
    assert.equal(by.get('shop'), undefined);
    assert.equal(e.calls.list, 1);
    await w.stop();
  });

  it('starts again after the event stream is lost, and says unknown when Docker does not answer', async () => {
    const e = fakeEngine([ct('a1', 'blog')]);
    const w = new ContainerWatch(async () => e.runtime);
    await w.byApp();
    e.dropStream();
    await new Promise((r) => setImmediate(r));
    await w.byApp();
    assert.deepEqual({ list: e.calls.list, events: e.calls.events }, { list: 2, events: 2 });
    await w.stop();

    const down = new ContainerWatch(async () => { throw new Error('connect ENOENT /var/run/docker.sock'); });
    assert.equal(await down.byApp(), undefined);
    const slow = new ContainerWatch(() => new Promise<Runtime>(() => undefined), 50);
    assert.equal(await slow.byApp(), undefined);
  });

  it('asks the engine (and so loads the Docker client) only when an app has a release', async () => {
    let opened = 0;
    const e = fakeEngine([ct('a1', 'blog')]);
    const w = new ContainerWatch(async () => { opened++; return e.runtime; });
    assert.deepEqual(await w.byAppOf([{ current_release_id: null }, { current_release_id: null }]), new Map());
    assert.deepEqual(await w.byAppOf([]), new Map());
    assert.equal(opened, 0, 'apps without releases need no containers');
    assert.deepEqual([...(await w.byAppOf([{ current_release_id: null }, { current_release_id: 7 }]))!.keys()], ['blog']);
    assert.equal(opened, 1);
    await w.stop();
  });
});
