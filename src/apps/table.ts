import type { Generated } from 'kysely';

export interface AppsTable {
  name: string;
  repo_url: string | null;
  branch: Generated<string>;
  /** Port the app listens on inside its container; injected as PORT. */
  port: Generated<number>;
  memory_mb: Generated<number>;
  cpus: Generated<number>;
  health_path: Generated<string>;
  health_timeout_s: Generated<number>;
  drain_s: Generated<number>;
  /** Index of the app's pair of fixed host ports (slot a/b) in the slot port range. */
  slot_index: number;
  current_release_id: number | null;
  /** Dockerfile to build, relative to the repo root (null: the root Dockerfile or a detected strategy). */
  dockerfile_path: Generated<string | null>;
  /** The app's base images for generated Dockerfiles, JSON (see build/images.ts). */
  build_images: Generated<string | null>;
  /** Where the app's volume hiy-<app>-data is mounted in every process (null: no volume). */
  volume_path: Generated<string | null>;
  /** Where releases come from: 'git' (pushes and builds) or 'image:<repository>' (pulled; see src/registry). */
  source: Generated<string>;
  /** With an image source: the tag `hiy deploy` and notifications follow (null: latest). */
  image_tag: Generated<string | null>;
  /** 1 while hiy maintenance:on: Caddy answers a 503 page instead of the app. */
  maintenance: Generated<number>;
  /** Swarm node labels the app's processes must run on, JSON `{"role":"fast"}` (null: any node; placement.ts). */
  node_labels: Generated<string | null>;
  /** 1: each new process starts on the node with the fewest of the app's tasks (swarm-spread.ts). */
  spread: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface DomainsTable {
  /** Lowercase hostname, e.g. shop.example.com. */
  host: string;
  app: string;
  created_at: string;
}
