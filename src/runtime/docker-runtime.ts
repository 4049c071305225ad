import type { Logger } from '../log.js';
import type { Runtime } from './runtime.js';
import { HiyError } from '../errors.js';

export function createDockerRuntime(_log: Logger): Runtime {
  throw new HiyError('unavailable', 'docker runtime not implemented yet');
}
