import { createRequire } from "node:module";

/** A V8 CPU profile as the inspector's `Profiler.stop` returns it. */
export type CpuProfile = {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }>;
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
};

/** The inspector refused a command or closed early. */
export class InspectorError extends Error {
  override name = "InspectorError";
}

type Socket = {
  on(event: "message", listener: (data: Buffer) => void): void;
  on(event: "open" | "close", listener: () => void): void;
  on(event: "error", listener: (error: Error) => void): void;
  send(data: string): void;
  close(): void;
};

// Node 20 has no WebSocket client; Next ships `ws`, which speaks the inspector's protocol.
const WebSocket = createRequire(__filename)("next/dist/compiled/ws") as new (url: string) => Socket;

/** A process started with `--inspect=127.0.0.1:<port>`: its first target's debugger URL. */
async function debuggerUrl(inspectPort: number): Promise<string> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json()) as Array<{
    webSocketDebuggerUrl?: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new InspectorError(`no inspector target on port ${inspectPort}`);
  return url;
}

/**
 * Samples the CPU of the process inspected on `inspectPort` while `during` runs, every `intervalUs`
 * microseconds, so the profile holds that window alone (not the start-up or the warm-up).
 */
export async function profileDuring(
  inspectPort: number,
  during: () => Promise<void>,
  intervalUs = 200,
): Promise<CpuProfile> {
  const socket = new WebSocket(await debuggerUrl(inspectPort));
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  socket.on("message", (data) => {
    const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string } };
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id!);
    if (message.error) waiter.reject(new InspectorError(message.error.message));
    else waiter.resolve(message.result);
  });
  socket.on("close", () => {
    for (const waiter of pending.values()) waiter.reject(new InspectorError("the inspector closed"));
  });
  await new Promise<void>((resolve, reject) => {
    socket.on("open", resolve);
    socket.on("error", reject);
  });
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    await send("Profiler.enable");
    await send("Profiler.setSamplingInterval", { interval: intervalUs });
    await send("Profiler.start");
    await during();
    const { profile } = (await send("Profiler.stop")) as { profile: CpuProfile };
    return profile;
  } finally {
    socket.close();
  }
}
