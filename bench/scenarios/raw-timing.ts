import { timeChunks } from "../../harness/chunk-timer";
import type { ScriptedUpstream } from "../../harness/upstream-server";

/** Where one cold fragment's time went: its upstream call began `called` ms after the page request, and
 * its HTML arrived `afterAnswer` ms after the upstream answered. */
export type LookupPath = { called: number; afterAnswer: number };

/** When the first byte, each fragment's HTML and the end of the response arrived, ms after the request. */
export type RawTiming = {
  firstByte: number;
  fragments: Record<string, number>;
  done: number;
  paths?: Record<string, LookupPath>;
};

/**
 * One load of a page that carries its fragments in its own response (streamed or blocking). Given the
 * upstream, also where each fragment's time went, for a load whose every fragment was cold.
 */
export async function timePage(url: string, names: string[], upstream?: ScriptedUpstream): Promise<RawTiming> {
  const response = await timeChunks(url);
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  const fragments: Record<string, number> = {};
  const paths: Record<string, LookupPath> = {};
  for (const name of names) {
    const at = response.arrival(`result for ${name}`);
    if (at === undefined) throw new Error(`${url} never carried fragment ${name}`);
    fragments[name] = at;
    const call = upstream?.lastCall(name);
    if (call?.answeredAt !== undefined && call.arrivedAt >= response.startedAt) {
      paths[name] = {
        called: Math.round(call.arrivedAt - response.startedAt),
        afterAnswer: Math.round(at - (call.answeredAt - response.startedAt)),
      };
    }
  }
  const timing = { firstByte: firstChunk(response.chunks), fragments, done: lastChunk(response.chunks) };
  return upstream ? { ...timing, paths } : timing;
}

/**
 * One load of the seed as its client does it: the skeleton, then once it is in, one request per part,
 * all at once. A part counts as arrived when its whole snippet is in, measured from the skeleton's request.
 */
export async function timeSeed(url: string, names: string[]): Promise<RawTiming> {
  const started = performance.now();
  const skeleton = await timeChunks(url);
  const skeletonDone = performance.now() - started;
  const parts = await Promise.all(
    names.map(async (name) => {
      const part = await timeChunks(`${url}/fragment/${encodeURIComponent(name)}`);
      if (part.status !== 200 || part.arrival(`result for ${name}`) === undefined) {
        throw new Error(`seed fragment ${name} answered ${part.status}`);
      }
      return [name, skeletonDone + lastChunk(part.chunks)] as const;
    }),
  );
  const fragments = Object.fromEntries(parts.map(([name, at]) => [name, Math.round(at)]));
  return { firstByte: firstChunk(skeleton.chunks), fragments, done: Math.max(...Object.values(fragments)) };
}

function firstChunk(chunks: Array<{ at: number }>): number {
  return Math.round(chunks[0]?.at ?? Number.NaN);
}

function lastChunk(chunks: Array<{ at: number }>): number {
  return Math.round(chunks.at(-1)?.at ?? Number.NaN);
}
