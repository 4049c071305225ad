/**
 * The engine's nodes, as hiy needs them for `hiy nodes*` and the system page: which nodes there
 * are, turning the engine into a Swarm manager, the join command's parts, drain, remove, labels.
 * One adapter: docker-cluster.ts. Deploying onto the nodes is the Runtime's business, not this.
 */
import type { NodeView, NodesAnswer } from '../contract.js';

export interface ClusterState {
  swarm: NodesAnswer['swarm'];
  /** The engine's live-restore setting: Swarm refuses to init or join while it is on. */
  liveRestore: boolean;
  /** Whether this engine is a Swarm manager (only a manager lists and changes nodes). */
  manager: boolean;
}

export interface JoinInfo {
  /** The worker join token (a secret: whoever has it can add a node). */
  token: string;
  /** host:port of this manager, as the new node must dial it. */
  address: string;
}

/** Where pushImage puts an image: the nodes' registry and its login. */
export interface PushTarget {
  /** host:port */
  registry: string;
  /** e.g. hiy/shop */
  repository: string;
  tag: string;
  username: string;
  password: string;
}

export interface Cluster {
  state(): Promise<ClusterState>;
  /** Every node; a box without Swarm is one node, this engine. */
  nodes(): Promise<NodeView[]>;
  /** `docker swarm init` (advertising `advertiseAddr` when given); refuses while live-restore is on. */
  init(advertiseAddr?: string): Promise<void>;
  join(): Promise<JoinInfo>;
  /** Sets a node's availability to drain and resolves once none of its tasks still runs (or `timeoutMs` passed: then throws). */
  drain(node: string, timeoutMs?: number): Promise<void>;
  /** Removes a node from the Swarm (after drain; forced, since the node's own engine still thinks it is a member). */
  remove(node: string): Promise<void>;
  /** Sets (string) or removes (null) node labels. */
  label(node: string, labels: Record<string, string | null>): Promise<NodeView>;
  /** Pushes a local image to the nodes' registry; answers the `<registry>/<repository>@sha256:…` reference nodes pull. */
  pushImage(image: string, to: PushTarget): Promise<string>;
}
