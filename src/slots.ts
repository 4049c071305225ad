/**
 * The two slots of a release switch, and the fixed host ports (127.0.0.1) they own. Each app owns
 * MAX_WEB_REPLICAS pairs of ports from HIY_SLOT_PORT_BASE on, one pair (slot a, slot b) per web
 * replica index, laid out a0, b0, a1, b1, …; its Caddy route lists all of them from the start, so
 * deploys and scaling are container lifecycle only and never a config reload (decision 9).
 */
import { HiyError } from './errors.js';

export type Slot = 'a' | 'b';

/** Web replicas an app can run. */
export const MAX_WEB_REPLICAS = 4;
const PORTS_PER_APP = MAX_WEB_REPLICAS * 2;

/** Where an app's ports start: its slot index, fixed when the app is created. */
export interface SlotOwner {
  slot_index: number;
}

/** The slot a new release starts on: the one the current release (if any) does not hold. */
export const idleSlot = (current: Slot | undefined): Slot => (current === 'a' ? 'b' : 'a');

/** Where web replica `replica` of `slot` sits in an app's port list. */
const offset = (replica: number, slot: Slot): number => replica * 2 + (slot === 'a' ? 0 : 1);

/** The host port of web replica `replica` on `slot`: replica 0 has the app's first two ports. */
export function replicaPort(app: SlotOwner, slotPortBase: number, replica: number, slot: Slot): number {
  if (!Number.isInteger(replica) || replica < 0 || replica >= MAX_WEB_REPLICAS) throw new HiyError('invalid_input', `web replica ${replica} is out of range (0-${MAX_WEB_REPLICAS - 1})`);
  return slotPortBase + app.slot_index * PORTS_PER_APP + offset(replica, slot);
}

/** Every upstream port of the app, replica by replica (a0, b0, a1, b1, …): its fixed Caddy upstream list. */
export function allSlotPorts(app: SlotOwner, slotPortBase: number): number[] {
  return Array.from({ length: PORTS_PER_APP }, (_, i) => slotPortBase + app.slot_index * PORTS_PER_APP + i);
}

/** The two fixed host ports of web replica 0 (slot a, slot b). */
export function slotPorts(app: SlotOwner, slotPortBase: number): [number, number] {
  return [replicaPort(app, slotPortBase, 0, 'a'), replicaPort(app, slotPortBase, 0, 'b')];
}

/** The ports of the first `replicas` web replicas of one slot, from an app's a0, b0, a1, b1, … list. */
export function portsOfSlot(ports: number[], slot: Slot, replicas: number): number[] {
  return Array.from({ length: replicas }, (_, i) => ports[offset(i, slot)]!);
}
