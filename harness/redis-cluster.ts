import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster, Redis } from "ioredis";
import { track } from "./child-processes";
import { freePort } from "./free-port";
import { startRedisServer, type RedisServerHandle } from "./redis-server";

export type RedisClusterNode = {
  port: number;
  /** `redis://127.0.0.1:PORT` */
  url: string;
  /** SIGTERM, then waits for the process to exit. The node keeps its dir, so `start()` rejoins as itself. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash; a replica of a master killed so takes its slots after the node timeout (2 s). */
  kill(): Promise<void>;
  /** The keys matching a glob on this node, asked of it directly. */
  keys(pattern: string): Promise<string[]>;
  /** A key's time to live on this node (ms), asked of it directly (a replica too): -2 when it has no such key. */
  pttl(key: string): Promise<number>;
  /**
   * Starts the node again with the same node id and slots, and waits until it answers (not until the
   * cluster is ok again: use `waitUntilHealthy()`). Its data is gone: nothing is persisted.
   */
  start(): Promise<void>;
};

export type RedisClusterHandle = {
  /** The seed list for the app: `redis://127.0.0.1:P1,redis://127.0.0.1:P2,redis://127.0.0.1:P3` */
  urls: string;
  /** The masters, in slot order: the first serves slots 0–5460, the second 5461–10922, the third the rest. */
  nodes: RedisClusterNode[];
  /** The replicas, one per master when asked for, in their masters' order. */
  replicas: RedisClusterNode[];
  /** An ioredis Cluster client for assertions. */
  client: Cluster;
  /**
   * Resolves once every running node reports `cluster_state:ok` and all 16384 slots ok (no node it
   * suspects of failing), e.g. after a node restart. @default timeoutMs 10 000
   */
  waitUntilHealthy(timeoutMs?: number): Promise<void>;
  /** FLUSHALL on every master. */
  flushAll(): Promise<void>;
  /** `CLIENT KILL TYPE pubsub` on every running node; resolves with how many connections were closed. */
  killSubscribers(): Promise<number>;
  /** The keys matching a glob on each master it started with, asked of each directly, in the order of `nodes`. */
  keysPerNode(pattern: string): Promise<string[][]>;
  /** Stops every node and removes their dirs. */
  stop(): Promise<void>;
};

/** `redis-cli --cluster create` failed; the message carries its output. */
export class RedisClusterStartError extends Error {
  override name = "RedisClusterStartError";
}

/** The cluster did not report ok on every running node in time; the message names the last answers. */
export class RedisClusterUnhealthyError extends Error {
  override name = "RedisClusterUnhealthyError";
}

const HOST = "127.0.0.1";
const MASTERS = 3;
const SLOTS = 16_384;
const NODE_TIMEOUT_MS = 2_000;
const CREATE_TIMEOUT_MS = 15_000;
const HEALTHY_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 50;
const RECONNECT_DELAY_MS = 100;
const PROBE_TIMEOUT_MS = 1_000;

export type RedisClusterOptions = {
  /** Replicas per master: with 1, a master that dies is replaced by its replica (failover). @default 0 */
  replicas?: 0 | 1;
};

/**
 * A real Redis Cluster of three masters, with or without a replica each, on 127.0.0.1, each node a
 * `redis-server` in its own dir. Every node's bus port is a free port passed as `cluster-port`, rather than
 * the default port + 10000, which may be taken or above 65535.
 */
export async function startRedisCluster({ replicas = 0 }: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const ports = await freePortPairs(MASTERS * (1 + replicas));
  const dirs: string[] = [];
  const servers: RedisServerHandle[] = [];
  const running = new Set<RedisServerHandle>();
  const client = new Cluster(
    ports.map(({ port }) => ({ host: HOST, port })),
    {
      lazyConnect: true,
      // While no node answers, a command fails at once instead of waiting past the test's timeout.
      enableOfflineQueue: false,
      // Reconnects until stop(), so the client outlives a restart of every node.
      clusterRetryStrategy: () => RECONNECT_DELAY_MS,
      // A command for the slots of a stopped master gives up after about half a second.
      maxRedirections: 5,
      slotsRefreshTimeout: PROBE_TIMEOUT_MS,
      redisOptions: { connectTimeout: PROBE_TIMEOUT_MS },
    },
  );
  const waitUntilHealthy = (timeoutMs = HEALTHY_TIMEOUT_MS) => waitForClusterOk([...running], timeoutMs);
  const stop = async () => {
    client.disconnect();
    running.clear();
    await Promise.all(servers.map((server) => server.stop()));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  };

  try {
    while (dirs.length < ports.length) dirs.push(await mkdtemp(join(tmpdir(), "redis-cluster-")));
    const started = await Promise.allSettled(
      ports.map(({ port, busPort }, i) => startRedisServer({ port, dir: dirs[i], args: clusterArgs(busPort) })),
    );
    for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
    const failure = started.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
    for (const server of servers) running.add(server);
    await runRedisCli([
      "--cluster",
      "create",
      ...servers.map((server) => `${HOST}:${server.port}`),
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ]);
    await waitUntilHealthy();
    await client.connect();
  } catch (error) {
    await stop();
    throw error;
  }
  const handle = (server: RedisServerHandle): RedisClusterNode => ({
    port: server.port,
    url: server.url,
    async stop() {
      running.delete(server);
      await server.stop();
    },
    async kill() {
      running.delete(server);
      await server.kill();
    },
    keys: (pattern) => onNode(server.port, (redis) => redis.keys(pattern)),
    pttl: (key) => onNode(server.port, async (redis) => (await redis.readonly(), await redis.pttl(key))),
    async start() {
      await server.start();
      running.add(server);
    },
  });
  let roles: { masters: number[]; replicas: number[] };
  try {
    roles = await rolesOf(
      servers.map((server) => server.port),
      replicas,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const byPort = (port: number) => servers.find((server) => server.port === port)!;

  return {
    urls: servers.map((server) => server.url).join(","),
    nodes: roles.masters.map((port) => handle(byPort(port))),
    replicas: roles.replicas.map((port) => handle(byPort(port))),
    client,
    waitUntilHealthy,
    async flushAll() {
      await Promise.all([...running].map((server) => onNode(server.port, (redis) => redis.flushall())));
    },
    async killSubscribers() {
      const killed = await Promise.all(
        [...running].map((server) => onNode(server.port, (redis) => redis.call("CLIENT", "KILL", "TYPE", "pubsub"))),
      );
      return killed.reduce<number>((sum, count) => sum + Number(count), 0);
    },
    keysPerNode: (pattern) => Promise.all(roles.masters.map((port) => onNode(port, (redis) => redis.keys(pattern)))),
    stop,
  };
}

/**
 * The masters' ports in slot order, and their replicas' in the same order, once every replica has taken its
 * master's data (`master_link_status:up`): a replica that never synced cannot take over.
 */
async function rolesOf(ports: number[], replicas: number): Promise<{ masters: number[]; replicas: number[] }> {
  const deadline = Date.now() + HEALTHY_TIMEOUT_MS;
  for (;;) {
    const ranges = (await onNode(ports[0]!, (redis) => redis.cluster("SLOTS"))) as unknown as Array<
      [number, number, ...Array<[string, number, string]>]
    >;
    const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
    const masters = sorted.map(([, , master]) => master![1]);
    const replicaPorts = sorted.flatMap(([, , , ...others]) => others.map(([, port]) => port));
    const synced = await Promise.all(
      replicaPorts.map(async (port) =>
        /master_link_status:up/.test(String(await onNode(port, (redis) => redis.info("replication")))),
      ),
    );
    if (masters.length === MASTERS && replicaPorts.length === MASTERS * replicas && synced.every(Boolean))
      return { masters, replicas: replicaPorts };
    if (Date.now() > deadline) throw new RedisClusterUnhealthyError("the cluster's replicas did not sync in time");
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

function clusterArgs(busPort: number): string[] {
  return [
    "--cluster-enabled",
    "yes",
    "--cluster-config-file",
    "nodes.conf",
    "--cluster-node-timeout",
    String(NODE_TIMEOUT_MS),
    "--cluster-port",
    String(busPort),
  ];
}

/** `count` pairs of free ports, all different: two calls to `freePort()` may hand out the same port. */
async function freePortPairs(count: number): Promise<Array<{ port: number; busPort: number }>> {
  const used = new Set<number>();
  const next = async () => {
    let port = await freePort();
    while (used.has(port)) port = await freePort();
    used.add(port);
    return port;
  };
  const pairs: Array<{ port: number; busPort: number }> = [];
  for (let i = 0; i < count; i += 1) pairs.push({ port: await next(), busPort: await next() });
  return pairs;
}

function runRedisCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      "redis-cli",
      args,
      { timeout: CREATE_TIMEOUT_MS, killSignal: "SIGKILL" },
      (error, stdout, stderr) => {
        if (error)
          reject(new RedisClusterStartError(`redis-cli ${args.join(" ")}: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      },
    );
    void track(child);
  });
}

async function waitForClusterOk(servers: RedisServerHandle[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let answers: string[] = [];
  while (Date.now() < deadline) {
    answers = await Promise.all(servers.map((server) => clusterState(server.port)));
    if (answers.every((answer) => answer === "ok")) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new RedisClusterUnhealthyError(
    `Redis Cluster not ok within ${timeoutMs} ms: ${servers.map((server, i) => `${server.port}: ${answers[i]}`).join(", ")}`,
  );
}

/** "ok" when the node sees the cluster ok with every slot served; otherwise what it reported instead. */
async function clusterState(port: number): Promise<string> {
  try {
    const info = String(await onNode(port, (redis) => redis.cluster("INFO")));
    const state = /cluster_state:(\w+)/.exec(info)?.[1] ?? "unknown";
    const slotsOk = Number(/cluster_slots_ok:(\d+)/.exec(info)?.[1] ?? 0);
    if (state !== "ok") return `cluster_state:${state}`;
    return slotsOk === SLOTS ? "ok" : `cluster_slots_ok:${slotsOk}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Runs `command` on one node over a connection of its own, closed afterwards. */
async function onNode<T>(port: number, command: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: HOST,
    port,
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    commandTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}
